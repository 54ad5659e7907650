"""Run the OpenAI-compatible stub on its own event loop in a thread, for tests whose worker is a subprocess."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from goalconvo.devtools.openai_stub import OpenAIStubServer


class StubThread:
    def __init__(self, **kw: Any):
        self.server = OpenAIStubServer(**kw)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> OpenAIStubServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
