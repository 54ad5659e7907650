"""The DuckDB sink: judged dialogues and dead letters from Kafka into the corpus.

A plain aiokafka consumer group (``<app_id>-sink``) rather than a Faust agent,
because the corpus has exactly one writer and offsets must be committed only
after the batch is in DuckDB: a crash between the two replays the batch, and
the store's insert-or-ignore keeps one row per dialogue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiokafka import AIOKafkaConsumer

from goalconvo.core import records
from goalconvo.core.records import DeadLetter, DecodeError, Goal, JudgedDialogue
from goalconvo.core.settings import Settings
from goalconvo.sinks.metrics import snapshot_metrics
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.broker import end_offsets
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
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        self._task: asyncio.Task[None] | None = None
        self.stored = 0
        self.dead_lettered = 0
        self._dirty = False
        self._last_snapshot = 0.0
        self._scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bertscore")
        self._scorer_task: asyncio.Task[None] | None = None
        self._scorer_cache: dict = {}
        self.scored = 0

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name="duckdb-sink")
        if self.settings.similarity_reference is not None:
            self._scorer_task = asyncio.create_task(self._score_loop(), name="bertscore")

    async def _score_loop(self) -> None:
        """BERTScore new dialogues as they arrive, in its own thread (it is slow: ~7 pairs/s on 2 cores)."""
        from goalconvo.commands.corpus_ops import score_similarity

        loop = asyncio.get_running_loop()
        ref = self.settings.similarity_reference
        while True:
            try:
                out = await loop.run_in_executor(
                    self._scoring, lambda: score_similarity(self.store, ref, limit=16, cache=self._scorer_cache)
                )
                self.scored += out["scored"]
                if out["scored"]:
                    self._dirty = True
                    continue
            except Exception:  # noqa: BLE001 - similarity must never stop storing
                log.exception("BERTScore of new dialogues failed")
            await asyncio.sleep(self.settings.snapshot_interval_s / 2)

    async def stop(self) -> None:
        if self._scorer_task is not None:
            self._scorer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scorer_task
            self._scoring.shutdown(wait=True, cancel_futures=True)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.consumer.stop()
        self._writer.shutdown(wait=True)

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
                await self._store(messages)
                await self.consumer.commit()
            await self._maybe_snapshot()

    async def _store(self, messages: list) -> None:
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
                new = await loop.run_in_executor(self._writer, self.store.write_batch, judged, dead, goals)
                break
            except Exception:  # noqa: BLE001 - keep the offsets; retry the same batch
                log.exception("writing a batch of %d records failed; retrying", len(messages))
                await asyncio.sleep(1.0)
        self.stored += new
        self.dead_lettered += len(dead)
        self._dirty = self._dirty or bool(judged)

    async def _maybe_snapshot(self) -> None:
        """Metrics as records arrive: at most every ``snapshot_interval_s``, when something new was stored."""
        now = time.monotonic()
        if not self._dirty or now - self._last_snapshot < self.settings.snapshot_interval_s:
            return
        self._dirty = False
        self._last_snapshot = now
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._writer, snapshot_metrics, self.store)
        except Exception:  # noqa: BLE001 - a metrics failure must not stop storing
            log.exception("metrics snapshot failed")

    async def catch_up(self, *, from_beginning: bool = False, idle_s: float = 2.0) -> int:
        """Backfill: store everything on the topics now (optionally from offset 0), then return."""
        await self.consumer.start()
        try:
            while not self.consumer.assignment():
                early = await self.consumer.getmany(timeout_ms=200)
                if any(early.values()):
                    await self._store([m for msgs in early.values() for m in msgs])
            parts = list(self.consumer.assignment())
            if from_beginning:
                await self.consumer.seek_to_beginning(*parts)
            ends = await end_offsets(self.bootstrap_servers, parts)
            quiet_since = time.monotonic()
            while True:
                batches = await self.consumer.getmany(timeout_ms=500, max_records=self.settings.sink_batch_size)
                messages = [m for msgs in batches.values() for m in msgs]
                if messages:
                    await self._store(messages)
                    await self.consumer.commit()
                    quiet_since = time.monotonic()
                positions = {tp: await self.consumer.position(tp) for tp in parts}
                if all(positions[tp] >= ends[tp] for tp in parts) or time.monotonic() - quiet_since > idle_s * 5:
                    break
            self._dirty = True
            self._last_snapshot = 0.0
            await self._maybe_snapshot()
            return self.stored
        finally:
            await self.consumer.stop()
            self._writer.shutdown(wait=True)


async def backfill_sink(settings: Settings, bootstrap_servers: str, store: CorpusStore, *, from_beginning: bool) -> dict:
    """``goalconvo backfill sink``: catch the corpus up with the topics (or rebuild it), then return."""
    sink = DuckDBSink(settings, bootstrap_servers, store)
    stored = await sink.catch_up(from_beginning=from_beginning)
    return {"new_dialogues": stored, "dead_letters": sink.dead_lettered, "db": str(settings.db)}
