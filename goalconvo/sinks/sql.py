"""SQL against the corpus: the read-only guard, guarded reads, JSON-safe results, read-only connections,
column-wise inserts.

A read is held by three things at once, each enough for its part (``run_read``):

- the guard (``check_read_only``): SELECT and plain EXPLAIN only (no EXPLAIN ANALYZE: it runs its
  statement), no function that acts on the database (``checkpoint``); a friendly refusal;
- a read-only transaction, rolled back: a write hidden inside a SELECT (a CTE ``delete ...
  returning``) is refused by DuckDB itself, and nothing a read did outlives it;
- file access off for the whole database (``enable_external_access=false``, configuration locked,
  see ``READ_CONFIG`` and ``store.CorpusStore(file_access=False)``): ``read_csv('/etc/passwd')``,
  ``glob``, ``FROM 'x.csv'``, ``COPY ... TO`` and ``SET`` are refused whoever asks.

A time limit interrupts a read that runs too long, and at most ``max_rows`` rows come back.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}

#: DuckDB settings of a connection that answers reads for others: no files, no network, no way back.
#: DuckDB applies them to the whole database (every connection to the file in this process).
READ_CONFIG: dict[str, Any] = {"enable_external_access": False, "lock_configuration": True}

#: Table functions that act on the database rather than read it.
REFUSED_FUNCTIONS = frozenset({"checkpoint", "force_checkpoint"})


class QueryRefused(ValueError):
    """A statement that would write, sent where writes are not allowed."""


class QueryTimeout(RuntimeError):
    """A query interrupted at its time limit."""


def _explains_analyze(text: str) -> bool:
    """Whether an EXPLAIN statement is EXPLAIN ANALYZE (which runs the statement it explains)."""
    tokens = duckdb.tokenize(text)
    words = []
    for i, (pos, kind) in enumerate(tokens):
        if kind.name == "comment":
            continue
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(text)
        words.append(text[pos:end].strip().strip("(),;").lower())
        if len(words) >= 6:  # EXPLAIN (FORMAT JSON, ANALYZE) ...: the options come first
            break
    return any(w in ("analyze", "analyse") for w in words[1:])


def check_read_only(sql: str) -> None:
    """Refuse anything but SELECT / plain EXPLAIN (and refuse SQL that does not parse)."""
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
        if kind == "EXPLAIN" and _explains_analyze(st.query):
            raise QueryRefused("EXPLAIN ANALYZE runs the statement it explains; pass --write to allow it")


def _function_names(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        name = node.get("function_name")
        if isinstance(name, str):
            yield name.lower()
        for v in node.values():
            yield from _function_names(v)
    elif isinstance(node, list):
        for v in node:
            yield from _function_names(v)


def check_functions(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse a read that calls a function acting on the database (``REFUSED_FUNCTIONS``), read from
    DuckDB's own parse tree (``json_serialize_sql``), so no spelling or comment hides one."""
    for st in duckdb.extract_statements(sql):
        if st.type.name != "SELECT":
            continue
        tree = json.loads(con.execute("select json_serialize_sql(?)", [st.query]).fetchone()[0])
        if tree.get("error"):
            raise QueryRefused(f"cannot check the query: {tree.get('error_message')}")
        bad = sorted(set(_function_names(tree)) & REFUSED_FUNCTIONS)
        if bad:
            raise QueryRefused(f"{', '.join(bad)}() acts on the database; pass --write to allow it")


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    #: More rows than the cap were there; ``rows`` holds the first ``max_rows``.
    truncated: bool = False


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


def insert_columns(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]], *,
                   skip_existing: bool = True) -> None:
    """Insert many rows in one statement (columns passed as lists and unnested); ``skip_existing``
    ignores rows whose key is stored already (a table without a key takes ``skip_existing=False``).

    ``executemany`` binds row by row and was the sink's bottleneck (measured: 80% of its time).
    """
    if not rows:
        return
    cols = [list(c) for c in zip(*rows)]
    select = ", ".join(f"unnest(${i + 1})" for i in range(len(cols)))
    con.execute(f"insert into {table} select {select}{' on conflict do nothing' if skip_existing else ''}", cols)


def run_read(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable[Any] | None = None, *,
             timeout_s: float | None = None, max_rows: int | None = None, write: bool = False) -> QueryResult:
    """Run ``sql`` on a cursor of ``con``: unless ``write``, checked by the guard and inside a read-only
    transaction that is rolled back; interrupted after ``timeout_s``; at most ``max_rows`` rows."""
    if not write:
        check_read_only(sql)
    # A cursor of its own: the connection is the writer's, used from its thread meanwhile.
    cur = con.cursor()
    timer = threading.Timer(timeout_s, cur.interrupt) if timeout_s else None
    try:
        if not write:
            check_functions(cur, sql)
            cur.execute("begin transaction read only")
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            cur.execute(sql, list(params) if params is not None else None)
            if cur.description is None:
                return QueryResult([], [])
            columns = [c[0] for c in cur.description]
            rows = cur.fetchmany(max_rows + 1) if max_rows else cur.fetchall()
        except duckdb.InterruptException:
            raise QueryTimeout(f"the query ran past its {timeout_s:g} s limit and was stopped") from None
        truncated = max_rows is not None and len(rows) > max_rows
        return QueryResult(columns, [[_jsonable(v) for v in row] for row in rows[:max_rows]], truncated)
    finally:
        if timer is not None:
            timer.cancel()
        if not write:
            with contextlib.suppress(duckdb.Error):
                cur.execute("rollback")
        cur.close()


def open_read_only(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection with file access off (``READ_CONFIG``), or duckdb.IOException if a writer holds the file."""
    return duckdb.connect(str(path), read_only=True, config=READ_CONFIG)
