"""Generation through the vLLM-server path: the real pipeline, a real broker, a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import functools

import orjson
import pytest

from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker
from goalconvo.core.settings import Settings
from goalconvo.devtools.openai_stub import OpenAIStubServer, canned_reply
from goalconvo.llm.vllm_server import VLLMServerBackend
from goalconvo.sinks.query_server import run_query
from goalconvo.streams.topics import Topics

import worker_procs as wp
from kafka_helpers import drained
from polling import until, wait_for
from stub_thread import StubThread


def _police_user_turns_fail(body: dict) -> str | None:
    """Every user turn of a police goal gets a 500: those dialogues must end as dead letters."""
    system = str(body["messages"][0]["content"])
    return "500" if "You are a customer" in system and "police" in system else None


def test_64_dialogues_with_many_requests_in_flight_and_faults_retried_or_dead_lettered(settings: Settings, bus: str):
    n = 64
    # Free mode: the stub's replies are role-play turns (guided phrasing: tests/test_guided.py).
    s = settings.model_copy(update={"concurrency": 16, "max_in_flight": 32, "llm_timeout_s": 1.0, "mode": "free"})
    goals = goals_for_run(n, "run-http", None)
    doomed = {g.goal_id for g in goals if "police" in g.domains}
    assert 0 < len(doomed) < n

    async def scenario():
        async with OpenAIStubServer(delay_s=0.05, hang_s=3.0, fault_for=_police_user_turns_fail) as srv:
            # One-off faults at fixed request numbers: each must be retried, not lost.
            srv.fault_at = {7: "500", 40: "timeout", 90: "garbage", 140: "429", 200: "drop"}
            llm = VLLMServerBackend([srv.base_url], "stub-7b", max_in_flight=s.max_in_flight, timeout_s=1.0,
                                    retries=2, backoff_s=0.05)
            async with Worker(s, bus, llm=llm) as w:
                topics = Topics.for_prefix(s.topic_prefix)
                await publish(bus, topics.goals, goal_events(goals))
                assert await until(lambda: sum(w.store.run_progress("run-http").values()) >= n, 150), \
                    w.store.run_progress("run-http")
                # Count once nothing is in flight: a late duplicate (if any) is stored by then.
                groups = {s.app_id: topics.dialogue_stages(),
                          w.sink.group_id: [topics.dialogues_judged, *topics.dead_letters()]}
                assert await until(lambda: drained(bus, groups), 60), "events still in flight"
                rows = w.store.query("select goal_id, model from dialogues where run_id = 'run-http'").rows
                dead = w.store.query("select goal_id, stage, reason from dead_letters where run_id = 'run-http'").rows
                return rows, dead, srv.stats, llm.stats

    rows, dead, srv_stats, llm_stats = asyncio.run(scenario())
    stored = {g for g, _ in rows}
    assert len(rows) == len(stored), "one row per dialogue"
    assert {m for _, m in rows} == {"vllm:stub-7b"}
    dead_goals = {g for g, _, _ in dead}
    assert dead_goals == doomed, "exactly the police goals are dead-lettered"
    assert stored | dead_goals == {g.goal_id for g in goals} and not stored & dead_goals, "nothing lost"
    # Each doomed call failed for good; its last attempt may have met one of the one-off faults instead.
    assert all(stage == "user" and "LLM call failed after" in reason for _, stage, reason in dead), dead
    assert sum("HTTP 500" in reason and "injected server error" in reason for _, _, reason in dead) >= len(dead) - 2
    # The one-off faults were served and retried.
    assert {k: srv_stats.faults[k] for k in ("timeout", "garbage", "429", "drop")} == dict.fromkeys(
        ("timeout", "garbage", "429", "drop"), 1)
    assert llm_stats.retries >= 5
    assert srv_stats.peak_in_flight >= 8, f"requests were not concurrent (peak {srv_stats.peak_in_flight})"
    assert llm_stats.peak_in_flight <= s.max_in_flight


def _worker(settings: Settings, bus: str, url: str) -> wp.Proc:
    """A free-mode `goalconvo worker` (with the sink) against the stub; its stderr goes to a file, not a pipe."""
    env = wp.cli_env(
        settings,
        GOALCONVO_MODE="free",
        GOALCONVO_LLM_URLS=url,
        GOALCONVO_MODEL="stub-7b",
        GOALCONVO_JUDGE_LLM="false",
    )
    return wp.Proc(wp.CLI + ["worker", "--bootstrap-servers", bus, "--db", str(settings.db), "--llm", "vllm"], env)


@pytest.mark.slow
def test_worker_killed_mid_turn_resumes_that_turn_not_the_dialogue(settings: Settings, bus: str):
    goal = goals_for_run(1, "run-resume", None)
    asyncio.run(publish(bus, Topics.for_prefix(settings.topic_prefix).goals, goal_events(goal)))
    reply = functools.partial(canned_reply, user_turns=5)
    with StubThread(delay_s=0.8, reply=reply) as srv:
        first = _worker(settings, bus, srv.base_url)
        try:
            # experience, bot, user, bot, user: kill while the sixth call (a bot turn) is in flight.
            assert wait_for(lambda: srv.stats.requests >= 6, timeout_s=90), first.text()
        finally:
            first.kill()
        before = list(srv.stats.log)
        killed_at = before[-1][1]
        assert first.poll() is not None, "the first worker is still running"
        stale = wp.endpoint_text(settings.db)
        second = _worker(settings, bus, srv.base_url)
        try:
            # No direct read of the corpus until the second worker's sink holds it: the killed worker
            # freed DuckDB's lock, and a read taking it just as the new sink opens the file stops that
            # worker at start ("Could not set lock on file"): the dialogue then never finishes.
            wp.wait_for_sink(settings.db, second, stale)
            done = wait_for(lambda: wp.count(settings.db, "select count(*) from dialogues") == 1, timeout_s=120)
        finally:
            code = second.stop()
        after = srv.stats.log[len(before):]
    assert done, f"the dialogue was not finished by the second worker (exit {code}):\n{second.text()}"
    assert after, "the second worker made no call"
    first_after = after[0]
    assert "opening line" not in first_after[2], "the dialogue restarted from the experience generator"
    assert first_after[1] == killed_at, "the second worker redoes the turn in flight, with the same history"
    assert sum("opening line" in e[2] for e in srv.stats.log) == 1
    turns = run_query(settings.db, "select idx, speaker from turns order by idx").rows
    assert [i for i, _ in turns] == list(range(len(turns))), "no repeated or missing turn"
    assert [sp for _, sp in turns] == ["user", "bot"] * (len(turns) // 2)
    stop = run_query(settings.db, "select stop_reason, exchanges from dialogues").rows
    assert stop == [["goal_done", 6]]
