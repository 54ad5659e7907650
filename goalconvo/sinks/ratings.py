"""Readers' ratings in the corpus (the ``ratings`` table, migration 8): stored per sheet and reader, read per set.

``goalconvo assess score`` stores each reader's ratings of a sheet (a reader's corrected file
replaces that reader's ratings of that sheet whole). ``metrics`` shows reader figures per set
(and per domain set) straight from the table: it holds a row per reader and rated dialogue, a
few hundred rows, so there is nothing to keep counted. A generated dialogue's ratings belong to
its set; a human one's to the reference file's name, which ``sets delete`` takes as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import duckdb

#: The table's columns, in order.
COLUMNS = (
    "sheet_id", "reader", "item", "source", "dialogue_id", "set_name", "domain_set", "coherence", "fluency",
    "naturalness", "roles_broken", "roles_turns", "facts_broken", "facts_turns", "goal", "keep", "why",
    "judge_accepted", "file_name", "file_sha256", "stored_at",
)

#: Reader figures as ``metrics`` reports them: name -> SQL over the group's ratings.
FIGURES = {
    "reader_keep": "avg(keep::int)",
    "reader_coherence": "avg(coherence)",
    "reader_fluency": "avg(fluency)",
    "reader_natural": "avg(naturalness)",
    "reader_roles_broken": "avg(roles_broken::int)",
    "reader_facts_broken": "avg(facts_broken::int)",
    "reader_goal": "avg(goal::int)",
    "readers": "count(distinct reader)",
    "reader_dialogues": "count(distinct dialogue_id)",
    "reader_ratings": "count(*)",
}

#: Groupings reader figures are given for (``metrics --by``).
GROUPS = {"set": "'all'", "domain_set": "domain_set"}

QueryFn = Callable[..., Any]


def replace(con: duckdb.DuckDBPyConnection, sheet_id: str, readers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Store ``rows`` (``COLUMNS`` in order) as the ratings of ``readers`` on ``sheet_id``, replacing theirs."""
    con.execute("delete from ratings where sheet_id = ? and reader in (select unnest(?))", [sheet_id, list(readers)])
    marks = ", ".join("?::integer[]" if c.endswith("_turns") else "?" for c in COLUMNS)
    con.executemany(f"insert into ratings ({', '.join(COLUMNS)}) values ({marks})", [list(r) for r in rows])


def delete_set(con: duckdb.DuckDBPyConnection, set_name: str) -> int:
    """Remove the ratings of a set (or of a reference file's human dialogues); returns how many."""
    n = con.execute("select count(*) from ratings where set_name = ?", [set_name]).fetchone()[0]
    con.execute("delete from ratings where set_name = ?", [set_name])
    return n


def has_ratings(con: duckdb.DuckDBPyConnection, set_name: str) -> bool:
    return con.execute("select count(*) from ratings where set_name = ?", [set_name]).fetchone()[0] > 0


def reader_figures(
    query: QueryFn, *, by: str = "set", sets: Sequence[str] | None = None, accepted_only: bool = False,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Reader figures per (set, group): keep rate, mean scores, shares of roles and facts broken, readers.

    ``accepted_only`` keeps the ratings of generated dialogues whose current verdict accepts them
    (human dialogues have no verdict and stay). Empty where the file has no ratings table yet
    (read through an older sink) or ``by`` is not a grouping ratings know (``GROUPS``).
    """
    if by not in GROUPS or not query(
            "select count(*) from information_schema.tables where table_name = 'ratings'", None).rows[0][0]:
        return {}
    conds, params = [], []
    if sets:
        conds.append("r.set_name in (select unnest(?))")
        params.append(list(sets))
    if accepted_only:
        conds.append("(r.source = 'human' or r.dialogue_id in (select dialogue_id from current_verdicts where accepted))")
    where = ("where " + " and ".join(conds)) if conds else ""
    figures = ", ".join(f"{sql} as {name}" for name, sql in FIGURES.items())
    res = query(
        f"select r.set_name, {GROUPS[by]} as grp, {figures} from ratings r {where} group by all order by 1, 2",
        params or None,
    )
    out = {}
    for row in res.rows:
        rec = dict(zip(res.columns, row))
        key = (rec.pop("set_name"), str(rec.pop("grp")))
        out[key] = {k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()}
    return out


def merge_reader_figures(rows: list[dict[str, Any]], figures: dict[tuple[str, str], dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """``metrics`` rows with reader figures beside the others (None where a group was not rated).

    A set rated but holding no dialogues (a reference file's human dialogues) gets a row of its own
    with only reader figures. Without any ratings the rows come back unchanged.
    """
    if not figures:
        return rows
    names = list(FIGURES)
    blank = dict.fromkeys(names)
    out = []
    seen = set()
    for r in rows:
        key = (r["set_name"], "all" if by == "set" else str(r.get(by)))
        seen.add(key)
        out.append({**r, **blank, **figures.get(key, {})})
    template = dict.fromkeys(rows[0]) if rows else {"set_name": None}
    for key, fig in sorted(figures.items()):
        if key not in seen:
            extra = {**template, **blank, **fig, "set_name": key[0]}
            if by != "set":
                extra[by] = key[1]
            out.append(extra)
    return out
