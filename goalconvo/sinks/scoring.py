"""BERTScore of stored dialogues: which are not scored yet against a reference, score them, store the figures.

``goalconvo similarity`` runs it over the corpus; the sink runs it as records arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from goalconvo.sinks.store import CorpusStore

Progress = Callable[[int, int], None]


def unscored(
    store: CorpusStore, reference_set: str, model: str, layer: int, limit: int, include_human: bool = False
) -> list[tuple[str, tuple[str, ...], str]]:
    """Dialogues with no similarity figure for this reference set and encoder yet: (id, domains, text)."""
    rows = store.query(
        """select d.dialogue_id, d.domains, string_agg(t.text, ' ' order by t.idx)
           from dialogues d join turns t using (dialogue_id)
           where (? or d.model not like 'human:%') and not exists (
               select 1 from similarity s where s.dialogue_id = d.dialogue_id
               and s.reference_set = ? and s.model = ? and s.layer = ?)
           group by all order by any_value(d.stored_at) limit ?""",
        [include_human, reference_set, model, layer, limit],
    ).rows
    return [(r[0], tuple(r[1]), r[2]) for r in rows]


def score_similarity(
    store: CorpusStore, reference: Path, *, top_k: int = 3, limit: int | None = None, progress: Progress | None = None,
    chunk: int = 16, include_imported: bool = False, cache: dict | None = None,
) -> dict[str, Any]:
    """BERTScore every generated dialogue not yet scored against ``reference`` (blocking; run in a thread).

    ``cache`` keeps the reference index and the encoder between calls (the sink scores as records arrive).
    """
    from goalconvo.sinks.similarity import BertScorer, ReferenceIndex

    cache = cache if cache is not None else {}
    if cache.get("path") != str(reference):
        cache.update(path=str(reference), index=ReferenceIndex(reference), scorer=BertScorer())
    index, scorer = cache["index"], cache["scorer"]
    todo = unscored(store, index.name, scorer.model_label, scorer.layer, limit or 1_000_000, include_human=include_imported)
    t0 = time.monotonic()
    done = 0
    for i in range(0, len(todo), chunk):
        part = todo[i : i + chunk]
        # An imported real dialogue is compared with its nearest *other* reference dialogue.
        scores = scorer.nearest(index, part, top_k=top_k, exclude_self=include_imported)
        now = time.time()
        store.write_similarity([
            [s.dialogue_id, s.reference_id, index.name, s.f1, s.precision, s.recall, scorer.model_label, scorer.layer,
             scorer.rescaled, s.candidates, now]
            for s in scores
        ])
        done += len(scores)
        if progress:
            progress(done, len(todo))
    return {"scored": done, "reference_set": index.name, "model": scorer.model_label, "layer": scorer.layer,
            "rescaled": scorer.rescaled, "seconds": round(time.monotonic() - t0, 2)}
