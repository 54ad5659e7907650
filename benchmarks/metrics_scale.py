"""Metrics at scale (issue 16): corpora of 10k, 100k (and 1M) dialogues written through the real store.

Corpus: MultiWOZ val's 999 dialogues, judged once by the rules (as ``goalconvo import
multiwoz`` judges them), then copied with new ids. Copy k is varied by a stated rule so
distinct-n stays close to real text's rather than collapsing to duplicates:

- every venue name of the MultiWOZ databases found in a turn is replaced by another venue
  of the same domain (the k-th next one in the database's order);
- every digit is mapped through a permutation of 0-9 drawn for copy k (phones, postcodes,
  references, times and counts change together, consistently within the copy).

Copy k goes to dialogue set ``gen-{k % 20}`` (20 sets side by side) with model ``m{k % 2}``;
copy 0 is the original text. Every write goes through ``CorpusStore.write``: the corpus is
built in batches of --build-batch (default 1000, to reach a million in reasonable time), and
the insert rate is measured in batches of the sink's size (64), on one writer thread, as the
sink writes.

Per size it prints: ``goalconvo metrics`` latency (the CLI, a fresh process, and the
in-process ``compute_metrics``), a dashboard poll's latency after a change (``summary`` with
its cache emptied + first page of dialogues, read-only as the dashboard reads a free file),
the insert rate with snapshots off and on (alternating rounds, so drift cancels; a thread
taking a snapshot every --snapshot-interval s, default 1 s, ten times the sink's rate, the
sink's way: read cursor off the writer, the insert on it), file size, and peak memory (this
process; the CLI's).

    .venv/bin/python benchmarks/metrics_scale.py --sizes 10000 100000 --db /tmp/scale.duckdb
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from goalconvo.core.multiwoz import iter_multiwoz_dialogues
from goalconvo.core.records import JudgedDialogue
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge
from goalconvo.sinks.dashboard import data as dash
from goalconvo.sinks.metrics import compute_metrics, snapshot_rows
from goalconvo.sinks.store import CorpusStore

MULTIWOZ = Path("/work/shared/data/multiwoz")
BATCH = 64
GOALCONVO = str(Path(sys.executable).with_name("goalconvo"))


def base_corpus(path: Path) -> list[JudgedDialogue]:
    settings = Settings(judge_llm=False, multiwoz_db=path / "db")
    judge = Judge(settings, VenueDB.load(settings.multiwoz_db))

    async def judge_all() -> list[JudgedDialogue]:
        return [await judge.judge(d) for d in iter_multiwoz_dialogues(path / "val.json.zip", "multiwoz")]

    return asyncio.run(judge_all())


class Variation:
    """Copy k: venue names swapped within their domain, digits through a per-copy permutation."""

    def __init__(self, db: Path):
        self.names: dict[str, list[str]] = {}
        for f in sorted(db.glob("*_db.json")):
            names = sorted({str(v["name"]).lower() for v in json.loads(f.read_text()) if isinstance(v, dict) and v.get("name")})
            if len(names) > 1:
                self.names[f.name.split("_")[0]] = names
        self.where = {n: (dom, i) for dom, names in self.names.items() for i, n in enumerate(names)}
        alts = sorted(self.where, key=len, reverse=True)
        self._split: dict[str, list[str]] = {}
        self.pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in alts) + r")\b", re.IGNORECASE)

    def text(self, text: str, k: int, digits: dict[int, str]) -> str:
        if k == 0:
            return text
        parts = self._split.get(text)
        if parts is None:  # text, name, text, name, ... (found once per base text)
            parts = self._split[text] = self.pattern.split(text)
        out = []
        for j, part in enumerate(parts):
            if j % 2:
                dom, i = self.where[part.lower()]
                names = self.names[dom]
                part = names[(i + k) % len(names)]
            out.append(part)
        return "".join(out).translate(digits)

    def copy(self, jd: JudgedDialogue, k: int) -> JudgedDialogue:
        perm = list("0123456789")
        random.Random(k).shuffle(perm)
        digits = {ord(str(i)): perm[i] for i in range(10)}
        d = jd.dialogue
        did = f"{d.dialogue_id}#{k}"
        set_name = f"gen-{k % 20:02d}"
        turns = [t.model_copy(update={"text": self.text(t.text, k, digits)}) for t in d.turns]
        nd = d.model_copy(update={"dialogue_id": did, "run_id": set_name, "turns": turns, "model": f"m{k % 2}"})
        return JudgedDialogue(dialogue=nd, verdict=jd.verdict.model_copy(update={"dialogue_id": did}))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Feed:
    """Copies in order: all of copy 0, then copy 1, ..."""

    def __init__(self, base: list[JudgedDialogue], var: Variation):
        self.base, self.var, self.i = base, var, 0

    def take(self, n: int) -> list[JudgedDialogue]:
        out = []
        for _ in range(n):
            k, j = divmod(self.i, len(self.base))
            out.append(self.var.copy(self.base[j], k))
            self.i += 1
        return out


def write(store: CorpusStore, feed: Feed, n: int, batch_size: int = BATCH, progress: bool = False) -> float:
    """Write n dialogues in batches; returns the seconds spent in ``store.write`` (texts varied outside)."""
    spent = 0.0
    total, t0 = n, time.perf_counter()
    while n > 0:
        batch = feed.take(min(batch_size, n))
        t = time.perf_counter()
        store.write(batch)
        spent += time.perf_counter() - t
        n -= len(batch)
        if progress and (total - n) % 50_000 < batch_size:
            print(json.dumps({"written": total - n, "of": total, "elapsed_s": round(time.perf_counter() - t0),
                              "rate_per_s": round((total - n) / spent, 1)}), file=sys.stderr, flush=True)
    return spent


def insert_rates(store: CorpusStore, feed: Feed, n: int, interval_s: float, rounds: int = 3) -> dict:
    """Insert rate with snapshots off and on, ``rounds`` alternating rounds of n/(2*rounds) dialogues each."""
    spent = {False: 0.0, True: 0.0}
    written = {False: 0, True: 0}
    taken = 0
    per = max(BATCH, n // (2 * rounds))
    for _ in range(rounds):
        for on in (False, True):
            rate, k = insert_rate(store, feed, per, on, interval_s)
            spent[on] += per / rate
            written[on] += per
            taken += k
    off, on = written[False] / spent[False], written[True] / spent[True]
    return {"insert_rate_off": round(off, 1), "insert_rate_on": round(on, 1), "on_vs_off": round(on / off, 3),
            "snapshots_taken": taken, "snapshot_interval_s": interval_s, "rate_dialogues": sum(written.values())}


def insert_rate(store: CorpusStore, feed: Feed, n: int, snapshots: bool, interval_s: float) -> tuple[float, int]:
    """Dialogues/s stored while (optionally) a thread takes a snapshot every ``interval_s``; and how many it took."""
    stop = threading.Event()
    taken = [0]

    def loop() -> None:
        while not stop.is_set():
            rows = snapshot_rows(store.query)  # read cursor, off the writer
            store.snapshot(rows)  # the writer's share: a few rows
            taken[0] += 1
            stop.wait(interval_s)

    th = threading.Thread(target=loop) if snapshots else None
    if th:
        th.start()
    spent = write(store, feed, n)
    stop.set()
    if th:
        th.join()
    return n / spent, taken[0]


def measure(db: Path, size: int) -> dict:
    out: dict = {"dialogues": size, "file_mb": round(db.stat().st_size / 2**20, 1)}
    # goalconvo metrics, a fresh process (its import time included), three times; best and worst.
    cli = []
    peaks = []
    # The CLI's own peak RSS from GNU time when there is one (a child's ru_maxrss starts from this process's, forked).
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    for _ in range(3):
        t = time.perf_counter()
        done = subprocess.run([*timer, GOALCONVO, "metrics", "--db", str(db), "--json"], check=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        cli.append(time.perf_counter() - t)
        if timer:
            peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)
    out["metrics_cli_s"] = [round(min(cli), 3), round(max(cli), 3)]
    out["metrics_cli_peak_mb"] = round(max(peaks), 1) if peaks else None
    for flag in (["--accepted-only"], ["--by", "model"]):  # the groupings that count distinct keys over their cells
        t = time.perf_counter()
        subprocess.run([GOALCONVO, "metrics", "--db", str(db), "--json", *flag], check=True, stdout=subprocess.DEVNULL)
        out["metrics_cli_" + flag[-1].strip("-").replace("-", "_") + "_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    subprocess.run([GOALCONVO, "--help"], check=True, stdout=subprocess.DEVNULL)
    out["cli_startup_s"] = round(time.perf_counter() - t, 3)
    from goalconvo.sinks.query_server import run_query

    q = lambda sql, params=None: run_query(db, sql, params)  # noqa: E731
    for by in ("set", "domain_set"):
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            compute_metrics(q, by=by)
            ts.append(time.perf_counter() - t)
        out[f"compute_metrics_{by}_s"] = round(min(ts), 3)
    polls = []
    for _ in range(3):
        dash._cache.clear()  # a poll after a change: nothing answered from memory
        t = time.perf_counter()
        s = dash.summary(db)
        dash.dialogues(db, None, None, 50, 0)
        polls.append(time.perf_counter() - t)
    out["dashboard_poll_s"] = [round(min(polls), 3), round(max(polls), 3)]
    out["poll_sets"] = len(s["sets"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--db", type=Path, default=Path("/tmp/goalconvo-metrics-scale.duckdb"))
    ap.add_argument("--rate-dialogues", type=int, default=6000,
                    help="Dialogues written to measure the insert rate (half with snapshots on), in the sink's batches.")
    ap.add_argument("--build-batch", type=int, default=1000, help="Dialogues per write while building a corpus.")
    ap.add_argument("--multiwoz", type=Path, default=MULTIWOZ)
    ap.add_argument("--snapshot-interval", type=float, default=1.0,
                    help="Seconds between snapshots while measuring the rate with them on (the sink's default: 10).")
    ap.add_argument("--resume", action="store_true",
                    help="Go on from the corpus at --db (a run stopped part way; its stored dialogues are the feed's first).")
    args = ap.parse_args()
    if not args.resume:
        for p in (args.db, Path(str(args.db) + ".wal")):
            p.unlink(missing_ok=True)
    t = time.perf_counter()
    base = base_corpus(args.multiwoz)
    feed = Feed(base, Variation(args.multiwoz / "db"))
    print(json.dumps({"base_dialogues": len(base), "judged_s": round(time.perf_counter() - t, 1)}), flush=True)
    store = CorpusStore(args.db)
    stored = feed.i = store.query("select count(*) from dialogues").rows[0][0]
    for size in sorted(args.sizes):
        size = max(size, stored)
        t = time.perf_counter()
        in_write = write(store, feed, size - stored, args.build_batch, progress=True)
        build = {"built_to": size, "build_s": round(time.perf_counter() - t, 1),
                 "build_rate_per_s": round((size - stored) / in_write, 1) if in_write else None}
        stored = size
        rate = insert_rates(store, feed, args.rate_dialogues, args.snapshot_interval)
        stored += rate["rate_dialogues"]
        store.close()
        res = {**build, **rate, **measure(args.db, stored), "peak_mb": round(peak_mb(), 1)}
        print(json.dumps(res), flush=True)
        store = CorpusStore(args.db)
    store.close()


if __name__ == "__main__":
    main()
