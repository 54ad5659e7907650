"""Reading topics back in tests (over the same real socket the pipeline uses)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer

from polling import wait_for  # noqa: F401 - the one polling helper; imported here by older tests


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout_s: float = 60.0) -> list[bytes]:
    """Values on ``topic`` from the beginning, once ``expect`` of them arrived (or the timeout)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expect and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for msgs in batches.values():
                out.extend(m.value for m in msgs)
    finally:
        await consumer.stop()
    return out


async def drained(bootstrap: str, groups: dict[str, list[str]]) -> bool:
    """Whether each consumer group (name -> its topics) has committed every record now on its topics.

    Check the producing stages' group before the sink's: once every group is
    drained, no event is in flight, so a count taken then is final (a late
    duplicate would already be there), where a fixed sleep only hopes so.
    """
    from aiokafka import TopicPartition

    from goalconvo.streams.broker import end_offsets

    for group, topics in groups.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
            if not tps:
                await consumer._client.force_metadata_update()
                tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
            if not tps:
                return False  # topics unknown to the broker: nothing proves them drained
            ends = await end_offsets(bootstrap, tps)
            for tp in tps:
                if ends[tp] and (await consumer.committed(tp) or 0) < ends[tp]:
                    return False
        finally:
            await consumer.stop()
    return True
