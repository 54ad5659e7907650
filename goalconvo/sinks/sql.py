"""SQL against the corpus: the read-only guard, JSON-safe results, read-only connections."""

from __future__ import annotations

from collections.abc import Iterable
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


def open_read_only(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection, or duckdb.IOException if a writer holds the file."""
    return duckdb.connect(str(path), read_only=True)
