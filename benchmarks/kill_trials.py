"""Issue 13's scenario, N trials, run by hand: kill the sink's worker mid-run; does every dialogue arrive once?

    .venv/bin/python benchmarks/kill_trials.py --trials 20                 # the stub at 0.3 s a call
    .venv/bin/python benchmarks/kill_trials.py --trials 3 --llm scripted   # no HTTP server, scripted delay

Each trial, all as real processes the way an operator runs them: `goalconvo broker`
(embedded, its own port), an OpenAI-compatible stub (`python -m
goalconvo.devtools.openai_stub --delay 0.3`, shared by the trials) behind `--llm
vllm`, two `goalconvo worker`s in one group (one with the sink, one `--no-sink`),
five runs of the 43 built-in goals published with `goalconvo goals produce` (215
dialogues). The worker holding the sink is SIGKILLed at a moment that cycles
through early (2-6 s after the goals are in), mid-run (35-60% judged) and near the
end (75-90% judged; counted on dialogues.judged, as the sink stores in batches of
up to 64), then started again with the sink. Printed per trial: when it was
killed and how much was stored then, stored/expected, duplicate rows (dialogue
ids or goals stored twice), records on dialogues.judged (more than 215 means some
dialogues were generated again after the kill, which the sink ignores), dead
letters (stranded ones among them) and the seconds from the restart until all were
stored. Every trial is bounded (--trial-timeout after the restart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from goalconvo.sinks.query_server import endpoint_file, run_query
from goalconvo.streams.broker import end_offsets, free_port
from goalconvo.streams.topics import Topics

CLI = [sys.executable, "-m", "goalconvo.commands"]
MOMENTS = ("early", "mid", "late")


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def stored(db: Path) -> int:
    try:
        return run_query(db, "select count(*) from dialogues").rows[0][0]
    except Exception:  # noqa: BLE001 - the sink is (re)starting
        return -1


def wait_until(pred, timeout_s: float, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


def judged_records(bus: str, prefix: str, partitions: int) -> int:
    from aiokafka import TopicPartition

    topic = Topics.for_prefix(prefix).dialogues_judged
    ends = asyncio.run(end_offsets(bus, [TopicPartition(topic, p) for p in range(partitions)]))
    return sum(ends.values())


def trial(k: int, args: argparse.Namespace, base_env: dict[str, str], out: Path, rng: random.Random) -> dict:
    tag = uuid.uuid4().hex[:6]
    moment = args.moments[k % len(args.moments)]
    db = out / f"trial{k:02d}-{tag}.duckdb"
    env = {
        **base_env,
        "GOALCONVO_APP_ID": f"kt-{tag}",
        "GOALCONVO_TOPIC_PREFIX": f"kt{tag}.",
        "GOALCONVO_DB": str(db),
    }
    logs = out / f"trial{k:02d}-{tag}"
    procs: list[Proc] = []
    expected = 43 * args.runs
    row: dict = {"trial": k, "moment": moment, "expected": expected}
    try:
        broker = Proc(CLI + ["broker", "--port", "0", "--json"], env, logs.with_suffix(".broker.log"))
        procs.append(broker)
        line = broker.p.stdout.readline()  # type: ignore[union-attr]
        bus = json.loads(line)["bootstrap_servers"]
        env["GOALCONVO_BOOTSTRAP_SERVERS"] = bus
        helper = Proc(CLI + ["worker", "--no-sink"], env, logs.with_suffix(".helper.log"))
        sink = Proc(CLI + ["worker"], env, logs.with_suffix(".sink1.log"))
        procs += [helper, sink]
        if not wait_until(lambda: endpoint_file(db).exists(), 90):
            raise RuntimeError("the sink worker did not start")
        for r in range(args.runs):
            subprocess.run(CLI + ["goals", "produce", "--source", "builtin", "--run-id", f"kt{tag}-r{r}"],
                           env=env, check=True, capture_output=True, timeout=60)
        t0 = time.monotonic()
        if moment == "early":
            at = rng.uniform(2, 6)
            wait_until(lambda: time.monotonic() - t0 >= at or stored(db) >= expected, 60)
        else:
            # Judged dialogues on the topic, not rows stored: the sink stores in batches of up to
            # 64, so the stored count can jump past the mark to the end before a kill lands.
            share = rng.uniform(0.35, 0.6) if moment == "mid" else rng.uniform(0.75, 0.9)
            wait_until(lambda: judged_records(bus, env["GOALCONVO_TOPIC_PREFIX"], args.partitions) >= share * expected,
                       300, 0.1)
        row["stored_at_kill"] = stored(db)
        row["killed_at_s"] = round(time.monotonic() - t0, 1)
        stale = endpoint_file(db).read_text()
        sink.stop(signal.SIGKILL)
        restart = time.monotonic()
        sink2 = Proc(CLI + ["worker"], env, logs.with_suffix(".sink2.log"))
        procs.append(sink2)
        # Poll only once the new sink holds the file: opening it directly meanwhile can take
        # DuckDB's lock just as the new sink opens it, and that sink would stop at start.
        if not wait_until(lambda: endpoint_file(db).exists() and endpoint_file(db).read_text() != stale, 90):
            raise RuntimeError(f"the restarted sink worker did not come up: {sink2.p.poll()}")
        done = wait_until(lambda: stored(db) >= expected, args.trial_timeout, 0.25)
        row["seconds_to_all"] = round(time.monotonic() - restart, 1) if done else None
        row["stored"] = stored(db)
        rows = run_query(db, "select count(*), count(distinct dialogue_id), count(distinct (run_id, goal_id)) "
                             "from dialogues").rows[0]
        row["duplicates"] = (rows[0] - rows[1]) + (rows[0] - rows[2])
        dead = run_query(db, "select count(*), count(*) filter (where stage = 'watchdog') from dead_letters").rows[0]
        row["dead_letters"], row["stranded"] = dead
        row["judged_records"] = judged_records(bus, env["GOALCONVO_TOPIC_PREFIX"], args.partitions)
    except Exception as exc:  # noqa: BLE001 - a trial that breaks is reported, the next one runs
        row["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for p in reversed(procs):
            p.stop()
    if not args.keep and "error" not in row and row.get("stored") == expected:
        for f in out.glob(f"trial{k:02d}-{tag}*"):
            f.unlink(missing_ok=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5, help="Runs of the 43 built-in goals (5: 215 dialogues).")
    ap.add_argument("--llm", choices=("stub", "scripted"), default="stub")
    ap.add_argument("--delay", type=float, default=0.3, help="Seconds per LLM call.")
    ap.add_argument("--mode", default="free", help="Generation mode (free: the issue's scenario).")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--trial-timeout", type=float, default=180.0, help="Most seconds from the restart to wait.")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--moments", type=lambda v: v.split(","), default=list(MOMENTS),
                    help="When to kill, cycled over the trials: early,mid,late.")
    ap.add_argument("--out", type=Path, default=None, help="Folder for corpora and logs (kept for failed trials).")
    ap.add_argument("--keep", action="store_true", help="Keep every trial's corpus and logs.")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the trial's processes on the way out
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out = args.out or Path(tempfile.mkdtemp(prefix="kill-trials-"))
    out.mkdir(parents=True, exist_ok=True)
    base_env = {**os.environ, "GOALCONVO_MODE": args.mode, "GOALCONVO_PARTITIONS": str(args.partitions)}
    stub = None
    if args.llm == "stub":
        port = free_port()
        stub = Proc([sys.executable, "-m", "goalconvo.devtools.openai_stub", "--port", str(port),
                     "--delay", str(args.delay)], base_env, out / "stub.log")
        stub.p.stdout.readline()  # type: ignore[union-attr]
        base_env.update(GOALCONVO_LLM="vllm", GOALCONVO_LLM_URLS=f"http://127.0.0.1:{port}/v1")
    else:
        base_env.update(GOALCONVO_LLM="scripted", GOALCONVO_LLM_DELAY_S=str(args.delay))
    rng = random.Random(args.seed)
    print(f"{args.trials} trials, {43 * args.runs} dialogues each, llm {args.llm} at {args.delay} s a call, "
          f"mode {args.mode}; files in {out}", flush=True)
    print(f"{'trial':>5} {'moment':>6} {'kill s':>6} {'@kill':>5} {'stored':>9} {'dups':>4} {'judged':>6} "
          f"{'dead':>4} {'strand':>6} {'s to all':>8}", flush=True)
    results = []
    try:
        for k in range(args.trials):
            r = trial(k, args, base_env, out, rng)
            results.append(r)
            if "error" in r:
                print(f"{k:>5} {r['moment']:>6} error: {r['error']}", flush=True)
                continue
            secs = f"{r['seconds_to_all']:.1f}" if r["seconds_to_all"] is not None else "never"
            print(f"{k:>5} {r['moment']:>6} {r['killed_at_s']:>6} {r['stored_at_kill']:>5} "
                  f"{r['stored']:>4}/{r['expected']:<4} {r['duplicates']:>4} {r['judged_records']:>6} "
                  f"{r['dead_letters']:>4} {r['stranded']:>6} {secs:>8}", flush=True)
    finally:
        if stub:
            stub.stop()
    ok = [r for r in results if "error" not in r and r["stored"] == r["expected"] and r["duplicates"] == 0]
    times = sorted(r["seconds_to_all"] for r in ok)
    print(f"{len(ok)}/{len(results)} trials stored every dialogue exactly once"
          + (f"; seconds from restart to all stored: median {times[len(times) // 2]}, max {times[-1]}" if times else ""),
          flush=True)
    if len(ok) == len(results) and not args.keep and args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    sys.exit(0 if len(ok) == len(results) else 1)


if __name__ == "__main__":
    main()
