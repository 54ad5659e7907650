"""What one guided turn costs the bundled CPU model, and what the phrasing knobs change.

    .venv/bin/python benchmarks/phrasing.py --turns 60
    .venv/bin/python benchmarks/phrasing.py --turns 60 --variants base,lookup

Plans dialogues for the built-in goals (a default run's) with the guided planner (templates only, no
model), takes the first ``--turns`` turns in order, and phrases each one with
the realizer through the bundled model (one ``Llama`` object, as ``goalconvo
run`` does), once per variant, interleaved turn by turn so that load on the
machine hits every variant alike. Prints per variant: seconds per turn and per
call, calls per turn, prompt and completion tokens per call, the share of turns
the model phrased (validator passed), and the top refusal reasons.

Variants: ``base`` (the shipped settings), ``copyok`` (the draft's first token not
barred: the model may copy the draft, as before r3), ``lookup`` (llama.cpp prompt-lookup
decoding: the rewrite repeats names and values from its prompt, so drafted
tokens are often accepted), ``tries2`` (two tries instead of three), ``warm``
(first try at temperature 1.0, not 0.7).

Measured (40 turns, load from other work on the 2 cores): base before r3 (the
draft's first token free) 1.96 s/turn, 1.80 calls/turn, LLM share 0.62, 33 refused
copies of the draft; with it barred 1.81 s/turn, 1.75 calls/turn, 0.72, no copies;
first try at 1.0: 1.74 s/turn, 0.65; prompt lookup decoding 1.7x slower per call.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import time
from dataclasses import replace

from goalconvo.agents.guided.realizer import RealizerConfig, realize
from goalconvo.agents.guided.simulate import plan_dialogue
from goalconvo.agents.guided.validator import known_names
from goalconvo.core.goals import builtin_goals
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.llm.local import LocalLlamaBackend


class LookupBackend(LocalLlamaBackend):
    """The bundled model with prompt-lookup speculative decoding."""

    def __init__(self, num_pred_tokens: int = 10, weight_repack: str = "auto") -> None:
        super().__init__(weight_repack=weight_repack)
        self.num_pred_tokens = num_pred_tokens

    def _load(self):  # type: ignore[override]
        from llama_cpp import Llama
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        from goalconvo.llm import bundled
        from goalconvo.llm.local import extra_buffers

        with extra_buffers(self.repack):
            return Llama(model_path=str(bundled.bundled_model_path()), n_ctx=self.n_ctx, n_threads=self.threads,
                         verbose=False, seed=0, draft_model=LlamaPromptLookupDecoding(num_pred_tokens=self.num_pred_tokens))


def planned_turns(n: int, seed: int) -> list[tuple[str, dict, str]]:
    """(speaker, acts, previous utterance) of the first ``n`` turns of planned dialogues of the
    built-in goals (what a default run phrases), the previous utterance as its template."""
    import random

    from goalconvo.agents.guided import templates

    venues = VenueDB.load()
    goals = builtin_goals()
    random.Random(seed).shuffle(goals)
    out: list[tuple[str, dict, str]] = []
    for goal in goals:
        plan = plan_dialogue(goal, venues, seed=f"bench:{goal.goal_id}", dialogue_id=f"bench-{goal.goal_id}")
        prev = ""
        for t in plan.turns:
            out.append((t.speaker, t.acts, prev))
            prev = templates.render(t.speaker, t.acts, random.Random(len(out)))
        if len(out) >= n:
            break
    return out[:n]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=60)
    ap.add_argument("--variants", default="base,lookup")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    venues = VenueDB.load()
    known = known_names(venues.tables)
    base_cfg = RealizerConfig()
    variants = args.variants.split(",")
    backends = {}
    for v in variants:
        repack = Settings().llama_weight_repack  # GOALCONVO_LLAMA_WEIGHT_REPACK, as a run reads it
        backends[v] = LookupBackend(weight_repack=repack) if v == "lookup" else LocalLlamaBackend(weight_repack=repack)
        await backends[v].start()
    special = {"tries2": replace(base_cfg, tries=2), "warm": replace(base_cfg, temperature=1.0),
               "copyok": replace(base_cfg, bar_draft_start=False)}
    cfg = {v: special.get(v, base_cfg) for v in variants}
    stats = {v: collections.Counter() for v in variants}
    reasons = {v: collections.Counter() for v in variants}
    turns = planned_turns(args.turns, args.seed)
    for i, (speaker, acts, prev) in enumerate(turns):
        for v in variants:
            t0 = time.perf_counter()
            p = await realize(backends[v], speaker, acts, "polite and brief" if speaker == "user" else "", prev,
                              None, f"bench:{i}", known_values=known, config=cfg[v])
            s = stats[v]
            s["seconds"] += time.perf_counter() - t0
            s["turns"] += 1
            s["calls"] += p.llm_calls
            s["prompt"] += p.prompt_tokens
            s["completion"] += p.completion_tokens
            s["llm"] += p.phrased_by == "llm"
            for r in p.refusals:
                reasons[v][re.sub(r"\s*\[.*", "", re.sub(r"^try \d+ \(temperature [\d.]+\): ", "", r))[:60]] += 1
    print(f"{len(turns)} planned turns, bundled model, {backends[variants[0]].threads} threads\n")
    print(f"{'variant':8} {'s/turn':>7} {'s/call':>7} {'calls/turn':>10} {'prompt/call':>11} {'compl/call':>10} {'llm share':>9}")
    for v in variants:
        s = stats[v]
        calls = max(1, s["calls"])
        print(f"{v:8} {s['seconds'] / s['turns']:7.2f} {s['seconds'] / calls:7.2f} {s['calls'] / s['turns']:10.2f} "
              f"{s['prompt'] / calls:11.0f} {s['completion'] / calls:10.1f} {s['llm'] / s['turns']:9.2f}")
    for v in variants:
        print(f"\n{v}: top refusals: {reasons[v].most_common(5)}")


if __name__ == "__main__":
    asyncio.run(main())
