"""Trackers trained on generated, real and mixed dialogues, tested on the same real ones, several draws each.

A *pool* is the training dialogues of one origin; each dialogue has a *key*, the real
dialogue its goal came from (a generated dialogue of goal ``multiwoz:PMUL1650`` has key
``PMUL1650``; a real dialogue is its own key). When the generated and real pools share
keys, draws are *paired*: N keys are drawn, and the generated and the real tracker train
on the dialogues of those same N goals, so the ratio compares like with like. Draw k
uses seed ``seed + k`` for the sample and for the classifiers; same seed, same figures.

Conditions: ``generated`` and ``real`` at each size, and ``real+generated`` (A real
dialogues, the same A as ``real`` at that size and draw, plus the whole generated pool;
when paired, its dialogues of the paired goals: a goal of the test never trains).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from goalconvo.assess.dst.evaluate import gold_slots, score, slot_reports
from goalconvo.assess.dst.examples import Dialogues, TurnExample, dialogue_examples
from goalconvo.assess.dst.model import BeliefTracker, TrackerConfig

GENERATED, REAL, MIXED = "generated", "real", "real+generated"
#: The size of a run on the whole pool.
ALL = "all"


def _size_order(size: int | str) -> float:
    return float("inf") if size == ALL else float(size)


@dataclass
class Pool:
    """Training dialogues of one origin (``generated`` or ``real``) and each one's key."""

    origin: str
    dialogues: Dialogues
    keys: dict[str, str]  # dialogue id -> key

    @property
    def by_key(self) -> dict[str, str]:
        """Key -> dialogue id (the first by id when a goal was used twice)."""
        out: dict[str, str] = {}
        for did in sorted(self.keys):
            out.setdefault(self.keys[did], did)
        return out


@dataclass
class Run:
    """One trained and tested tracker."""

    condition: str
    size: int | str    # the size asked for, or "all" (the augmentation: its real part)
    draw: int
    seed: int
    dialogues: int     # training dialogues
    turns: int         # training turns
    jga: float
    slot_accuracy: float
    seconds: float
    slots: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "condition", "size", "draw", "seed", "dialogues", "turns", "jga", "slot_accuracy", "seconds", "slots")}


def draw(keys: Sequence[str], n: int | None, seed: int) -> list[str]:
    """``n`` of ``keys`` (all when ``n`` is None or not smaller), sorted; the same for the same seed."""
    keys = sorted(keys)
    if n is None or n >= len(keys):
        return keys
    return sorted(random.Random(seed).sample(keys, n))


def train_and_test(train: Sequence[TurnExample], test: Sequence[TurnExample], seed: int,
                   config: TrackerConfig | None = None) -> tuple[float, float, list[dict[str, Any]], float]:
    """(JGA, slot accuracy, per-slot reports, seconds) of a tracker trained on ``train``, tested on ``test``."""
    t0 = time.monotonic()
    tracker = BeliefTracker(config, seed=seed).fit(train)
    predicted = tracker.predict(test)
    gold = [ex.state for ex in test]
    slots = gold_slots(gold)
    s = score(gold, predicted, slots)
    reports = [r.as_dict() for r in slot_reports(gold, predicted, slots)]
    return s.jga, s.slot_accuracy, reports, time.monotonic() - t0


def _examples(pool: Pool, ids: Sequence[str]) -> list[TurnExample]:
    # Ids are prefixed with the origin, so a generated and a real dialogue never share one when mixed.
    return [ex for did in ids for ex in dialogue_examples(f"{pool.origin}:{did}", pool.dialogues[did])]


@dataclass
class Experiment:
    """The plan: test examples, the pools, sizes (None: the whole pool), draws, the augmentation's real size."""

    test: Sequence[TurnExample]
    generated: Pool | None = None
    real: Pool | None = None
    sizes: Sequence[int | None] = (None,)
    draws: int = 3
    seed: int = 0
    augment: int | None = None
    pair: bool = True
    config: TrackerConfig | None = None

    @property
    def paired_keys(self) -> list[str]:
        """Keys with a dialogue in both pools (empty when pairing is off or a pool is missing)."""
        if not (self.pair and self.generated and self.real):
            return []
        return sorted(set(self.generated.by_key) & set(self.real.by_key))

    def plan(self) -> list[tuple[str, int | None, int]]:
        """(condition, size, draw) of every run, in the order they run."""
        out = []
        for k in range(self.draws):
            for n in self.sizes:
                if self.generated:
                    out.append((GENERATED, n, k))
                if self.real:
                    out.append((REAL, n, k))
            if self.augment is not None and self.generated and self.real:
                if self.augment not in self.sizes:
                    out.append((REAL, self.augment, k))
                out.append((MIXED, self.augment, k))
        return out

    def _ids(self, pool: Pool, n: int | None, seed: int) -> list[str]:
        paired = self.paired_keys
        if paired:
            by_key = pool.by_key
            return [by_key[key] for key in draw(paired, n, seed)]
        return draw(sorted(pool.dialogues), n, seed)

    def run(self, progress: Callable[[int, int, Run], None] | None = None) -> list[Run]:
        runs: list[Run] = []
        plan = self.plan()
        for i, (condition, n, k) in enumerate(plan, start=1):
            seed = self.seed + k
            if condition == MIXED:
                assert self.real and self.generated
                real_ids = self._ids(self.real, n, seed)
                gen_ids = self._ids(self.generated, None, seed)
                train = _examples(self.real, real_ids) + _examples(self.generated, gen_ids)
                count = len(real_ids) + len(gen_ids)
            else:
                pool = self.generated if condition == GENERATED else self.real
                assert pool is not None
                ids = self._ids(pool, n, seed)
                train, count = _examples(pool, ids), len(ids)
            jga, acc, reports, seconds = train_and_test(train, self.test, seed, self.config)
            run = Run(condition, n if n is not None else ALL, k, seed, count, len(train), jga, acc, seconds, reports)
            runs.append(run)
            if progress:
                progress(i, len(plan), run)
        return runs


def _spread(xs: Sequence[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(xs), "sd": statistics.stdev(xs) if len(xs) > 1 else 0.0,
        "min": min(xs), "max": max(xs),
    }


def summarise(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per (condition, size): draws, training dialogues, JGA and slot accuracy (mean, sd, min, max)."""
    groups: dict[tuple[str, int | str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.condition, r.size), []).append(r)
    order = {GENERATED: 0, REAL: 1, MIXED: 2}
    return [
        {
            "condition": c, "size": n, "draws": len(rs), "dialogues": rs[0].dialogues,
            "jga": _spread([r.jga for r in rs]), "slot_accuracy": _spread([r.slot_accuracy for r in rs]),
            "seconds": statistics.fmean(r.seconds for r in rs),
        }
        for (c, n), rs in sorted(groups.items(), key=lambda kv: (_size_order(kv[0][1]), order.get(kv[0][0], 9)))
    ]


def ratios(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per size with both: mean generated JGA / mean real JGA, and the per-draw ratios' range.

    The augmentation: JGA of real+generated against real of the same size and draws.
    """
    jga: dict[tuple[str, int | str, int], float] = {(r.condition, r.size, r.draw): r.jga for r in runs}
    out = []
    for top, bottom, what in ((GENERATED, REAL, "generated / real"), (MIXED, REAL, "real+generated / real")):
        for n in sorted({r.size for r in runs if r.condition == top}, key=_size_order):
            draws = sorted(k for c, m, k in jga if c == top and m == n and (bottom, n, k) in jga)
            if not draws:
                continue
            a = [jga[(top, n, k)] for k in draws]
            b = [jga[(bottom, n, k)] for k in draws]
            per = [x / y for x, y in zip(a, b) if y > 0]
            out.append({
                "what": what, "size": n, "draws": len(draws),
                "numerator": statistics.fmean(a), "denominator": statistics.fmean(b),
                "ratio": statistics.fmean(a) / statistics.fmean(b) if statistics.fmean(b) > 0 else None,
                "ratio_min": min(per) if per else None, "ratio_max": max(per) if per else None,
            })
    return out


def slot_gap(runs: Sequence[Run], size: int | str, top: str = GENERATED, bottom: str = REAL) -> list[dict[str, Any]]:
    """Per slot at ``size``: accuracy of the ``top`` and ``bottom`` trackers (mean over draws), the gap, and
    the ``top`` tracker's commonest misses, wrong values and inventions (first draw), largest gap first."""
    acc: dict[tuple[str, str], list[float]] = {}
    first: dict[str, dict[str, Any]] = {}
    first_draw = min((r.draw for r in runs if r.condition == top and r.size == size), default=None)
    for r in runs:
        if r.size != size or r.condition not in (top, bottom):
            continue
        for s in r.slots:
            acc.setdefault((r.condition, s["slot"]), []).append(s["accuracy"])
            if r.condition == top and r.draw == first_draw:
                first[s["slot"]] = s
    slots = sorted({s for _, s in acc})
    rows = []
    for s in slots:
        a, b = acc.get((top, s)), acc.get((bottom, s))
        if not a or not b:
            continue
        f = first.get(s, {})
        rows.append({
            "slot": s, top: statistics.fmean(a), bottom: statistics.fmean(b),
            "gap": statistics.fmean(b) - statistics.fmean(a), "gold_set": f.get("gold_set"),
            "top_missed": f.get("top_missed", []), "top_wrong": f.get("top_wrong", []),
            "top_invented": f.get("top_invented", []),
        })
    return sorted(rows, key=lambda r: -r["gap"])


def final_states(dialogues: Dialogues, ids: Sequence[str]) -> dict[str, Mapping[str, str]]:
    """Each dialogue's last labelled state."""
    out: dict[str, Mapping[str, str]] = {}
    for did in ids:
        exs = dialogue_examples(did, dialogues[did])
        out[did] = exs[-1].state if exs else {}
    return out


def label_agreement(generated: Pool, real: Pool, top: int = 5) -> list[dict[str, Any]]:
    """Per slot, over the goals both pools have: how the final states of a goal's generated and real
    dialogues agree (same value, both empty, only one sets it, different values) and the commonest disagreements.

    Tells labelling conventions (spellings, what a state records) from what the tracker learns of wording.
    """
    g_by, r_by = generated.by_key, real.by_key
    keys = sorted(set(g_by) & set(r_by))
    g_final = final_states(generated.dialogues, [g_by[k] for k in keys])
    r_final = final_states(real.dialogues, [r_by[k] for k in keys])
    table: dict[str, dict[str, Any]] = {}
    for k in keys:
        g, r = g_final[g_by[k]], r_final[r_by[k]]
        for s in set(g) | set(r):
            row = table.setdefault(s, {"slot": s, "same": 0, "only_real": 0, "only_generated": 0, "different": 0,
                                       "pairs": {}})
            gv, rv = g.get(s), r.get(s)
            kind = "same" if gv == rv else "only_real" if gv is None else "only_generated" if rv is None else "different"
            row[kind] += 1
            if kind != "same":
                pair = f"{rv if rv is not None else '-'} | {gv if gv is not None else '-'}"
                row["pairs"][pair] = row["pairs"].get(pair, 0) + 1
    out = []
    for s in sorted(table):
        row = table.pop(s)
        pairs = sorted(row.pop("pairs").items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        row["goals"] = len(keys)
        row["top_disagreements"] = [[p, n] for p, n in pairs]  # "real value | generated value"
        out.append(row)
    return out


def as_pool(origin: str, dialogues: Dialogues, keys: Mapping[str, str] | None = None) -> Pool:
    """A pool; real dialogues are their own keys, generated ones need theirs (goal -> reference id)."""
    return Pool(origin, dialogues, dict(keys) if keys is not None else {d: d for d in dialogues})
