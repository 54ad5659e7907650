"""Corpus metrics, defined once (DESIGN.md): distinct-n, exchanges, acceptance, goal completion.

Tokenizer: lower-cased ``[a-z0-9']+`` words, the one MultiWOZ's README figures use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from goalconvo.sinks.sql import QueryResult
from goalconvo.sinks.store import CorpusStore

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


GROUPS = {
    "set": "'all'",
    "domain_set": "d.domain_set",
    "model": "d.model",
    "prompt_version": "coalesce(d.prompt_version, '')",
    "mode": "coalesce(d.mode, 'free')",
}

#: ``query(sql, params)``: ``sql`` with its ``?`` bound to ``params`` (a list, or None).
QueryFn = Callable[[str, "list[Any] | None"], QueryResult]


class AmbiguousReference(ValueError):
    """BERTScore was computed against several reference sets and none was chosen."""


def reference_sets(query: QueryFn) -> list[str]:
    """Reference sets that dialogues were BERTScored against, the one scored last first."""
    return [r[0] for r in query("select reference_set from similarity group by 1 order by max(scored_at) desc, 1", None).rows]


def latest_reference(query: QueryFn) -> str | None:
    refs = reference_sets(query)
    return refs[0] if refs else None


def compute_metrics(
    query: QueryFn, *, by: str = "set", sets: Sequence[str] | None = None, accepted_only: bool = False,
    reference: str | None = None,
) -> list[dict[str, Any]]:
    """The paper's figures per dialogue set (and per ``by`` group inside each set).

    Distinct-n over every stored dialogue of the group (``accepted_only`` keeps
    the accepted ones), acceptance and goal completion from each dialogue's
    latest verdict, BERTScore from the similarity table (its model, layer and
    rescaling reported beside it): one figure per dialogue against ``reference``
    (a reference set's name; unset: the only one there is, else AmbiguousReference),
    the latest if it was scored more than once, so no count is ever inflated.
    """
    if by not in GROUPS:
        raise ValueError(f"--by must be one of {sorted(GROUPS)}")
    if reference is None:
        refs = reference_sets(query)
        if len(refs) > 1:
            raise AmbiguousReference(
                f"dialogues were BERTScored against {len(refs)} reference sets ({', '.join(refs)}): "
                "choose one with --reference"
            )
        reference = refs[0] if refs else None
    group = GROUPS[by]
    conds = []
    params: list[Any] = []
    if sets:
        conds.append("d.set_name in (select unnest(?))")
        params.append(list(sets))
    if accepted_only:
        conds.append("v.accepted")
    where = ("where " + " and ".join(conds)) if conds else ""
    joins = "from dialogues d join current_verdicts v using (dialogue_id)"
    # One similarity row per dialogue: the chosen reference set, the latest scoring of it.
    similarity = """(select * from similarity where reference_set = ?
                       qualify row_number() over (partition by dialogue_id order by scored_at desc, model, layer) = 1)"""
    # Accounting: all the group's generation calls/tokens (rejected dialogues too) / its accepted dialogues.
    figures = query(
        f"""select d.set_name, {group} as grp, any_value(d.model) as model, count(*) as dialogues,
                  avg(case when v.accepted then 1.0 else 0.0 end) as acceptance,
                  avg(case when v.judge_error then 1.0 else 0.0 end) as judge_errors,
                  avg(coalesce(cast(json_extract(v.scores, '$.goal_completion') as double), 0)) as goal_completion,
                  avg(d.exchanges) as exchanges,
                  avg(nullif(d.prompt_tokens + d.completion_tokens, 0)) as tokens_per_dialogue,
                  avg(nullif(d.ended_at - d.started_at, 0)) as seconds_per_dialogue,
                  cast(nullif(sum(coalesce(d.llm_calls, 0)), 0) as double)
                    / nullif(count(*) filter (where v.accepted), 0) as llm_calls_per_accepted,
                  cast(nullif(sum(coalesce(d.prompt_tokens, 0) + coalesce(d.completion_tokens, 0)), 0) as double)
                    / nullif(count(*) filter (where v.accepted), 0) as tokens_per_accepted,
                  avg(s.f1) as bertscore_f1, count(s.f1) as bertscore_n,
                  any_value(s.model) as bertscore_model, any_value(s.layer) as bertscore_layer,
                  any_value(s.rescaled) as bertscore_rescaled
           {joins} left join {similarity} s using (dialogue_id) {where}
           group by all order by 1, 2""",
        [reference, *params],
    )
    texts = query(
        f"select d.set_name, {group}, t.dialogue_id, t.text, t.phrased_by {joins} join turns t on t.dialogue_id = d.dialogue_id "
        f"{where} order by t.dialogue_id, t.idx",
        params,
    )
    by_group: dict[tuple[str, str], dict[str, list[str]]] = {}
    phrased: dict[tuple[str, str], Counter[str]] = {}
    for set_name, grp, did, text, phrased_by in texts.rows:
        by_group.setdefault((set_name, grp), {}).setdefault(did, []).append(text)
        if phrased_by in ("llm", "template"):
            phrased.setdefault((set_name, grp), Counter())[phrased_by] += 1
    out = []
    for row in figures.rows:
        rec = dict(zip(figures.columns, row))
        if by == "set":
            rec.pop("grp")
        else:
            rec[by] = rec.pop("grp")
        rec.update(distinct_report(list(by_group.get((row[0], row[1]), {}).values())))
        # Guided turns: the share the LLM phrased (the rest fell back to templates); None in free mode.
        how = phrased.get((row[0], row[1]))
        rec["llm_phrased"] = how["llm"] / (how["llm"] + how["template"]) if how else None
        rec["bertscore_reference"] = reference if rec["bertscore_n"] else None
        out.append({k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()})
    return out


def snapshot_metrics(store: "CorpusStore", kinds: Sequence[str] = ("set", "domain_set"), reference: str | None = None) -> int:
    """Compute the figures now and append them to ``metric_snapshots`` (the dashboard's trend lines).

    BERTScore against ``reference`` (the sink's own), else the reference set scored last.
    """
    import json
    import time

    now = time.time()
    rows = []
    reference = reference or latest_reference(store.query)
    for by in kinds:
        for rec in compute_metrics(store.query, by=by, reference=reference):
            group = "all" if by == "set" else str(rec.get(by))
            rows.append([now, rec["set_name"], by, group, json.dumps(rec, default=str)])
    store.snapshot(rows)
    return len(rows)
