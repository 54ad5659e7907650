"""What the tracker reads of a user turn: n-grams, value mentions and the state so far, as sparse rows.

- turn n-grams: the word 1..n-grams of the user turn (``u|``) and of the system turn
  before it (``s|``);
- value mentions (:class:`ValueIndex`): the values seen in training, and any time
  (``HH:MM``) for a slot whose training values are times, found word for word in the two
  turns, the longest match winning (``cambridge`` inside ``cambridge chop house`` is no
  mention of the train's destination); a mention's features are where it is said
  (``in|U``, ``in|S``), the words around it and the value itself;
- context: the domain of the latest state change (``act|``) and the domains the state
  holds (``has|``), so "in the east" goes to the domain being talked about.

Column order is the sorted feature strings (:class:`Vocabulary`): same data, same columns.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

from goalconvo.assess.dst.examples import TurnExample
from goalconvo.assess.dst.normalize import DONTCARE, tokens

_TIME = re.compile(r"^\d\d:\d\d$")
NO_DOMAIN = "none"


@lru_cache(maxsize=200_000)
def words(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))


@lru_cache(maxsize=200_000)
def ngrams(text: str, n: int = 2) -> tuple[str, ...]:
    """The distinct word 1..n-grams of ``text``, sorted."""
    w = words(text)
    out = set(w)
    for k in range(2, n + 1):
        out.update(" ".join(w[i : i + k]) for i in range(len(w) - k + 1))
    return tuple(sorted(out))


def turn_texts(example: TurnExample) -> tuple[str, str]:
    """(the user turn, the system turn before it or "")."""
    h = example.history
    return h[-1][1], (h[-2][1] if len(h) > 1 else "")


def turn_ngrams(example: TurnExample, n: int = 2) -> list[str]:
    user, system = turn_texts(example)
    return [f"u|{g}" for g in ngrams(user, n)] + [f"s|{g}" for g in ngrams(system, n)]


def domain_of(slot: str) -> str:
    return slot.split("-", 1)[0]


def context_features(state: Mapping[str, str], active: str) -> list[str]:
    """The domain of the latest change and the domains of the state so far."""
    return [f"act|{active}"] + [f"has|{d}" for d in sorted({domain_of(s) for s in state})]


def latest_domain(change: Mapping[str, str], before: str) -> str:
    """The domain most changed in ``change`` (ties: the first by name), or ``before`` when nothing changed."""
    if not change:
        return before
    counts: dict[str, int] = defaultdict(int)
    for s in change:
        counts[domain_of(s)] += 1
    return min(counts, key=lambda d: (-counts[d], d))


def is_time(value: str) -> bool:
    return bool(_TIME.match(value))


class ValueIndex:
    """The values each slot took in training, found as mentions in a turn's words."""

    def __init__(self, values: Mapping[str, Iterable[str]]):
        self.by_words: dict[tuple[str, ...], list[str]] = defaultdict(list)
        #: Slots whose training values are all times: any time said is a candidate for them.
        self.time_slots: list[str] = []
        for slot in sorted(values):
            vals = sorted(set(values[slot]) - {DONTCARE})
            if vals and all(is_time(v) for v in vals):
                self.time_slots.append(slot)
            for v in vals:
                w = words(v)
                if w:
                    self.by_words[w].append(slot)
        self._first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for w in sorted(self.by_words):
            self._first[w[0]].append(w)

    def mentions(self, said: Sequence[str]) -> list[tuple[str, int, int]]:
        """(value, start, end) of each known value or time in ``said``, none inside a longer one."""
        found: list[tuple[str, int, int]] = []
        for i, w in enumerate(said):
            for vw in self._first.get(w, ()):
                if tuple(said[i : i + len(vw)]) == vw:
                    found.append((" ".join(vw), i, i + len(vw)))
            if is_time(w) and (w,) not in self.by_words:
                found.append((w, i, i + 1))
        return [
            f for f in found
            if not any(g[1] <= f[1] and f[2] <= g[2] and g[2] - g[1] > f[2] - f[1] for g in found)
        ]

    def slots_of(self, value: str) -> list[str]:
        slots = list(self.by_words.get(words(value), ()))
        if is_time(value):
            slots += [s for s in self.time_slots if s not in slots]
        return slots


def mention_features(where: str, said: Sequence[str], start: int, end: int) -> list[str]:
    """Where a value is said (``U``: the user turn, ``S``: the system turn) and the words around it."""
    out = [f"in|{where}"]
    for k in (1, 2):
        if start - k >= 0:
            out.append(f"{where}L{k}|{said[start - k]}")
        if end + k - 1 < len(said):
            out.append(f"{where}R{k}|{said[end + k - 1]}")
    if start >= 2:
        out.append(f"{where}LL|{said[start - 2]} {said[start - 1]}")
    return out


def candidates(example: TurnExample, index: ValueIndex) -> dict[str, dict[str, list[str]]]:
    """Per slot, the values mentioned in the turn and the system turn before, with their mention features."""
    user, system = turn_texts(example)
    out: dict[str, dict[str, list[str]]] = {}
    for where, text in (("U", user), ("S", system)):
        said = words(text)
        for value, start, end in index.mentions(said):
            feats = mention_features(where, said, start, end)
            for slot in index.slots_of(value):
                out.setdefault(slot, {}).setdefault(value, []).extend(feats)
    return {s: {v: sorted(set(f)) for v, f in sorted(vs.items())} for s, vs in sorted(out.items())}


class Vocabulary:
    """Feature strings -> columns (sorted), and rows of strings -> a binary CSR matrix."""

    def __init__(self, rows: Iterable[Iterable[str]]):
        self.index = {f: i for i, f in enumerate(sorted({f for r in rows for f in r}))}

    def __len__(self) -> int:
        return len(self.index)

    def columns(self, row: Iterable[str]) -> list[int]:
        return sorted({i for f in row if (i := self.index.get(f)) is not None})

    def matrix(self, rows: Sequence[Iterable[str]]) -> sparse.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        for r in rows:
            indices.extend(self.columns(r))
            indptr.append(len(indices))
        return sparse.csr_matrix(
            (np.ones(len(indices)), np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
            shape=(len(rows), len(self.index)),
        )
