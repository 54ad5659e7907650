"""Shared fixtures: a real embedded broker on a loopback socket, isolated settings."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from goalconvo.core.settings import Settings
from goalconvo.streams.app import topic_partitions
from goalconvo.streams.broker import EmbeddedBroker, ensure_topics

MULTIWOZ = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "multiwoz"
MULTIWOZ = Path(os.environ.get("GOALCONVO_TEST_MULTIWOZ", MULTIWOZ))


#: Session timeout of the tests' consumers (default 6 s; Settings takes more than 1 s). Tansu holds each
#: group join for half of it, so it is paid at every worker start, rebalance and dead-worker wait;
#: 2 s still heartbeats every 0.33 s, well inside it on a loaded 2-core machine.
TEST_SESSION_TIMEOUT_S = 2.0


def needs_multiwoz() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (MULTIWOZ / "val.json.zip").exists(), reason=f"MultiWOZ data not at {MULTIWOZ}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of one test: its own corpus file, topics and consumer group."""
    tag = uuid.uuid4().hex[:8]
    return Settings(
        db=tmp_path / "corpus.duckdb",
        app_id=f"gc-test-{tag}",
        topic_prefix=f"t{tag}.",
        llm="scripted",
        partitions=4,
        session_timeout_s=TEST_SESSION_TIMEOUT_S,
        concurrency=4,
    )


@pytest.fixture
def broker():
    """A Tansu broker started for one test and stopped after it."""
    b = EmbeddedBroker()
    asyncio.run(b.start())
    try:
        yield b
    finally:
        asyncio.run(b.stop())


@pytest.fixture
def bus(broker: EmbeddedBroker, settings: Settings) -> str:
    """Bootstrap servers of the test broker with the pipeline's topics created."""
    asyncio.run(ensure_topics(broker.bootstrap_servers, topic_partitions(settings)))
    return broker.bootstrap_servers
