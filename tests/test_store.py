"""The DuckDB corpus: migrations, idempotent writes, read-only queries."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from goalconvo.agents.dialogue import DialogueEngine
from goalconvo.core.goals import builtin_goals
from goalconvo.core.dead_letters import DeadLetter
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge
from goalconvo.llm.scripted import ScriptedBackend
from goalconvo.sinks.schema import MIGRATIONS
from goalconvo.sinks.sql import QueryRefused
from goalconvo.sinks.store import CorpusStore


def _judged(goal_index=0, run_id="r1"):
    s = Settings(llm="scripted")
    db = VenueDB.load()
    eng = DialogueEngine(ScriptedBackend(), db, s)

    async def go():
        st = await eng.start(builtin_goals()[goal_index], run_id)
        while True:
            st = await eng.user_turn(st)
            step = await eng.bot_turn(st)
            st = step.state
            if step.finished:
                return await Judge(s, db).judge(step.finished)

    return asyncio.run(go())


def test_replayed_records_leave_one_row_each(tmp_path):
    store = CorpusStore(tmp_path / "c.duckdb")
    jd = _judged()
    dl = DeadLetter(source_topic="t", source_partition=0, source_offset=7, stage="experience", reason="bad", error_type="DecodeError")
    assert store.write_batch([jd], [(dl.dead_letter_id, dl)]) == 1
    assert store.write_batch([jd, jd], [(dl.dead_letter_id, dl)]) == 0
    counts = store.query(
        "select (select count(*) from dialogues), (select count(*) from turns), "
        "(select count(*) from verdicts), (select count(*) from dead_letters)"
    ).rows[0]
    assert counts == [1, len(jd.dialogue.turns), 1, 1]
    store.close()


def test_migrations_run_once_and_reopen_keeps_data(tmp_path):
    path = tmp_path / "c.duckdb"
    store = CorpusStore(path)
    store.write_batch([_judged()])
    store.close()
    store = CorpusStore(path)
    assert store.query("select count(*), max(version) from schema_version").rows == [[len(MIGRATIONS), len(MIGRATIONS)]]
    assert store.query("select count(*) from dialogues").rows == [[1]]
    store.close()


@pytest.mark.parametrize("sql", ["delete from dialogues", "drop table turns", "insert into runs values (1)", "select 1; delete from turns", "update dialogues set model = 'x'"])
def test_query_refuses_writes(tmp_path, sql):
    store = CorpusStore(tmp_path / "c.duckdb")
    with pytest.raises(QueryRefused):
        store.query(sql)
    store.close()


def test_second_writer_process_cannot_open_the_file(tmp_path):
    """The fact the query endpoint exists for (DESIGN.md): DuckDB's lock is per process."""
    import subprocess
    import sys

    path = tmp_path / "c.duckdb"
    store = CorpusStore(path)
    probe = f"import duckdb; duckdb.connect({str(path)!r}, read_only=True)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode != 0 and "lock" in out.stderr.lower()
    store.close()


def test_a_regenerated_dialogue_id_keeps_its_first_generation_whole(tmp_path):
    """Issue 14.1: a second generation of a stored id (progress lost) is ignored as a whole and counted."""
    store = CorpusStore(tmp_path / "c.duckdb")
    first = _judged()
    later = _judged()  # the same goal and run: the same dialogue id, generated again
    assert later.dialogue.dialogue_id == first.dialogue.dialogue_id
    # Make the later generation plainly different: more turns, other text, another judge's verdict.
    d = later.dialogue
    d.started_at = first.dialogue.started_at + 60
    d.turns = [t.model_copy(update={"text": "REGENERATED " + t.text}) for t in d.turns] + [
        t.model_copy(update={"index": t.index + len(d.turns), "text": "EXTRA"}) for t in d.turns[:2]
    ]
    later.verdict.judge_version = "another-judge"
    later.verdict.accepted = not first.verdict.accepted

    def snapshot():
        return [
            store.query("select dialogue_id, started_at, exchanges from dialogues").rows,
            store.query("select idx, speaker, text from turns order by idx").rows,
            store.query("select judge_version, accepted from verdicts").rows,
            store.query("select judge_version, name from verdict_checks order by 1, 2").rows,
        ]

    assert store.write_batch([first]) == 1
    kept = snapshot()
    assert [r[2] for r in kept[1]] == [t.text for t in first.dialogue.turns]
    r = store.write([later])
    assert (r.new, r.replayed, r.regenerated) == (0, 0, 1)
    assert snapshot() == kept, "the first generation keeps its row, turns and verdict"
    assert store.write([first, later, later]).regenerated == 2 and store.write([first]).replayed == 1
    assert snapshot() == kept
    assert store.ignored_generations() == 1 and store.ignored_generations(first.dialogue.run_id) == 1
    assert store.query("select started_at from ignored_generations").rows == [[d.started_at]]
    store.close()


def test_within_one_batch_the_first_generation_of_an_id_wins(tmp_path):
    store = CorpusStore(tmp_path / "c.duckdb")
    a, b = _judged(), _judged()
    b.dialogue.started_at = a.dialogue.started_at + 1
    b.dialogue.turns = b.dialogue.turns[:2]
    r = store.write([a, b])
    assert (r.new, r.regenerated) == (1, 1)
    assert store.query("select count(*) from turns").rows == [[len(a.dialogue.turns)]]
    store.close()


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    """Another process reading ``db`` (as `goalconvo query` or the dashboard does when no pipeline runs)."""
    code = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('held', flush=True); time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_worker_s_store_waits_out_a_short_read_and_names_a_long_one(tmp_path: Path):
    from goalconvo.sinks.opening import CorpusBusy, open_store_waiting

    db = tmp_path / "c.duckdb"
    CorpusStore(db).close()
    reader = _hold_lock(db, 1.5)
    try:
        store = open_store_waiting(db, wait_s=20)  # opened once the reader lets go
        store.close()
        assert reader.wait(timeout=5) == 0
    finally:
        reader.kill()
    reader = _hold_lock(db, 30)
    try:
        with pytest.raises(CorpusBusy, match="open in another process"):
            open_store_waiting(db, wait_s=0.5)
    finally:
        reader.kill()
        reader.wait()


def test_an_endpoint_left_by_a_killed_sink_does_not_stop_a_worker_waiting_out_a_read(tmp_path: Path):
    """A SIGKILLed sink leaves its endpoint file; a worker starting while a reader holds the file (a
    test's poll, ``goalconvo query``) waits the reader out instead of naming the dead sink as the holder
    (this failed test_pipeline's kill test under load: the second worker exited at once)."""
    import json

    from goalconvo.sinks.opening import CorpusBusy, open_store_waiting
    from goalconvo.sinks.query_server import endpoint_file

    db = tmp_path / "c.duckdb"
    CorpusStore(db).close()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    endpoint_file(db).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": dead.pid}))
    reader = _hold_lock(db, 1.5)
    try:
        open_store_waiting(db, wait_s=20).close()
    finally:
        reader.kill()
        reader.wait()
    endpoint_file(db).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid()}))  # a live holder
    reader = _hold_lock(db, 30)
    try:
        with pytest.raises(CorpusBusy, match="its sink answers at"):
            open_store_waiting(db, wait_s=20)
    finally:
        reader.kill()
        reader.wait()


def test_a_sinks_start_offsets_are_kept_with_the_file(tmp_path: Path):
    """The first start of a file's sink fixes where it starts reading; a sink killed before its first
    commit restarts from there, not from the topics' end (which would skip what was judged meanwhile)."""
    path = tmp_path / "c.duckdb"
    store = CorpusStore(path)
    assert store.sink_start_offsets("g", {("judged", 0): 5, ("judged", 1): 2}) == {("judged", 0): 5, ("judged", 1): 2}
    store.close()
    store = CorpusStore(path)  # the process restarted: the topics have grown since
    assert store.sink_start_offsets("g", {("judged", 0): 9, ("judged", 1): 7}) == {("judged", 0): 5, ("judged", 1): 2}
    # A topic first seen now starts where it ends now; another group of the file has its own.
    assert store.sink_start_offsets("g", {("judged", 0): 9, ("other", 0): 4}) == {("judged", 0): 5, ("judged", 1): 2, ("other", 0): 4}
    assert store.sink_start_offsets("h", {("judged", 0): 9}) == {("judged", 0): 9}
    store.close()
