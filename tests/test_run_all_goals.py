"""``run --all-goals``: every goal of a goal file once, through the real embedded broker and a real DuckDB file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from goalconvo.core.goals import builtin_goals


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "goalconvo.commands", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_every_goal_of_the_file_runs_once(tmp_path: Path):
    goals = builtin_goals()[5:9]
    (tmp_path / "goals.jsonl").write_text("".join(g.model_dump_json() + "\n" for g in goals))
    done = _run("--all-goals", "--goal-source", "goals.jsonl", "--llm", "scripted", "--db", "c.duckdb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ": 4 goals ->" in done.stdout
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    try:
        stored = sorted(r[0] for r in con.execute("select goal->>'goal_id' from dialogues").fetchall())
    finally:
        con.close()
    assert stored == sorted(g.goal_id for g in goals)


def test_all_goals_without_a_file_is_refused_with_the_reason(tmp_path: Path):
    done = _run("--all-goals", "--llm", "scripted", "--db", "c.duckdb", cwd=tmp_path)
    assert done.returncode == 1 and "--all-goals needs --goal-source FILE" in done.stderr
