"""Serving an aiohttp app on loopback: the query endpoint, the dashboard and the OpenAI stub share this."""

from __future__ import annotations

from aiohttp import web


class LoopbackServer:
    """Start ``app`` on host:port (0 picks a free port, read back from the socket); stop it cleanly."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def serve(self, app: web.Application, **runner_kw: object) -> None:
        self._runner = web.AppRunner(app, access_log=None, **runner_kw)  # type: ignore[arg-type]
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
