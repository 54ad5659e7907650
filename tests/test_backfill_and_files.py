"""Issue 24, item 7: `backfill sink` ends at the end offsets it read when it started and fails if it cannot
reach them; after a `query --write` delete the figures (and so the dashboard) follow; the `.endpoint`
file is never written through a symlink; docker-compose.kafka.yml publishes Kafka on loopback only."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from goalconvo.commands.bus import publish
from goalconvo.core.dead_letters import DeadLetter
from goalconvo.core.wire import encode
from goalconvo.core.settings import Settings
from goalconvo.sinks import backfill
from goalconvo.sinks.dashboard import data
from goalconvo.sinks.query_server import QueryServer, endpoint_file, run_query
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.broker import BrokerError, EmbeddedBroker
from goalconvo.streams.topics import Topics

from test_corpus_reads import held_by_a_sink
from test_store import _judged
from worker_procs import CLI

ROOT = Path(__file__).resolve().parents[1]


def test_backfill_fails_when_it_cannot_reach_the_end_offsets_it_read(settings: Settings, broker: EmbeddedBroker,
                                                                     bus: str, monkeypatch: pytest.MonkeyPatch):
    """The broker stops answering right after the backfill read its end offsets (SIGSTOP): an error, not success."""
    topic = Topics.for_prefix(settings.topic_prefix).dialogues_dead_letter
    letters = [DeadLetter(source_topic="t", source_partition=0, source_offset=i, stage="test", reason="filler",
                          error_type="Test", payload="p" * 40_000) for i in range(400)]
    asyncio.run(publish(bus, topic, [(str(i).encode(), encode(d)) for i, d in enumerate(letters)]))
    real = backfill.end_offsets
    resumed = threading.Event()

    async def then_freeze(*args, **kw):
        ends = await real(*args, **kw)
        os.kill(broker.pid, signal.SIGSTOP)
        threading.Timer(8.0, lambda: (os.kill(broker.pid, signal.SIGCONT), resumed.set())).start()
        return ends

    monkeypatch.setattr(backfill, "end_offsets", then_freeze)
    s = settings.model_copy(update={"backfill_stall_s": 3.0})
    store = CorpusStore(s.db)
    try:
        with pytest.raises(BrokerError, match="stopped short"):
            asyncio.run(backfill.backfill_sink(s, bus, store, from_beginning=True))
        stored = store.query("select count(*) from dead_letters").rows[0][0]
    finally:
        resumed.wait(20)
        store.close()
    assert stored < len(letters)


def _summary_counts(db: Path) -> dict[str, int]:
    return {r["set_name"]: r["dialogues"] for r in data.summary(db)["sets"]}


def test_the_figures_follow_a_hand_written_delete(tmp_path: Path):
    db = tmp_path / "c.duckdb"
    store = CorpusStore(db)
    store.write_batch([_judged(goal_index=i, run_id="r") for i in range(3)])
    store.close()
    assert _summary_counts(db) == {"r": 3}
    (first,) = run_query(db, "select min(dialogue_id) from dialogues").rows[0]
    out = subprocess.run(CLI + ["query", "--db", str(db), "--write", f"delete from dialogues where dialogue_id = '{first}'"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert _summary_counts(db) == {"r": 2}, "the dashboard still counts the deleted dialogue"
    # Through a running sink too: the write and the figures it leaves are the sink's.
    with held_by_a_sink(db):
        run_query(db, "delete from turns where dialogue_id in (select min(dialogue_id) from dialogues)", allow_write=True)
        run_query(db, "delete from dialogues where dialogue_id in (select min(dialogue_id) from dialogues)",
                  allow_write=True)
        assert _summary_counts(db) == {"r": 1}
    metrics = {r["set_name"]: r for r in data.summary(db)["sets"]}
    turns = run_query(db, "select count(*) from turns t join dialogues d using (dialogue_id)").rows[0][0]
    assert metrics["r"]["dialogues"] == 1 and turns > 0


def test_the_endpoint_file_is_never_written_through_a_symlink(tmp_path: Path):
    db = tmp_path / "c.duckdb"
    store = CorpusStore(db)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    endpoint_file(db).symlink_to(victim)

    async def serve():
        server = QueryServer(store)
        await server.start()
        try:
            return endpoint_file(db).is_symlink(), endpoint_file(db).read_text()
        finally:
            await server.stop()

    try:
        is_link, text = asyncio.run(serve())
    finally:
        store.close()
    assert victim.read_text() == "keep me\n", "the endpoint was written through the symlink"
    assert not is_link and '"url"' in text


def test_the_compose_file_publishes_kafka_on_loopback_only():
    text = (ROOT / "docker-compose.kafka.yml").read_text()
    ports = re.findall(r'^\s*-\s*"?([^"\s]+)"?\s*$', text.split("ports:", 1)[1].split("environment:", 1)[0], re.M)
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports
