"""Joint goal accuracy, slot accuracy, and where a tracker goes wrong, slot by slot.

- JGA: the share of test turns whose predicted state equals the gold state exactly
  (every slot, values normalised; a slot the tracker never learned counts as empty).
- slot accuracy: over the test file's slots (those with a value in some gold test
  state), the share of (turn, slot) pairs predicted right, an empty slot included. The
  slots come from the test data, so trackers trained on different corpora are scored on
  the same slots.
- per slot: accuracy, how often the gold value is missed (predicted empty), wrong
  (another value) or invented (gold empty), and the commonest of each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

State = Mapping[str, str]


def gold_slots(gold: Sequence[State]) -> list[str]:
    """The slots with a value in some gold state, sorted."""
    return sorted({s for st in gold for s in st})


@dataclass
class Scores:
    turns: int
    jga: float
    slot_accuracy: float

    def as_dict(self) -> dict[str, Any]:
        return {"turns": self.turns, "jga": self.jga, "slot_accuracy": self.slot_accuracy}


def score(gold: Sequence[State], predicted: Sequence[State], slots: Sequence[str] | None = None) -> Scores:
    """JGA and slot accuracy of ``predicted`` against ``gold`` (turn by turn, same order)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold states but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no test turn to score")
    slots = list(slots) if slots is not None else gold_slots(gold)
    joint = sum(dict(g) == dict(p) for g, p in zip(gold, predicted))
    right = sum(g.get(s) == p.get(s) for g, p in zip(gold, predicted) for s in slots)
    return Scores(len(gold), joint / len(gold), right / (len(gold) * len(slots)) if slots else 1.0)


@dataclass
class SlotReport:
    """How one slot fares over the test turns."""

    slot: str
    gold_set: int = 0            # turns whose gold state gives the slot a value
    right: int = 0               # turns where prediction and gold agree (both empty included)
    turns: int = 0
    missed: Counter = field(default_factory=Counter)    # gold value -> times predicted empty
    wrong: Counter = field(default_factory=Counter)     # (gold, predicted) -> times
    invented: Counter = field(default_factory=Counter)  # predicted value -> times, gold empty

    @property
    def accuracy(self) -> float:
        return self.right / self.turns if self.turns else 1.0

    def as_dict(self, top: int = 5) -> dict[str, Any]:
        return {
            "slot": self.slot, "accuracy": round(self.accuracy, 4), "gold_set": self.gold_set,
            "missed": sum(self.missed.values()), "wrong": sum(self.wrong.values()),
            "invented": sum(self.invented.values()),
            "top_missed": [[v, n] for v, n in self.missed.most_common(top)],
            "top_wrong": [[g, p, n] for (g, p), n in self.wrong.most_common(top)],
            "top_invented": [[v, n] for v, n in self.invented.most_common(top)],
        }


def slot_reports(gold: Sequence[State], predicted: Sequence[State], slots: Sequence[str] | None = None) -> list[SlotReport]:
    """One :class:`SlotReport` per slot (the test's slots and any the tracker invented), sorted by name."""
    names = set(slots if slots is not None else gold_slots(gold)) | {s for p in predicted for s in p}
    reports = {s: SlotReport(s) for s in sorted(names)}
    for g, p in zip(gold, predicted):
        for s, r in reports.items():
            gv, pv = g.get(s), p.get(s)
            r.turns += 1
            r.gold_set += gv is not None
            if gv == pv:
                r.right += 1
            elif pv is None:
                r.missed[gv] += 1
            elif gv is None:
                r.invented[pv] += 1
            else:
                r.wrong[(gv, pv)] += 1
    return list(reports.values())
