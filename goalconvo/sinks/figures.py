"""Figures kept as dialogues are stored, so that metrics cost what was added, not what exists.

Two tables (schema migration 5), written in the same transaction as the dialogue:

- ``dialogue_figures``: one row per dialogue, computed once from its turns: utterances,
  words, n-grams and distinct n-grams (n = 1, 2) and who phrased its turns. Per-dialogue
  means and totals are SQL over it.
- ``ngram_counts``: for each *cell* (``ngram_cells``: set, domain set, model, prompt
  version, mode, accepted) and each n-gram (n, 64-bit md5 key), how many of the cell's
  dialogues contain it. A corpus distinct-n of any group is then the number of distinct
  hashes over the group's cells divided by the summed n-gram totals; no text is re-read.
  A dialogue sits in exactly one cell, so a write adds ~250 keys per dialogue; a verdict
  that flips moves its keys from one cell to another; deleting a set drops its cells.

Tokenizer: lower-cased ``[a-z0-9']+`` words (MultiWOZ's README figures use it); n-grams
are taken within each utterance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

_TOKEN = re.compile(r"[a-z0-9']+")

#: Orders of n-gram kept (distinct-1 and distinct-2).
ORDERS = (1, 2)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def ngrams(toks: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def ngram_text(gram: tuple[str, ...]) -> str:
    """An n-gram as one string (tokens never hold a space); the store keys it by ``md5_number_lower`` of it."""
    return " ".join(gram)


@dataclass
class DialogueFigures:
    """What one dialogue contributes: its figures row and its distinct n-gram keys."""

    utterances: int
    words: int
    totals: dict[int, int]  #: n -> n-grams
    keys: dict[int, list[str]]  #: n -> distinct n-grams (as ``ngram_text``)
    llm_turns: int
    template_turns: int

    def row(self, dialogue_id: str) -> list[Any]:
        return [dialogue_id, self.utterances, self.words, self.totals[1], len(self.keys[1]),
                self.totals[2], len(self.keys[2]), self.llm_turns, self.template_turns]


def figures_of(texts: Sequence[str], phrased_by: Sequence[str | None] = ()) -> DialogueFigures:
    grams: dict[int, set[tuple[str, ...]]] = {n: set() for n in ORDERS}
    totals = dict.fromkeys(ORDERS, 0)
    words = 0
    for text in texts:
        toks = tokens(text)
        words += len(toks)
        for n in ORDERS:
            g = ngrams(toks, n)
            totals[n] += len(g)
            grams[n].update(g)
    return DialogueFigures(
        utterances=len(texts), words=words, totals=totals,
        keys={n: [ngram_text(g) for g in grams[n]] for n in ORDERS},
        llm_turns=sum(p == "llm" for p in phrased_by), template_turns=sum(p == "template" for p in phrased_by),
    )


@dataclass
class Stored:
    """A dialogue as the counts see it: where it belongs and what it says."""

    dialogue_id: str
    set_name: str
    domain_set: str
    model: str
    prompt_version: str | None
    mode: str | None
    accepted: bool
    figures: DialogueFigures

    def cell(self, accepted: bool | None = None) -> tuple[Any, ...]:
        # Coalesced as metrics.GROUPS coalesces the dialogues' columns.
        return (self.set_name, self.domain_set, self.model, "" if self.prompt_version is None else self.prompt_version,
                "free" if self.mode is None else self.mode,
                self.accepted if accepted is None else accepted)


def _cell_ids(con: duckdb.DuckDBPyConnection, cells: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    """Ids of these cells, new ones created (inside the caller's transaction, under the writer's lock)."""
    known = {tuple(r[1:]): r[0] for r in con.execute(
        "select cell_id, set_name, domain_set, model, prompt_version, mode, accepted from ngram_cells").fetchall()}
    new = [c for c in cells if c not in known]
    if new:
        start = (max(known.values()) + 1) if known else 1
        rows = [[start + i, *c] for i, c in enumerate(new)]
        con.executemany("insert into ngram_cells values (?,?,?,?,?,?,?)", rows)
        known.update({tuple(r[1:]): r[0] for r in rows})
    return known


def add_counts(con: duckdb.DuckDBPyConnection, moves: Sequence[tuple[Stored, tuple[Any, ...], int]]) -> None:
    """Apply (dialogue, cell, +1 | -1) to ``ngram_counts``; keys no dialogue holds any more are dropped."""
    if not moves:
        return
    ids = _cell_ids(con, {cell for _, cell, _ in moves})
    cols: list[list[Any]] = [[], [], [], []]
    for st, cell, sign in moves:
        cid = ids[cell]
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
    if any(sign < 0 for _, _, sign in moves):
        touched = sorted({ids[cell] for _, cell, sign in moves if sign < 0})
        con.execute("delete from ngram_counts where dialogues <= 0 and cell_id in (select unnest(?))", [touched])
    _add_group_keys(con, moves)


#: The groups that keep their own keys and distinct counts (read in O(groups)); the other
#: groupings (model, prompt version, mode) count distinct keys over the cells when asked.
GROUP_KINDS = ("set", "domain_set")


def _groups_of(st: Stored, accepted: bool) -> list[tuple[str, str, str, bool]]:
    out = []
    for accepted_only in ((False, True) if accepted else (False,)):
        out.append((st.set_name, "set", "all", accepted_only))
        out.append((st.set_name, "domain_set", st.domain_set, accepted_only))
    return out


def _group_ids(con: duckdb.DuckDBPyConnection, groups: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    known = {tuple(r[1:]): r[0] for r in con.execute(
        "select group_id, set_name, kind, value, accepted_only from ngram_groups").fetchall()}
    new = [g for g in groups if g not in known]
    if new:
        start = (max(known.values()) + 1) if known else 1
        rows = [[start + i, *g, 0, 0] for i, g in enumerate(new)]
        con.executemany("insert into ngram_groups values (?,?,?,?,?,?,?)", rows)
        known.update({tuple(r[1:5]): r[0] for r in rows})
    return known


def _add_group_keys(con: duckdb.DuckDBPyConnection, moves: Sequence[tuple[Stored, tuple[Any, ...], int]]) -> None:
    """The moves as the groups see them (a verdict flip leaves the all-dialogue groups as they were);
    the upsert returns each touched key's count, which tells the keys it added or removed."""
    delta: dict[tuple[str, tuple[Any, ...]], int] = {}
    stored: dict[str, Stored] = {}
    for st, cell, sign in moves:
        stored[st.dialogue_id] = st
        for g in _groups_of(st, cell[5]):
            delta[(st.dialogue_id, g)] = delta.get((st.dialogue_id, g), 0) + sign
    delta = {k: v for k, v in delta.items() if v}
    if not delta:
        return
    ids = _group_ids(con, {g for _, g in delta})
    cols: list[list[Any]] = [[], [], [], []]
    for (did, g), d in delta.items():
        gid = ids[g]
        for n in ORDERS:
            keys = stored[did].figures.keys[n]
            cols[0].extend([gid] * len(keys))
            cols[1].extend([n] * len(keys))
            cols[2].extend(keys)
            cols[3].extend([d] * len(keys))
    changed = con.execute(
        """insert into ngram_group_keys
           select g, n, md5_number_lower(t), sum(d), sum(d)
           from (select unnest($1) as g, unnest($2) as n, unnest($3) as t, unnest($4) as d)
           group by g, n, t
           on conflict do update set dialogues = dialogues + excluded.dialogues, last_delta = excluded.last_delta
           returning group_id, n, dialogues, last_delta""",
        cols,
    ).fetchall()
    net: dict[tuple[int, int], int] = {}
    for gid, n, count, last in changed:
        if count == last and last > 0:  # absent before: a key the group did not have
            net[(gid, n)] = net.get((gid, n), 0) + 1
        elif count <= 0 < count - last:  # present before, gone now
            net[(gid, n)] = net.get((gid, n), 0) - 1
    per_group: dict[int, list[int]] = {}
    for (gid, n), v in net.items():
        per_group.setdefault(gid, [0, 0])[n - 1] += v
    if per_group:
        con.execute(
            """update ngram_groups g set distinct1 = g.distinct1 + x.d1, distinct2 = g.distinct2 + x.d2
               from (select unnest($1) as gid, unnest($2) as d1, unnest($3) as d2) x where g.group_id = x.gid""",
            [list(per_group), [v[0] for v in per_group.values()], [v[1] for v in per_group.values()]],
        )
    if any(d < 0 for d in delta.values()):
        touched = sorted({ids[g] for (_, g), d in delta.items() if d < 0})
        con.execute("delete from ngram_group_keys where dialogues <= 0 and group_id in (select unnest(?))", [touched])


def store_new(con: duckdb.DuckDBPyConnection, stored: Sequence[Stored]) -> None:
    """Figures and counts of newly stored dialogues."""
    if not stored:
        return
    rows = [st.figures.row(st.dialogue_id) for st in stored]
    cols = [list(c) for c in zip(*rows)]
    con.execute(
        "insert into dialogue_figures select " + ", ".join(f"unnest(${i + 1})" for i in range(len(cols)))
        + " on conflict do nothing",
        cols,
    )
    add_counts(con, [(st, st.cell(), 1) for st in stored])


def load_stored(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[Stored]:
    """Stored dialogues (``where`` on ``d``), their current verdict and turns, as the counts see them."""
    rows = con.execute(
        f"""select d.dialogue_id, d.set_name, d.domain_set, d.model, d.prompt_version, d.mode,
                   coalesce((select v.accepted from verdicts v where v.dialogue_id = d.dialogue_id
                             order by v.judged_at desc, v.judge_version desc limit 1), false),
                   (select list(t.text order by t.idx) from turns t where t.dialogue_id = d.dialogue_id),
                   (select list(t.phrased_by order by t.idx) from turns t where t.dialogue_id = d.dialogue_id)
            from dialogues d where {where}""",
        params,
    ).fetchall()
    return [Stored(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), figures_of(r[7] or [], r[8] or []))
            for r in rows]


def current_accepted(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, bool]:
    """Each dialogue's accepted flag under its current (latest) verdict."""
    return dict(con.execute(
        """select dialogue_id, accepted from verdicts where dialogue_id in (select unnest(?))
           qualify row_number() over (partition by dialogue_id order by judged_at desc, judge_version desc) = 1""",
        [list(ids)],
    ).fetchall())


def backfill(con: duckdb.DuckDBPyConnection, batch: int = 2000) -> int:
    """Figures and counts for dialogues stored before they were kept (run once, after migration 5)."""
    done = 0
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
