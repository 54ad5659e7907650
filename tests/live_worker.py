"""A broker and a worker running on their own event loop in a thread, shared by many examples of a test."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

from goalconvo.commands.runner import Worker
from goalconvo.core.settings import Settings
from goalconvo.streams.app import topic_partitions
from goalconvo.streams.broker import EmbeddedBroker, ensure_topics

from conftest import TEST_SESSION_TIMEOUT_S


class LiveWorker:
    def __init__(self, db: Path, **overrides: Any):
        tag = uuid.uuid4().hex[:8]
        self.settings = Settings(
            db=db, app_id=f"gc-live-{tag}", topic_prefix=f"l{tag}.", llm="scripted", partitions=2,
            session_timeout_s=TEST_SESSION_TIMEOUT_S, concurrency=4, **overrides,
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.broker = EmbeddedBroker()
        self.worker: Worker | None = None

    def call(self, coro: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> "LiveWorker":
        self.thread.start()

        async def start() -> None:
            await self.broker.start()
            await ensure_topics(self.broker.bootstrap_servers, topic_partitions(self.settings))
            self.worker = Worker(self.settings, self.broker.bootstrap_servers)
            await self.worker.start()

        self.call(start())
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self.worker:
                await self.worker.stop()
            await self.broker.stop()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def bus(self) -> str:
        return self.broker.bootstrap_servers
