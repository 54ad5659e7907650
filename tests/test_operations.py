"""Operating the stream: replay into the pipeline, rebuild the corpus from the topic, backfill goals."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker
from goalconvo.core.settings import Settings
from goalconvo.sinks.query_server import run_query
from goalconvo.streams.replay import backfill_goals, replay
from goalconvo.streams.topics import Topics

from kafka_helpers import drained
from polling import until

CLI = [sys.executable, "-m", "goalconvo.commands"]


def _counts(store) -> list:
    return store.query(
        "select (select count(*) from dialogues), (select count(distinct dialogue_id) from dialogues), "
        "(select count(*) - count(distinct (dialogue_id, idx)) from turns), (select count(*) from verdicts)"
    ).rows[0]


def test_replaying_a_slice_twice_into_the_pipeline_adds_no_rows(settings: Settings, bus: str):
    topics = Topics.for_prefix(settings.topic_prefix)
    n = 6
    goals = goals_for_run(n, "run-replay", None)

    async def scenario():
        async with Worker(settings, bus) as w:
            await publish(bus, topics.goals, goal_events(goals))
            assert await until(lambda: _counts(w.store)[0] == n, 90)
            before = _counts(w.store)
            first = await replay(bus, topics.goals, from_offset=0)
            second = await replay(bus, topics.goals, from_offset=0)
            turns = await replay(bus, topics.turns_user, from_offset=0)
            judged = await replay(bus, topics.dialogues_judged, from_offset=0)
            # The replayed events have travelled the whole pipeline when the sink has seen the n replayed
            # judged dialogues and every stage has consumed everything now on its topics.
            assert await until(lambda: w.sink.replays_ignored + w.sink.regenerations_ignored >= n, 60), w.sink.stats()
            groups = {settings.app_id: topics.dialogue_stages(),
                      w.sink.group_id: [topics.dialogues_judged]}
            assert await until(lambda: drained(bus, groups), 90), "the pipeline never consumed the replays"
            return before, _counts(w.store), first, second, turns, judged

    before, after, first, second, turns, judged = asyncio.run(scenario())
    assert before == [n, n, 0, n]
    assert after == before, "replays created rows"
    assert first.read == first.published == n and first.partitions == settings.partitions
    assert second.published == 2 * n, "the second replay also sees the first one's copies"
    assert turns.published > n and judged.published == n


def test_replay_cli_dry_run_and_time_window(settings: Settings, bus: str):
    topics = Topics.for_prefix(settings.topic_prefix)
    asyncio.run(publish(bus, topics.goals, goal_events(goals_for_run(5, "run-x", None))))
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix}
    out = subprocess.run(CLI + ["replay", "--topic", "goals", "--from-offset", "0", "--dry-run", "--json",
                                "--bootstrap-servers", bus], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"topic": topics.goals, "to_topic": topics.goals, "partitions": settings.partitions,
                                      "read": 5, "published": 5, "dry_run": True}
    future = subprocess.run(CLI + ["replay", "--topic", "goals", "--from-time", "2999-01-01T00:00:00Z", "--json",
                                   "--bootstrap-servers", bus], env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(future.stdout)["read"] == 0
    copy = subprocess.run(CLI + ["replay", "--topic", "goals", "--from-time", "2000-01-01T00:00:00", "--to-topic",
                                 "goals.dead-letter", "--json", "--bootstrap-servers", bus],
                          env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(copy.stdout)["published"] == 5
    bad = subprocess.run(CLI + ["replay", "--topic", "goals", "--bootstrap-servers", bus], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "exactly one of --from-offset and --from-time" in bad.stderr


def test_a_deleted_corpus_is_rebuilt_from_the_judged_topic(settings: Settings, bus: str):
    topics = Topics.for_prefix(settings.topic_prefix)
    n = 5

    async def generate():
        async with Worker(settings, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(n, "run-rebuild", None)))
            assert await until(lambda: _counts(w.store)[0] == n, 90)

    asyncio.run(generate())
    snapshot_sql = [
        "select dialogue_id, run_id, goal_id, domains, model, stop_reason, exchanges, started_at, ended_at from dialogues order by 1",
        "select dialogue_id, idx, speaker, text from turns order by 1, 2",
        "select dialogue_id, judge_version, accepted, judged_at from verdicts order by 1",
        "select dialogue_id, name, passed, reason from verdict_checks order by 1, 2",
    ]
    before = [run_query(settings.db, q).rows for q in snapshot_sql]
    for p in Path(settings.db).parent.glob(Path(settings.db).name + "*"):
        p.unlink()
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix, "GOALCONVO_APP_ID": settings.app_id,
           "GOALCONVO_SESSION_TIMEOUT_S": str(settings.session_timeout_s)}
    out = subprocess.run(CLI + ["backfill", "sink", "--from-beginning", "--db", str(settings.db), "--json",
                                "--bootstrap-servers", bus], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["new_dialogues"] == n
    assert [run_query(settings.db, q).rows for q in snapshot_sql] == before
    again = subprocess.run(CLI + ["backfill", "sink", "--from-beginning", "--db", str(settings.db), "--json",
                                  "--bootstrap-servers", bus], env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)["new_dialogues"] == 0, "a second rebuild adds nothing"
    assert run_query(settings.db, "select count(*) from goals").rows == [[n]], "the goals were stored too"


def test_backfill_goals_skips_what_was_published_unless_forced(settings: Settings, bus: str, tmp_path: Path):
    topic = Topics.for_prefix(settings.topic_prefix).goals
    goals = goals_for_run(4, "bf", None)
    first = asyncio.run(backfill_goals(bus, topic, goals, rate=50))
    second = asyncio.run(backfill_goals(bus, topic, goals + goals_for_run(6, "bf", None)[4:]))
    forced = asyncio.run(backfill_goals(bus, topic, goals[:2], force=True))
    assert first == {"published": 4, "skipped": 0}
    assert second == {"published": 2, "skipped": 4}
    assert forced == {"published": 2, "skipped": 0}
    p = tmp_path / "g.jsonl"
    p.write_text("\n".join(json.dumps({"domains": {"police": {"reqt": ["phone"]}}, "n": i}) for i in range(3)) + "\n")
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix}
    cmd = CLI + ["backfill", "goals", "--source", "jsonl", str(p), "--domains", "police", "--json", "--bootstrap-servers", bus]
    runs = [json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60).stdout) for _ in range(2)]
    assert runs == [{"published": 3, "skipped": 0}, {"published": 0, "skipped": 3}]
    taxi_only = CLI + ["backfill", "goals", "--source", "jsonl", str(p), "--domains", "taxi", "--json",
                       "--bootstrap-servers", bus]
    none = subprocess.run(taxi_only, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(none.stdout) == {"published": 0, "skipped": 0}
