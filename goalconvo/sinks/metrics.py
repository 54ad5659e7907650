"""Corpus metrics, defined once (DESIGN.md): distinct-n, exchanges, acceptance, goal completion.

Tokenizer: lower-cased ``[a-z0-9']+`` words, the one MultiWOZ's README figures use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from goalconvo.sinks.query_server import run_query

_TOKEN = re.compile(r"[a-z0-9']+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def ngrams(toks: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def distinct_n(utterances: Iterable[str], n: int) -> float:
    """Unique n-grams / all n-grams, n-grams taken within each utterance."""
    grams: list[tuple[str, ...]] = []
    for u in utterances:
        grams.extend(ngrams(tokens(u), n))
    return len(set(grams)) / len(grams) if grams else 0.0


def distinct_report(dialogues: Sequence[Sequence[str]]) -> dict[str, float]:
    """Corpus distinct-1/2 (all utterances pooled) and the per-dialogue means."""
    pooled = [u for d in dialogues for u in d]
    per1 = [distinct_n(d, 1) for d in dialogues if d]
    per2 = [distinct_n(d, 2) for d in dialogues if d]
    return {
        "distinct1_corpus": distinct_n(pooled, 1),
        "distinct2_corpus": distinct_n(pooled, 2),
        "distinct1_mean": sum(per1) / len(per1) if per1 else 0.0,
        "distinct2_mean": sum(per2) / len(per2) if per2 else 0.0,
    }


def corpus_metrics(db: Path) -> list[dict[str, Any]]:
    """One row of figures per dialogue set, from the corpus (direct or via the running sink)."""
    sets = run_query(
        db,
        """select d.set_name, any_value(d.model) as model, count(*) as dialogues,
                  avg(case when v.accepted then 1 else 0 end) as acceptance,
                  avg(d.exchanges) as exchanges,
                  avg(cast(json_extract(v.scores, '$.goal_completion') as double)) as goal_completion
           from dialogues d join current_verdicts v using (dialogue_id)
           
           group by d.set_name order by d.set_name""",
    )
    turns = run_query(db, "select d.set_name, t.dialogue_id, t.text from turns t join dialogues d using (dialogue_id) order by t.dialogue_id, t.idx")
    by_set: dict[str, dict[str, list[str]]] = {}
    for set_name, did, text in turns.rows:
        by_set.setdefault(set_name, {}).setdefault(did, []).append(text)
    out = []
    for row in sets.rows:
        rec = dict(zip(sets.columns, row))
        rec.update(distinct_report(list(by_set.get(rec["set_name"], {}).values())))
        out.append({k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()})
    return out
