"""Issue 24, item 4: runs sharing a broker do not mix. Two `run`s at once, each with its own file: each
file holds exactly its own run's dialogues, each generated under its own run's settings, and the one
that ends first does not stall the other. A new file on a long-lived broker takes in only what it
asked for: a `run` its own goals, a `worker` what is judged after its sink started (the past is
`backfill sink`'s, explicitly)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker, run_goals
from goalconvo.core.settings import Settings
from goalconvo.sinks.query_server import run_query
from goalconvo.streams.topics import Topics

from kafka_helpers import drained
from polling import until


def _rows(db: Path, sql: str) -> list:
    return run_query(db, sql).rows


def test_two_runs_at_once_each_keep_their_own_dialogues_and_settings(settings: Settings, bus: str, tmp_path: Path):
    a = settings.model_copy(update={"bootstrap_servers": bus, "db": tmp_path / "a.duckdb", "mode": "guided", "seed": 1})
    b = settings.model_copy(update={"bootstrap_servers": bus, "db": tmp_path / "b.duckdb", "mode": "free", "seed": 2,
                                    "max_turns": 4})

    async def both():
        return await asyncio.gather(run_goals(a, 6, timeout_s=180), run_goals(b, 4, timeout_s=180))

    ra, rb = asyncio.run(both())
    assert ra.finished and rb.finished, (ra, rb)
    for s, r, n, mode in ((a, ra, 6, "guided"), (b, rb, 4, "free")):
        rows = _rows(s.db, "select run_id, mode, count(*) from dialogues group by all")
        assert rows == [[r.run_id, mode, n]], f"{s.db.name} holds {rows}, wanted only {n} {mode} dialogues of {r.run_id}"
        # The settings it ran under are the ones stored with its run (its own seed).
        (seed,) = _rows(s.db, "select settings->>'seed' from runs")[0]
        assert int(seed) == s.seed


def test_a_run_into_a_new_file_takes_in_only_its_own_goals(settings: Settings, bus: str, tmp_path: Path):
    """A broker with a past: a worker stored dialogues of run-past; a run into a new file takes none of them."""
    topics = Topics.for_prefix(settings.topic_prefix)
    past = settings.model_copy(update={"db": tmp_path / "past.duckdb"})

    async def history():
        async with Worker(past, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(3, "run-past", None)))
            assert await until(lambda: w.store.query("select count(*) from dialogues").rows[0][0] == 3, 90)

    asyncio.run(history())
    fresh = settings.model_copy(update={"bootstrap_servers": bus, "db": tmp_path / "fresh.duckdb"})
    r = asyncio.run(run_goals(fresh, 2, timeout_s=120))
    assert r.finished, r
    assert _rows(fresh.db, "select run_id, count(*) from dialogues group by all") == [[r.run_id, 2]]


def test_a_worker_with_a_new_file_takes_in_what_is_judged_from_its_start(settings: Settings, bus: str, tmp_path: Path):
    topics = Topics.for_prefix(settings.topic_prefix)
    first = settings.model_copy(update={"db": tmp_path / "first.duckdb"})
    second = settings.model_copy(update={"db": tmp_path / "second.duckdb"})

    async def scenario():
        async with Worker(first, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(3, "run-before", None)))
            assert await until(lambda: w.store.query("select count(*) from dialogues").rows[0][0] == 3, 90)
            # The stages have committed what they did: stages that stop before their commit hand their last
            # events to the group's next worker, which judges them again after the second sink started
            # (at-least-once); that redelivery is not what this test is about.
            stages = topics.dialogue_stages()
            assert await until(lambda: drained(bus, {first.app_id: stages}), 60), "the stages never committed"
        async with Worker(second, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(2, "run-after", None)))
            assert await until(lambda: w.store.query("select count(*) from dialogues where run_id = 'run-after'")
                               .rows[0][0] == 2, 90)
            # Everything its sink will ever read from the topics as they are now has been read.
            sink_topics = [topics.dialogues_judged, *topics.dead_letters(), topics.goals]
            assert await until(lambda: drained(bus, {w.sink.group_id: sink_topics}), 60)
            return w.store.query("select run_id, count(*) from dialogues group by all order by 1").rows

    assert asyncio.run(scenario()) == [["run-after", 2]], "a new file took in dialogues judged before its sink started"
