"""Issue 24, item 1: nothing sent to the query endpoint or the dashboard without the token reads a
file outside the corpus or changes anything, whatever its form; Host and Origin are checked, bodies
are JSON only, a query has a time limit and a row cap, bad parameters answer 400, and a dashboard
request never upgrades a file.

The probes are benchmarks/security_probes.py, run from outside against a real `goalconvo worker`
(embedded broker, scripted LLM) and a real `goalconvo dashboard`: each probe's oracle is its
effect (the marker of a file read coming back, rows, tables, settings or files changed).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import duckdb
import pytest

from goalconvo.sinks.query_server import endpoint_file
from goalconvo.sinks.store import CorpusStore

from polling import wait_for
from test_store import _judged
from worker_procs import CLI, Proc

PROBES = Path(__file__).resolve().parents[1] / "benchmarks" / "security_probes.py"
TIME_LIMIT_S = 2.0


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory):
    """A seeded corpus held by a running `goalconvo worker` (its own embedded broker), and a dashboard on it."""
    tmp = tmp_path_factory.mktemp("probes")
    db = tmp / "corpus.duckdb"
    store = CorpusStore(db)
    store.write_batch([_judged(goal_index=i, run_id="seeded") for i in range(3)])
    store.record_run("seeded", 3, "vllm", "m", {"llm_api_key": "sk-must-not-leak", "seed": 0})
    store.close()
    env = {**os.environ, "GOALCONVO_SESSION_TIMEOUT_S": "2",
           "GOALCONVO_QUERY_TIMEOUT_S": str(TIME_LIMIT_S), "GOALCONVO_LLM_API_KEY": "sk-env-key-must-not-leak"}
    worker = Proc(CLI + ["worker", "--db", str(db), "--llm", "scripted"], env)
    dash = None
    try:
        assert wait_for(lambda: endpoint_file(db).exists() or worker.poll() is not None, 90, 0.2), worker.text()
        assert worker.poll() is None, worker.text()
        dash = Proc(CLI + ["dashboard", "--db", str(db), "--port", "0"], env)
        found = wait_for(lambda: re.search(r"http://127\.0\.0\.1:\d+/", dash.text()) or dash.poll() is not None, 60, 0.2)
        assert isinstance(found, re.Match), dash.text()
        yield db, found.group(0), env
    finally:
        if dash is not None:
            dash.stop()
        worker.stop()


def test_every_probe_without_the_token_is_refused(running):
    db, dashboard, env = running
    out = subprocess.run([sys.executable, str(PROBES), "--db", str(db), "--dashboard", dashboard,
                          "--time-limit", str(TIME_LIMIT_S)], capture_output=True, text=True, timeout=300, env=env)
    allowed = [line for line in out.stdout.splitlines() if line.startswith("ALLOWED")]
    assert not allowed, "\n".join(allowed) + "\n" + out.stderr[-2000:]
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert re.search(r"(\d+) probes: \1 refused, 0 allowed", out.stdout), out.stdout[-500:]
    assert "sk-must-not-leak" not in out.stdout and "sk-env-key-must-not-leak" not in out.stdout


def test_a_direct_read_of_a_free_file_reaches_no_other_file(tmp_path: Path):
    """`goalconvo query` on a file no sink holds reads the same way: the corpus, and nothing around it."""
    db = tmp_path / "c.duckdb"
    CorpusStore(db).close()
    secret = tmp_path / "secret.txt"
    secret.write_text("marker-7c1f\n")
    for sql in (f"select * from read_text('{secret}')", f"from '{secret}'", f"select * from glob('{tmp_path}/*')"):
        out = subprocess.run(CLI + ["query", "--db", str(db), sql], capture_output=True, text=True, timeout=60)
        assert "marker-7c1f" not in out.stdout and "secret.txt" not in out.stdout, (sql, out.stdout)
        assert out.returncode != 0 and "Traceback" not in out.stderr, (sql, out.stderr)


def _old_file(db: Path, version: int) -> None:
    """A corpus file as an older version left it: the first ``version`` migrations only."""
    from goalconvo.sinks import schema

    con = duckdb.connect(str(db))
    con.execute("create table schema_version (version integer)")
    for i, sql in enumerate(schema.MIGRATIONS[:version], start=1):
        con.execute(sql)
        con.execute("insert into schema_version values (?)", [i])
    con.close()


def _version(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select max(version) from schema_version").fetchone()[0]
    finally:
        con.close()


def test_the_dashboard_upgrades_when_it_starts_never_on_a_request(tmp_path: Path):
    from goalconvo.sinks import schema
    from goalconvo.sinks.dashboard.server import Dashboard

    started_old, appears_later = tmp_path / "old.duckdb", tmp_path / "later.duckdb"
    _old_file(started_old, 4)

    async def scenario():
        a = Dashboard(started_old, port=0)
        await a.start()  # upgrades the old file here, once
        upgraded_at_start = _version(started_old)
        b = Dashboard(appears_later, port=0)
        await b.start()  # no file yet: nothing to upgrade
        _old_file(appears_later, 4)  # an old file appears while it serves
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{b.url}api/summary") as r:
                status, body = r.status, await r.json()
            async with s.get(f"{a.url}api/summary") as r:
                served = r.status
        await a.stop()
        await b.stop()
        return upgraded_at_start, status, body, served

    upgraded_at_start, status, body, served = asyncio.run(scenario())
    assert upgraded_at_start == len(schema.MIGRATIONS) and served == 200
    assert _version(appears_later) == 4, "a GET wrote the file"
    assert status == 503 and "older version" in body["error"]
