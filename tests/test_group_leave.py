"""A stopped consumer leaves its group on Tansu, whose first generation is 0 (aiokafka leaves only above 0)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer

from goalconvo.streams.broker import EmbeddedBroker, ensure_topics, leave_group_at_generation_zero


def test_a_restarted_member_joins_without_waiting_for_the_stopped_one_to_expire(broker: EmbeddedBroker):
    """A worker restarted in the group of one stopped in generation 0 (the usual restart): the new
    member joins in Tansu's join hold (half the session timeout), not after the old member's session
    ran out too (without the fix: 8.1 s with a 4 s session timeout; with it, 2 s)."""
    leave_group_at_generation_zero()
    session_ms = 4000
    bus = broker.bootstrap_servers

    async def scenario() -> tuple[int, float]:
        await ensure_topics(bus, {"leave.t": 2})
        kw = dict(bootstrap_servers=bus, group_id="leave-g", session_timeout_ms=session_ms, heartbeat_interval_ms=300)
        first = AIOKafkaConsumer("leave.t", **kw)
        await first.start()
        generation = first._coordinator.generation
        await first.stop()
        second = AIOKafkaConsumer("leave.t", **kw)
        t0 = time.monotonic()
        await second.start()
        try:
            return generation, time.monotonic() - t0
        finally:
            await second.stop()

    generation, join_s = asyncio.run(scenario())
    assert generation == 0, "the case this covers: Tansu's first generation"
    assert join_s < session_ms / 1000, f"the restarted member waited {join_s:.1f} s: the stopped one never left"
