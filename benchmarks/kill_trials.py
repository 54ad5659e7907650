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

A trial that does not reach 215/215 keeps its files and, before its processes stop,
writes `trialNN-<tag>.diag.txt`: each topic's end offset beside the committed
offsets of the pipeline's group and the sink's group, which dialogues are missing
from dialogues.completed, dialogues.judged and the corpus (with their partitions),
and stack dumps of the live workers if py-spy is on PATH (or $PYSPY). `--verbose`
runs the workers with `-v` (Faust's and goalconvo's INFO logs in the trial's logs).
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


def _group_offsets(bus: str, group: str, tps: list) -> dict:
    from aiokafka import AIOKafkaConsumer

    async def read() -> dict:
        consumer = AIOKafkaConsumer(bootstrap_servers=bus, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            return {tp: await consumer.committed(tp) for tp in tps}
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _dialogue_ids(bus: str, topic: str, partitions: int) -> dict[str, int]:
    """Dialogue id (the record key) -> partition, of every record on ``topic`` now."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def read() -> dict[str, int]:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await end_offsets(bus, tps)
        consumer = AIOKafkaConsumer(bootstrap_servers=bus, enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        out: dict[str, int] = {}
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for tp, msgs in (await consumer.getmany(timeout_ms=500)).items():
                    for m in msgs:
                        out[(m.key or b"").decode()] = tp.partition
        finally:
            await consumer.stop()
        return out

    return asyncio.run(read())


def diagnose(bus: str, env: dict[str, str], db: Path, runs: list[str], partitions: int, procs: dict[str, "Proc"],
             path: Path) -> None:
    """Why a trial stopped short: where the missing dialogues are (written to ``path``)."""
    from collections import Counter

    from aiokafka import TopicPartition
    from aiokafka.partitioner import DefaultPartitioner

    from goalconvo.commands.goal_batches import goals_for_run
    from goalconvo.core.records import dialogue_id_for
    from goalconvo.sinks.consumer import sink_group
    from goalconvo.streams.app import topic_partitions

    lines: list[str] = []
    try:
        from goalconvo.core.settings import Settings

        settings = Settings(app_id=env["GOALCONVO_APP_ID"], topic_prefix=env["GOALCONVO_TOPIC_PREFIX"],
                            partitions=partitions, db=db)
        wanted = topic_partitions(settings)
        tps = [TopicPartition(t, p) for t, n in sorted(wanted.items()) for p in range(n)]
        ends = asyncio.run(end_offsets(bus, tps))
        corpus_id = run_query(db, "select value from sink_state where key = 'corpus_id'").rows[0][0]

        class _Store:  # what sink_group reads
            path = db
        _Store.corpus_id = corpus_id
        sink = sink_group(settings.app_id, _Store)  # type: ignore[arg-type]
        app = _group_offsets(bus, settings.app_id, tps)
        sunk = _group_offsets(bus, sink, tps)
        lines.append(f"{'topic':<50} {'p':>2} {'end':>5} {'app':>5} {'sink':>5}")
        for tp in tps:
            if ends.get(tp) or app.get(tp) is not None or sunk.get(tp) is not None:
                lines.append(f"{tp.topic:<50} {tp.partition:>2} {ends.get(tp)!s:>5} {app.get(tp)!s:>5} {sunk.get(tp)!s:>5}")
        topics = Topics.for_prefix(settings.topic_prefix)
        expected = {dialogue_id_for(r, g.goal_id): (r, g.goal_id) for r in runs for g in goals_for_run(43, r, None)}
        stored_ids = {row[0] for row in run_query(db, "select dialogue_id from dialogues").rows}
        for name, topic in (("completed", topics.dialogues_completed), ("judged", topics.dialogues_judged)):
            on = _dialogue_ids(bus, topic, partitions)
            missing = sorted(set(expected) - set(on))
            lines.append(f"missing from {name}: {len(missing)} {missing[:40]}")
        missing = sorted(set(expected) - stored_ids)
        part = DefaultPartitioner()
        where = Counter(part(d.encode(), list(range(partitions)), list(range(partitions))) for d in missing)
        lines.append(f"missing from the corpus: {len(missing)} (by partition of the turn topics: {dict(where)}) "
                     + str([(d, *expected[d]) for d in missing[:40]]))
    except Exception as exc:  # noqa: BLE001 - a diagnosis that breaks says so, the trial goes on
        lines.append(f"diagnosis failed: {type(exc).__name__}: {exc}")
    pyspy = os.environ.get("PYSPY") or shutil.which("py-spy")
    for name, proc in procs.items():
        if pyspy and proc.p.poll() is None:
            dump = subprocess.run([pyspy, "dump", "--pid", str(proc.p.pid)], capture_output=True, text=True, timeout=60)
            lines.append(f"== py-spy dump of {name} (pid {proc.p.pid})\n{dump.stdout}{dump.stderr}")
        else:
            lines.append(f"== {name}: exit {proc.p.poll()}")
    path.write_text("\n".join(lines) + "\n")


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
        verbose = ["-v"] if args.verbose else []
        helper = Proc(CLI + ["worker", "--no-sink", *verbose], env, logs.with_suffix(".helper.log"))
        sink = Proc(CLI + ["worker", *verbose], env, logs.with_suffix(".sink1.log"))
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
        sink2 = Proc(CLI + ["worker", *verbose], env, logs.with_suffix(".sink2.log"))
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
        if not done:
            diagnose(bus, env, db, [f"kt{tag}-r{r}" for r in range(args.runs)], args.partitions,
                     {"helper": helper, "sink2": sink2}, logs.with_suffix(".diag.txt"))
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
    ap.add_argument("--verbose", action="store_true", help="Run the workers with -v (INFO logs in the trial's logs).")
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
