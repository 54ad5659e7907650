"""Pipeline throughput, run by hand: dialogues/s against an LLM server with a fixed delay.

    .venv/bin/python benchmarks/throughput.py                      # delay 0.2 s, concurrency 1 16 64
    .venv/bin/python benchmarks/throughput.py --delay 0.2 --concurrency 64 --dialogues 512
    .venv/bin/python benchmarks/throughput.py --mode scripted --dialogues 1000   # the pipeline's own ceiling

Each level runs the whole pipeline (embedded broker, Faust stages, judge, DuckDB
sink) against a loopback OpenAI-compatible server that answers every call after
``--delay`` seconds. It prints dialogues/s (whole run, and the steady middle
10%..90% of completions), LLM calls in flight (mean and peak, seen by the
server), the pipeline's overhead per dialogue, and two ratios: to the ideal
(concurrency / calls per dialogue / delay, what a perfect client would get from
that server) and to a plain sequential loop over the same goals with no Kafka.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import tempfile
import time
import uuid
from pathlib import Path

from goalconvo.agents.dialogue import DialogueEngine
from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import message_bus, publish
from goalconvo.commands.runner import Worker
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.devtools.openai_stub import OpenAIStubServer, canned_reply
from goalconvo.judges.judge import Judge
from goalconvo.llm.scripted import ScriptedBackend
from goalconvo.llm.vllm_server import VLLMServerBackend
from goalconvo.streams.topics import Topics


def _settings(tmp: Path, concurrency: int, llm: str) -> Settings:
    tag = uuid.uuid4().hex[:6]
    return Settings(
        db=tmp / f"bench-{tag}.duckdb", app_id=f"bench-{tag}", topic_prefix=f"b{tag}.", llm=llm,  # type: ignore[arg-type]
        concurrency=concurrency, max_in_flight=concurrency, partitions=8, session_timeout_s=4.0,
        sink_batch_size=256, sink_batch_window_s=0.2,
    )


async def _completion_times(worker: Worker, run_id: str, n: int, timeout_s: float) -> list[float]:
    """Poll the corpus; the times at which the count of stored dialogues grew."""
    assert worker.store is not None
    loop = asyncio.get_running_loop()
    times: list[float] = []
    t_end = time.monotonic() + timeout_s
    while len(times) < n and time.monotonic() < t_end:
        c = await loop.run_in_executor(None, worker.store.run_progress, run_id)
        done = sum(c.values())
        now = time.monotonic()
        times.extend([now] * (done - len(times)))
        await asyncio.sleep(0.05)
    return times


async def pipeline_level(concurrency: int, n: int, delay: float, mode: str, tmp: Path) -> dict:
    s = _settings(tmp, concurrency, "vllm" if mode == "server" else "scripted")
    run_id = f"bench-c{concurrency}"
    goals = goals_for_run(n, run_id, None)
    srv = OpenAIStubServer(delay_s=delay, reply=functools.partial(canned_reply, user_turns=2))
    if mode == "server":
        srv.stats.samples = []
        await srv.start()
        llm = VLLMServerBackend([srv.base_url], "stub", max_in_flight=concurrency, timeout_s=60)
    else:
        llm = ScriptedBackend()
    try:
        async with message_bus(s) as bus:
            async with Worker(s, bus, llm=llm) as w:
                # Warm up: the clock starts once every consumer group has joined and one dialogue went through.
                warm = goals_for_run(2, f"warmup-{run_id}", None)
                await publish(bus, Topics.for_prefix(s.topic_prefix).goals, goal_events(warm))
                await _completion_times(w, f"warmup-{run_id}", len(warm), timeout_s=120)
                srv.stats.requests = 0
                srv.stats.peak_in_flight = 0
                t0 = time.monotonic()
                await publish(bus, Topics.for_prefix(s.topic_prefix).goals, goal_events(goals))
                times = await _completion_times(w, run_id, n, timeout_s=max(120, n * 2.0))
                requests = srv.stats.requests
                arrivals = [t for t, _ in srv.stats.samples if t >= t0]
    finally:
        await srv.stop()
    wall = (times[-1] if times else time.monotonic()) - t0
    per_dialogue = requests / max(1, len(times))
    # Steady state: the rate of LLM calls between 10% and 90% of them, in dialogues/s
    # (completions reach the corpus in sink batches, calls reach the server one by one).
    lo, hi = int(0.1 * len(arrivals)), int(0.9 * len(arrivals)) - 1
    if mode == "server" and hi > lo and arrivals[hi] > arrivals[lo]:
        steady = (hi - lo) / (arrivals[hi] - arrivals[lo]) / per_dialogue
    else:
        steady = len(times) / wall
    return {
        "concurrency": concurrency, "dialogues": len(times), "wall_s": wall, "rate": len(times) / wall,
        "steady_rate": steady, "calls_per_dialogue": per_dialogue,
        "mean_in_flight": (requests * delay / wall) if mode == "server" else 0.0,
        "peak_in_flight": srv.stats.peak_in_flight,
    }


async def sequential(n: int, delay: float) -> dict:
    """The same goals, one call at a time, no Kafka: what a plain script would do."""
    s = Settings(llm="vllm", max_in_flight=1)
    goals = goals_for_run(n, "bench-seq", None)
    async with OpenAIStubServer(delay_s=delay, reply=functools.partial(canned_reply, user_turns=2)) as srv:
        llm = VLLMServerBackend([srv.base_url], "stub", max_in_flight=1)
        venues = VenueDB.load(None)
        engine, judge = DialogueEngine(llm, venues, s), Judge(s, venues, llm)
        t0 = time.monotonic()
        for g in goals:
            state = await engine.start(g, "bench-seq")
            while True:
                state = await engine.user_turn(state)
                step = await engine.bot_turn(state)
                if step.finished is not None:
                    await judge.judge(step.finished)
                    break
                state = step.state
        wall = time.monotonic() - t0
        await llm.close()
    return {"dialogues": n, "wall_s": wall, "rate": n / wall, "calls": srv.stats.requests}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["server", "scripted"], default="server")
    ap.add_argument("--delay", type=float, default=0.2, help="seconds the server takes per call")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--dialogues", type=int, default=None, help="per level (default: max(24, 8 x concurrency))")
    ap.add_argument("--sequential", type=int, default=12, help="dialogues in the sequential baseline")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for name in ("faust", "aiokafka", "mode", "goalconvo"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    tmp = Path(tempfile.mkdtemp(prefix="goalconvo-bench-"))

    if args.mode == "scripted":
        print("mode scripted (no LLM delay): the pipeline's own ceiling on this machine")
        print(f"{'conc':>5} {'dialogues':>9} {'wall s':>7} {'dlg/s':>7}")
        for c in args.concurrency:
            r = asyncio.run(pipeline_level(c, args.dialogues or 500, 0.0, "scripted", tmp))
            print(f"{c:>5} {r['dialogues']:>9} {r['wall_s']:>7.1f} {r['rate']:>7.1f}")
        return

    seq = asyncio.run(sequential(args.sequential, args.delay))
    print(f"server delay {args.delay:.3f}s per call; sequential loop: {seq['rate']:.2f} dialogues/s "
          f"({seq['calls'] / seq['dialogues']:.1f} calls/dialogue, {seq['dialogues']} dialogues)")
    print(f"{'conc':>5} {'dialogues':>9} {'wall s':>7} {'dlg/s':>7} {'steady':>7} {'ideal':>7} {'%ideal':>7} "
          f"{'x seq':>6} {'calls/dlg':>9} {'in flight':>9} {'peak':>5} {'overhead ms/dlg':>15}")
    for c in args.concurrency:
        n = args.dialogues or max(24, 8 * c)
        r = asyncio.run(pipeline_level(c, n, args.delay, "server", tmp))
        ideal = c / r["calls_per_dialogue"] / args.delay
        # Overhead: the time a dialogue takes beyond its calls, at this level's rate.
        overhead_ms = (c / r["steady_rate"] - r["calls_per_dialogue"] * args.delay) * 1000
        print(f"{c:>5} {r['dialogues']:>9} {r['wall_s']:>7.1f} {r['rate']:>7.2f} {r['steady_rate']:>7.2f} "
              f"{ideal:>7.2f} {r['steady_rate'] / ideal:>7.0%} {r['steady_rate'] / seq['rate']:>6.1f} "
              f"{r['calls_per_dialogue']:>9.1f} {r['mean_in_flight']:>9.1f} {r['peak_in_flight']:>5} {overhead_ms:>15.0f}")


if __name__ == "__main__":
    main()
