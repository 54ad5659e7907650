"""Calibration of the near-duplicate filter (judges/near_duplicate.py), run by hand.

    .venv/bin/python benchmarks/near_duplicates.py --multiwoz ../shared/data/multiwoz/val.json.zip

Prints, for each threshold in ``--thresholds``, the share flagged of:
- MultiWOZ val (999 human dialogues), each checked against the ones before it (want < 1%);
- N guided dialogues (templates, no LLM) of N different val goals, the same way (want < 2%);
- hand-made paraphrases of those human and guided dialogues (reordered sentences,
  swapped synonyms, changed persona wording), each against its original's corpus (want >= 90%);
- the N goals republished under a new run id, against the first run (want 100%).
Plus the quantiles of each set's closest-match similarity, to see the margins.

``--pipeline`` also runs it for real: the N goals through an embedded broker and a worker
with the scripted backend (guided mode), then the same goals under a new run id, and
reads the stored verdicts (how many of each run accepted, how many republished flagged).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from goalconvo.core.goals import multiwoz_goals
from goalconvo.core.multiwoz import iter_multiwoz_dialogues
from goalconvo.core.records import Dialogue, Goal
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges import near_duplicate as nd

# -- the paraphraser -------------------------------------------------------------------
SYNONYMS = {
    "hi": "hello", "hello": "hey", "thanks": "thank you", "thank": "many thanks", "want": "would like",
    "need": "require", "looking": "searching", "find": "locate", "book": "reserve", "booked": "reserved",
    "cheap": "inexpensive", "expensive": "pricey", "great": "wonderful", "good": "fine", "sure": "certainly",
    "yes": "yeah", "please": "kindly", "help": "assist", "place": "spot", "also": "as well", "could": "can",
    "would": "might", "like": "prefer", "get": "obtain", "is": "is indeed", "number": "no.", "restaurant": "eatery",
    "hotel": "lodging", "train": "rail service", "taxi": "cab", "ok": "okay", "okay": "alright",
    "anything": "something", "else": "more", "there": "over there", "have": "got", "you": "you all",
    "recommend": "suggest", "address": "street address", "area": "part of town", "located": "situated",
    "people": "persons", "nights": "evenings", "day": "date", "what": "which", "leave": "depart",
    "arrive": "get in", "bye": "goodbye", "goodbye": "farewell", "the": "that", "a": "one",
}
PERSONA_OPENERS = ["Hey there!", "Honestly,", "Quick question.", "Sorry to bother you.", "Um, so", "Right then."]
PERSONA_CLOSERS = ["Cheers.", "That would be lovely.", "No rush.", "If that's not too much trouble.", "Appreciate it!"]
_SENT = re.compile(r"(?<=[.!?])\s+")


def paraphrase_text(text: str, rng: random.Random, swap: float = 0.5) -> str:
    """Reorder the sentences of a turn and swap about ``swap`` of the words that have a synonym."""
    parts = [p for p in _SENT.split(text.strip()) if p]
    rng.shuffle(parts)

    def sub(m: re.Match[str]) -> str:
        w = m.group(0)
        alt = SYNONYMS.get(w.lower())
        return alt if alt is not None and rng.random() < swap else w

    return " ".join(re.sub(r"[A-Za-z']+", sub, p) for p in parts)


def paraphrase(texts: Sequence[tuple[str, str]], seed: int | str) -> list[str]:
    """A hand-made paraphrase of (speaker, text) turns: sentences reordered, synonyms swapped,
    and the User's persona worded differently (an opener or a closer on some of its turns)."""
    rng = random.Random(f"paraphrase:{seed}")
    out = []
    for speaker, text in texts:
        new = paraphrase_text(text, rng)
        if speaker == "user" and rng.random() < 0.5:
            new = f"{rng.choice(PERSONA_OPENERS)} {new}" if rng.random() < 0.5 else f"{new} {rng.choice(PERSONA_CLOSERS)}"
        out.append(new)
    return out


def turns_of(d: Dialogue) -> list[tuple[str, str]]:
    return [(t.speaker, t.text) for t in d.turns]


# -- guided dialogues, templates only ---------------------------------------------------
async def guided_dialogues(goals: Sequence[Goal], run_id: str, settings: Settings | None = None) -> list[Dialogue]:
    from goalconvo.agents.guided.engine import GuidedEngine

    settings = settings or Settings(llm="scripted")
    engine = GuidedEngine(None, VenueDB.load(settings.multiwoz_db), settings)
    out = []
    for goal in goals:
        state = await engine.start(goal.model_copy(update={"run_id": run_id}), run_id)
        while True:
            state = await engine.user_turn(state)
            step = await engine.bot_turn(state)
            if step.finished is not None:
                out.append(step.finished)
                break
            state = step.state
    return out


def distinct_goals(goals: Sequence[Goal], n: int) -> list[Goal]:
    seen, out = set(), []
    for g in goals:
        key = g.model_dump_json(include={"domains"})
        if key not in seen:
            seen.add(key)
            out.append(g)
        if len(out) == n:
            break
    return out


# -- measuring --------------------------------------------------------------------------
def best_against_earlier(sigs: list[np.ndarray]) -> list[float]:
    """For each signature, its highest similarity to any earlier one (brute force: exact for the quantiles)."""
    m = np.stack(sigs)
    return [0.0] + [float((m[:i] == m[i]).mean(axis=1).max()) for i in range(1, len(m))]


def best_against(sigs: list[np.ndarray], corpus: list[np.ndarray]) -> list[float]:
    m = np.stack(corpus)
    return [float((m == s).mean(axis=1).max()) for s in sigs]


def flagged_in_order(ids: list[str], sigs: list[np.ndarray], goals: list[str], threshold: float, same_goal: bool) -> int:
    """Through the real index: each checked against the ones before it, then added if not flagged."""
    index, n = nd.NearDuplicateIndex(threshold, same_goal=same_goal), 0
    for i, s, g in zip(ids, sigs, goals):
        if index.query(s, goal=g) is not None:
            n += 1
        else:
            index.add(i, s, g)
    return n


def flagged_against(corpus_ids: list[str], corpus: list[np.ndarray], corpus_goals: list[str], sigs: list[np.ndarray],
                    goals: list[str], threshold: float, same_goal: bool) -> int:
    index = nd.NearDuplicateIndex(threshold, same_goal=same_goal)
    for i, s, g in zip(corpus_ids, corpus, corpus_goals):
        index.add(i, s, g)
    return sum(index.query(s, goal=g) is not None for s, g in zip(sigs, goals))


def quantiles(xs: list[float]) -> str:
    q = np.quantile(xs, [0.5, 0.9, 0.99, 1.0] if len(xs) > 1 else [0.5])
    return " ".join(f"{v:.2f}" for v in q)


async def through_pipeline(goals: Sequence[Goal], db: Path) -> dict[str, dict[str, int]]:
    from goalconvo.commands.runner import run_goals
    from goalconvo.sinks.store import CorpusStore
    from goalconvo.streams.broker import EmbeddedBroker

    broker = EmbeddedBroker()
    await broker.start()
    try:
        s = Settings(llm="scripted", db=db, bootstrap_servers=broker.bootstrap_servers, concurrency=16)
        runs = [await run_goals(s, len(goals), goals=goals, timeout_s=900) for _ in range(2)]
    finally:
        await broker.stop()
    store = CorpusStore(db)
    try:
        out = {}
        for label, r in zip(("first", "republished"), runs):
            rows = store.query(
                """select count(*), count(*) filter (where v.accepted),
                          count(*) filter (where c.passed = false), count(*) filter (where c.passed)
                   from dialogues d join verdicts v using (dialogue_id)
                   left join verdict_checks c on c.dialogue_id = d.dialogue_id
                        and c.judge_version = v.judge_version and c.name = 'near_duplicate'
                   where d.run_id = ?""", [r.run_id]).rows[0]
            out[label] = dict(zip(("stored", "accepted", "near_duplicate", "checked_passed"), rows))
            out[label]["seconds"] = round(r.seconds)
        return out
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--multiwoz", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/multiwoz/val.json.zip")
    ap.add_argument("--goals", type=int, default=200)
    ap.add_argument("--thresholds", default="0.3,0.35,0.4,0.45,0.5")
    ap.add_argument("--pipeline", action="store_true", help="also republish the goals through a real broker and worker")
    args = ap.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    print(f"scheme {nd.SCHEME}")

    t0 = time.monotonic()
    human = list(iter_multiwoz_dialogues(args.multiwoz, "val"))
    h_ids = [d.dialogue_id for d in human]
    h_sigs = [nd.dialogue_signature(d) for d in human]
    h_goals = [nd.goal_key(d.goal) for d in human]
    dt = time.monotonic() - t0
    print(f"MultiWOZ val: {len(human)} dialogues, loaded and signed in {dt:.1f} s")

    goals = distinct_goals(multiwoz_goals(args.multiwoz), args.goals)
    t0 = time.monotonic()
    run_a = asyncio.run(guided_dialogues(goals, "bench-a"))
    run_b = asyncio.run(guided_dialogues(goals, "bench-b"))
    print(f"guided: {len(run_a)} dialogues of {len(goals)} different goals, twice (run ids bench-a, bench-b), "
          f"{time.monotonic() - t0:.1f} s")
    a_ids = [d.dialogue_id for d in run_a]
    a_sigs = [nd.dialogue_signature(d) for d in run_a]
    b_sigs = [nd.dialogue_signature(d) for d in run_b]
    a_goals = [nd.goal_key(d.goal) for d in run_a]
    b_goals = [nd.goal_key(d.goal) for d in run_b]
    ph_sigs = [nd.text_signature(paraphrase(turns_of(d), d.dialogue_id)) for d in human]
    pg_sigs = [nd.text_signature(paraphrase(turns_of(d), d.dialogue_id)) for d in run_a]
    # A paraphrase is compared with its own original's corpus (the originals already accepted).
    own_h = [float((s == o).mean()) for s, o in zip(ph_sigs, h_sigs)]
    own_g = [float((s == o).mean()) for s, o in zip(pg_sigs, a_sigs)]
    own_b = [float((s == o).mean()) for s, o in zip(b_sigs, a_sigs)]

    print("\nclosest-match similarity, quantiles 50% 90% 99% max (min for the should-flag sets)")
    print(f"  MultiWOZ val vs earlier val      {quantiles(best_against_earlier(h_sigs))}")
    print(f"  guided run vs earlier same run   {quantiles(best_against_earlier(a_sigs))}")
    print(f"  paraphrase vs its original  val  min {min(own_h):.2f} p1 {np.quantile(own_h, 0.01):.2f} p10 {np.quantile(own_h, 0.10):.2f} median {np.median(own_h):.2f}")
    print(f"  paraphrase vs its original guided min {min(own_g):.2f} p1 {np.quantile(own_g, 0.01):.2f} p10 {np.quantile(own_g, 0.10):.2f} median {np.median(own_g):.2f}")
    print(f"  republished vs first run         min {min(own_b):.2f} p1 {np.quantile(own_b, 0.01):.2f} median {np.median(own_b):.2f}")

    for same_goal in (False, True):
        print(f"\nflagged share by threshold (LSH index), {'text + same goal (the default)' if same_goal else 'text alone'}")
        print(f"  {'threshold':>9} {'val<1%':>8} {'guided<2%':>10} {'para-val>=90%':>14} {'para-guided>=90%':>17} "
              f"{'republish=100%':>15}")
        # Paraphrases are checked as text alone (no goal): an LLM rewording a stored dialogue.
        nog_h, nog_g = [None] * len(ph_sigs), [None] * len(pg_sigs)
        for t in thresholds:
            fv = flagged_in_order(h_ids, h_sigs, h_goals, t, same_goal) / len(h_sigs)
            fg = flagged_in_order(a_ids, a_sigs, a_goals, t, same_goal) / len(a_sigs)
            pv = flagged_against(h_ids, h_sigs, h_goals, ph_sigs, nog_h, t, same_goal) / len(ph_sigs)
            pg = flagged_against(a_ids, a_sigs, a_goals, pg_sigs, nog_g, t, same_goal) / len(pg_sigs)
            rb = flagged_against(a_ids, a_sigs, a_goals, b_sigs, b_goals, t, same_goal) / len(b_sigs)
            print(f"  {t:>9.2f} {fv:>8.1%} {fg:>10.1%} {pv:>14.1%} {pg:>17.1%} {rb:>15.1%}")
    default = Settings().near_duplicate_threshold
    print(f"\ndefault threshold (Settings.near_duplicate_threshold): {default}")
    if args.pipeline:
        import tempfile

        db = Path(tempfile.mkdtemp()) / "neardup.duckdb"
        res = asyncio.run(through_pipeline(goals, db))
        print(f"\nthrough the pipeline (scripted backend, guided, {len(goals)} goals, then again under a new run id):")
        for label, r in res.items():
            print(f"  {label:>11}: {r}")


if __name__ == "__main__":
    main()
