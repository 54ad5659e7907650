"""``goalconvo backfill sink``: the sink run once, to catch the corpus up with the topics (or rebuild it)."""

from __future__ import annotations

import time

from goalconvo.core.settings import Settings
from goalconvo.sinks.consumer import DuckDBSink
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.broker import end_offsets


async def catch_up(sink: DuckDBSink, *, from_beginning: bool = False, idle_s: float = 2.0) -> int:
    """Backfill: store everything on the topics now (optionally from offset 0), then return."""
    consumer = sink.consumer
    await consumer.start()
    try:
        while not consumer.assignment():
            early = await consumer.getmany(timeout_ms=200)
            if any(early.values()):
                await sink.store_messages([m for msgs in early.values() for m in msgs])
        parts = list(consumer.assignment())
        if from_beginning:
            await consumer.seek_to_beginning(*parts)
        ends = await end_offsets(sink.bootstrap_servers, parts)
        quiet_since = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=sink.settings.sink_batch_size)
            messages = [m for msgs in batches.values() for m in msgs]
            if messages:
                await sink.store_messages(messages)
                await consumer.commit()
                quiet_since = time.monotonic()
            positions = {tp: await consumer.position(tp) for tp in parts}
            if all(positions[tp] >= ends[tp] for tp in parts) or time.monotonic() - quiet_since > idle_s * 5:
                break
        sink.snapshots.due_now()
        await sink.snapshots.maybe_snapshot()
        return sink.stored
    finally:
        await consumer.stop()
        sink.writer.shutdown(wait=True)


async def backfill_sink(settings: Settings, bootstrap_servers: str, store: CorpusStore, *, from_beginning: bool) -> dict:
    """``goalconvo backfill sink``: catch the corpus up with the topics (or rebuild it), then return.

    It reads in the consumer group of the corpus file (``sink_group``): into the file a
    live sink writes, it resumes that sink's group (the file is free, else opening it was
    refused); into another file, a group of that file's own, from the beginning. A live
    sink on another file never loses partitions to it.
    """
    sink = DuckDBSink(settings, bootstrap_servers, store)
    await catch_up(sink, from_beginning=from_beginning)
    return {**sink.stats(), "group": sink.group_id, "db": str(settings.db)}
