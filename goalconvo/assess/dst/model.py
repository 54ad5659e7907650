"""The tracker: linear classifiers per slot that say what each user turn changes in the state.

The state is carried from turn to turn; at each user turn, for each slot:

1. *mentions*: each value said in the turn or in the system turn before it (see
   :mod:`features`) is scored by the slot's mention classifier; the best one scoring
   above zero becomes the slot's value (a value said word for word: names, times, areas);
2. otherwise the slot's *update* classifier, over the turn's n-grams, picks a value or
   "no change" (what is meant but not said as the value: ``yes`` for "free wifi",
   ``dontcare``, ``1`` for "just me").

Training reads the gold changes (the state after a turn against the state before it) with
the gold state as context; prediction uses its own. Which slots are tracked and which
values each may take come from the training states alone. The classifiers are linear
SVMs (liblinear); their coordinate order is drawn from the seed: same data and seed, same figures.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from goalconvo.assess.dst.examples import TurnExample
from goalconvo.assess.dst.features import (
    NO_DOMAIN, ValueIndex, Vocabulary, candidates, context_features, latest_domain, turn_ngrams,
)

#: The update classifiers' class for "this turn does not change the slot".
NO_CHANGE = ""


@dataclass(frozen=True)
class TrackerConfig:
    #: Longest word n-gram read.
    ngram: int = 2
    #: The SVMs' inverse regularisation.
    c: float = 0.5


def changes(examples: Sequence[TurnExample]) -> list[dict[str, str]]:
    """Per example, the slots whose value differs from the previous turn's state in the same dialogue."""
    out: list[dict[str, str]] = []
    prev: Mapping[str, str] = {}
    last = None
    for ex in examples:
        if ex.dialogue_id != last:
            prev, last = {}, ex.dialogue_id
        out.append({s: v for s, v in ex.state.items() if prev.get(s) != v})
        prev = ex.state
    return out


def _svm(c: float, seed: int, x: Any, y: np.ndarray) -> Any:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=c, random_state=seed, max_iter=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return svm.fit(x, y)


class _Fixed:
    """A classifier whose training labels were all one class."""

    def __init__(self, label: Any):
        self.label = label

    def predict(self, x: Any) -> np.ndarray:
        return np.array([self.label] * x.shape[0], dtype=object)

    def decision_function(self, x: Any) -> np.ndarray:
        return np.full(x.shape[0], 1.0 if self.label else -1.0)


def _fit_or_fixed(c: float, seed: int, x: Any, y: np.ndarray) -> Any:
    labels = sorted(set(y.tolist()))
    return _Fixed(labels[0]) if len(labels) == 1 else _svm(c, seed, x, y)


def _dialogues(examples: Sequence[TurnExample]) -> list[list[int]]:
    """Example positions grouped by dialogue, each group in turn order."""
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        groups.setdefault(ex.dialogue_id, []).append(i)
    return [sorted(g, key=lambda i: examples[i].turn) for g in groups.values()]


class BeliefTracker:
    """``fit`` on training examples, ``predict`` states (``{slot: value}``) for others."""

    def __init__(self, config: TrackerConfig | None = None, seed: int = 0):
        self.config = config or TrackerConfig()
        self.seed = seed
        self.values: dict[str, list[str]] = {}
        self.index: ValueIndex | None = None
        self.update_vocab: Vocabulary | None = None
        self.update: dict[str, Any] = {}
        self.mention_vocab: dict[str, Vocabulary] = {}
        self.mention: dict[str, Any] = {}

    @property
    def slots(self) -> list[str]:
        """The slots this tracker learned (a value in some training state), sorted."""
        return sorted(self.values)

    def _mention_row(self, ex: TurnExample, value: str, feats: list[str], state: Mapping[str, str], active: str) -> list[str]:
        return [*feats, *turn_ngrams(ex, self.config.ngram), f"v|{value}", *context_features(state, active)]

    def _update_row(self, ex: TurnExample, state: Mapping[str, str], active: str) -> list[str]:
        return [*turn_ngrams(ex, self.config.ngram), *context_features(state, active)]

    def fit(self, examples: Sequence[TurnExample]) -> BeliefTracker:
        if not examples:
            raise ValueError("no training example (no user turn followed by a belief state)")
        examples = [examples[i] for g in _dialogues(examples) for i in g]
        gold_changes = changes(examples)
        values: dict[str, set[str]] = {}
        for ch in gold_changes:
            for s, v in ch.items():
                values.setdefault(s, set()).add(v)
        self.values = {s: sorted(v) for s, v in sorted(values.items())}
        if not self.values:
            raise ValueError("the training states are all empty: there is no slot to learn")
        self.index = ValueIndex(self.values)

        update_rows: list[list[str]] = []
        mention_rows: dict[str, list[list[str]]] = {s: [] for s in self.values}
        mention_labels: dict[str, list[int]] = {s: [] for s in self.values}
        prev: Mapping[str, str] = {}
        active, last = NO_DOMAIN, None
        for ex, change in zip(examples, gold_changes):
            if ex.dialogue_id != last:
                prev, active, last = {}, NO_DOMAIN, ex.dialogue_id
            update_rows.append(self._update_row(ex, prev, active))
            for slot, vals in candidates(ex, self.index).items():
                if slot in mention_rows:
                    for value, feats in vals.items():
                        mention_rows[slot].append(self._mention_row(ex, value, feats, prev, active))
                        mention_labels[slot].append(int(change.get(slot) == value))
            prev, active = ex.state, latest_domain(change, active)

        c, seed = self.config.c, self.seed
        self.update_vocab = Vocabulary(update_rows)
        x = self.update_vocab.matrix(update_rows)
        self.update = {
            s: _fit_or_fixed(c, seed, x, np.array([ch.get(s, NO_CHANGE) for ch in gold_changes], dtype=object))
            for s in self.values
        }
        self.mention, self.mention_vocab = {}, {}
        for s, rows in mention_rows.items():
            if rows:
                self.mention_vocab[s] = Vocabulary(rows)
                self.mention[s] = _fit_or_fixed(c, seed, self.mention_vocab[s].matrix(rows), np.array(mention_labels[s]))
        return self

    def predict(self, examples: Sequence[TurnExample]) -> list[dict[str, str]]:
        """The state after each example's turn, tracked through its dialogue from an empty state."""
        if self.index is None or self.update_vocab is None:
            raise RuntimeError("the tracker is not trained")
        states: list[dict[str, str]] = [{} for _ in examples]
        dialogues = _dialogues(examples)
        prev: list[dict[str, str]] = [{} for _ in dialogues]
        active = [NO_DOMAIN] * len(dialogues)
        # Turn k of every dialogue at once: its features need the states after turn k-1.
        for k in range(max((len(g) for g in dialogues), default=0)):
            live = [j for j, g in enumerate(dialogues) if len(g) > k]
            exs = [examples[dialogues[j][k]] for j in live]
            x = self.update_vocab.matrix([self._update_row(ex, prev[j], active[j]) for ex, j in zip(exs, live)])
            updates = {s: m.predict(x) for s, m in self.update.items()}
            chosen = self._choose_mentions(exs, [prev[j] for j in live], [active[j] for j in live])
            for row, (ex, j) in enumerate(zip(exs, live)):
                change = dict(chosen[row])
                for s, vals in updates.items():
                    if s not in change and vals[row] != NO_CHANGE:
                        change[s] = str(vals[row])
                change = {s: v for s, v in change.items() if prev[j].get(s) != v}
                state = {**prev[j], **change}
                states[dialogues[j][k]] = state
                prev[j], active[j] = state, latest_domain(change, active[j])
        return states

    def _choose_mentions(self, exs: Sequence[TurnExample], prevs: Sequence[Mapping[str, str]],
                         actives: Sequence[str]) -> list[dict[str, str]]:
        """Per example, the slots whose best-scoring mentioned value scores above zero, and that value."""
        assert self.index is not None
        rows: dict[str, list[list[str]]] = {}
        where: dict[str, list[tuple[int, str]]] = {}
        for i, ex in enumerate(exs):
            for slot, vals in candidates(ex, self.index).items():
                if slot not in self.mention:
                    continue
                for value, feats in vals.items():
                    rows.setdefault(slot, []).append(self._mention_row(ex, value, feats, prevs[i], actives[i]))
                    where.setdefault(slot, []).append((i, value))
        best: list[dict[str, tuple[float, str]]] = [{} for _ in exs]
        for slot, slot_rows in rows.items():
            scores = self.mention[slot].decision_function(self.mention_vocab[slot].matrix(slot_rows))
            for (i, value), score in zip(where[slot], np.atleast_1d(scores)):
                if score > 0 and (slot not in best[i] or score > best[i][slot][0]):
                    best[i][slot] = (float(score), value)
        return [{s: v for s, (_, v) in b.items()} for b in best]
