"""Queries against a corpus that a running sink holds open.

DuckDB lets one process open a file for writing and no other process open it
at all meanwhile. So the sink answers SQL over HTTP on loopback and announces
its address in ``<db>.endpoint``; ``goalconvo query`` opens the file directly
when it is free and asks the running process when it is not.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
from aiohttp import web

from goalconvo.core.httpd import LoopbackServer
from goalconvo.sinks.sql import QueryRefused, QueryResult, check_read_only, fetch, open_read_only
from goalconvo.sinks.store import CorpusStore


def endpoint_file(db: Path) -> Path:
    return Path(str(db) + ".endpoint")


class QueryServer(LoopbackServer):
    """Serves ``POST /query`` ({"sql", "allow_write"}) from the sink's own connection."""

    def __init__(self, store: CorpusStore, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.store = store
        self.app = web.Application()
        self.app.router.add_post("/query", self._handle_query)
        self.app.router.add_get("/health", self._health)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "db": str(self.store.path), "pid": os.getpid()})

    async def _handle_query(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            sql = str(body["sql"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "body must be JSON with a 'sql' field"}, status=400)
        try:
            res = await asyncio.get_running_loop().run_in_executor(
                None, lambda: self.store.query(sql, allow_write=bool(body.get("allow_write")))
            )
        except QueryRefused as exc:
            return web.json_response({"error": str(exc)}, status=403)
        except duckdb.Error as exc:
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
        return web.json_response({"columns": res.columns, "rows": res.rows})

    async def start(self) -> None:
        await self.serve(self.app)
        endpoint_file(self.store.path).write_text(json.dumps({"url": self.url, "pid": os.getpid()}))

    async def stop(self) -> None:
        try:
            endpoint_file(self.store.path).unlink()
        except FileNotFoundError:
            pass
        await super().stop()


class CorpusUnavailable(RuntimeError):
    pass


def _direct(db: Path, sql: str, allow_write: bool) -> QueryResult:
    if allow_write:
        con = duckdb.connect(str(db))
    else:
        check_read_only(sql)
        con = open_read_only(db)
    try:
        return fetch(con, sql)
    finally:
        con.close()


async def _remote(db: Path, sql: str, allow_write: bool, timeout_s: float) -> QueryResult:
    ep = endpoint_file(db)
    if not ep.exists():
        raise CorpusUnavailable(
            f"{db} is locked by another process that does not serve queries (no {ep.name}); "
            "stop it or query through the process that runs the pipeline"
        )
    url = json.loads(ep.read_text())["url"]
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as s:
            async with s.post(f"{url}/query", json={"sql": sql, "allow_write": allow_write}) as r:
                body: dict[str, Any] = await r.json()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise CorpusUnavailable(f"{db} is locked and the running sink at {url} did not answer: {exc}") from None
    if "error" in body:
        if r.status == 403:
            raise QueryRefused(body["error"])
        raise CorpusUnavailable(body["error"])
    return QueryResult(body["columns"], body["rows"])


def run_query(db: Path, sql: str, *, allow_write: bool = False, timeout_s: float = 30.0) -> QueryResult:
    """Answer ``sql`` from the file if it is free, else through the running sink."""
    db = Path(db)
    if not db.exists():
        raise CorpusUnavailable(f"no corpus at {db}; run `goalconvo run` first or pass --db")
    try:
        return _direct(db, sql, allow_write)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
    return asyncio.run(_remote(db, sql, allow_write, timeout_s))
