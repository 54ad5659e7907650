"""SQL against the corpus: the read-only guard, JSON-safe results, read-only connections, column-wise inserts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}


class QueryRefused(ValueError):
    """A statement that would write, sent where writes are not allowed."""


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


def open_read_only(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection, or duckdb.IOException if a writer holds the file."""
    return duckdb.connect(str(path), read_only=True)
