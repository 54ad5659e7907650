"""Corpus metrics, defined once (DESIGN.md): distinct-n, exchanges, acceptance, goal completion.

Tokenizer: lower-cased ``[a-z0-9']+`` words, the one MultiWOZ's README figures use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from goalconvo.sinks.figures import ngrams, tokens
from goalconvo.sinks.sql import QueryResult
from goalconvo.sinks.store import CorpusStore
from goalconvo.sinks.tallies import GROUP_KINDS

__all__ = [
    "GROUPS", "AmbiguousReference", "compute_metrics", "distinct_n", "distinct_report", "latest_reference", "ngrams",
    "reference_sets", "scored_cells", "snapshot_metrics", "snapshot_rows", "tokens",
]


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


#: What ``--by pack`` calls dialogues of the built-in domains whose goals name no pack (stored before
#: MultiWOZ's goals named the shipped pack; those since are listed under ``multiwoz@2.1#hash``).
BUILT_IN_PACK = "(built-in)"

#: The groupings, over the dialogues' own columns: the from-scratch definition (the tests' reference);
#: ``compute_metrics`` reads the same groups over the cells (``CELL_GROUPS``).
GROUPS = {
    "set": "'all'",
    "domain_set": "d.domain_set",
    "model": "d.model",
    "prompt_version": "coalesce(d.prompt_version, '')",
    "mode": "coalesce(d.mode, 'free')",
    "pack": f"coalesce(nullif(d.pack, ''), '{BUILT_IN_PACK}')",
}

#: The same groups over ``ngram_cells`` (whose values are stored already coalesced).
CELL_GROUPS = {"set": "'all'", "domain_set": "c.domain_set", "model": "c.model",
               "prompt_version": "c.prompt_version", "mode": "c.mode",
               "pack": f"coalesce(nullif(c.pack, ''), '{BUILT_IN_PACK}')"}

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


#: Per cell id: [sum of F1, dialogues scored, model, layer, rescaled] (see ``scored_cells``).
Scored = dict[int, list[Any]]


def scored_cells(query: QueryFn, reference: str | None) -> Scored:
    """BERTScore against ``reference`` per cell: one figure per scored dialogue, the latest scoring of it.

    Grouped through each dialogue's cell (``dialogue_figures.cell_id``), so it costs what was scored;
    a dashboard poll or a snapshot reads it once and hands it to each grouping (``compute_metrics``).
    """
    if reference is None:
        return {}
    res = query(
        """select f.cell_id, sum(s.f1), count(s.f1), any_value(s.model), any_value(s.layer), any_value(s.rescaled)
           from (select * from similarity where reference_set = ?
                 qualify row_number() over (partition by dialogue_id order by scored_at desc, model, layer) = 1) s
           join dialogue_figures f using (dialogue_id) group by 1""",
        [reference],
    )
    return {r[0]: list(r[1:]) for r in res.rows}


def _bertscore(query: QueryFn, group: str, where: str, params: list[Any], scored: Scored) -> dict[tuple[str, str], dict[str, Any]]:
    """The per-cell BERTScore summed up per (set, group)."""
    if not scored:
        return {}
    acc: dict[tuple[str, str], list[Any]] = {}
    for cell, set_name, grp in query(f"select c.cell_id, c.set_name, {group} from ngram_cells c {where}", params or None).rows:
        if cell in scored:
            f1, n, model, layer, rescaled = scored[cell]
            a = acc.setdefault((set_name, grp), [0.0, 0, model, layer, rescaled])
            a[0] += f1 or 0.0
            a[1] += n
    return {k: {"bertscore_f1": a[0] / a[1] if a[1] else None, "bertscore_n": a[1], "bertscore_model": a[2],
                "bertscore_layer": a[3], "bertscore_rescaled": a[4]} for k, a in acc.items()}


def compute_metrics(
    query: QueryFn, *, by: str = "set", sets: Sequence[str] | None = None, accepted_only: bool = False,
    reference: str | None = None, corpus_distinct: bool = True, scored: Scored | None = None,
) -> list[dict[str, Any]]:
    """The paper's figures per dialogue set (and per ``by`` group inside each set).

    ``corpus_distinct=False`` leaves the corpus distinct-n out (None): for a grouping
    that is not kept counted (model, prompt version, mode, or accepted dialogues only) it
    is the one figure whose cost grows with the corpus (a distinct count over its cells).
    ``scored``: ``scored_cells(query, reference)`` when the caller has read it already
    (several groupings of one poll).

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
    group = CELL_GROUPS[by]
    conds = []
    params: list[Any] = []
    if sets:
        conds.append("c.set_name in (select unnest(?))")
        params.append(list(sets))
    if accepted_only:
        conds.append("c.accepted")
    where = ("where " + " and ".join(conds)) if conds else ""
    # Every figure is a ratio of the group's cell sums (tallies.py): O(cells), whatever the corpus's size.
    # Accounting: all the group's generation calls/tokens (rejected dialogues too) / its accepted dialogues.
    figures = query(
        f"""select c.set_name, {group} as grp, any_value(c.model) as model, sum(s.dialogues) as dialogues,
                  cast(coalesce(sum(s.dialogues) filter (where c.accepted), 0) as double) / sum(s.dialogues) as acceptance,
                  cast(sum(s.judge_errors) as double) / sum(s.dialogues) as judge_errors,
                  sum(s.goal_completion) / sum(s.dialogues) as goal_completion,
                  cast(sum(s.exchanges) as double) / sum(s.dialogues) as exchanges,
                  cast(sum(s.tokens) as double) / nullif(sum(s.tokens_n), 0) as tokens_per_dialogue,
                  sum(s.seconds) / nullif(sum(s.seconds_n), 0) as seconds_per_dialogue,
                  cast(nullif(sum(s.llm_calls), 0) as double)
                    / nullif(sum(s.dialogues) filter (where c.accepted), 0) as llm_calls_per_accepted,
                  cast(nullif(sum(s.tokens_all), 0) as double)
                    / nullif(sum(s.dialogues) filter (where c.accepted), 0) as tokens_per_accepted,
                  null::double as bertscore_f1, 0 as bertscore_n, null::varchar as bertscore_model,
                  null::integer as bertscore_layer, null::boolean as bertscore_rescaled,
                  sum(s.ngrams1) as _ngrams1, sum(s.ngrams2) as _ngrams2,
                  sum(s.ratio1) / nullif(sum(s.ratios_n), 0) as _mean1, sum(s.ratio2) / nullif(sum(s.ratios_n), 0) as _mean2,
                  sum(s.llm_turns) as _llm_turns, sum(s.template_turns) as _template_turns
           from cell_sums s join ngram_cells c using (cell_id) {where}
           group by all having sum(s.dialogues) > 0 order by 1, 2""",
        params,
    )
    bertscore = _bertscore(query, group, where, params, scored_cells(query, reference) if scored is None else scored)
    # Corpus distinct-n: distinct n-grams over the group's cells (tallies.py), never the texts.
    unique: dict[tuple[str, str, int], int] = {}
    if not corpus_distinct:
        pass
    elif by in GROUP_KINDS and not accepted_only:  # kept counted as dialogues are stored: O(groups)
        for set_name, grp, d1, d2 in query(
            f"""select set_name, value, distinct1, distinct2 from ngram_groups c
                where kind = ? {'and c.set_name in (select unnest(?))' if sets else ''}""",
            [by, *([list(sets)] if sets else [])],
        ).rows:
            unique[(set_name, grp, 1)], unique[(set_name, grp, 2)] = d1, d2
    else:  # distinct keys over the group's cells
        unique = {
            (set_name, grp, n): k
            for set_name, grp, n, k in query(
                f"""select c.set_name, {group} as grp, k.n, count(distinct k.h)
                    from ngram_counts k join ngram_cells c using (cell_id) {where} group by all""",
                params or None,
            ).rows
        }
    out = []
    for row in figures.rows:
        rec = dict(zip(figures.columns, row))
        if by == "set":
            rec.pop("grp")
        else:
            rec[by] = rec.pop("grp")
        totals = {1: rec.pop("_ngrams1") or 0, 2: rec.pop("_ngrams2") or 0}
        means = {1: rec.pop("_mean1") or 0.0, 2: rec.pop("_mean2") or 0.0}
        for n in (1, 2):
            rec[f"distinct{n}_corpus"] = (unique.get((row[0], row[1], n), 0) / totals[n] if totals[n] else 0.0) \
                if corpus_distinct else None
        for n in (1, 2):
            rec[f"distinct{n}_mean"] = float(means[n])
        # Guided turns: the share the LLM phrased (the rest fell back to templates); None in free mode.
        llm, template = rec.pop("_llm_turns") or 0, rec.pop("_template_turns") or 0
        rec["llm_phrased"] = llm / (llm + template) if llm + template else None
        rec.update(bertscore.get((row[0], row[1]), {}))
        rec["bertscore_reference"] = reference if rec["bertscore_n"] else None
        out.append({k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()})
    return out


def snapshot_metrics(store: "CorpusStore", kinds: Sequence[str] = ("set", "domain_set"), reference: str | None = None) -> int:
    """Compute the figures now and append them to ``metric_snapshots`` (the dashboard's trend lines).

    BERTScore against ``reference`` (the sink's own), else the reference set scored last.
    """
    rows = snapshot_rows(store.query, kinds, reference)
    store.snapshot(rows)
    return len(rows)


def snapshot_rows(query: QueryFn, kinds: Sequence[str] = ("set", "domain_set"), reference: str | None = None) -> list[list[Any]]:
    """The rows of one snapshot (computed_at, set_name, group_kind, group_value, metrics json): reads only.

    The sink computes them on a reading cursor off its writer thread, then hands the writer the insert.
    """
    import json
    import time

    now = time.time()
    rows = []
    reference = reference or latest_reference(query)
    scored = scored_cells(query, reference)
    for by in kinds:
        for rec in compute_metrics(query, by=by, reference=reference, scored=scored):
            group = "all" if by == "set" else str(rec.get(by))
            rows.append([now, rec["set_name"], by, group, json.dumps(rec, default=str)])
    return rows
