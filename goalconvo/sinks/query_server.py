"""Queries against a corpus that a running sink holds open.

DuckDB lets one process open a file for writing and no other process open it
at all meanwhile. So the sink answers SQL over HTTP on loopback and announces
its address in ``<db>.endpoint``; ``goalconvo query`` opens the file directly
when it is free and asks the running process when it is not.

Values travel as bound parameters (``params``), never spliced into the SQL.
A read needs no token and can neither change the corpus nor reach a file: it is
guarded, run in a read-only transaction that is rolled back, on a database whose
file access is off (``sql.run_read``), within ``query_timeout_s`` and returning at
most ``query_max_rows`` rows. A write (``allow_write``) needs the random token the
sink writes to ``<db>.endpoint.token`` (mode 0600, readable by the file's owner
only), sent as ``Authorization: Bearer <token>``: another local user cannot write
through the endpoint. Only JSON bodies are taken, and only requests naming a
loopback host (``core.httpd``): a web page cannot post to it or rebind a name to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
from aiohttp import web

from goalconvo.core import exits
from goalconvo.core.httpd import LoopbackServer
from goalconvo.sinks import schema
from goalconvo.sinks.sql import QueryRefused, QueryResult, QueryTimeout, open_read_only, run_read
from goalconvo.sinks.store import CorpusStore


def endpoint_file(db: Path) -> Path:
    return Path(str(db) + ".endpoint")


def token_file(db: Path) -> Path:
    """Where the running sink keeps the token a write through its endpoint must show."""
    return Path(str(db) + ".endpoint.token")


def _write_new(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to a new file of ``mode``: an old file (or a symlink planted there) is removed, never
    written through (``O_EXCL | O_NOFOLLOW``: a link that appears in between makes this fail)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file only its owner can read."""
    _write_new(path, text, 0o600)


def _remove_announcement(db: Path) -> None:
    for f in (endpoint_file(db), token_file(db)):
        f.unlink(missing_ok=True)


class QueryServer(LoopbackServer):
    """Serves ``POST /query`` ({"sql", "params", "allow_write"}, JSON) from the sink's own connection."""

    def __init__(self, store: CorpusStore, host: str = "127.0.0.1", port: int = 0, *,
                 allowed_hosts: tuple[str, ...] | list[str] = (), timeout_s: float = 30.0, max_rows: int = 10_000):
        super().__init__(host, port, allowed_hosts=allowed_hosts)
        self.store = store
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.token = secrets.token_urlsafe(32)
        self._cleanup: int | None = None
        self.app = web.Application()
        self.app.router.add_post("/query", self._handle_query)
        self.app.router.add_get("/health", self._health)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "db": str(self.store.path), "pid": os.getpid()})

    async def _handle_query(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            # A browser sends text/plain or a form without asking first (no CORS preflight): never taken.
            return web.json_response({"error": "the body must be JSON (Content-Type: application/json)"}, status=415)
        try:
            body = await request.json()
            if not isinstance(body, dict) or not isinstance(body.get("sql"), str):
                raise TypeError("no sql")
            sql = body["sql"]
            params = body.get("params")
            if params is not None and not isinstance(params, list):
                raise TypeError("params must be a list")
            allow_write = body.get("allow_write", False)
            if not isinstance(allow_write, bool):
                raise TypeError("allow_write must be true or false")
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response(
                {"error": "body must be JSON with a 'sql' string (and a 'params' list, 'allow_write' true/false)"},
                status=400,
            )
        if allow_write and not self._authorized(request):
            return web.json_response(
                {"error": f"writes through the running sink need its token (in {token_file(self.store.path)})"},
                status=403,
            )
        try:
            res = await asyncio.get_running_loop().run_in_executor(
                None, lambda: self.store.query(sql, params, allow_write=allow_write,
                                               timeout_s=self.timeout_s, max_rows=self.max_rows)
            )
        except QueryRefused as exc:
            return web.json_response({"error": str(exc)}, status=403)
        except QueryTimeout as exc:
            return web.json_response({"error": f"{exc} (GOALCONVO_QUERY_TIMEOUT_S)"}, status=408)
        except duckdb.PermissionException as exc:
            return web.json_response({"error": f"{exc}. The running sink reads and writes no file but the corpus "
                                               "(its query endpoint is open to reads): stop the pipeline to COPY to "
                                               "or read from a file, or use `goalconvo export`"}, status=403)
        except duckdb.Error as exc:
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
        body = {"columns": res.columns, "rows": res.rows}
        if res.truncated:
            body["truncated"] = True  # the first max_rows rows only
        return web.json_response(body)

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    async def start(self) -> None:
        await self.serve(self.app)
        db = self.store.path
        # Removed on any exit that runs code (an error, a forced exit), not only on a stop in order.
        self._cleanup = exits.on_exit(f"endpoint files of {db}", lambda: _remove_announcement(db))
        _write_private(token_file(db), self.token)
        _write_new(endpoint_file(db), json.dumps({"url": self.url, "pid": os.getpid()}), 0o644)

    async def stop(self) -> None:
        _remove_announcement(self.store.path)
        exits.cancel(self._cleanup)
        await super().stop()


class CorpusUnavailable(RuntimeError):
    pass


def _direct(db: Path, sql: str, allow_write: bool, params: list[Any] | None = None) -> QueryResult:
    """The file is free: a read on a read-only connection (file access off, as through a sink); a write
    through the store (so the tallies follow it: ``CorpusStore.query``)."""
    if allow_write:
        store = CorpusStore(db)
        try:
            return store.query(sql, params, allow_write=True)
        finally:
            store.close()
    con = open_read_only(db)
    try:
        return run_read(con, sql, params)
    finally:
        con.close()


async def _remote(db: Path, sql: str, allow_write: bool, timeout_s: float, params: list[Any] | None = None) -> QueryResult:
    ep = endpoint_file(db)
    if not ep.exists():
        raise CorpusUnavailable(
            f"{db} is locked by another process that does not serve queries (no {ep.name}); "
            "stop it or query through the process that runs the pipeline"
        )
    url = json.loads(ep.read_text())["url"]
    headers = {}
    if allow_write:
        try:
            headers["Authorization"] = f"Bearer {token_file(db).read_text().strip()}"
        except OSError as exc:
            raise QueryRefused(f"writing through the running sink needs its token: {exc}") from None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as s:
            payload = {"sql": sql, "params": params, "allow_write": allow_write}
            async with s.post(f"{url}/query", json=payload, headers=headers) as r:
                body: dict[str, Any] = await r.json()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise CorpusUnavailable(f"{db} is locked and the running sink at {url} did not answer: {exc}") from None
    if "error" in body:
        if r.status == 403:
            raise QueryRefused(body["error"])
        raise CorpusUnavailable(body["error"])
    return QueryResult(body["columns"], body["rows"], bool(body.get("truncated")))


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    try:
        return con.execute("select coalesce(max(version), 0) from schema_version").fetchone()[0]
    except duckdb.CatalogException:
        return 0


def _upgrade(db: Path) -> None:
    """A free file written by an older version: opened for writing once, so its schema and figures are current.

    The reads (``metrics``, the dashboard) expect the latest tables; a running sink has upgraded its file already.
    """
    t = time.monotonic()
    print(f"upgrading {db} to the current schema (once; figures are filled in for every stored dialogue)...",
          file=sys.stderr, flush=True)
    CorpusStore(db).close()
    print(f"upgraded {db} in {time.monotonic() - t:.1f} s", file=sys.stderr, flush=True)


class CorpusOutdated(CorpusUnavailable):
    """A free file of an older schema, read where no upgrade may happen (a dashboard request)."""


def upgrade_if_outdated(db: Path) -> bool:
    """Upgrade a free file of an older schema now (``_upgrade``); False when it is current, held or absent."""
    db = Path(db)
    if not db.exists():
        return False
    try:
        con = open_read_only(db)
    except duckdb.IOException:
        return False  # held by a running sink, which has upgraded it
    try:
        outdated = _schema_version(con) < len(schema.MIGRATIONS)
    finally:
        con.close()
    if outdated:
        _upgrade(db)
    return outdated


@contextlib.contextmanager
def reader(db: Path, *, upgrade: bool = False) -> Iterator[Callable[..., QueryResult]]:
    """``query(sql, params=None)`` for several reads: one read-only connection while the file is free
    (opening one costs more than a small query), else each through the running sink. A free file of an
    older schema is upgraded first when ``upgrade`` (``goalconvo metrics``, a command the user ran), else
    refused with ``CorpusOutdated``: a read never writes the file on its own (a dashboard request)."""
    db = Path(db)
    if not db.exists():
        raise CorpusUnavailable(f"no corpus at {db}; run `goalconvo run` first or pass --db")
    try:
        con = open_read_only(db)
        if _schema_version(con) < len(schema.MIGRATIONS):
            con.close()
            if not upgrade:
                raise CorpusOutdated(f"{db} was written by an older version; restart the dashboard (it upgrades "
                                     "the file when it starts) or run `goalconvo metrics` once")
            _upgrade(db)
            con = open_read_only(db)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        yield lambda sql, params=None: run_query(db, sql, params)
        return

    def query(sql: str, params: list[Any] | None = None) -> QueryResult:
        return run_read(con, sql, list(params) if params is not None else None)

    try:
        yield query
    finally:
        con.close()


def run_query(
    db: Path, sql: str, params: list[Any] | None = None, *, allow_write: bool = False, timeout_s: float = 30.0
) -> QueryResult:
    """Answer ``sql`` (with ``?`` bound to ``params``) from the file if it is free, else through the running sink."""
    db = Path(db)
    if not db.exists():
        raise CorpusUnavailable(f"no corpus at {db}; run `goalconvo run` first or pass --db")
    params = list(params) if params is not None else None
    try:
        return _direct(db, sql, allow_write, params)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
    return asyncio.run(_remote(db, sql, allow_write, timeout_s, params))
