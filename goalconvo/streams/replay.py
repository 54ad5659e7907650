"""Operating the stream: replay a slice of a topic, backfill goals from a file at a bounded rate.

Replaying into the pipeline is safe by construction: a replayed goal maps to
the same dialogue id, a replayed turn is a no-op (the ``progress`` table), and
the sink inserts by primary key, so no dialogue gets a second row. Replaying a
dead-letter topic ``unwrap``-ped puts the original events back where they failed
(after an LLM outage, say). A read that stops short of its end raises
``ReplayStalled`` instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from goalconvo.core.dead_letters import DEAD_LETTER_MAX_BYTES, DeadLetter
from goalconvo.core.goals import published
from goalconvo.core.records import Goal
from goalconvo.core.wire import DecodeError, check_event_size, decode, encode
from goalconvo.streams.broker import BrokerError, describe_error, end_offsets
from goalconvo.streams.kafka import Bus, access

Progress = Callable[[int, int], None]


def parse_time(text: str) -> int:
    """ISO 8601 (``2026-11-24T10:00``, ``...Z``, with an offset) to Kafka milliseconds; naive means UTC."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-24T10:00:00Z)") from None
    if dt.tzinfo is None:
        from datetime import timezone

        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


@dataclass
class ReplayResult:
    topic: str
    to_topic: str
    partitions: int
    read: int
    published: int
    dry_run: bool
    #: Unwrapping: dead letters left alone (another error type, or not a readable dead letter).
    skipped: int = 0


async def _consumer(bus: Bus) -> AIOKafkaConsumer:
    c = access(bus).consumer(enable_auto_commit=False)
    try:
        await c.start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            await c.stop()
        raise BrokerError(f"cannot reach Kafka at {access(bus).bootstrap_servers}: {describe_error(exc)}") from exc
    return c


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic`` (refreshing metadata once for a topic created since start-up)."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(parts or ())]


class ReplayStalled(BrokerError):
    """A partition stopped giving records before the end offset measured when the read began."""


#: How long a read may see no new record before it gives up (the broker answers a fetch as data lands).
STALL_S = 30.0


async def _read_slice(
    consumer: AIOKafkaConsumer,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    max_records: int,
    *,
    stall_s: float = STALL_S,
) -> AsyncIterator[list[ConsumerRecord]]:
    """The records of each assigned partition from ``starts`` up to (not including) ``ends``, batch by batch.

    A partition is done when its last record before the end arrived or its position
    reached the end (a compacted or transactional log has gaps). When no partition
    gives a record for ``stall_s`` seconds the read stops with ``ReplayStalled``,
    naming where each partition stopped, instead of waiting forever.
    """
    loop = asyncio.get_running_loop()
    for tp, offset in starts.items():
        consumer.seek(tp, offset)
    pending = {tp for tp in starts if starts[tp] < ends[tp]}
    last_record = loop.time()
    while pending:
        wait_ms = int(max(0.05, min(1.0, stall_s)) * 1000)
        batches = await consumer.getmany(*pending, timeout_ms=wait_ms, max_records=max_records)
        out = []
        for tp, msgs in batches.items():
            out.extend(m for m in msgs if m.offset < ends[tp])
            if msgs:
                last_record = loop.time()
            if msgs and msgs[-1].offset >= ends[tp] - 1:
                pending.discard(tp)
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
        if pending and loop.time() - last_record > stall_s:
            where = "; ".join(
                [f"{tp.topic}[{tp.partition}] at offset {await consumer.position(tp)} of {ends[tp]}" for tp in sorted(pending)]
            )
            raise ReplayStalled(
                f"no record for {stall_s:g}s before the end offsets measured at the start ({where}): records were "
                "deleted (retention, compaction) or the broker stopped answering. Replaying is idempotent: "
                "run it again, or from a later offset"
            )
        yield out


async def replay(
    bootstrap: Bus,
    topic: str,
    *,
    from_offset: int | None = None,
    from_time: str | None = None,
    to_time: str | None = None,
    to_topic: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    unwrap: bool = False,
    error_type: str | None = None,
    stall_s: float = STALL_S,
) -> ReplayResult:
    """Re-publish the slice of every partition of ``topic`` from an offset or a time, up to its end now.

    ``unwrap``: ``topic`` holds dead letters, and each one's original event goes back
    onto its source topic (or ``to_topic``) as it was, byte for byte with its key, so
    what an outage dead-lettered is processed once the outage is over. ``error_type``
    keeps only the dead letters of that error (``LLMError``: the LLM failed, not the
    event); the rest are counted as skipped.
    """
    if (from_offset is None) == (from_time is None):
        raise ValueError("give exactly one of --from-offset and --from-time")
    start_ms = parse_time(from_time) if from_time else None
    end_ms = parse_time(to_time) if to_time else None
    consumer = await _consumer(bootstrap)
    producer = None
    try:
        tps = await _partitions(consumer, topic)
        if not tps:
            raise ValueError(f"topic {topic!r} does not exist on {access(bootstrap).bootstrap_servers}")
        consumer.assign(tps)
        # The end is fixed now: replaying a topic into itself does not chase its own output.
        ends = await end_offsets(bootstrap, tps)
        begins = await consumer.beginning_offsets(tps)
        if start_ms is not None:
            found = await consumer.offsets_for_times({tp: start_ms for tp in tps})
            # Tansu answers a time past the last record with an earlier offset: trust only a matching timestamp.
            starts = {
                tp: (found[tp].offset if found.get(tp) and found[tp].timestamp >= start_ms else ends[tp]) for tp in tps
            }
        else:
            starts = {tp: max(begins[tp], min(int(from_offset or 0), ends[tp])) for tp in tps}
        total = sum(ends[tp] - starts[tp] for tp in tps)
        if not dry_run:
            producer = access(bootstrap).producer(linger_ms=5, max_request_size=DEAD_LETTER_MAX_BYTES)
            await producer.start()
        read = published = skipped = 0
        destinations: set[str] = set()
        async for batch in _read_slice(consumer, starts, ends, max_records=500, stall_s=stall_s):
            futures = []
            for m in batch:
                if start_ms is not None and m.timestamp < start_ms:
                    continue
                read += 1
                if end_ms is not None and m.timestamp > end_ms:
                    continue
                dest, key, value = to_topic or topic, m.key, m.value
                if unwrap:
                    try:
                        dl = decode(DeadLetter, m.value)
                    except DecodeError:
                        skipped += 1
                        continue
                    if (error_type is not None and dl.error_type != error_type) or dl.payload_truncated:
                        skipped += 1  # a truncated dead letter cannot give its event back
                        continue
                    dest = to_topic or dl.source_topic
                    key = dl.key.encode() if dl.key is not None else None
                    value = dl.original_value()
                destinations.add(dest)
                if producer is not None:
                    futures.append(await producer.send(dest, key=key, value=value))
                published += 1
            if futures:
                await asyncio.gather(*futures)
            if progress:
                progress(read, total)
        where = ", ".join(sorted(destinations)) if unwrap else to_topic or topic
        return ReplayResult(topic, where or "(none)", len(tps), read, published, dry_run, skipped)
    finally:
        await consumer.stop()
        if producer is not None:
            await producer.stop()


async def published_goal_ids(bootstrap: Bus, topic: str) -> set[tuple[str, str]]:
    """(goal_id, run_id) of every goal on the topic now: what a backfill skips."""
    consumer = await _consumer(bootstrap)
    seen: set[tuple[str, str]] = set()
    try:
        tps = await _partitions(consumer, topic)
        if not tps:
            return seen
        consumer.assign(tps)
        ends = await end_offsets(bootstrap, tps)
        begins = await consumer.beginning_offsets(tps)
        async for batch in _read_slice(consumer, begins, ends, max_records=1000):
            for m in batch:
                try:
                    g = Goal.model_validate_json(m.value)
                except ValueError:
                    continue
                seen.add((g.goal_id, g.run_id or ""))
        return seen
    finally:
        await consumer.stop()


async def backfill_goals(
    bootstrap: Bus,
    topic: str,
    goals: Sequence[Goal],
    *,
    rate: float | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Publish ``goals`` at most ``rate`` per second, skipping those already on the topic unless ``force``."""
    skip = set() if force else await published_goal_ids(bootstrap, topic)
    todo = [g for g in goals if (g.goal_id, g.run_id or "") not in skip]
    events = [(g, check_event_size(encode(published(g)), f"goal {g.goal_id!r}")) for g in todo]
    producer = access(bootstrap).producer(linger_ms=5)
    try:
        await producer.start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise BrokerError(f"cannot reach Kafka at {access(bootstrap).bootstrap_servers}: {describe_error(exc)}") from exc
    t0 = time.monotonic()
    try:
        for i, (g, value) in enumerate(events, start=1):
            if rate:
                wait = t0 + (i - 1) / rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await producer.send(topic, key=g.goal_id.encode(), value=value)
            if progress and (i % 50 == 0 or i == len(todo)):
                progress(i, len(todo))
        await producer.flush()
    finally:
        await producer.stop()
    return {"published": len(todo), "skipped": len(goals) - len(todo)}


def filter_goals(goals: Iterable[Goal], domains: Sequence[str] | None, limit: int | None) -> list[Goal]:
    """Goals whose domains are all among ``domains`` (when given), at most ``limit``."""
    out = [g for g in goals if not domains or set(g.domains) <= set(domains)]
    return out[:limit] if limit else out
