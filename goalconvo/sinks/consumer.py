"""The DuckDB sink: judged dialogues and dead letters from Kafka into the corpus.

A plain aiokafka consumer group rather than a Faust agent, because the corpus
has exactly one writer and offsets must be committed only after the batch is in
DuckDB: a crash between the two replays the batch, and the store keeps the first
generation of each dialogue whole. The group belongs to the corpus file
(``sink_group``): a second sink or a rebuild into another file never splits the
partitions with this one. A batch that fails is tried record by record: a record
that fails alone ``sink_record_tries`` times is dead-lettered with the reason and
the rest stored; a file that takes no writes stops the sink (``SinkStoreFailed``)
and dead-letters nothing. Beside it: metric snapshots (``snapshots.py``),
BERTScore as dialogues arrive (``score_loop.py``) and the one-shot catch-up of
``goalconvo backfill sink`` (``backfill.py``).

What a new file takes in (its group has no committed offsets yet): with ``from_now`` (a
worker's or a run's sink), what arrives after the end offsets it reads when it starts, before
the worker serves and so before ``run`` produces its first goal; those offsets are committed as
soon as the group assigns the partitions, so a sink restarted later resumes there. Not
"latest" at the group join, which the broker may hold for seconds while events arrive. The
past is ``goalconvo backfill sink``'s, explicitly.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

from goalconvo.core import dead_letters, wire
from goalconvo.core.dead_letters import DeadLetter, salvage_ids
from goalconvo.core.records import Goal, JudgedDialogue
from goalconvo.core.wire import DecodeError
from goalconvo.core.settings import Settings
from goalconvo.sinks.score_loop import ScoreLoop
from goalconvo.sinks.snapshots import Snapshots
from goalconvo.sinks.store import CorpusStore, WriteResult
from goalconvo.streams.broker import leave_group_at_generation_zero, topic_end_offsets
from goalconvo.streams.kafka import Bus, for_settings
from goalconvo.streams.topics import Topics

log = logging.getLogger(__name__)


class SinkStoreFailed(RuntimeError):
    """The corpus file takes no writes (disk full, file gone): the sink stops; nothing was dead-lettered."""


def sink_group(app_id: str, store: CorpusStore) -> str:
    """The consumer group that feeds one corpus file: ``<app_id>-sink-<12 hex>``.

    Derived from the file's resolved path and the random id it got at creation, so
    that the live sink and a ``backfill sink`` into the same file share offsets,
    while another file (a rebuild elsewhere, a second ``run`` on the same broker, a
    copy, a file deleted and made again) gets a group of its own and reads from the
    beginning. A moved file is read again from the beginning (idempotent).
    """
    key = f"{store.path.resolve()}\0{store.corpus_id}"
    return f"{app_id}-sink-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


@dataclass
class _Item:
    """One record of a batch, decoded, beside the message it came in."""

    msg: Any
    judged: JudgedDialogue | None = None
    dead: DeadLetter | None = None
    goal: Goal | None = None


class _FromNow(ConsumerRebalanceListener):
    """A partition the group has never committed starts where it stood at this file's first sink start
    (kept in the file: ``CorpusStore.sink_start_offsets``), so a sink killed before its first commit loses
    nothing judged before its restart; a partition unknown then starts at 0."""

    def __init__(self, sink: "DuckDBSink"):
        self.sink = sink

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        consumer, fresh = self.sink.consumer, {}
        for tp in assigned:
            if await consumer.committed(tp) is None:
                # A partition unknown at the start was created since: all of it is new.
                fresh[tp] = self.sink.start_offsets.get(tp, 0)
                consumer.seek(tp, fresh[tp])
        if fresh:
            try:
                await consumer.commit(fresh)
            except Exception as exc:  # noqa: BLE001 - the seek holds; the next batch's commit records it
                log.warning("could not commit the sink's starting offsets (%s); they are committed with its first batch", exc)


class DuckDBSink:
    def __init__(self, settings: Settings, bootstrap_servers: Bus, store: CorpusStore, *, group_id: str | None = None,
                 from_now: bool = True):
        self.settings = settings
        self.kafka = for_settings(settings, bootstrap_servers)
        self.bootstrap_servers = self.kafka.bootstrap_servers
        self.store = store
        self.topics = Topics.for_prefix(settings.topic_prefix)
        self.group_id = group_id or sink_group(settings.app_id, store)
        self.from_now = from_now
        #: Where each partition stood when the sink started (``from_now``).
        self.start_offsets: dict[TopicPartition, int] = {}
        session_ms = int(settings.session_timeout_s * 1000)
        self.consumer = self.kafka.consumer(
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(300, session_ms // 6),
            rebalance_timeout_ms=session_ms,
            max_poll_records=settings.sink_batch_size,
            fetch_max_wait_ms=int(settings.fetch_max_wait_s * 1000),
        )
        leave_group_at_generation_zero()
        # One thread owns every DuckDB write: the event loop never blocks on disk.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        self._task: asyncio.Task[None] | None = None
        #: Why the sink stopped on its own (a file that takes no writes), else None.
        self.error: BaseException | None = None
        self.stored = 0
        self.dead_lettered = 0
        #: Records the sink itself dead-lettered because they failed to store alone.
        self.unstorable = 0
        #: Judged records of a generation already stored (replays): nothing changed.
        self.replays_ignored = 0
        #: Later generations of a stored dialogue id: ignored whole (see ``ignored_generations``).
        self.regenerations_ignored = 0
        reference = settings.similarity_reference.name if settings.similarity_reference is not None else None
        self.snapshots = Snapshots(store, self.writer, settings.snapshot_interval_s, reference)
        self.scoring: ScoreLoop | None = None
        if settings.similarity_reference is not None:
            self.scoring = ScoreLoop(
                store, settings.similarity_reference, settings.snapshot_interval_s / 2, on_scored=self.snapshots.mark
            )

    @property
    def topic_names(self) -> list[str]:
        return [self.topics.dialogues_judged, *self.topics.dead_letters(), self.topics.goals]

    async def subscribe(self) -> None:
        """Subscribe the consumer (before it starts); with ``from_now``, read where each partition ends now."""
        if self.from_now:
            now = await topic_end_offsets(self.kafka, self.topic_names)
            kept = await asyncio.to_thread(self.store.sink_start_offsets, self.group_id,
                                           {(tp.topic, tp.partition): o for tp, o in now.items()})
            self.start_offsets = {TopicPartition(t, p): o for (t, p), o in kept.items()}
            self.consumer.subscribe(self.topic_names, listener=_FromNow(self))
        else:
            self.consumer.subscribe(self.topic_names)

    async def start(self) -> None:
        await self.subscribe()
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name="duckdb-sink")
        if self.scoring is not None:
            self.scoring.start()

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The consuming loop; the runner watches it (a sink that dies stops its worker)."""
        return self._task

    async def stop(self) -> None:
        if self.scoring is not None:
            await self.scoring.stop()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001 - already kept in self.error and logged; stop the rest in order
                pass
            self._task = None
        await self.consumer.stop()
        await self.snapshots.stop()
        self.writer.shutdown(wait=True)

    def _decode(self, msg) -> tuple[JudgedDialogue | None, DeadLetter | None]:
        if msg.topic == self.topics.dialogues_judged:
            try:
                return wire.decode(JudgedDialogue, msg.value), None
            except DecodeError as exc:
                reason = str(exc)
        else:
            try:
                return None, wire.decode(DeadLetter, msg.value)
            except DecodeError as exc:
                reason = f"unreadable dead letter: {exc}"
        key = msg.key.decode("utf-8", "replace") if msg.key else None
        return None, DeadLetter(
            source_topic=msg.topic, source_partition=msg.partition, source_offset=msg.offset,
            stage="sink", reason=reason, error_type="DecodeError", key=key, payload=dead_letters.payload_text(msg.value),
            **salvage_ids(msg.value),
        )

    async def _run(self) -> None:
        window_ms = int(self.settings.sink_batch_window_s * 1000)
        try:
            while True:
                batches = await self.consumer.getmany(timeout_ms=window_ms, max_records=self.settings.sink_batch_size)
                messages = [m for msgs in batches.values() for m in msgs]
                if messages:
                    await self.store_messages(messages)
                    await self.consumer.commit()
                self.snapshots.start_if_due()  # computed off the writer; never holds up this loop
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.error = exc
            log.error("the DuckDB sink stopped: %s", exc)
            raise

    def stats(self) -> dict[str, int]:
        """What this sink did since it started (the figures it reports)."""
        return {
            "new_dialogues": self.stored, "dead_letters": self.dead_lettered, "unstorable": self.unstorable,
            "replays_ignored": self.replays_ignored, "regenerations_ignored": self.regenerations_ignored,
        }

    def _items(self, messages: list) -> list[_Item]:
        items = []
        for m in messages:
            if m.topic == self.topics.goals:
                try:
                    items.append(_Item(m, goal=wire.decode(Goal, m.value)))
                except DecodeError:
                    pass  # the experience stage dead-letters a bad goal; the sink only records good ones
                continue
            jd, dl = self._decode(m)
            items.append(_Item(m, judged=jd, dead=dl))
        return items

    async def _write(self, items: list[_Item]) -> WriteResult:
        judged = [it.judged for it in items if it.judged is not None]
        dead = [(it.dead.dead_letter_id, it.dead) for it in items if it.dead is not None]
        goals = [it.goal for it in items if it.goal is not None]
        return await asyncio.get_running_loop().run_in_executor(self.writer, self.store.write, judged, dead, goals)

    async def store_messages(self, messages: list) -> None:
        """Decode a batch and write it in one transaction; if that fails, record by record (offsets wait)."""
        items = self._items(messages)
        if not items:
            return
        try:
            result = await self._write(items)
        except Exception as exc:  # noqa: BLE001 - find the record that fails, or the store that does
            log.warning("writing a batch of %d records failed (%s: %s); trying them one by one",
                        len(items), type(exc).__name__, exc)
            result = await self._one_by_one(items)
        self.stored += result.new
        self.replays_ignored += result.replayed
        if result.regenerated:
            self.regenerations_ignored += result.regenerated
            log.warning("ignored %d later generation(s) of dialogue ids already stored (the first stays whole; "
                        "see the ignored_generations table)", result.regenerated)
        self.dead_lettered += sum(it.dead is not None for it in items)
        if any(it.judged is not None for it in items):
            self.snapshots.mark()

    async def _one_by_one(self, items: list[_Item]) -> WriteResult:
        """Each record alone, each failing one up to ``sink_record_tries`` times; then dead-letter or stop.

        Stops with ``SinkStoreFailed`` (dead-lettering nothing) when every record of the batch
        failed alone, or when a small probe write fails too: then the file, not a record, is at fault.
        """
        total = WriteResult()
        failing: list[tuple[_Item, BaseException]] = [(it, RuntimeError("not tried")) for it in items]
        delay = self.settings.sink_retry_s
        tries = self.settings.sink_record_tries
        for attempt in range(1, tries + 1):
            if attempt > 1:
                await asyncio.sleep(delay)
                delay *= 2
            still = []
            for it, _ in failing:
                try:
                    r = await self._write([it])
                except Exception as exc:  # noqa: BLE001 - counted, retried, then dead-lettered
                    still.append((it, exc))
                    continue
                total.new += r.new
                total.replayed += r.replayed
                total.regenerated += r.regenerated
            failing = still
            if not failing:
                return total
        last = failing[-1][1]
        where = f"the corpus {self.store.path}"
        if len(failing) == len(items) > 1:
            raise SinkStoreFailed(
                f"{where} took none of the {len(items)} records of a batch, each tried alone {tries} times; "
                f"last error: {type(last).__name__}: {last}"
            ) from last
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.writer, self.store.probe)
        except Exception as exc:
            raise SinkStoreFailed(f"{where} takes no writes: {type(exc).__name__}: {exc}") from exc
        letters = [(it, self._unstorable(it, exc, tries)) for it, exc in failing]
        for it, dl in letters:
            log.error("dead-lettering a record the corpus cannot store (%s:%s:%s): %s",
                      it.msg.topic, it.msg.partition, it.msg.offset, dl.reason)
        try:
            await loop.run_in_executor(self.writer, self.store.write, [], [(dl.dead_letter_id, dl) for _, dl in letters])
        except Exception as exc:
            raise SinkStoreFailed(f"{where} cannot store the dead letters of records it refused: {exc}") from exc
        self.unstorable += len(letters)
        self.dead_lettered += len(letters)
        for it, _ in letters:
            it.dead = None  # counted above as the sink's own dead letter
        return total

    @staticmethod
    def _unstorable(it: _Item, exc: BaseException, tries: int) -> DeadLetter:
        m = it.msg
        ids: dict[str, Any] = {}
        if it.judged is not None:
            d = it.judged.dialogue
            ids = {"run_id": d.run_id, "goal_id": d.goal.goal_id, "dialogue_id": d.dialogue_id}
        elif it.goal is not None:
            ids = {"run_id": it.goal.run_id, "goal_id": it.goal.goal_id}
        elif it.dead is not None:
            ids = {"run_id": it.dead.run_id, "goal_id": it.dead.goal_id, "dialogue_id": it.dead.dialogue_id}
        return DeadLetter(
            source_topic=m.topic, source_partition=m.partition, source_offset=m.offset, stage="sink",
            reason=f"the corpus refused this record ({tries} tries alone): {type(exc).__name__}: {exc}",
            error_type=type(exc).__name__, key=m.key.decode("utf-8", "replace") if m.key else None,
            payload=dead_letters.payload_text(m.value), **ids,
        )
