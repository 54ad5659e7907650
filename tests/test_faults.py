"""Faults against the real embedded broker and a real HTTP LLM server: after recovery every goal
is a stored dialogue or a dead letter with a reason, and none is stored twice."""

from __future__ import annotations

import asyncio
import os
import signal

from goalconvo.commands.runner import Worker, goal_events, goals_for_run, publish
from goalconvo.core.settings import Settings
from goalconvo.devtools.openai_stub import OpenAIStubServer
from goalconvo.llm.vllm_server import VLLMServerBackend
from goalconvo.streams.broker import EmbeddedBroker
from goalconvo.streams.topics import Topics


async def _settle(w: Worker, run_id: str, n: int, timeout_s: float) -> dict:
    """Wait until every goal of the run is accounted for; then the counts, and duplicates found."""
    loop = asyncio.get_running_loop()
    for _ in range(int(timeout_s / 0.5)):
        c = await loop.run_in_executor(None, w.store.run_progress, run_id)
        if sum(c.values()) >= n:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    c = await loop.run_in_executor(None, w.store.run_progress, run_id)
    stored = set(r[0] for r in w.store.query("select goal_id from dialogues where run_id = ?", [run_id]).rows)
    dead = w.store.query(
        "select goal_id, reason from dead_letters where run_id = ? and goal_id is not null", [run_id]).rows
    c["rows"] = w.store.query("select count(*) from dialogues where run_id = ?", [run_id]).rows[0][0]
    c["stored_goals"] = stored
    c["dead_goals"] = {g for g, _ in dead}
    c["reasons"] = [r for _, r in dead]
    return c


def test_llm_server_slow_failing_and_gone_for_a_while(settings: Settings, bus: str):
    n = 24
    s = settings.model_copy(update={"concurrency": 8, "llm_timeout_s": 0.6})
    goals = goals_for_run(n, "run-llm-faults", None)

    async def scenario():
        async with OpenAIStubServer(delay_s=0.05, hang_s=2.0) as srv:
            llm = VLLMServerBackend([srv.base_url], "stub", max_in_flight=8, timeout_s=0.6, retries=2, backoff_s=0.2)
            async with Worker(s, bus, llm=llm) as w:
                await publish(bus, Topics.for_prefix(s.topic_prefix).goals, goal_events(goals))
                await asyncio.sleep(1.0)
                srv.delay_s = 0.4                       # slow
                await asyncio.sleep(1.0)
                srv.fault_queue = ["500", "429", "timeout"] * 4   # failing
                await asyncio.sleep(1.0)
                srv.down = True                         # gone: connections dropped
                await asyncio.sleep(2.0)
                srv.down = False
                srv.delay_s = 0.05
                result = await _settle(w, "run-llm-faults", n, timeout_s=120)
                return result, srv.stats

    c, stats = asyncio.run(scenario())
    all_goals = {g.goal_id for g in goals}
    assert c["stored_goals"] | c["dead_goals"] == all_goals, "a goal was lost"
    assert not c["stored_goals"] & c["dead_goals"]
    assert c["rows"] == len(c["stored_goals"]), "a dialogue was stored twice"
    assert stats.faults["drop"] > 0 and stats.faults["500"] > 0
    assert all("LLM call failed after" in r for r in c["reasons"]), c["reasons"]
    assert len(c["stored_goals"]) > 0


def test_broker_frozen_then_thawed(settings: Settings, broker: EmbeddedBroker, bus: str):
    """SIGSTOP the broker mid-run (clients time out, groups rebalance), SIGCONT it: the run completes."""
    n = 12
    s = settings.model_copy(update={"llm_delay_s": 0.1})
    goals = goals_for_run(n, "run-freeze", None)

    async def scenario():
        async with Worker(s, bus) as w:
            await publish(bus, Topics.for_prefix(s.topic_prefix).goals, goal_events(goals))
            await asyncio.sleep(2.0)
            os.kill(broker.pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(6.0)
            finally:
                os.kill(broker.pid, signal.SIGCONT)
            return await _settle(w, "run-freeze", n, timeout_s=150)

    c = asyncio.run(scenario())
    assert c["stored_goals"] | c["dead_goals"] == {g.goal_id for g in goals}, (c["accepted"], c["rejected"], c["reasons"])
    assert c["rows"] == len(c["stored_goals"])


def test_back_pressure_events_wait_in_kafka_and_in_flight_stays_under_the_limit(settings: Settings, bus: str):
    """A slow LLM and a fast producer: the worker takes goals as it can serve them, never all at once."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from goalconvo.streams.broker import end_offsets

    n, limit = 400, 4
    s = settings.model_copy(update={"concurrency": 4, "max_in_flight": limit})
    topic = Topics.for_prefix(s.topic_prefix).goals

    async def lag() -> int:
        """Goals on the topic that the pipeline's consumer group has not committed yet."""
        c = AIOKafkaConsumer(bootstrap_servers=bus, group_id=s.app_id, enable_auto_commit=False)
        await c.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(s.partitions)]
            ends = await end_offsets(bus, tps)
            committed = [await c.committed(tp) or 0 for tp in tps]
            return sum(ends[tp] - off for tp, off in zip(tps, committed))
        finally:
            await c.stop()

    async def scenario():
        async with OpenAIStubServer(delay_s=0.5) as srv:
            llm = VLLMServerBackend([srv.base_url], "stub", max_in_flight=limit, timeout_s=10)
            async with Worker(s, bus, llm=llm):
                await publish(bus, topic, goal_events(goals_for_run(n, "run-bp", None)))
                await asyncio.sleep(8.0)
                started = sum("opening line" in e[2] for e in srv.stats.log)
                waiting = await lag()
                return started, waiting, srv.stats.peak_in_flight, llm.stats.peak_in_flight

    started, waiting, server_peak, client_peak = asyncio.run(scenario())
    assert server_peak <= limit and client_peak <= limit
    # In 8 s at most ~64 calls fit through 4 slots of 0.5 s: the rest of the 400 goals wait in Kafka.
    assert started <= 70, started
    assert waiting >= n - 100, f"only {waiting} goals still wait in Kafka"
