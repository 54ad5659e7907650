"""Reading topics back in tests (over the same real socket the pipeline uses)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer


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


def wait_for(predicate, timeout_s: float, interval_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    return predicate()
