"""Issue 13: a killed worker strands no dialogue; the watchdog dead-letters what is stranded anyway.

Workers run as real `goalconvo worker` processes on the real embedded broker.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time

import pytest
from typer.testing import CliRunner

from goalconvo.commands import app as cli_app
from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker, WorkerFailed, run_goals
from goalconvo.core.dead_letters import DeadLetter
from goalconvo.core.records import dialogue_id_for
from goalconvo.core.wire import decode, encode
from goalconvo.core.settings import Settings
from goalconvo.sinks.consumer import DuckDBSink
from goalconvo.sinks.query_server import endpoint_file, run_query
from goalconvo.streams.topics import Topics

import worker_procs as wp
from kafka_helpers import read_topic
from polling import until, wait_for


@pytest.mark.slow
def test_a_crash_between_the_progress_mark_and_the_next_event_strands_nothing(settings: Settings, bus: str):
    """The worker dies right after a progress mark, with its changelog record made durable.

    With the mark written before the next turn event was acknowledged (the old order), the
    recovered table says the turn is done, the redelivered source event is skipped and the
    dialogue stops for good. With the mark after the acknowledgement, nothing is lost.
    """
    n = 6
    run_id = "run-crash"
    asyncio.run(publish(bus, Topics.for_prefix(settings.topic_prefix).goals, goal_events(goals_for_run(n, run_id))))
    first = wp.worker(settings, bus, delay=0.05, GOALCONVO_FAULT_CRASH_AT="after_mark:5")
    try:
        assert wait_for(lambda: first.poll() is not None, 90, 0.2), "the fault hook never fired"
        assert first.poll() == 137, first.text()
    finally:
        first.kill()
    stale = wp.endpoint_text(settings.db)
    second = wp.worker(settings, bus)
    try:
        wp.wait_for_sink(settings.db, second, stale)
        done = wait_for(lambda: wp.count(settings.db, f"select count(*) from dialogues where run_id = '{run_id}'") >= n, 90)
        assert done, f"dialogues stranded by the crash: {wp.count(settings.db, 'select count(*) from dialogues')} of {n} " \
                     f"stored\n{second.text()}"
    finally:
        assert second.stop() == 0, second.text()
    assert wp.stored_once(settings.db, run_id) == (n, n, n)


def test_run_reports_a_stranded_dialogue_instead_of_waiting_forever(settings: Settings, tmp_path):
    """One turn event is lost (the fault hook drops it, as a broker that lost it would): the
    watchdog dead-letters that dialogue as stranded, and `run` ends and says so."""
    env = wp.cli_env(settings, GOALCONVO_FAULT_DROP_AT="next_event:1", GOALCONVO_STRANDED_AFTER_S="2",
                     GOALCONVO_LLM_DELAY_S="0.02")
    out = subprocess.run(wp.CLI + ["run", "--goals", "4", "--llm", "scripted", "--db", str(settings.db), "--json",
                                   "--timeout", "120"], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert (summary["stranded"], summary["dead_lettered"], summary["accepted"] + summary["rejected"]) == (1, 1, 3)
    rows = run_query(settings.db, "select stage, error_type, reason, dialogue_id from dead_letters").rows
    assert len(rows) == 1 and rows[0][:2] == ["watchdog", "Stranded"], rows
    assert rows[0][2] == "stranded: no progress for 2 s after turn 1", rows
    assert wp.count(settings.db, f"select count(*) from dialogues where dialogue_id = '{rows[0][3]}'") == 0


def test_a_stranded_dialogue_that_progresses_after_all_is_stored_once_and_the_table_empties(settings: Settings, bus: str):
    """Stranded, dead-lettered, then its lost turn turns up: it completes, is stored once and
    counts as stored, not dead-lettered. Once every dialogue has finished and the horizon has
    passed, the progress table is empty (issue 14, item 3)."""
    s = settings.model_copy(update={"fault_drop_at": "next_event:1", "stranded_after_s": 1.5, "progress_horizon_s": 2.0})
    topics = Topics.for_prefix(s.topic_prefix)
    run_id = "run-revive"
    goals = goals_for_run(3, run_id)

    async def scenario():
        async with Worker(s, bus) as w:
            await publish(bus, topics.goals, goal_events(goals))
            dead = [decode(DeadLetter, raw) for raw in await read_topic(bus, topics.dialogues_dead_letter, expect=1)]
            assert len(dead) == 1 and dead[0].stage == "watchdog", dead
            lost = dead[0].dialogue_id
            # The other two dialogues stored and the sink's copy of the dead letter too (it may trail the topic).
            assert await until(lambda: w.store.run_progress(run_id)["accepted"] + w.store.run_progress(run_id)["rejected"] >= 2
                               and w.store.run_stranded(run_id) >= 1, 60)
            before = w.store.run_progress(run_id), w.store.run_stranded(run_id)
            # The lost turn turns up after all: the same dialogue's state after its first user turn.
            goal = next(g for g in goals if dialogue_id_for(run_id, g.goal_id) == lost)
            state = await w.pipeline.engine.user_turn(await w.pipeline.engine.start(goal, run_id, []))
            await publish(bus, topics.turns_bot, [(lost.encode(), encode(state))])
            assert await until(lambda: w.store.query(
                "select count(*) from dialogues where dialogue_id = ?", [lost]).rows[0][0] == 1, 60), "never completed"
            after = w.store.run_progress(run_id), w.store.run_stranded(run_id)
            emptied = await until(lambda: len(w.pipeline.progress.data) == 0, 30)
            return before, after, emptied, len(w.pipeline.progress.data), w.pipeline.watchdog_stats

    before, after, emptied, left, stats = asyncio.run(scenario())
    assert before[0]["dead_lettered"] == 1 and before[1] == 1
    assert after[0]["dead_lettered"] == 0 and after[1] == 0
    assert after[0]["accepted"] + after[0]["rejected"] == 3
    assert wp.stored_once(settings.db, run_id) == (3, 3, 3)
    assert emptied, f"{left} progress entries left after the horizon ({stats})"
    assert stats["purged"] >= 3


def test_a_worker_stopped_by_sigterm_exits_0_with_a_summary(settings: Settings, bus: str):
    worker = wp.worker(settings, bus)
    try:
        wp.wait_for_sink(settings.db, worker)
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0, worker.text()
    finally:
        worker.kill()
    assert "error" not in worker.text().lower(), worker.text()
    line = worker.stdout().strip()
    assert line.startswith("worker stopped (SIGTERM) after ") and "dialogues stored" in line, line
    assert len(line.splitlines()) == 1


def test_an_interrupted_run_says_stopped_and_exits_143_on_sigterm(settings: Settings):
    run = wp.Proc(wp.CLI + ["run", "--goals", "200", "--llm", "scripted", "--db", str(settings.db)],
                  wp.cli_env(settings, GOALCONVO_LLM_DELAY_S="0.2"))
    try:
        assert wait_for(lambda: endpoint_file(settings.db).exists() or run.poll() is not None, 60, 0.2), run.text()
        run.signal(signal.SIGTERM)
        assert run.wait(60) == 143, run.text()
    finally:
        run.kill()
    assert "stopped (SIGTERM)" in run.text() and "error" not in run.text().lower(), run.text()


def _dead_store(monkeypatch) -> None:
    async def broken(self, messages):
        raise OSError("No space left on device (injected)")

    monkeypatch.setattr(DuckDBSink, "store_messages", broken)


def test_a_dead_sink_stops_run_with_the_reason(settings: Settings, bus: str, monkeypatch):
    _dead_store(monkeypatch)
    s = settings.model_copy(update={"bootstrap_servers": bus})
    t0 = time.monotonic()
    with pytest.raises(WorkerFailed, match=r"the DuckDB sink .* stopped: OSError: No space left on device"):
        asyncio.run(run_goals(s, 3, timeout_s=120))
    assert time.monotonic() - t0 < 60, "the run waited on a dead sink"


def test_a_dead_sink_stops_the_worker_command_with_exit_1(settings: Settings, bus: str, monkeypatch):
    _dead_store(monkeypatch)
    asyncio.run(publish(bus, Topics.for_prefix(settings.topic_prefix).goals, goal_events(goals_for_run(2, "run-dead"))))
    env = {k: v for k, v in wp.cli_env(settings).items() if k.startswith("GOALCONVO_")}
    result = CliRunner().invoke(cli_app, ["worker", "--bootstrap-servers", bus, "--db", str(settings.db),
                                          "--llm", "scripted"], env=env)
    assert result.exit_code == 1, result.output
    assert "the DuckDB sink" in result.output and "No space left on device" in result.output


@pytest.mark.slow
def test_two_workers_on_a_separate_broker_lose_nothing_when_the_sink_worker_is_killed(settings: Settings):
    """`goalconvo broker`, two `goalconvo worker`s in one group (one with the sink), dozens of
    dialogues in flight; the sink's worker is SIGKILLed mid-run and restarted."""
    n, run_id = 48, "run-scale"
    broker, bus = wp.broker(settings)
    workers: list[wp.Proc] = []
    try:
        asyncio.run(publish(bus, Topics.for_prefix(settings.topic_prefix).goals, goal_events(goals_for_run(n, run_id))))
        helper = wp.worker(settings, bus, sink=False, delay=0.15)
        sink = wp.worker(settings, bus, delay=0.15)
        workers += [helper, sink]
        wp.wait_for_sink(settings.db, sink)
        stored = f"select count(*) from dialogues where run_id = '{run_id}'"
        assert wait_for(lambda: wp.count(settings.db, stored) >= 4, 120), sink.text()
        before = wp.count(settings.db, stored)
        assert before < n - 20, f"too few dialogues left in flight at the kill ({before} of {n} stored)"
        stale = wp.endpoint_text(settings.db)
        sink.kill()
        assert helper.poll() is None, helper.text()
        restarted = wp.worker(settings, bus, delay=0.15)
        workers.append(restarted)
        wp.wait_for_sink(settings.db, restarted, stale)
        assert wait_for(lambda: wp.count(settings.db, stored) >= n, 180), \
            f"{wp.count(settings.db, stored)} of {n} stored\n{restarted.text()}\n{helper.text()}"
        assert wp.stored_once(settings.db, run_id) == (n, n, n)
        assert wp.count(settings.db, "select count(*) from dead_letters") == 0
    finally:
        for w in workers:
            w.stop()
        assert broker.stop() == 0, broker.text()

