"""A stopped consumer leaves its group on Tansu, whose first generation is 0 (aiokafka leaves only above 0)."""

from __future__ import annotations

import asyncio
import logging
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


def test_a_late_goodbye_to_a_broker_stopped_on_purpose_is_not_logged_as_an_error():
    """Faust's consumer thread can outlive the app's stop, and its LeaveGroup then fails against the embedded
    broker the run has just shut down (CI saw it once in ``test_stranded``): the filter every command's log
    handler gets drops aiokafka's lines about a broker this process stopped itself, and keeps the same lines
    about any other address, and our own lines naming it."""
    from goalconvo.commands.common import GoodbyesToAStoppedBroker

    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(f"{record.name}: {record.getMessage()}")

    async def started_and_stopped() -> str:
        broker = EmbeddedBroker()
        await broker.start()
        await broker.stop()
        return broker.bootstrap_servers

    address = asyncio.run(started_and_stopped())
    handler = Keep(level=logging.WARNING)
    handler.addFilter(GoodbyesToAStoppedBroker())
    logging.getLogger().addHandler(handler)
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    try:
        # The two lines CI printed, as aiokafka formats them.
        coordinator.error("Error sending LeaveGroupRequest to node %s [%s] -- marking coordinator dead",
                          111, f"KafkaConnectionError: Connection at {address} closed")
        coordinator.error("LeaveGroup request failed: %s", f"KafkaConnectionError: Connection at {address} closed")
        coordinator.error("LeaveGroup request failed: %s", "KafkaConnectionError: Connection at 127.0.0.1:1 closed")
        logging.getLogger("goalconvo.commands.runner").error("the broker at %s is gone", address)
    finally:
        logging.getLogger().removeHandler(handler)
    assert [line for line in seen if address in line] == [f"goalconvo.commands.runner: the broker at {address} is gone"]
    assert any("127.0.0.1:1 closed" in line for line in seen), "a broker this process did not stop is still reported"
