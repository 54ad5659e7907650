"""Serving an aiohttp app on loopback: the query endpoint, the dashboard and the OpenAI stub share this.

A server on loopback is still reachable from a web page in the user's browser: a page can post
to ``http://127.0.0.1:PORT`` (a "simple" request needs no CORS preflight) or rebind its own name
to 127.0.0.1 (DNS rebinding) and read the answers. So every request must name a loopback host
(or one configured) in ``Host``, and an ``Origin``, when a browser sends one, must be such a host
too; anything else is refused with 403 before any handler runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from yarl import URL

#: The host names a loopback server answers to, whatever port it is on.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def allowed_host_names(bound_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the interface the server is bound to (unless it is every interface) and ``extra``."""
    names = set(LOOPBACK_NAMES) | {h.strip().lower().strip("[]") for h in extra if h.strip()}
    if bound_host not in ("", "0.0.0.0", "::"):
        names.add(bound_host.lower().strip("[]"))
    return frozenset(names)


def _host_name(value: str) -> str | None:
    """The host part of a ``Host`` header value (``[::1]:8080`` -> ``::1``), or None if it is no host."""
    try:
        host = URL(f"http://{value}").host
    except ValueError:
        return None
    return host.lower().strip("[]") if host else None


def host_guard(allowed: frozenset[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware: 403 unless ``Host`` (and ``Origin``, if sent) names one of ``allowed``."""

    @web.middleware
    async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        host = _host_name(request.headers.get("Host", ""))
        if host not in allowed:
            return web.json_response({"error": "this server answers only requests to its own loopback address "
                                               "(Host header refused)"}, status=403)
        origin = request.headers.get("Origin")
        if origin is not None:
            try:
                o = URL(origin)
            except ValueError:
                o = None
            if o is None or o.scheme not in ("http", "https") or (o.host or "").lower().strip("[]") not in allowed:
                return web.json_response({"error": "cross-origin requests are refused (Origin header)"}, status=403)
        return await handler(request)

    return guard


class LoopbackServer:
    """Start ``app`` on host:port (0 picks a free port, read back from the socket); stop it cleanly.

    ``allowed_hosts`` adds host names to the loopback ones the Host/Origin check accepts.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, allowed_hosts: Iterable[str] = ()):
        self.host = host
        self.port = port
        self.allowed = allowed_host_names(host, allowed_hosts)
        self._runner: web.AppRunner | None = None

    async def serve(self, app: web.Application, **runner_kw: object) -> None:
        if not app.frozen:  # a server started again keeps the guard it got the first time
            app.middlewares.insert(0, host_guard(self.allowed))
        self._runner = web.AppRunner(app, access_log=None, **runner_kw)  # type: ignore[arg-type]
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
