"""Tallies kept as dialogues are stored, so that metrics cost what was added, not what exists.

Written in the same transaction as the dialogues (schema migrations 5-7); a dialogue sits in
exactly one *cell* (``ngram_cells``: set, domain set, model, prompt version, mode, accepted):

- ``cell_sums``: per cell, the sums every figure is a ratio of (dialogues, judge errors, goal
  completion, exchanges, tokens, seconds, n-grams, per-dialogue distinct-n, who phrased the
  turns). Any grouping's figures are then SQL over a few hundred cells.
- ``check_failures``: per set and check, how many dialogues' current verdicts failed it.
- ``ngram_counts``: per cell and n-gram (n, 64-bit md5 key), how many of the cell's dialogues
  hold it. A corpus distinct-n of a grouping is the number of distinct keys over its cells.
- ``ngram_groups`` / ``ngram_group_keys``: each set whole and each (set, domain set) keep their
  own keys and their distinct counts beside them, read in O(groups). These groups count every
  stored dialogue, so they only ever gain keys (a verdict does not move a dialogue out of
  them; deleting a set drops its groups): an insert that ignores known keys, no counts to update.

A verdict that changes moves the dialogue's sums, failures and n-gram counts from its old
cell to its new one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import duckdb

from goalconvo.sinks.figures import ORDERS, Stored, VerdictFacts, load_stored
from goalconvo.sinks.sql import insert_columns

log = logging.getLogger(__name__)

#: The groupings that keep their own keys and distinct counts (read in O(groups)); the others
#: (model, prompt version, mode, and any grouping of accepted dialogues only) count distinct
#: keys over their cells when asked.
GROUP_KINDS = ("set", "domain_set")

#: ``cell_sums``' columns after ``cell_id``, in order (see ``_sums``).
SUM_COLUMNS = (
    "dialogues", "judge_errors", "goal_completion", "exchanges", "tokens", "tokens_n", "seconds", "seconds_n",
    "llm_calls", "tokens_all", "ngrams1", "ngrams2", "ratio1", "ratio2", "ratios_n", "llm_turns", "template_turns",
)

#: A move: this dialogue, under this verdict, added (+1) to or taken (-1) out of its cell.
Move = tuple[Stored, VerdictFacts, int]


def _sums(st: Stored, v: VerdictFacts) -> list[float]:
    """One dialogue's share of its cell's sums (``metrics.compute_metrics`` turns them into figures)."""
    f, d = st.figures, st.facts
    tokens = (d.prompt_tokens + d.completion_tokens) if d.prompt_tokens is not None and d.completion_tokens is not None else None
    seconds = (d.ended_at - d.started_at) if d.ended_at is not None and d.started_at is not None else None
    spoken = f.utterances > 0
    return [
        1, int(v.judge_error), v.goal_completion, d.exchanges,
        tokens or 0, int(bool(tokens)), seconds or 0.0, int(bool(seconds)),
        d.llm_calls or 0, (d.prompt_tokens or 0) + (d.completion_tokens or 0),
        f.totals[1], f.totals[2], f.ratio(1) if spoken else 0.0, f.ratio(2) if spoken else 0.0, int(spoken),
        f.llm_turns, f.template_turns,
    ]


def _ids(con: duckdb.DuckDBPyConnection, table: str, id_column: str, key_columns: Sequence[str],
         keys: set[tuple[Any, ...]], initial: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Ids of these keys in ``table``; missing ones are created with the next ids and ``initial`` in the
    columns after the key (inside the caller's transaction, under the writer's lock)."""
    known = {tuple(r[1:]): r[0] for r in con.execute(
        f"select {id_column}, {', '.join(key_columns)} from {table}").fetchall()}
    new = [k for k in keys if k not in known]
    if new:
        start = max(known.values(), default=0) + 1
        rows = [[start + i, *k, *initial] for i, k in enumerate(new)]
        con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
        known.update({k: start + i for i, k in enumerate(new)})
    return known


def _cell_ids(con: duckdb.DuckDBPyConnection, cells: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    return _ids(con, "ngram_cells", "cell_id", ("set_name", "domain_set", "model", "prompt_version", "mode", "pack", "accepted"), cells)


def store_new(con: duckdb.DuckDBPyConnection, stored: Sequence[Stored]) -> None:
    """Figures rows and tallies of newly stored dialogues."""
    if not stored:
        return
    ids = _cell_ids(con, {st.cell() for st in stored})
    insert_columns(con, "dialogue_figures", [st.figures.row(st.dialogue_id, ids[st.cell()]) for st in stored])
    _apply(con, [(st, st.verdict, 1) for st in stored], ids)
    _add_group_keys(con, stored)


def move(con: duckdb.DuckDBPyConnection, changed: Sequence[tuple[Stored, VerdictFacts]]) -> None:
    """Dialogues whose current verdict changed from the one given to ``Stored.verdict``: their tallies follow."""
    moves: list[Move] = [m for st, old in changed for m in ((st, old, -1), (st, st.verdict, 1))]
    if not moves:
        return
    ids = _cell_ids(con, {st.cell(v) for st, v, _ in moves})
    _apply(con, moves, ids)
    con.execute(
        "update dialogue_figures f set cell_id = x.c from (select unnest($1) as d, unnest($2) as c) x where f.dialogue_id = x.d",
        [[st.dialogue_id for st, _ in changed], [ids[st.cell()] for st, _ in changed]],
    )


def _apply(con: duckdb.DuckDBPyConnection, moves: Sequence[Move], ids: dict[tuple[Any, ...], int]) -> None:
    """Sums, failures and n-gram counts of ``moves`` (a dialogue moved within one cell nets to nothing)."""
    sums: dict[int, list[float]] = {}
    failures: dict[tuple[str, str], int] = {}
    net: dict[tuple[str, int], int] = {}
    by_id: dict[str, Stored] = {}
    for st, v, sign in moves:
        cid = ids[st.cell(v)]
        acc = sums.setdefault(cid, [0] * len(SUM_COLUMNS))
        for i, x in enumerate(_sums(st, v)):
            acc[i] += sign * x
        for name in v.failed:
            failures[(st.set_name, name)] = failures.get((st.set_name, name), 0) + sign
        net[(st.dialogue_id, cid)] = net.get((st.dialogue_id, cid), 0) + sign
        by_id[st.dialogue_id] = st
    cells = list(sums)
    con.execute(
        f"""insert into cell_sums (cell_id, {', '.join(SUM_COLUMNS)})
            select unnest($1), {', '.join(f'unnest(${i + 2})' for i in range(len(SUM_COLUMNS)))}
            on conflict do update set {', '.join(f'{c} = cell_sums.{c} + excluded.{c}' for c in SUM_COLUMNS)}""",
        [cells, *[[sums[c][i] for c in cells] for i in range(len(SUM_COLUMNS))]],
    )
    failures = {k: d for k, d in failures.items() if d}
    if failures:
        con.execute(
            """insert into check_failures select unnest($1), unnest($2), unnest($3)
               on conflict do update set failures = check_failures.failures + excluded.failures""",
            [[k[0] for k in failures], [k[1] for k in failures], list(failures.values())],
        )
    _add_counts(con, [(by_id[did], cid, d) for (did, cid), d in net.items() if d])


def _add_counts(con: duckdb.DuckDBPyConnection, moves: Sequence[tuple[Stored, int, int]]) -> None:
    """Apply (dialogue, cell id, +1 | -1) to ``ngram_counts``; keys no dialogue of a cell holds any more are dropped."""
    if not moves:
        return
    cols: list[list[Any]] = [[], [], [], []]
    for st, cid, sign in moves:
        for n in ORDERS:
            keys = st.figures.keys[n]
            cols[0].extend([cid] * len(keys))
            cols[1].extend([n] * len(keys))
            cols[2].extend(keys)
            cols[3].extend([sign] * len(keys))
    con.execute(
        """insert into ngram_counts
           select c, n, md5_number_lower(g), sum(d)
           from (select unnest($1) as c, unnest($2) as n, unnest($3) as g, unnest($4) as d)
           group by c, n, g
           on conflict do update set dialogues = dialogues + excluded.dialogues""",
        cols,
    )
    touched = sorted({cid for _, cid, sign in moves if sign < 0})
    if touched:
        con.execute("delete from ngram_counts where dialogues <= 0 and cell_id in (select unnest(?))", [touched])


def _groups_of(st: Stored) -> list[tuple[str, str, str]]:
    return [(st.set_name, "set", "all"), (st.set_name, "domain_set", st.domain_set)]


def _group_ids(con: duckdb.DuckDBPyConnection, groups: set[tuple[str, str, str]]) -> dict[tuple[Any, ...], int]:
    return _ids(con, "ngram_groups", "group_id", ("set_name", "kind", "value"), groups, initial=(0, 0))  # no keys yet


def _add_group_keys(con: duckdb.DuckDBPyConnection, stored: Sequence[Stored]) -> None:
    """New dialogues' keys into their groups; the keys a group did not have raise its distinct counts."""
    ids = _group_ids(con, {g for st in stored for g in _groups_of(st)})
    cols: list[list[Any]] = [[], [], []]
    for st in stored:
        for g in _groups_of(st):
            gid = ids[g]
            for n in ORDERS:
                keys = st.figures.keys[n]
                cols[0].extend([gid] * len(keys))
                cols[1].extend([n] * len(keys))
                cols[2].extend(keys)
    added = con.execute(
        """insert into ngram_group_keys
           select distinct g, n, md5_number_lower(t) from (select unnest($1) as g, unnest($2) as n, unnest($3) as t)
           on conflict do nothing
           returning group_id, n""",
        cols,
    ).fetchall()
    per_group: dict[int, list[int]] = {}
    for gid, n in added:
        per_group.setdefault(gid, [0, 0])[n - 1] += 1
    if per_group:
        con.execute(
            """update ngram_groups g set distinct1 = g.distinct1 + x.d1, distinct2 = g.distinct2 + x.d2
               from (select unnest($1) as gid, unnest($2) as d1, unnest($3) as d2) x where g.group_id = x.gid""",
            [list(per_group), [v[0] for v in per_group.values()], [v[1] for v in per_group.values()]],
        )


def delete_set(con: duckdb.DuckDBPyConnection, set_name: str) -> None:
    """A set's tallies, gone with it (before its dialogues are deleted)."""
    cells = "(select cell_id from ngram_cells where set_name = $1)"
    con.execute(f"delete from ngram_counts where cell_id in {cells}", [set_name])
    con.execute(f"delete from cell_sums where cell_id in {cells}", [set_name])
    con.execute("delete from ngram_group_keys where group_id in (select group_id from ngram_groups where set_name = $1)",
                [set_name])
    for table in ("ngram_cells", "ngram_groups", "check_failures"):
        con.execute(f"delete from {table} where set_name = ?", [set_name])


def backfill(con: duckdb.DuckDBPyConnection, batch: int = 2000) -> int:
    """Figures and tallies for dialogues stored before they were kept (after migrations 5-7).

    Re-reads those dialogues' turns: on a large file this takes minutes, so progress is logged.
    """
    done = 0
    missing = con.execute(
        "select count(*) from dialogues where dialogue_id not in (select dialogue_id from dialogue_figures)").fetchone()[0]
    if missing:
        log.warning("filling in figures for %d stored dialogues (once, after a schema upgrade)", missing)
    while True:
        ids = [r[0] for r in con.execute(
            "select dialogue_id from dialogues where dialogue_id not in (select dialogue_id from dialogue_figures) "
            "limit ?", [batch]).fetchall()]
        if not ids:
            return done
        con.execute("begin")
        try:
            store_new(con, load_stored(con, "d.dialogue_id in (select unnest(?))", [ids]))
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        done += len(ids)
        log.warning("figures filled in: %d of %d dialogues", done, missing)


#: Sets whose tallies disagree with their rows: dialogues, accepted ones (current verdicts) and turns.
_STALE_SETS = """
    with d as (select d.set_name, count(*) as n, count(*) filter (where v.accepted) as a
               from dialogues d left join current_verdicts v using (dialogue_id) group by 1),
         t as (select d.set_name, count(*) as n from turns u join dialogues d using (dialogue_id) group by 1),
         s as (select c.set_name, sum(s.dialogues) as n, coalesce(sum(s.dialogues) filter (where c.accepted), 0) as a
               from cell_sums s join ngram_cells c using (cell_id) group by 1 having sum(s.dialogues) > 0),
         f as (select c.set_name, sum(f.utterances) as n, count(*) as k
               from dialogue_figures f join ngram_cells c using (cell_id) group by 1)
    select coalesce(d.set_name, s.set_name) as set_name from d full join s using (set_name)
    where d.n is distinct from s.n or d.a is distinct from s.a
       or coalesce((select n from t where t.set_name = coalesce(d.set_name, s.set_name)), 0)
          is distinct from coalesce((select n from f where f.set_name = coalesce(d.set_name, s.set_name)), 0)
    union
    select c.set_name from dialogue_figures x join ngram_cells c using (cell_id)
    where x.dialogue_id not in (select dialogue_id from dialogues)
"""


def reconcile(con: duckdb.DuckDBPyConnection) -> list[str]:
    """After a hand-written write (``query --write``): rebuild the tallies of every set they no longer match.

    The tallies follow the store's own writes; a ``delete from dialogues`` (or turns, or verdicts)
    typed by hand bypasses them, and the figures and the dashboard would go on counting what was
    deleted. Sets whose dialogue, accepted or turn counts disagree with their tallies (or whose
    figures name a dialogue that is gone) lose their tallies and get them again from their rows
    (``backfill``): the cost of those sets, once, not of the corpus. Returns their names.
    """
    stale = sorted({r[0] for r in con.execute(_STALE_SETS).fetchall() if r[0] is not None})
    if not stale:
        return []
    log.warning("rebuilding the figures of %d set(s) a hand-written write changed: %s", len(stale), ", ".join(stale))
    con.execute("begin")
    try:
        for set_name in stale:
            con.execute("""delete from dialogue_figures where cell_id in (select cell_id from ngram_cells where set_name = ?)
                           or dialogue_id in (select dialogue_id from dialogues where set_name = ?)""", [set_name, set_name])
            delete_set(con, set_name)
        con.execute("delete from dialogue_figures where dialogue_id not in (select dialogue_id from dialogues)")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    backfill(con)
    return stale
