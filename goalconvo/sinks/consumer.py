"""The DuckDB sink: judged dialogues and dead letters from Kafka into the corpus.

A plain aiokafka consumer group (``<app_id>-sink``) rather than a Faust agent,
because the corpus has exactly one writer and offsets must be committed only
after the batch is in DuckDB: a crash between the two replays the batch, and
the store's insert-or-ignore keeps one row per dialogue. Beside it: metric
snapshots (``snapshots.py``), BERTScore as dialogues arrive (``score_loop.py``)
and the one-shot catch-up of ``goalconvo backfill sink`` (``backfill.py``).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from aiokafka import AIOKafkaConsumer

from goalconvo.core import records
from goalconvo.core.records import DeadLetter, DecodeError, Goal, JudgedDialogue
from goalconvo.core.settings import Settings
from goalconvo.sinks.score_loop import ScoreLoop
from goalconvo.sinks.snapshots import Snapshots
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.topics import Topics

log = logging.getLogger(__name__)


class DuckDBSink:
    def __init__(self, settings: Settings, bootstrap_servers: str, store: CorpusStore):
        self.settings = settings
        self.bootstrap_servers = bootstrap_servers
        self.store = store
        self.topics = Topics.for_prefix(settings.topic_prefix)
        session_ms = int(settings.session_timeout_s * 1000)
        self.consumer = AIOKafkaConsumer(
            self.topics.dialogues_judged,
            *self.topics.dead_letters(),
            self.topics.goals,
            bootstrap_servers=bootstrap_servers,
            group_id=f"{settings.app_id}-sink",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(300, session_ms // 6),
            rebalance_timeout_ms=session_ms,
            max_poll_records=settings.sink_batch_size,
        )
        # One thread owns every DuckDB write: the event loop never blocks on disk.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        self._task: asyncio.Task[None] | None = None
        self.stored = 0
        self.dead_lettered = 0
        self.snapshots = Snapshots(store, self.writer, settings.snapshot_interval_s)
        self.scoring: ScoreLoop | None = None
        if settings.similarity_reference is not None:
            self.scoring = ScoreLoop(
                store, settings.similarity_reference, settings.snapshot_interval_s / 2, on_scored=self.snapshots.mark
            )

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name="duckdb-sink")
        if self.scoring is not None:
            self.scoring.start()

    async def stop(self) -> None:
        if self.scoring is not None:
            await self.scoring.stop()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.consumer.stop()
        self.writer.shutdown(wait=True)

    def _decode(self, msg) -> tuple[JudgedDialogue | None, DeadLetter | None]:
        if msg.topic == self.topics.dialogues_judged:
            try:
                return records.decode(JudgedDialogue, msg.value), None
            except DecodeError as exc:
                reason = str(exc)
        else:
            try:
                return None, records.decode(DeadLetter, msg.value)
            except DecodeError as exc:
                reason = f"unreadable dead letter: {exc}"
        key = msg.key.decode("utf-8", "replace") if msg.key else None
        return None, DeadLetter(
            source_topic=msg.topic, source_partition=msg.partition, source_offset=msg.offset,
            stage="sink", reason=reason, error_type="DecodeError", key=key, payload=records.payload_text(msg.value),
        )

    async def _run(self) -> None:
        window_ms = int(self.settings.sink_batch_window_s * 1000)
        while True:
            batches = await self.consumer.getmany(timeout_ms=window_ms, max_records=self.settings.sink_batch_size)
            messages = [m for msgs in batches.values() for m in msgs]
            if messages:
                await self.store_messages(messages)
                await self.consumer.commit()
            await self.snapshots.maybe_snapshot()

    async def store_messages(self, messages: list) -> None:
        """Decode a batch and write it in one transaction (retried until it is in; offsets wait)."""
        loop = asyncio.get_running_loop()
        judged: list[JudgedDialogue] = []
        dead: list[tuple[str, DeadLetter]] = []
        goals: list[Goal] = []
        for m in messages:
            if m.topic == self.topics.goals:
                try:
                    goals.append(records.decode(Goal, m.value))
                except DecodeError:
                    pass  # the experience stage dead-letters a bad goal; the sink only records good ones
                continue
            jd, dl = self._decode(m)
            if jd is not None:
                judged.append(jd)
            elif dl is not None:
                dead.append((dl.dead_letter_id, dl))
        while True:
            try:
                new = await loop.run_in_executor(self.writer, self.store.write_batch, judged, dead, goals)
                break
            except Exception:  # noqa: BLE001 - keep the offsets; retry the same batch
                log.exception("writing a batch of %d records failed; retrying", len(messages))
                await asyncio.sleep(1.0)
        self.stored += new
        self.dead_lettered += len(dead)
        if judged:
            self.snapshots.mark()
