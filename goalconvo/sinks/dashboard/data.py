"""What the dashboard shows, as JSON-ready dicts, read from the corpus (directly or via the running sink)."""

from __future__ import annotations

import contextvars
import json
from pathlib import Path
from typing import Any

from goalconvo.sinks.metrics import compute_metrics, latest_reference, scored_cells
from goalconvo.sinks.query_server import reader, run_query
from goalconvo.sinks.sql import QueryResult


#: The most snapshots per set a poll returns (the trend is downsampled to them).
TREND_POINTS = 200

#: The throughput chart covers the last day of activity.
THROUGHPUT_S = 24 * 3600


def _rows(res: QueryResult) -> list[dict[str, Any]]:
    return [dict(zip(res.columns, r)) for r in res.rows]


#: The poll's reader (one read-only connection for all its queries), while a poll runs.
_reader: contextvars.ContextVar[Any] = contextvars.ContextVar("dashboard_reader", default=None)


def _q(db: Path, sql: str, params: list[Any] | None = None) -> QueryResult:
    """``sql`` with its ``?`` bound to ``params`` (through the running sink's endpoint when it holds the file)."""
    query = _reader.get()
    return query(sql, params) if query is not None else run_query(db, sql, params)


def summary(db: Path, reference: str | None = None) -> dict[str, Any]:
    """``_summary`` with all its queries on one reader (see ``query_server.reader``)."""
    with reader(db) as query:
        token = _reader.set(query)
        try:
            # A poll over a corpus that has not changed since the last one answers from memory.
            version = query(_VERSION).rows[0]
            key = (str(db), reference)
            cached = _cache.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            out = _summary(db, reference)
            _cache[key] = (version, out)
            return out
        finally:
            _reader.reset(token)


#: What changes when anything a summary shows changes (rows only ever added, or a set deleted).
_VERSION = """select (select count(*) from dialogues), (select max(stored_at) from dialogues),
                     (select count(*) from verdicts), (select count(*) from similarity),
                     (select count(*) from metric_snapshots), (select count(*) from dead_letters),
                     (select count(*) from dialogue_sets)"""
_cache: dict[tuple[str, str | None], tuple[list[Any], dict[str, Any]]] = {}


def _summary(db: Path, reference: str | None = None) -> dict[str, Any]:
    """Figures per set and per domain set, rejection reasons, throughput and the metric trend.

    BERTScore against ``reference`` (a reference set's name); unset: the only one scored,
    or the one scored last when there are several (its name is in each figure).
    """
    query = lambda sql, params=None: _q(db, sql, params)  # noqa: E731
    reference = reference or latest_reference(query)
    scored = scored_cells(query, reference)  # BERTScore read once for the three groupings
    sets = compute_metrics(query, reference=reference, scored=scored)
    domains = compute_metrics(query, by="domain_set", reference=reference, scored=scored)
    models = compute_metrics(query, by="model", reference=reference, corpus_distinct=False, scored=scored)  # a cost table
    # Kept as verdicts are stored (sinks/tallies.py): the failed checks of each dialogue's current verdict.
    reasons = _rows(_q(db, """
        select set_name, name as check_name, failures as n from check_failures
        where failures > 0 order by n desc, 1, 2"""))
    # Dialogues stored per minute over the last THROUGHPUT_S of activity: a bounded answer (and, dialogues
    # being stored in time order, a scan that skips older row groups), however long the corpus has grown.
    (last,) = _q(db, "select max(stored_at) from dialogues").rows[0]
    throughput = _rows(_q(db, """
        select set_name, cast(floor(stored_at / 60) * 60 as bigint) as minute, count(*) as n
        from dialogues where stored_at >= ? and model not like 'human:%' group by all order by 1, 2""",
        [(last or 0) - THROUGHPUT_S]))
    # At most TREND_POINTS per set, evenly spread over the time taken: the latest snapshot of each slice.
    trend_rows = _rows(_q(db, """
        with s as (select set_name, computed_at, metrics from metric_snapshots where group_kind = 'set'),
             b as (select set_name, min(computed_at) as lo, max(computed_at) - min(computed_at) as span from s group by 1)
        select s.set_name, s.computed_at, s.metrics from s join b using (set_name)
        qualify row_number() over (
            partition by s.set_name, floor((s.computed_at - b.lo) / greatest(b.span, 1e-9) * ?) order by s.computed_at desc) = 1
        order by s.computed_at""", [TREND_POINTS - 1]))
    trend = [{"set_name": r["set_name"], "t": r["computed_at"], **_pick(json.loads(r["metrics"]))} for r in trend_rows]
    dead = _rows(_q(db, "select stage, count(*) as n from dead_letters group by all order by n desc"))
    return {"sets": sets, "domains": domains, "reasons": reasons, "throughput": throughput, "trend": trend,
            "dead_letters": dead, "models": models}


def _pick(m: dict[str, Any]) -> dict[str, Any]:
    keys = ("dialogues", "acceptance", "goal_completion", "exchanges", "distinct1_mean", "distinct2_corpus", "bertscore_f1")
    return {k: m.get(k) for k in keys}


def dialogues(db: Path, set_name: str | None, accepted: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    conds = []
    params: list[Any] = []
    if set_name:
        conds.append("d.set_name = ?")
        params.append(set_name)
    if accepted in ("true", "false"):
        conds.append("v.accepted = ?")
        params.append(accepted == "true")
    where = ("where " + " and ".join(conds)) if conds else ""
    if accepted not in ("true", "false"):
        # The page first, then the verdicts and reasons of its dialogues only (cheap at any size).
        return _rows(_q(db, f"""
            with page as (select * from dialogues d {where}
                          order by d.stored_at desc, d.dialogue_id limit {int(limit)} offset {int(offset)}),
                 v as (select * from verdicts where dialogue_id in (select dialogue_id from page)
                       qualify row_number() over (partition by dialogue_id order by judged_at desc, judge_version desc) = 1)
            select d.dialogue_id, d.set_name, d.domain_set, d.model, d.exchanges, d.stop_reason, v.accepted,
                   (select string_agg(c.name || ': ' || c.reason, '; ') from verdict_checks c
                     where c.dialogue_id = d.dialogue_id and c.judge_version = v.judge_version and not c.passed) as reasons
            from page d join v using (dialogue_id) order by d.stored_at desc, d.dialogue_id""", params))
    return _rows(_q(db, f"""
        select d.dialogue_id, d.set_name, d.domain_set, d.model, d.exchanges, d.stop_reason, v.accepted,
               (select string_agg(c.name || ': ' || c.reason, '; ') from verdict_checks c
                 where c.dialogue_id = d.dialogue_id and c.judge_version = v.judge_version and not c.passed) as reasons
        from dialogues d join current_verdicts v using (dialogue_id) {where}
        order by d.stored_at desc, d.dialogue_id limit {int(limit)} offset {int(offset)}""", params))


def dialogue(db: Path, dialogue_id: str) -> dict[str, Any] | None:
    head = _rows(_q(db, """select d.dialogue_id, d.set_name, d.domain_set, d.model, d.prompt_version, d.stop_reason,
                                  d.goal, d.scenario, v.accepted, v.judge_version, v.judge_model, v.scores
                           from dialogues d join current_verdicts v using (dialogue_id) where d.dialogue_id = ?""",
                    [dialogue_id]))
    if not head:
        return None
    out = head[0]
    for k in ("goal", "scenario", "scores"):
        out[k] = json.loads(out[k]) if out[k] else None
    out["turns"] = _rows(_q(db, "select idx, speaker, text from turns where dialogue_id = ? order by idx", [dialogue_id]))
    out["checks"] = _rows(_q(db, """select name, passed, reason, score from verdict_checks
                                   where dialogue_id = ? and judge_version = ? order by name""",
                             [dialogue_id, out["judge_version"]]))
    return out
