"""Reading the corpus safely: one BERTScore per dialogue, bound parameters, writes through the endpoint need its token.

Issue 14, items 7, 8 and 9.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import duckdb
import pytest

from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge
from goalconvo.sinks.dashboard import data
from goalconvo.sinks.export import export_corpus
from goalconvo.sinks.metrics import AmbiguousReference, compute_metrics, snapshot_metrics
from goalconvo.sinks.query_server import endpoint_file, run_query, token_file
from goalconvo.sinks.sql import QueryRefused
from goalconvo.sinks.store import CorpusStore

from test_corpus import POLICE, _d, _hand_store


HOLDER = """
import asyncio, sys
from goalconvo.sinks.query_server import QueryServer
from goalconvo.sinks.store import CorpusStore

async def main():
    store = CorpusStore(sys.argv[1])
    server = QueryServer(store)
    await server.start()
    print(server.token, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the test closes stdin
    await server.stop()
    store.close()

asyncio.run(main())
"""


@contextlib.contextmanager
def held_by_a_sink(db: Path):
    """Another process holds ``db`` open for writing and answers queries for it, as a running sink does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        token = proc.stdout.readline().strip()
        assert token and endpoint_file(db).exists()
        yield token
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def _sim(did: str, ref: str, f1: float, model: str = "all-MiniLM-L6-v2", at: float | None = None) -> list:
    return [did, "R1", ref, f1, f1, f1, model, 4, False, 3, at or time.time()]


def test_metrics_count_each_dialogue_once_whatever_was_scored(tmp_path: Path):
    """Item 7: two reference sets (and a dialogue scored twice against one) no longer multiply the rows."""
    store = _hand_store(tmp_path)  # set a: a1, a2 (one accepted); set b: b1
    store.write_similarity([
        _sim("a1", "refA", 0.5, at=100.0),
        _sim("a1", "refA", 0.7, model="other-encoder", at=200.0),  # a1 scored again later: that one counts
        _sim("a2", "refA", 0.9, at=100.0),
        _sim("a1", "refB", 0.6, at=300.0),
    ])
    with pytest.raises(AmbiguousReference, match="refB, refA"):
        compute_metrics(store.query)
    a = {r["set_name"]: r for r in compute_metrics(store.query, reference="refA")}["a"]
    assert a["dialogues"] == 2 and a["acceptance"] == 0.5 and a["goal_completion"] == 0.5
    assert a["bertscore_n"] == 2 and a["bertscore_f1"] == pytest.approx((0.7 + 0.9) / 2)
    assert a["bertscore_reference"] == "refA"
    by_b = {r["set_name"]: r for r in compute_metrics(store.query, reference="refB")}
    assert by_b["a"]["dialogues"] == 2 and by_b["a"]["bertscore_n"] == 1 and by_b["a"]["bertscore_f1"] == 0.6
    assert by_b["b"]["dialogues"] == 1 and by_b["b"]["bertscore_n"] == 0 and by_b["b"]["bertscore_reference"] is None
    by_domain = compute_metrics(store.query, by="domain_set", reference="refA")
    assert sum(r["dialogues"] for r in by_domain) == 3
    # The sink's snapshots take one reference too (the one scored last, unless the sink names its own).
    snapshot_metrics(store)
    snaps = store.query("select metrics from metric_snapshots where group_kind = 'set' and set_name = 'a'").rows
    assert [json.loads(m)["dialogues"] for (m,) in snaps] == [2]
    assert json.loads(snaps[0][0])["bertscore_reference"] == "refB"
    store.close()


def test_metrics_cli_names_the_references_to_choose_from(tmp_path: Path):
    import subprocess
    import sys

    store = _hand_store(tmp_path)
    store.write_similarity([_sim("a1", "refA", 0.5), _sim("a1", "refB", 0.6)])
    store.close()
    cli = [sys.executable, "-m", "goalconvo.commands", "metrics", "--db", str(tmp_path / "c.duckdb"), "--json"]
    out = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "choose one with --reference" in " ".join(out.stderr.split())
    ok = subprocess.run(cli + ["--reference", "refA"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert {r["set_name"]: r["dialogues"] for r in json.loads(ok.stdout)} == {"a": 2, "b": 1}
    bad = subprocess.run(cli + ["--reference", "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "refA" in bad.stderr


ODD_ID = "q?'1"
ODD_SET = "it's?"


def _odd_store(tmp_path: Path) -> CorpusStore:
    """A dialogue whose id and set name hold a question mark and a quote."""
    store = _hand_store(tmp_path)
    d = _d(ODD_ID, ODD_SET, POLICE, ["police phone please", "the phone is 01223358966 .", "thanks goodbye", "goodbye"])
    store.write_batch([asyncio.run(Judge(Settings(judge_llm=False), VenueDB.load()).judge(d))])
    return store


def _reads(db: Path) -> tuple:
    one = data.dialogue(db, ODD_ID)
    listed = data.dialogues(db, ODD_SET, "true", 10, 0)
    figures = compute_metrics(lambda sql, params=None: run_query(db, sql, params), sets=[ODD_SET])
    return one, listed, figures


def _check_reads(one, listed, figures) -> None:
    assert one is not None and one["dialogue_id"] == ODD_ID and one["set_name"] == ODD_SET
    assert [t["text"] for t in one["turns"]][1] == "the phone is 01223358966 ."
    assert len(one["checks"]) > 0, "the second parameter (judge version) must bind, not shift"
    assert [r["dialogue_id"] for r in listed] == [ODD_ID]
    assert [(f["set_name"], f["dialogues"]) for f in figures] == [(ODD_SET, 1)]


def test_dashboard_and_metrics_bind_values_directly_and_through_the_endpoint(tmp_path: Path):
    """Item 8: a value holding '?' or a quote is a bound parameter, from the file and through the running sink."""
    store = _odd_store(tmp_path)
    db = store.path
    store.close()
    _check_reads(*_reads(db))
    with held_by_a_sink(db):  # the file is locked now: the reads go through the endpoint
        _check_reads(*_reads(db))


def test_export_writes_to_a_path_with_a_quote(tmp_path: Path):
    """Item 8: the export's output path is not spliced into SQL."""
    store = _odd_store(tmp_path)
    out = tmp_path / "it's ? here.parquet"
    n = export_corpus(store, out, "parquet", sets=[ODD_SET], include_rejected=True)
    store.close()
    got = duckdb.connect().execute("select dialogue_id from read_parquet(?)", [str(out)]).fetchall()
    assert n == 1 and got == [(ODD_ID,)]


def test_writes_through_the_endpoint_need_the_token(tmp_path: Path):
    """Item 9: a local client without the sink's token cannot write through the endpoint."""
    db = tmp_path / "c.duckdb"
    CorpusStore(db).close()

    async def attempts(url: str, token: str):
        async with aiohttp.ClientSession() as s:
            async def post(sql, **kw):
                async with s.post(url, json={"sql": sql, "allow_write": True}, **kw) as r:
                    return r.status, await r.json()

            no_token = await post("create table evil (a int)")
            wrong = await post("create table evil (a int)", headers={"Authorization": "Bearer guess"})
            async with s.post(url, json={"sql": "select ? as one", "params": [1]}) as r:
                read = await r.json()
            ok = await post("create table fine (a int)", headers={"Authorization": f"Bearer {token}"})
        return no_token, wrong, read, ok

    with held_by_a_sink(db) as token:
        tf = token_file(db)
        mode = stat.S_IMODE(tf.stat().st_mode)
        url = json.loads(endpoint_file(db).read_text())["url"] + "/query"
        no_token, wrong, read, ok = asyncio.run(attempts(url, token))
        # The CLI's path: run_query finds the file locked and sends the token kept beside the endpoint file.
        run_query(db, "insert into fine values (1)", allow_write=True)
        tables = run_query(db, "select table_name from information_schema.tables where table_name in ('evil', 'fine')").rows
        token_on_disk = tf.read_text()
        tf.unlink()
        with pytest.raises(QueryRefused, match="token"):
            run_query(db, "insert into fine values (2)", allow_write=True)
    assert mode == 0o600 and token_on_disk == token
    assert no_token[0] == 403 and "token" in no_token[1]["error"]
    assert wrong[0] == 403
    assert read == {"columns": ["one"], "rows": [[1]]}, "reads need no token"
    assert ok[0] == 200
    assert tables == [["fine"]]
    assert run_query(db, "select count(*) from fine").rows == [[1]]
    assert not token_file(db).exists() and not endpoint_file(db).exists()
