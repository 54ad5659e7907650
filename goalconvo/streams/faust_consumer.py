"""Faust's consumer, minus two ways it commits offsets of events no stage ever saw.

Found by ``benchmarks/kill_trials.py`` (issue 13): with the sink's worker killed early,
2 of 11 trials lost 3-8 goals for good. Traced: the surviving worker read a goals
partition up to offset 19 during one consumer-group generation, a second rebalance
began (the killed worker's replacement joining), and the events still queued in the
agent's stream were skipped as belonging to the old generation — and acknowledged
(``Stream._py_aiter`` acks a skipped value). Faust committed past them; no worker
ever processed offsets 12-19. The same happens to turn events (a dialogue stranded)
and to completed dialogues (one never judged).

faust-streaming 0.15.3 does three things this fixes:

- ``Stream`` acks an event it skips because flow control is suspended or the event was
  fetched in an earlier generation. Such an event was never handed to an agent (never
  ``tracked``). Here it stays unacknowledged: the commit stops before it, and after the
  rebalance's seek to the committed offset it is fetched again and processed.
- ``Consumer._drain_messages`` treats a jump in read offsets as a gap (offsets that
  count as acknowledged), meant for compacted or transactional topics. Our topics have
  neither; a jump there is a stale prefetch after a seek, and the offsets it skips are
  real events. Here a gap acknowledges nothing.
- ``Consumer._new_offset`` (what to commit) accepts a run of acknowledged offsets that
  starts one past the committed offset (an off-by-one in its hole check), and any run
  at all when nothing was committed yet. Records Faust dropped from a fetch (a
  partition not active at that moment, a generation change mid-batch) are such holes;
  seen in the two-worker kill test: one worker read turns.bot offsets 44 then 49, and
  the group committed past 45-48. Here the commit is the end of the acknowledged run
  that starts exactly at the committed offset (or, before any commit, at the log
  start); a hole stops it until the rebalance's seek re-reads it.

A commit that stops at a hole is safe but leaves the record unread until the next
rebalance's seek (28 dialogues waited for good in one kill test: a completed dialogue
dropped from a fetch, never judged). So every 2 s the consumer looks for the record
at the committed offset: if no stage has it, no stage's queue holds it, and it was
fetched (a stage took later ones, it was drained, or the position is past it), seen
twice in a row, the consumer seeks back to it.

All of these only ever delay a commit, never advance it: the worst outcome is a redelivery,
which the progress table and the sink's first-wins rule absorb.

And one for the embedded broker: Tansu answers ListOffsets(latest) with the last
record batch's base offset + 1 (DESIGN.md), so Faust's table recovery took a
changelog's end for earlier than it is. A worker that had read further as a standby
then failed recovery's consistency check ("persisted offset ... is higher than the
last offset in that topic") and sat on its partitions doing nothing: seen in the
two-worker kill test, 28 of 48 dialogues stalled. ``highwaters`` here is corrected
with a fetch's high watermark, which Tansu reports right.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaDriverConsumer
from faust.types import TP

from mode import Service

from goalconvo.streams.broker import end_offsets

log = logging.getLogger(__name__)


class DeliveredOnlyConsumer(AIOKafkaDriverConsumer):
    """Records an acknowledgement only for events an agent was handed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Records on their way into a stage's queue (a full queue holds the drain loop here).
        self._delivering: set[tuple[TP, int]] = set()
        deliver = self.callback

        async def callback(message: Any) -> Any:
            key = (message.tp, message.offset)
            self._delivering.add(key)
            try:
                return await deliver(message)
            finally:
                self._delivering.discard(key)

        self.callback = callback

    def ack(self, message: Any) -> bool:
        if not message.tracked and self.app.topics.acks_enabled_for(message.topic):
            log.info("not acknowledging %s[%s]@%s: skipped by Faust, never processed (fetched again after the seek)",
                     message.topic, message.partition, message.offset)
            return False
        return super().ack(message)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        # Partitions with nothing committed are read from their log start (auto_offset_reset
        # earliest): the first commit must cover an acknowledged run from there. (Not the
        # consumer's position: the fetcher may already have read, and Faust dropped, records.)
        self._start_offsets: dict[TP, int] = {}
        fresh = [tp for tp in self.assignment()
                 if self._committed_offset.get(tp) is None and self.app.topics.acks_enabled_for(tp.topic)]
        if fresh:
            try:
                earliest = await asyncio.wait_for(self.earliest_offsets(*fresh), 30.0)
            except Exception as exc:  # noqa: BLE001 - unknown: nothing is committed for them until a later seek
                log.warning("could not read the log start of %d partitions (%s)", len(fresh), exc)
                return
            self._start_offsets = {tp: off for tp, off in earliest.items() if off is not None}

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        start = self._committed_offset[tp]
        if start is None:
            start = getattr(self, "_start_offsets", {}).get(tp)
            if start is None:
                return None
        acked.sort()
        following, done = start, 0
        for offset in acked:
            if offset < following:  # at or below what is committed: nothing to add
                done += 1
            elif offset == following:
                following += 1
                done += 1
            else:
                break  # a hole: the event at `following` is not finished (or never arrived)
        if done:
            self._acked_index[tp].difference_update(acked[:done])
            del acked[:done]
        return following if following > start else None

    @Service.timer(2.0)
    async def _reread_dropped_records(self) -> None:
        await self.reread_dropped()

    async def reread_dropped(self) -> None:
        """One pass: seek back to a record Faust dropped (fetched, never handed to a stage, commit stuck before it)."""
        suspects: dict[TP, int] = getattr(self, "_suspects", {})
        self._suspects = {}
        app = self.app
        if app.rebalancing or getattr(app, "in_recovery", False) or not app.flow_control.is_active():
            return
        taken: dict[TP, set[int]] = {}
        for m in list(self._unacked_messages):  # handed to a stage, not finished
            taken.setdefault(m.tp, set()).add(m.offset)
        for tp, offsets in list(self._acked.items()):  # finished, not committed yet
            taken.setdefault(tp, set()).update(offsets)
        queued = self._queued()
        starts = getattr(self, "_start_offsets", {})
        for tp in list(self.assignment()):
            if not app.topics.acks_enabled_for(tp.topic):
                continue
            start = self._committed_offset.get(tp)
            if start is None:
                start = starts.get(tp)
            if start is None or start in taken.get(tp, ()) or (tp, start) in queued or (tp, start) in self._delivering:
                continue  # with a stage, waiting in its queue, or on its way there
            if not any(o > start for o in taken.get(tp, ())):
                if self._delivering:
                    continue  # records of this fetch may still be on their way: look again next pass
                read = self._read_offset.get(tp)
                if read is not None and read >= start:
                    pass  # drained, yet in no queue: dropped (Faust clears queues at a rebalance)
                else:
                    try:
                        position = await self.position(tp)
                    except Exception:  # noqa: BLE001 - not known now; the next pass looks again
                        continue
                    if position is None or position <= start:
                        continue  # not fetched yet: nothing was dropped
            if suspects.get(tp) == start:
                log.warning("re-reading %s from offset %d: it was fetched but never reached its stage", tp, start)
                await self.seek(tp, start)
            else:
                self._suspects[tp] = start

    def _queued(self) -> set[tuple[TP, int]]:
        """(partition, offset) of every event waiting in a stage's queue."""
        out: set[tuple[TP, int]] = set()
        for channels in list(self.app.topics._topic_name_index.values()):
            for channel in list(channels):
                queue = getattr(channel, "_queue", None)
                for event in list(getattr(queue, "_queue", ()) or ()):
                    message = getattr(event, "message", None)
                    if message is not None:
                        out.add((message.tp, message.offset))
        return out

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        reported = await super().highwaters(*partitions)
        # The cluster's TLS/SASL access (install), else plaintext to the app's brokers.
        bus = getattr(self.app, "goalconvo_kafka", None) or ",".join(f"{u.host}:{u.port}" for u in self.app.conf.broker)
        try:
            exact = await end_offsets(bus, [TopicPartition(tp.topic, tp.partition) for tp in partitions])
        except Exception as exc:  # noqa: BLE001 - keep what the broker reported
            log.warning("could not measure the end of %d partitions (%s); using the reported offsets", len(partitions), exc)
            return reported
        return {tp: max(reported.get(tp) or 0, exact.get(TopicPartition(tp.topic, tp.partition)) or 0) for tp in partitions}

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        log.info("read offsets of %s jumped %s..%s: not a gap in our topics, those events will be read",
                 tp, offset_from, offset_to)


class _FetchWaitThread(AIOKafkaConsumerThread):
    """Faust's consumer thread, its fetches waiting at most the app's ``fetch_max_wait_s`` (Faust: 1.5 s)."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        kafka_consumer = super()._create_worker_consumer(transport)
        seconds = getattr(self.app, "fetch_max_wait_s", None)
        if seconds is not None:
            kafka_consumer._fetch_max_wait_ms = int(seconds * 1000)  # read when it starts its fetcher
        return kafka_consumer


class _FetchWaitConsumer(DeliveredOnlyConsumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _FetchWaitThread(self, loop=self.loop, beacon=self.beacon)


def install(app: faust.App, fetch_max_wait_s: float | None = None, kafka: Any = None) -> None:
    """Make ``app`` create its consumer from DeliveredOnlyConsumer (before the app starts), its fetches
    waiting at most ``fetch_max_wait_s`` (None: Faust's 1.5 s); ``kafka`` (a ``KafkaAccess``) is how its
    end-offset probe reaches the cluster."""
    app.goalconvo_kafka = kafka  # type: ignore[attr-defined]
    if fetch_max_wait_s is None:
        app.transport.Consumer = DeliveredOnlyConsumer  # type: ignore[misc]
        return
    app.fetch_max_wait_s = fetch_max_wait_s  # type: ignore[attr-defined]
    app.transport.Consumer = _FetchWaitConsumer  # type: ignore[misc]
