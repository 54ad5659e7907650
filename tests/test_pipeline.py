"""The whole pipeline on the real embedded broker, with the scripted stand-in for the model."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker, run_goals
from goalconvo.core.dead_letters import DeadLetter
from goalconvo.core.wire import decode
from goalconvo.core.settings import Settings
from goalconvo.sinks.query_server import CorpusUnavailable, endpoint_file, run_query
from goalconvo.sinks.sql import QueryRefused
from goalconvo.streams.replay import replay
from goalconvo.streams.topics import Topics

from kafka_helpers import drained, read_topic
from polling import until, wait_for


def _count(db: Path, sql: str) -> int:
    try:
        return run_query(db, sql).rows[0][0]
    except (CorpusUnavailable, Exception):
        return -1


def test_each_dialogue_is_stored_exactly_once_whatever_is_replayed(settings: Settings, bus: str):
    """Every stage's input is delivered again (goals, turns, completed and judged dialogues): still one of each."""
    topics = Topics.for_prefix(settings.topic_prefix)
    n = 5
    content = [
        "select count(*), count(distinct dialogue_id), count(distinct goal_id) from dialogues",
        "select dialogue_id, started_at, exchanges from dialogues order by 1",
        "select dialogue_id, idx, speaker, text from turns order by 1, 2",
        "select dialogue_id, judge_version, accepted, judged_at from verdicts order by 1, 2",
    ]

    async def scenario():
        async with Worker(settings, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(n, "run-once", None)))
            assert await until(lambda: w.store.run_progress("run-once")["accepted"]
                               + w.store.run_progress("run-once")["rejected"] == n, 120)
            before = [w.store.query(q).rows for q in content]
            # At-least-once delivery, for real: every event of every stage, again.
            await publish(bus, topics.goals, goal_events(goals_for_run(n, "run-once", None)))
            again = {t: await replay(bus, t, from_offset=0) for t in
                     (topics.turns_user, topics.turns_bot, topics.dialogues_completed, topics.dialogues_judged)}
            # The sink saw the copies (n replayed judged, n judged again from the replayed completed)...
            seen = lambda: w.sink.replays_ignored + w.sink.regenerations_ignored  # noqa: E731
            assert await until(lambda: seen() >= 2 * n, 90), w.sink.stats()
            # ...and every stage has consumed everything now on its topics: the counts below are final.
            groups = {settings.app_id: topics.dialogue_stages(),
                      w.sink.group_id: [topics.dialogues_judged]}
            assert await until(lambda: drained(bus, groups), 90), "the pipeline never consumed the replays"
            after = [w.store.query(q).rows for q in content]
            return before, after, again, w.store.query("select model from dialogues group by 1").rows

    before, after, again, models = asyncio.run(scenario())
    assert before[0] == [[n, n, n]]
    assert all(r.published >= n for r in again.values()), {t: r.published for t, r in again.items()}
    assert after == before, "a replay added, changed or mixed a stored dialogue"
    turns = before[2]
    assert len(turns) > 2 * n and len({(d, i) for d, i, _, _ in turns}) == len(turns)
    # Each stored dialogue alternates user/bot from index 0 with no gap.
    by_dialogue: dict[str, list] = {}
    for did, idx, speaker, _ in turns:
        by_dialogue.setdefault(did, []).append((idx, speaker))
    for did, ts in by_dialogue.items():
        assert [i for i, _ in ts] == list(range(len(ts))), did
        assert all((i % 2 == 0) == (sp == "user") for i, sp in ts), did
    assert models == [["scripted"]]


def test_malformed_goals_are_dead_lettered_and_the_rest_complete(settings: Settings, bus: str):
    topics = Topics.for_prefix(settings.topic_prefix)
    good = goals_for_run(4, "run-bad", None)
    bad = [
        (b"bad-json", b"{this is not json"),
        (b"missing", orjson.dumps({"domains": {"hotel": {}}, "run_id": "run-bad"})),
        (b"unknown", orjson.dumps({"goal_id": "x1", "run_id": "run-bad", "domains": {"spaceship": {"info": {}}}})),
    ]
    events = list(goal_events(good[:2])) + bad + list(goal_events(good[2:]))

    async def scenario():
        async with Worker(settings, bus) as w:
            await publish(bus, topics.goals, events)
            dead = await read_topic(bus, topics.goals_dead_letter, expect=3, timeout_s=60)
            for _ in range(240):
                c = w.store.run_progress("run-bad")
                if c["accepted"] + c["rejected"] >= 4:
                    break
                await asyncio.sleep(0.25)
            return dead, w.store.run_progress("run-bad"), w.store.query(
                "select key, reason from dead_letters order by key").rows

    dead, progress, stored_dead = asyncio.run(scenario())
    records = {d.key: d for d in (decode(DeadLetter, raw) for raw in dead)}
    assert set(records) == {"bad-json", "missing", "unknown"}
    assert "not valid JSON" in records["bad-json"].reason
    assert "goal_id" in records["missing"].reason and "Field required" in records["missing"].reason
    assert "unknown domain" in records["unknown"].reason and "spaceship" in records["unknown"].reason
    assert all(r.stage == "experience" and r.source_topic == topics.goals for r in records.values())
    assert records["bad-json"].payload == "{this is not json"
    assert progress["accepted"] + progress["rejected"] == 4
    assert [k for k, _ in stored_dead] == ["bad-json", "missing", "unknown"]


def _worker_proc(settings: Settings, bus: str, delay: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "GOALCONVO_APP_ID": settings.app_id,
        "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix,
        "GOALCONVO_SESSION_TIMEOUT_S": str(settings.session_timeout_s),
        "GOALCONVO_LLM_DELAY_S": str(delay),
        "GOALCONVO_CONCURRENCY": "4",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "goalconvo.commands", "worker", "--bootstrap-servers", bus, "--db", str(settings.db), "--llm", "scripted"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_worker_killed_mid_batch_resumes_and_stores_each_dialogue_once(settings: Settings, bus: str):
    topics = Topics.for_prefix(settings.topic_prefix)
    n = 12
    goals = goals_for_run(n, "run-kill", None)
    asyncio.run(publish(bus, topics.goals, goal_events(goals)))
    stored = "select count(*) from dialogues where run_id = 'run-kill'"

    first = _worker_proc(settings, bus, delay=0.15)
    try:
        got = wait_for(lambda: _count(settings.db, stored) >= 2, timeout_s=90)
        assert got, f"worker stored nothing: {first.stderr.read1().decode() if first.poll() is not None else ''}"
        before_kill = _count(settings.db, stored)
        assert before_kill < n, "the batch finished before the kill; slow the stand-in down"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # A hard kill leaves its endpoint file behind; the next sink replaces it.
    second = _worker_proc(settings, bus, delay=0.0)
    try:
        assert wait_for(lambda: _count(settings.db, stored) >= n, timeout_s=120), "not every dialogue arrived"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    rows = run_query(settings.db, "select count(*), count(distinct dialogue_id), count(distinct goal_id) from dialogues").rows
    assert rows == [[n, n, n]]
    dup_turns = run_query(settings.db, "select count(*) - count(distinct (dialogue_id, idx)) from turns").rows[0][0]
    assert dup_turns == 0
    assert not endpoint_file(settings.db).exists(), "a clean stop removes the endpoint file"


def test_query_answers_while_run_writes_the_same_file(settings: Settings, tmp_path: Path):
    env = {
        **os.environ,
        "GOALCONVO_APP_ID": settings.app_id,
        "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix,
        "GOALCONVO_SESSION_TIMEOUT_S": str(settings.session_timeout_s),
        "GOALCONVO_LLM_DELAY_S": "0.1",
    }
    run = subprocess.Popen(
        [sys.executable, "-m", "goalconvo.commands", "run", "--goals", "20", "--llm", "scripted", "--db", str(settings.db)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: endpoint_file(settings.db).exists(), timeout_s=60)
        # The run holds the file: these answers come through its endpoint, and they grow.
        assert wait_for(lambda: _count(settings.db, "select count(*) from dialogues") >= 1, timeout_s=120)
        cli = [sys.executable, "-m", "goalconvo.commands", "query", "--db", str(settings.db), "--json"]
        out = subprocess.run(cli + ["select count(*) as n from dialogues"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert 1 <= orjson.loads(out.stdout)[0]["n"] <= 20
        assert run.poll() is None, "the query must answer while the run is still writing"
        refused = subprocess.run(cli + ["delete from dialogues"], capture_output=True, text=True, timeout=30)
        assert refused.returncode == 2 and "DELETE" in refused.stderr
        stdout, stderr = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr.decode()
    assert b"20 goals" in stdout
    assert run_query(settings.db, "select count(*) from dialogues").rows == [[20]]


def test_direct_query_refuses_writes(settings: Settings):
    asyncio.run(run_goals(settings, 1, timeout_s=60))
    with pytest.raises(QueryRefused):
        run_query(settings.db, "drop table dialogues")
    assert run_query(settings.db, "select count(*) from dialogues", allow_write=True).rows == [[1]]


def test_goals_produce_cli_publishes_jsonl_and_bad_lines_are_dead_lettered(settings: Settings, bus: str, tmp_path: Path):
    topics = Topics.for_prefix(settings.topic_prefix)
    p = tmp_path / "goals.jsonl"
    p.write_text(
        '{"domains": {"police": {"reqt": ["phone"]}}}\n'
        "this line is not json\n"
        '{"goal_id": "t-2", "domains": {"taxi": {"info": {"leaveAt": "17:15"}, "reqt": ["car type"]}}}\n'
    )
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix}
    out = subprocess.run(
        [sys.executable, "-m", "goalconvo.commands", "goals", "produce", "--source", "jsonl", str(p),
         "--run-id", "run-cli", "--bootstrap-servers", bus],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "published 3 goals" in out.stdout

    async def scenario():
        async with Worker(settings, bus) as w:
            dead = await read_topic(bus, topics.goals_dead_letter, expect=1, timeout_s=60)
            for _ in range(240):
                c = w.store.run_progress("run-cli")
                if c["accepted"] + c["rejected"] >= 2:
                    break
                await asyncio.sleep(0.25)
            return dead, w.store.query("select goal_id from dialogues where run_id = 'run-cli' order by goal_id").rows

    dead, stored = asyncio.run(scenario())
    assert len(dead) == 1 and "not valid JSON" in decode(DeadLetter, dead[0]).reason
    assert len(stored) == 2 and stored[1] == ["t-2"] and stored[0][0].startswith("jsonl:")
