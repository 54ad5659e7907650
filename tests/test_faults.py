"""Faults against the real embedded broker and a real HTTP LLM server: after recovery every goal
is a stored dialogue or a dead letter with a reason, and none is stored twice."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker
from goalconvo.core.settings import Settings
from goalconvo.devtools.openai_stub import OpenAIStubServer
from goalconvo.llm.vllm_server import VLLMServerBackend
from goalconvo.streams.broker import EmbeddedBroker
from goalconvo.streams.topics import Topics

from kafka_helpers import drained
from polling import until


async def _settle(w: Worker, bus: str, run_id: str, n: int, timeout_s: float) -> dict:
    """Wait until every goal of the run is accounted for and no event is in flight; then the counts,
    and duplicates found (a late duplicate would be stored by then: every group has committed all)."""
    loop = asyncio.get_running_loop()

    async def accounted() -> bool:
        return sum((await loop.run_in_executor(None, w.store.run_progress, run_id)).values()) >= n

    assert await until(accounted, timeout_s), await loop.run_in_executor(None, w.store.run_progress, run_id)
    s = w.settings
    topics = Topics.for_prefix(s.topic_prefix)
    groups = {s.app_id: topics.dialogue_stages(),
              w.sink.group_id: [topics.dialogues_judged, *topics.dead_letters()]}
    assert await until(lambda: drained(bus, groups), 60), "events still in flight after every goal was accounted for"
    c = await loop.run_in_executor(None, w.store.run_progress, run_id)
    stored = set(r[0] for r in w.store.query("select goal_id from dialogues where run_id = ?", [run_id]).rows)
    dead = w.store.query(
        "select goal_id, reason from dead_letters where run_id = ? and goal_id is not null", [run_id]).rows
    c["rows"] = w.store.query("select count(*) from dialogues where run_id = ?", [run_id]).rows[0][0]
    c["stored_goals"] = stored
    c["dead_goals"] = {g for g, _ in dead}
    c["reasons"] = [r for _, r in dead]
    return c


@pytest.mark.slow
def test_llm_server_slow_failing_and_gone_for_a_while(settings: Settings, bus: str):
    n = 24
    s = settings.model_copy(update={"concurrency": 8, "llm_timeout_s": 0.6})
    goals = goals_for_run(n, "run-llm-faults", None)

    async def scenario():
        async with OpenAIStubServer(delay_s=0.05, hang_s=2.0) as srv:
            llm = VLLMServerBackend([srv.base_url], "stub", max_in_flight=8, timeout_s=0.6, retries=2, backoff_s=0.2)
            async with Worker(s, bus, llm=llm) as w:
                await publish(bus, Topics.for_prefix(s.topic_prefix).goals, goal_events(goals))
                # Each phase lasts until the server has seen it happen, not for a guessed time.
                assert await until(lambda: srv.stats.requests >= 16, 60), "the run never got under way"
                srv.delay_s = 0.4                       # slow
                mark = srv.stats.requests
                assert await until(lambda: srv.stats.requests >= mark + 8, 60), "no call was served slowly"
                srv.fault_queue = ["500", "429", "timeout"] * 4   # failing
                assert await until(lambda: not srv.fault_queue, 60), "the injected faults were not all served"
                srv.down = True                         # gone: connections dropped
                # Gone long enough that callers in flight met it more than once (and waited it out).
                assert await until(lambda: srv.stats.faults["drop"] >= 16, 60), srv.stats.faults
                srv.down = False
                srv.delay_s = 0.05
                result = await _settle(w, bus, "run-llm-faults", n, timeout_s=120)
                return result, srv.stats

    c, stats = asyncio.run(scenario())
    all_goals = {g.goal_id for g in goals}
    assert c["stored_goals"] | c["dead_goals"] == all_goals, "a goal was lost"
    assert not c["stored_goals"] & c["dead_goals"]
    assert c["rows"] == len(c["stored_goals"]), "a dialogue was stored twice"
    assert stats.faults["drop"] >= 16 and stats.faults["500"] >= 4 and stats.faults["429"] >= 4
    assert all("LLM call failed after" in r for r in c["reasons"]), c["reasons"]
    # An outage shorter than llm_outage_s is waited out: no dialogue was lost to the dropped connections.
    assert not any("connection failed" in r for r in c["reasons"]), c["reasons"]
    assert len(c["stored_goals"]) > 0


@pytest.mark.slow
def test_broker_frozen_then_thawed(settings: Settings, broker: EmbeddedBroker, bus: str):
    """SIGSTOP the broker mid-run (clients time out, groups rebalance), SIGCONT it: the run completes."""
    n = 12
    s = settings.model_copy(update={"llm_delay_s": 0.1})
    goals = goals_for_run(n, "run-freeze", None)

    async def scenario():
        async with Worker(s, bus) as w:
            await publish(bus, Topics.for_prefix(s.topic_prefix).goals, goal_events(goals))
            llm = w.pipeline.llm
            assert await until(lambda: llm.calls >= 10, 60), "the run never got under way"
            os.kill(broker.pid, signal.SIGSTOP)
            try:
                # The fault itself, not a wait for a result: frozen past the session timeout, so every
                # client times out and the groups rebalance when it thaws.
                await asyncio.sleep(s.session_timeout_s * 1.5)
            finally:
                os.kill(broker.pid, signal.SIGCONT)
            return await _settle(w, bus, "run-freeze", n, timeout_s=150)

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
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                await publish(bus, topic, goal_events(goals_for_run(n, "run-bp", None)))
                # Run until some 40 calls went through (about 5 s at 4 slots of 0.5 s), then look.
                assert await until(lambda: srv.stats.requests >= 40, 60), srv.stats.requests
                requests, elapsed = srv.stats.requests, loop.time() - t0
                started = sum("opening line" in e[2] for e in srv.stats.log)
                waiting = await lag()
                return requests, elapsed, started, waiting, srv.stats.peak_in_flight, llm.stats.peak_in_flight

    requests, elapsed, started, waiting, server_peak, client_peak = asyncio.run(scenario())
    assert server_peak <= limit and client_peak <= limit
    # At most `limit` calls of 0.5 s at once: no more than that many fit in the time it ran (plus those in
    # flight), and the rest of the 400 goals wait in Kafka.
    capacity = limit * elapsed / 0.5 + limit
    assert started <= requests <= capacity, (started, requests, elapsed)
    assert waiting >= n - 100, f"only {waiting} goals still wait in Kafka"
