"""Probe a running worker from outside, the way issue 24 found its holes, and print each probe's outcome.

    goalconvo broker &                                   # or any Kafka; GOALCONVO_* as for the worker
    GOALCONVO_BOOTSTRAP_SERVERS=127.0.0.1:9092 goalconvo worker --llm scripted --db w.duckdb &
    goalconvo dashboard --db w.duckdb --port 8765 &      # optional
    python benchmarks/security_probes.py --db w.duckdb --bootstrap-servers 127.0.0.1:9092 \
        --dashboard http://127.0.0.1:8765

Every probe prints ``refused`` (the attempt had no effect: nothing read, written, changed or lost)
or ``ALLOWED`` (it did), with what was seen. The oracle is the effect, not the status code: a file
read counts as allowed when the file's marker comes back, a write when the rows, the table, the
setting or the file changed. Exit code 1 if anything was allowed.

Groups: the query endpoint without the token (files, writes in every form, settings, secrets
stored with runs, Host/Origin, non-JSON bodies, time limit, row cap, a wrong token); the dashboard
(Host/Origin, bad parameters); with --bootstrap-servers, input through the CLI and straight onto
the goals topic (a 10 MB goal, a 10,000-deep JSON line, values outside their slot type, control
characters in ids), each of which must end in a clear refusal or a dead letter with its ids.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

RESULTS: list[tuple[bool, str, str]] = []


def report(allowed: bool, name: str, seen: str) -> None:
    RESULTS.append((allowed, name, seen))
    print(f"{'ALLOWED' if allowed else 'refused'}  {name:<58} {seen[:150]}", flush=True)


# -- HTTP -------------------------------------------------------------------------------------------
def http(url: str, body: Any = None, *, headers: dict[str, str] | None = None, raw: bytes | None = None,
         content_type: str = "application/json", timeout: float = 60.0) -> tuple[int, str, float]:
    """(status, body text, seconds) of a request; status 0 when nothing came back in ``timeout``."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), time.monotonic() - t
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), time.monotonic() - t
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        return 0, f"no answer: {e}", time.monotonic() - t


class Endpoint:
    def __init__(self, db: Path):
        ep = Path(str(db) + ".endpoint")
        if not ep.exists():
            sys.exit(f"no {ep}: is a worker's sink running on {db}?")
        self.db = db
        self.url = json.loads(ep.read_text())["url"] + "/query"
        self.token_file = Path(str(db) + ".endpoint.token")

    def ask(self, sql: str, params: list[Any] | None = None, **kw: Any) -> tuple[int, str, float]:
        return http(self.url, {"sql": sql, "params": params}, **kw)

    def value(self, sql: str) -> Any:
        return self.value2(sql, None)

    def value2(self, sql: str, params: list[Any] | None) -> Any:
        status, text, _ = self.ask(sql, params)
        if status != 200:
            raise RuntimeError(f"the oracle query failed ({status}): {text[:200]}")
        return json.loads(text)["rows"][0][0]


def _short(status: int, text: str) -> str:
    try:
        text = json.loads(text).get("error", text)
    except (ValueError, AttributeError):
        pass
    return f"HTTP {status}: {' '.join(str(text).split())}"


def probe_endpoint(ep: Endpoint, work: Path, time_limit: float) -> None:
    marker = f"probe-marker-{uuid.uuid4().hex}"
    secret = work / "secret.csv"
    secret.write_text(f"a,b\n{marker},1\n")
    (work / "secret.json").write_text(json.dumps({"m": marker}))

    def read(name: str, sql: str, needle: str | None = marker) -> None:
        """Allowed when the file's content comes back (in rows or in an error message), or, without a
        marker to look for, when the read answered rows at all."""
        status, text, _ = ep.ask(sql)
        got = needle in text if needle is not None else status == 200 and bool(json.loads(text)["rows"])
        report(got, name, _short(status, text))

    read("read_csv of a file outside the corpus", f"select * from read_csv('{secret}')")
    read("read_text", f"select * from read_text('{secret}')")
    read("read_blob", f"select * from read_blob('{secret}')")
    read("read_json", f"select * from read_json_auto('{work / 'secret.json'}')")
    read("sniff_csv", f"select * from sniff_csv('{secret}')")
    read("FROM 'file.csv' (replacement scan)", f"from '{secret}'")
    read("glob of a folder", f"select * from glob('{work}/*')", needle="secret.csv")
    read("glob('~/*')", "select * from glob('~/*')", needle=None)
    read("SUMMARIZE over a file", f"summarize select * from read_csv('{secret}')")
    read("PIVOT over a file", f"pivot (from read_csv('{secret}')) on a using count(*)")
    read("a subquery in a CTE reading a file", f"with x as (select * from read_csv('{secret}')) select * from x")
    if ep.token_file.exists():
        token = ep.token_file.read_text().strip()
        read("read_text of the sink's token file", f"select * from read_text('{ep.token_file}')", needle=token)

    out = work / "x.csv"
    status, text, _ = ep.ask(f"explain analyze copy (select 42) to '{out}'")
    report(out.exists(), "EXPLAIN ANALYZE COPY ... TO a file", _short(status, text))
    status, text, _ = ep.ask(f"copy (select 42) to '{work / 'y.csv'}'")
    report((work / "y.csv").exists(), "COPY ... TO a file", _short(status, text))
    status, text, _ = ep.ask(f"attach '{work / 'other.duckdb'}' as other")
    report((work / "other.duckdb").exists(), "ATTACH a new file", _short(status, text))

    def changes(name: str, sql: str, oracle: str) -> None:
        before = ep.value(oracle)
        status, text, _ = ep.ask(sql)
        after = ep.value(oracle)
        report(after != before, name, f"{_short(status, text)} | {oracle}: {before} -> {after}")

    changes("EXPLAIN ANALYZE DELETE FROM turns", "explain analyze delete from turns", "select count(*) from turns")
    changes("CTE delete from verdict_checks", "with x as (delete from verdict_checks returning 1) select count(*) from x",
            "select count(*) from verdict_checks")
    changes("CTE insert into runs", "with x as (insert into runs (run_id) values ('probe') returning 1) select * from x",
            "select count(*) from runs")
    changes("EXPLAIN ANALYZE CREATE TABLE", "explain analyze create table probe_t (a int)",
            "select count(*) from information_schema.tables where table_name = 'probe_t'")
    changes("EXPLAIN ANALYZE SET threads=1", "explain analyze set threads = 1", "select current_setting('threads')")
    changes("SET threads=1", "set threads = 1", "select current_setting('threads')")
    changes("stacked statements: select 1; delete from turns", "select 1; delete from turns", "select count(*) from turns")
    changes("a comment hiding a delete", "/* select */ delete from turns -- x", "select count(*) from turns")
    status, text, _ = ep.ask("select * from checkpoint()")
    report(status == 200, "checkpoint() (acts on the database)", _short(status, text))
    status, text, _ = ep.ask("install httpfs")
    report(status == 200, "INSTALL an extension", _short(status, text))

    status, text, _ = ep.ask("select run_id, settings from runs")
    leaked = []
    if status == 200:
        for run_id, settings in json.loads(text)["rows"]:
            stored = json.loads(settings) if isinstance(settings, str) else (settings or {})
            for k, v in (stored or {}).items():
                if v and k.endswith(("api_key", "password")) and v != "**********":
                    leaked.append(f"{run_id}.{k}")
    report(bool(leaked), "secrets in the settings stored with runs",
           f"not redacted: {', '.join(leaked)}" if leaked else f"{_short(status, text)[:40]}... all redacted")

    status, text, _ = ep.ask("select 1", headers={"Host": "attacker.example"})
    report(status == 200, "Host: attacker.example (DNS rebinding)", _short(status, text))
    status, text, _ = ep.ask("select 1", headers={"Origin": "http://attacker.example"})
    report(status == 200, "Origin: http://attacker.example", _short(status, text))
    status, text, _ = http(ep.url, raw=json.dumps({"sql": "select 1"}).encode(), content_type="text/plain")
    report(status == 200, "a text/plain body (a web page's simple POST)", _short(status, text))
    status, text, _ = http(ep.url, {"sql": "create table probe_w (a int)", "allow_write": True},
                           headers={"Authorization": "Bearer guess"})
    report(status == 200, "a write with a wrong token", _short(status, text))

    # A query sized to run about three times the limit on this server (measured on a small one first).
    small = 50_000_000
    _, _, took = ep.ask(f"select sum(hash(range)) from range({small})")
    rows = int(small / max(took, 0.01) * time_limit * 3)
    status, text, seconds = ep.ask(f"select sum(hash(range)) from range({rows})", timeout=time_limit * 4 + 30)
    stopped = status != 200 and seconds < time_limit + 3
    report(not stopped, f"a query running past the {time_limit:g} s limit",
           f"{_short(status, text)} after {seconds:.1f} s ({rows:.2g} rows)")
    status, text, _ = ep.ask("select * from range(1000000)")
    rows = len(json.loads(text)["rows"]) if status == 200 else 0
    report(rows >= 1_000_000, "a million rows asked for", f"{rows} rows came back" + (" (truncated)" if '"truncated"' in text else ""))


def probe_dashboard(url: str) -> None:
    base = url.rstrip("/")
    status, text, _ = http(base + "/api/summary", headers={"Host": "attacker.example"})
    report(status == 200, "dashboard: Host: attacker.example", _short(status, text))
    status, text, _ = http(base + "/api/summary", headers={"Origin": "http://attacker.example"})
    report(status == 200, "dashboard: Origin: http://attacker.example", _short(status, text))
    for q in ("limit=-1", "limit=abc", "offset=-5", "limit=100000", "accepted=maybe"):
        status, text, _ = http(f"{base}/api/dialogues?{q}")
        report(status != 400, f"dashboard: bad parameter {q} answers 400", _short(status, text))


# -- input ------------------------------------------------------------------------------------------
CLI = [sys.executable, "-m", "goalconvo.commands"]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def probe_input(ep: Endpoint, bootstrap: str, work: Path, wait_s: float) -> None:
    tag = uuid.uuid4().hex[:8]
    run_id = f"probe-{tag}"
    big = work / "big.jsonl"
    big.write_text(json.dumps({"goal_id": "big", "message": ["x" * 10_000_000], "domains": {"hotel": {}}}) + "\n")
    out = cli("goals", "produce", "--source", "jsonl", str(big), "--bootstrap-servers", bootstrap, "--run-id", run_id)
    clean = out.returncode != 0 and "Traceback" not in out.stderr and "line 1" in out.stderr
    report(not clean, "CLI: a 10 MB goal line", " ".join(out.stderr.split())[:150] or f"exit {out.returncode}")
    deep = work / "deep.jsonl"
    deep.write_text("[" * 10_000 + "]" * 10_000 + "\n")
    out = cli("goals", "produce", "--source", "jsonl", str(deep), "--bootstrap-servers", bootstrap, "--run-id", run_id)
    report("Traceback" in out.stderr, "CLI: a 10,000-deep JSON line (published raw, dead-lettered)",
           f"exit {out.returncode}: {' '.join((out.stderr or out.stdout).split())[:120]}")

    junk = {
        f"{tag}-people": {"restaurant": {"book": {"people": "-5", "day": "monday", "time": "12:00"}}},
        f"{tag}-time": {"train": {"info": {"leaveAt": "-99:99", "departure": "cambridge", "destination": "ely"}}},
        f"{tag}-huge": {"hotel": {"book": {"people": str(10**18), "stay": "2", "day": "friday"}}},
        f"{tag}-nights": {"hotel": {"book": {"people": "2", "stay": "1e308", "day": "friday"}}},
        f"{tag}-esc\x1b[31m": {"police": {"reqt": ["phone"]}},
        f"{tag}-nul\x00": {"police": {"reqt": ["phone"]}},
    }
    lines = work / "junk.jsonl"
    lines.write_text("".join(json.dumps({"goal_id": g, "domains": d, "run_id": run_id}) + "\n" for g, d in junk.items()))
    out = cli("goals", "produce", "--source", "jsonl", str(lines), "--bootstrap-servers", bootstrap, "--run-id", run_id)
    if out.returncode != 0:
        report(True, "CLI: goals with junk values could not be sent", out.stderr[-200:])
        return

    from aiokafka import AIOKafkaProducer

    goals_topic = os.environ.get("GOALCONVO_TOPIC_PREFIX", "goalconvo.") + "goals"
    raw_esc_key = f"{tag}-rawesc"

    async def send_raw() -> bool:
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024)
        await p.start()
        try:
            # Not JSON (a raw ESC inside a string): stored as the dead letter's payload text, as it came.
            await p.send_and_wait(goals_topic, b'{"goal_id": "\x1b[2J\x1b[31mred", "run_id": "' + run_id.encode() + b'"}',
                                  key=raw_esc_key.encode())
            goal = {"goal_id": f"{tag}-10mb", "run_id": run_id, "message": ["x" * 10_000_000], "domains": {"hotel": {}}}
            try:
                await p.send_and_wait(goals_topic, json.dumps(goal).encode(), key=goal["goal_id"].encode())
            except Exception as exc:  # noqa: BLE001 - the broker refused it: nothing to lose
                report(False, "a 10 MB goal produced straight to the topic", f"the broker refused it: {exc}")
                return False
            return True
        finally:
            await p.stop()

    sent_big = asyncio.run(send_raw())
    deadline = time.monotonic() + wait_s
    wanted = len(junk) + 1 + sent_big
    rows: list[Any] = []
    sql = ("select goal_id, run_id, reason, length(payload), key from dead_letters "
           "where run_id = ? or goal_id like ? or key like ?")
    while time.monotonic() < deadline:
        status, text, _ = ep.ask(sql, params=[run_id, f"{tag}%", f"{tag}%"])
        rows = json.loads(text)["rows"] if status == 200 else []
        if len(rows) >= wanted:
            break
        time.sleep(1)
    by_goal = {r[0]: r for r in rows}
    for g, field in ((f"{tag}-people", "people"), (f"{tag}-time", "leaveAt"), (f"{tag}-huge", "people"),
                     (f"{tag}-nights", "stay")):
        r = by_goal.get(g)
        ok = r is not None and field in (r[2] or "")
        report(not ok, f"goal with a bad {field} value dead-lettered, naming the field",
               (r[2] or "")[:120] if r else "no dead letter: stored as a dialogue?")
    named = [r for r in rows if "control character" in (r[2] or "")]
    for g in (f"{tag}-esc\x1b[31m", f"{tag}-nul\x00"):
        stored = ep.value2("select count(*) from dialogues where goal_id = ?", [g])
        report(stored > 0 or len(named) < 2, f"control character in a goal id ({g[-5:]!r}) refused",
               f"stored as a dialogue {stored}x; {len(named)} dead letters name a control character")
    if sent_big:
        r = by_goal.get(f"{tag}-10mb")
        report(r is None or r[1] != run_id, "a 10 MB goal on the topic is dead-lettered (truncated, with its ids)",
               f"reason: {(r[2] or '')[-90:]}; payload kept {r[3]} chars" if r else f"LOST: no dead letter in {wait_s:g} s")
    out = cli("query", "--db", str(ep.db), f"select payload from dead_letters where key = '{raw_esc_key}'")
    raw = "\x1b" in out.stdout
    report(raw, "`goalconvo query` prints a stored ESC raw to the terminal",
           "raw ESC on stdout" if raw else f"escaped: {' '.join(out.stdout.split())[:100]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="The corpus file the running worker's sink holds.")
    ap.add_argument("--dashboard", help="URL of a running `goalconvo dashboard` to probe too.")
    ap.add_argument("--bootstrap-servers", help="The worker's broker: probe input through the CLI and the topic too.")
    ap.add_argument("--time-limit", type=float, default=30.0, help="The worker's GOALCONVO_QUERY_TIMEOUT_S (default 30).")
    ap.add_argument("--wait", type=float, default=60.0, help="How long to wait for the worker's dead letters.")
    args = ap.parse_args()
    ep = Endpoint(args.db)
    with tempfile.TemporaryDirectory(prefix="goalconvo-probes-") as tmp:
        work = Path(tmp)
        print(f"query endpoint {ep.url} (no token)")
        probe_endpoint(ep, work, args.time_limit)
        if args.dashboard:
            print(f"dashboard {args.dashboard}")
            probe_dashboard(args.dashboard)
        if args.bootstrap_servers:
            print(f"input through the CLI and the goals topic on {args.bootstrap_servers}")
            probe_input(ep, args.bootstrap_servers, work, args.wait)
    allowed = [name for ok, name, _ in RESULTS if ok]
    print(f"{len(RESULTS)} probes: {len(RESULTS) - len(allowed)} refused, {len(allowed)} allowed")
    sys.exit(1 if allowed else 0)


if __name__ == "__main__":
    main()
