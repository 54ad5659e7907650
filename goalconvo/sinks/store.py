"""The DuckDB corpus: schema, migrations and idempotent batch writes.

One process writes a DuckDB file (DuckDB's lock forbids a second, even a
read-only one), so the running sink also answers queries for other processes
(see ``query_server.py``). Writes insert by primary key and ignore duplicates:
Kafka's at-least-once delivery can replay, the corpus keeps one row a dialogue.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from goalconvo.core.records import DeadLetter, Dialogue, Goal, JudgedDialogue, Scenario, Turn, Verdict

#: Each entry migrates the schema from version i to i+1; applied in order, once.
MIGRATIONS: tuple[str, ...] = (
    """
    create table dialogues (
        dialogue_id varchar primary key,
        run_id varchar not null,
        set_name varchar not null,
        goal_id varchar not null,
        domains varchar[] not null,
        domain_set varchar not null,
        goal json not null,
        scenario json,
        model varchar not null,
        prompt_version varchar,
        stop_reason varchar,
        exchanges integer not null,
        llm_calls integer,
        prompt_tokens integer,
        completion_tokens integer,
        started_at double,
        ended_at double,
        stored_at double not null
    );
    create table turns (
        dialogue_id varchar not null,
        idx integer not null,
        speaker varchar not null,
        text varchar not null,
        meta json,
        primary key (dialogue_id, idx)
    );
    create table verdicts (
        dialogue_id varchar not null,
        judge_version varchar not null,
        accepted boolean not null,
        scores json,
        judge_model varchar,
        judged_at double,
        primary key (dialogue_id, judge_version)
    );
    create table verdict_checks (
        dialogue_id varchar not null,
        judge_version varchar not null,
        name varchar not null,
        passed boolean not null,
        reason varchar,
        score double,
        primary key (dialogue_id, judge_version, name)
    );
    create table dead_letters (
        dead_letter_id varchar primary key,
        source_topic varchar,
        stage varchar,
        reason varchar,
        error_type varchar,
        key varchar,
        payload varchar,
        run_id varchar,
        goal_id varchar,
        dialogue_id varchar,
        dead_at double
    );
    create table runs (
        run_id varchar primary key,
        started_at double,
        goals integer,
        llm varchar,
        model varchar,
        settings json
    );
    """,
    # 2: the judge's error mark, dialogue sets, goals, similarity scores, metric snapshots.
    """
    alter table verdicts add column judge_error boolean default false;
    create table dialogue_sets (
        set_name varchar primary key,
        kind varchar not null,          -- run | import
        description varchar,
        source varchar,
        created_at double
    );
    create table goals (
        goal_id varchar not null,
        run_id varchar not null,        -- '' for goals published outside a run
        source varchar,
        domains varchar[],
        goal json,
        seen_at double,
        primary key (goal_id, run_id)
    );
    create table similarity (
        dialogue_id varchar not null,
        reference_id varchar,
        reference_set varchar not null,
        f1 double, precision double, recall double,
        model varchar not null,
        layer integer not null,
        rescaled boolean not null,
        candidates integer,
        scored_at double,
        primary key (dialogue_id, reference_set, model, layer)
    );
    create table metric_snapshots (
        computed_at double not null,
        set_name varchar not null,
        group_kind varchar not null,    -- all | domain_set | model | prompt_version
        group_value varchar not null,
        metrics json not null
    );
    create view current_verdicts as
        select * from verdicts
        qualify row_number() over (partition by dialogue_id order by judged_at desc, judge_version desc) = 1;
    """,
)

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}


class QueryRefused(ValueError):
    """A statement that would write, sent where writes are not allowed."""


def _insert_columns(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows in one statement (columns passed as lists and unnested), skipping existing keys.

    ``executemany`` binds row by row and was the sink's bottleneck (measured: 80% of its time).
    """
    if not rows:
        return
    cols = [list(c) for c in zip(*rows)]
    select = ", ".join(f"unnest(${i + 1})" for i in range(len(cols)))
    con.execute(f"insert into {table} select {select} on conflict do nothing", cols)


def check_read_only(sql: str) -> None:
    """Refuse anything but SELECT / EXPLAIN (and refuse SQL that does not parse)."""
    try:
        stmts = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"cannot parse the query: {exc}") from None
    if not stmts:
        raise QueryRefused("no statement given")
    for st in stmts:
        kind = st.type.name
        if kind not in READ_ONLY_TYPES:
            raise QueryRefused(f"{kind} statements change the corpus; pass --write to allow them")


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable[Any] | None = None) -> QueryResult:
    """Run ``sql`` on a connection or cursor and return JSON-safe rows."""
    cur = con.execute(sql, list(params) if params is not None else None)
    if cur.description is None:
        return QueryResult([], [])
    return QueryResult([c[0] for c in cur.description], [[_jsonable(v) for v in row] for row in cur.fetchall()])


class CorpusStore:
    """A DuckDB corpus file opened for writing by this process (thread-safe)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path))
        self._lock = threading.Lock()
        self.migrate()

    # -- schema ------------------------------------------------------------
    def migrate(self) -> None:
        with self._lock:
            self._con.execute("create table if not exists schema_version (version integer)")
            row = self._con.execute("select max(version) from schema_version").fetchone()
            current = row[0] or 0
            for i, sql in enumerate(MIGRATIONS[current:], start=current + 1):
                self._con.execute("begin")
                self._con.execute(sql)
                self._con.execute("insert into schema_version values (?)", [i])
                self._con.execute("commit")

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # -- writes ------------------------------------------------------------
    def write_batch(
        self,
        judged: Sequence[JudgedDialogue],
        dead: Sequence[tuple[str, DeadLetter]] = (),
        goals: Sequence[Goal] = (),
    ) -> int:
        """Store a batch in one transaction, one insert per table; returns how many dialogues were new.

        Inserts ignore rows already there (by primary key), so a replayed batch changes nothing.
        """
        now = time.time()
        judged = list({jd.dialogue.dialogue_id: jd for jd in judged}.values())
        with self._transaction() as (con, new):
            if judged:
                self._insert_dialogues(con, judged, now)
                self._insert_verdicts(con, [jd.verdict for jd in judged])
            if dead:
                _insert_columns(con, "dead_letters", [
                    [dl_id, dl.source_topic, dl.stage, dl.reason, dl.error_type, dl.key, dl.payload,
                     dl.run_id, dl.goal_id, dl.dialogue_id, dl.at]
                    for dl_id, dl in dict(dead).items()
                ])
            if goals:
                rows = {(g.goal_id, g.run_id or ""): g for g in goals}
                _insert_columns(con, "goals", [
                    [gid, rid, g.source, g.domain_names, g.model_dump_json(), now] for (gid, rid), g in rows.items()
                ])
        return new[0]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[int]]]:
        """One transaction under the lock; ``new[0]`` holds how many dialogues it added, after commit."""
        with self._lock:
            con = self._con
            con.execute("begin")
            new = [0]
            try:
                before = con.execute("select count(*) from dialogues").fetchone()[0]
                yield con, new
                new[0] = con.execute("select count(*) from dialogues").fetchone()[0] - before
                con.execute("commit")
            except Exception:
                con.execute("rollback")
                raise

    @staticmethod
    def _insert_dialogues(con: duckdb.DuckDBPyConnection, judged: Sequence[JudgedDialogue], now: float, set_name: str | None = None) -> None:
        rows, turns = [], []
        for jd in judged:
            d = jd.dialogue
            domains = d.goal.domain_names
            rows.append([
                d.dialogue_id, d.run_id, set_name or d.run_id, d.goal.goal_id, domains, "+".join(domains),
                d.goal.model_dump_json(), d.scenario.model_dump_json(), d.model, d.prompt_version, d.stop_reason,
                d.exchanges, d.llm_calls, d.prompt_tokens, d.completion_tokens, d.started_at, d.ended_at, now,
            ])
            turns.extend([d.dialogue_id, t.index, t.speaker, t.text, json.dumps(t.meta)] for t in d.turns)
        _insert_columns(con, "dialogues", rows)
        _insert_columns(con, "turns", turns)

    @staticmethod
    def _insert_verdicts(con: duckdb.DuckDBPyConnection, verdicts: Sequence[Verdict]) -> None:
        _insert_columns(con, "verdicts (dialogue_id, judge_version, accepted, scores, judge_model, judged_at, judge_error)", [
            [v.dialogue_id, v.judge_version, v.accepted, json.dumps(v.scores), v.judge_model, v.judged_at, v.judge_error]
            for v in verdicts
        ])
        _insert_columns(con, "verdict_checks", [
            [v.dialogue_id, v.judge_version, c.name, c.passed, c.reason, c.score] for v in verdicts for c in v.checks
        ])

    def record_run(self, run_id: str, goals: int, llm: str, model: str, settings: dict[str, Any]) -> None:
        with self._lock:
            self._con.execute(
                "insert into runs values (?,?,?,?,?,?) on conflict do nothing",
                [run_id, time.time(), goals, llm, model, json.dumps(settings, default=str)],
            )
            self._con.execute(
                "insert into dialogue_sets values (?, 'run', ?, ?, ?) on conflict do nothing",
                [run_id, f"{goals} goals, {llm} {model}", llm, time.time()],
            )

    def import_set(self, judged: Sequence[JudgedDialogue], set_name: str, source: str, description: str = "") -> int:
        """Store an imported corpus (e.g. MultiWOZ) as a dialogue set; returns how many dialogues were new."""
        now = time.time()
        with self._transaction() as (con, new):
            con.execute(
                "insert into dialogue_sets values (?, 'import', ?, ?, ?) on conflict do nothing",
                [set_name, description, source, now],
            )
            self._insert_dialogues(con, judged, now, set_name=set_name)
            self._insert_verdicts(con, [jd.verdict for jd in judged])
        return new[0]

    def add_verdicts(self, verdicts: Sequence[Verdict]) -> None:
        """New verdicts beside the old ones (a verdict of the same version is kept as it was)."""
        with self._transaction() as (con, _):
            self._insert_verdicts(con, verdicts)

    def load_dialogues(self, where: str | None = None, limit: int | None = None) -> list[Dialogue]:
        """Stored dialogues rebuilt as records; ``where`` is an SQL condition on the dialogues table."""
        cond = f"where {where}" if where else ""
        check_read_only(f"select dialogue_id from dialogues {cond}")
        lim = f"limit {int(limit)}" if limit else ""
        rows = self.query(
            f"""select d.dialogue_id, d.run_id, d.goal, d.scenario, d.model, d.prompt_version, d.stop_reason,
                       d.llm_calls, d.prompt_tokens, d.completion_tokens, d.started_at, d.ended_at,
                       list(struct_pack(i := t.idx, s := t.speaker, x := t.text, m := t.meta) order by t.idx)
                from (select * from dialogues {cond} order by dialogue_id {lim}) d
                join turns t using (dialogue_id)
                group by all order by d.dialogue_id"""
        ).rows
        out = []
        for r in rows:
            out.append(Dialogue(
                dialogue_id=r[0], run_id=r[1], goal=Goal.model_validate_json(r[2]),
                scenario=Scenario.model_validate_json(r[3]), model=r[4], prompt_version=r[5] or "",
                stop_reason=r[6] or "", llm_calls=r[7] or 0, prompt_tokens=r[8] or 0, completion_tokens=r[9] or 0,
                started_at=r[10] or 0.0, ended_at=r[11] or 0.0,
                turns=[Turn(index=t["i"], speaker=t["s"], text=t["x"], meta=json.loads(t["m"] or "{}")) for t in r[12]],
            ))
        return out

    def unscored(
        self, reference_set: str, model: str, layer: int, limit: int, include_human: bool = False
    ) -> list[tuple[str, tuple[str, ...], str]]:
        """Dialogues with no similarity figure for this reference set and encoder yet: (id, domains, text)."""
        rows = self.query(
            """select d.dialogue_id, d.domains, string_agg(t.text, ' ' order by t.idx)
               from dialogues d join turns t using (dialogue_id)
               where (? or d.model not like 'human:%') and not exists (
                   select 1 from similarity s where s.dialogue_id = d.dialogue_id
                   and s.reference_set = ? and s.model = ? and s.layer = ?)
               group by all order by any_value(d.stored_at) limit ?""",
            [include_human, reference_set, model, layer, limit],
        ).rows
        return [(r[0], tuple(r[1]), r[2]) for r in rows]

    def write_similarity(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of (dialogue_id, reference_id, reference_set, f1, precision, recall, model, layer, rescaled, candidates, scored_at)."""
        with self._lock:
            _insert_columns(self._con, "similarity", rows)

    def snapshot(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of (computed_at, set_name, group_kind, group_value, metrics json)."""
        with self._lock:
            self._con.executemany("insert into metric_snapshots values (?,?,?,?,?)", rows)

    # -- reads -------------------------------------------------------------
    def query(self, sql: str, params: Iterable[Any] | None = None, *, allow_write: bool = False) -> QueryResult:
        if not allow_write:
            check_read_only(sql)
        cur = self._con.cursor()
        try:
            return fetch(cur, sql, params)
        finally:
            cur.close()

    def run_progress(self, run_id: str) -> dict[str, int]:
        """Dialogues stored (accepted / rejected) and goals dead-lettered for a run."""
        r = self.query(
            """select
                 count(*) filter (where v.accepted),
                 count(*) filter (where not v.accepted),
                 (select count(distinct coalesce(goal_id, dead_letter_id)) from dead_letters where run_id = ?)
               from dialogues d join current_verdicts v using (dialogue_id)
               where d.run_id = ?""",
            [run_id, run_id],
        ).rows[0]
        return {"accepted": r[0], "rejected": r[1], "dead_lettered": r[2]}


def open_read_only(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection, or duckdb.IOException if a writer holds the file."""
    return duckdb.connect(str(path), read_only=True)
