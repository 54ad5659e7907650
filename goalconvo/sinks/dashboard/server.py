"""``goalconvo dashboard``: the page and its JSON API on loopback. Everything it needs is bundled (no CDN).

A free file written by an older version is upgraded once, when the dashboard starts (it says so on
stderr); a request never writes the file. Requests must name a loopback host (``core.httpd``), and
bad parameters answer 400.
"""

from __future__ import annotations

import asyncio
import importlib.resources
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from goalconvo.core.httpd import LoopbackServer
from goalconvo.sinks.dashboard import data
from goalconvo.sinks.query_server import CorpusUnavailable, upgrade_if_outdated

STATIC = importlib.resources.files("goalconvo.sinks.dashboard") / "static"
TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


#: The most dialogues one page of the list returns.
MAX_PAGE = 200


class Dashboard(LoopbackServer):
    def __init__(self, db: Path, host: str = "127.0.0.1", port: int = 8765, *, allowed_hosts: tuple[str, ...] | list[str] = ()):
        super().__init__(host, port, allowed_hosts=allowed_hosts)
        self.db = Path(db)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/summary", self._summary)
        app.router.add_get("/api/dialogues", self._dialogues)
        app.router.add_get("/api/dialogues/{dialogue_id}", self._dialogue)
        return app

    async def start(self) -> None:
        # Once, before serving: an older free file is upgraded here, never by a request.
        await asyncio.get_running_loop().run_in_executor(None, upgrade_if_outdated, self.db)
        await self.serve(self.app())

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=(STATIC / "index.html").read_text(), content_type="text/html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        f = STATIC / name
        suffix = Path(name).suffix
        if "/" in name or name.startswith(".") or suffix not in TYPES or not f.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=f.read_bytes(), content_type=TYPES[suffix])

    async def _json(self, fn: Any) -> web.Response:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, fn)
        except CorpusUnavailable as exc:
            return web.json_response({"error": str(exc)}, status=503)
        if result is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(result, dumps=_dumps)

    async def _summary(self, request: web.Request) -> web.Response:
        return await self._json(partial(data.summary, self.db, request.query.get("reference") or None))

    async def _dialogues(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            limit, offset = int(q.get("limit", "50")), int(q.get("offset", "0"))
        except ValueError:
            return _bad("limit and offset are whole numbers")
        if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= 10**12:
            return _bad(f"limit must be 1 to {MAX_PAGE} and offset 0 or more")
        accepted = q.get("accepted") or None
        if accepted not in (None, "true", "false"):
            return _bad("accepted is true or false")
        return await self._json(partial(data.dialogues, self.db, q.get("set") or None, accepted, limit, offset))

    async def _dialogue(self, request: web.Request) -> web.Response:
        return await self._json(partial(data.dialogue, self.db, request.match_info["dialogue_id"]))


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, default=str)
