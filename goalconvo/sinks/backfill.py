"""``goalconvo backfill sink``: the sink run once, to catch the corpus up with the topics (or rebuild it).

It ends at the end offsets it reads when it starts (what arrives later is the live sink's, or the
next backfill's) and fails if it does not reach them: a broker that stops answering, or records
deleted under it, is an error with where each partition stopped, never a success short of the end.
"""

from __future__ import annotations

import time

from aiokafka import TopicPartition

from goalconvo.core.settings import Settings
from goalconvo.sinks.consumer import DuckDBSink
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.broker import BrokerError, end_offsets
from goalconvo.streams.kafka import Bus


class BackfillIncomplete(BrokerError):
    """The backfill did not reach the end offsets it read at its start."""


async def catch_up(sink: DuckDBSink, *, from_beginning: bool = False, stall_s: float = 30.0) -> int:
    """Store everything on the topics up to the end offsets read now (optionally from offset 0), then return.

    Raises ``BackfillIncomplete`` when no partition short of its end gives a record for ``stall_s``
    seconds; what was stored until then stays stored and committed (a rerun resumes there).
    """
    consumer = sink.consumer
    await sink.subscribe()
    await consumer.start()
    try:
        while not consumer.assignment():
            early = await consumer.getmany(timeout_ms=200)
            if any(early.values()):
                await sink.store_messages([m for msgs in early.values() for m in msgs])
        parts = list(consumer.assignment())
        if from_beginning:
            await consumer.seek_to_beginning(*parts)
        ends: dict[TopicPartition, int] = await end_offsets(sink.kafka, parts)
        last_record = time.monotonic()
        while True:
            positions = {tp: await consumer.position(tp) for tp in parts}
            short = [tp for tp in parts if positions[tp] < ends[tp]]
            if not short:
                break
            if time.monotonic() - last_record > stall_s:
                where = "; ".join(f"{tp.topic}[{tp.partition}] at offset {positions[tp]} of {ends[tp]}"
                                  for tp in sorted(short))
                raise BackfillIncomplete(
                    f"backfill stopped short: no record for {stall_s:g} s before the end offsets read at its start "
                    f"({where}). The broker stopped answering or records were deleted; what was read is stored "
                    "(run it again to resume)")
            batches = await consumer.getmany(*short, timeout_ms=500, max_records=sink.settings.sink_batch_size)
            # Up to the ends read at the start, not past them: later records are the live sink's or the next run's.
            taken = {tp: [m for m in msgs if m.offset < ends[tp]] for tp, msgs in batches.items()}
            messages = [m for msgs in taken.values() for m in msgs]
            if any(batches.values()):
                last_record = time.monotonic()
            if messages:
                await sink.store_messages(messages)
            done = {tp: min(await consumer.position(tp), ends[tp]) for tp in batches}
            if done:
                await consumer.commit(done)
        sink.snapshots.due_now()
        await sink.snapshots.maybe_snapshot()
        return sink.stored
    finally:
        await consumer.stop()
        sink.writer.shutdown(wait=True)


async def backfill_sink(settings: Settings, bootstrap_servers: Bus, store: CorpusStore, *, from_beginning: bool) -> dict:
    """``goalconvo backfill sink``: catch the corpus up with the topics (or rebuild it), then return.

    It reads in the consumer group of the corpus file (``sink_group``): into the file a
    live sink writes, it resumes that sink's group (the file is free, else opening it was
    refused); into another file, a group of that file's own, from the beginning (taking in
    the past is what a backfill is for). A live sink on another file never loses
    partitions to it.
    """
    sink = DuckDBSink(settings, bootstrap_servers, store, from_now=False)
    await catch_up(sink, from_beginning=from_beginning, stall_s=settings.backfill_stall_s)
    return {**sink.stats(), "group": sink.group_id, "db": str(settings.db)}
