"""A loopback server that speaks the OpenAI chat-completions API, for tests and benchmarks.

It stands in for ``vllm serve`` where there is no GPU: it answers after a fixed
delay, counts the requests it holds at once (the figure a benchmark and the
concurrency test read), and injects faults on demand (HTTP 500, 429, a body
that is not JSON, a reply slower than the client's timeout, or going away
altogether). Its replies are canned lines chosen by the role prompt it sees,
enough to drive the pipeline to the end of a dialogue; they say nothing about
generation quality.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from goalconvo.core.httpd import LoopbackServer

Reply = Callable[[list[dict[str, Any]], dict[str, Any]], str]
FaultFor = Callable[[dict[str, Any]], "str | None"]
FAULTS = ("500", "429", "garbage", "timeout", "drop")


def canned_reply(messages: list[dict[str, Any]], body: dict[str, Any], user_turns: int = 2) -> str:
    """A plausible line for the role the system prompt sets up; the user ends after ``user_turns`` turns."""
    system = str(messages[0].get("content", "")) if messages else ""
    turns = len(messages) - 1
    if body.get("response_format"):
        return orjson.dumps(
            {"goal_relevance": 5, "coherence": 4, "fluency": 5, "task_completion": 4, "rationale": "stub verdict"}
        ).decode()
    if "opening line" in system:
        return "Hello, I am looking for a place to stay in the centre of town."
    if "You are a customer" in system:
        if turns >= 2 * user_turns - 1:
            return "That is everything, thank you. Goodbye! [END]"
        return _USER_LINES[(turns // 2) % len(_USER_LINES)]
    return _BOT_LINES[(turns // 2) % len(_BOT_LINES)]


_USER_LINES = (
    "Could you tell me the phone number, please?",
    "And what is the address there?",
    "Is it in the centre of town, by any chance?",
    "Does it have free parking for guests?",
    "What price range would that be in?",
)
_BOT_LINES = (
    "Certainly. I found a match for you; is there anything else you need?",
    "Of course, here are the details you asked for.",
    "Yes, that one is a good choice for what you describe.",
    "I have checked that for you; it does.",
    "It is in the moderate range.",
)


@dataclass
class StubStats:
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    faults: Counter = field(default_factory=Counter)
    #: (time, in_flight) each time a request arrives, for a benchmark's average.
    samples: list[tuple[float, int]] = field(default_factory=list)
    #: (request number, number of messages, first 80 characters of the system prompt), in arrival order.
    log: list[tuple[int, int, str]] = field(default_factory=list)


class OpenAIStubServer(LoopbackServer):
    """``async with OpenAIStubServer(delay_s=0.2) as srv: srv.base_url``."""

    def __init__(
        self,
        *,
        delay_s: float = 0.0,
        model: str = "stub-model",
        reply: Reply = canned_reply,
        host: str = "127.0.0.1",
        port: int = 0,
        hang_s: float = 3600.0,
        fault_for: FaultFor | None = None,
    ):
        super().__init__(host, port)
        self.delay_s = delay_s
        self.model = model
        self.reply = reply
        self.hang_s = hang_s
        self.stats = StubStats()
        #: Faults served to the next requests, in order (e.g. ["500", "garbage"]).
        self.fault_queue: list[str] = []
        #: Fault per request number (1-based), for faults at fixed points.
        self.fault_at: dict[int, str] = {}
        #: A fault chosen from the request body (e.g. always fail one kind of prompt).
        self.fault_for = fault_for
        #: Set when a request arrives (tests wait on it).
        self.arrived = asyncio.Event()
        self.down = False
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    async def start(self) -> None:
        await self.serve(self._app(), shutdown_timeout=0.1)

    async def __aenter__(self) -> "OpenAIStubServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        n = next(self._ids)
        st = self.stats
        st.requests += 1
        st.in_flight += 1
        st.peak_in_flight = max(st.peak_in_flight, st.in_flight)
        st.samples.append((time.monotonic(), st.in_flight))
        try:
            body = orjson.loads(await request.read())
            msgs = body.get("messages") if isinstance(body, dict) else None
            if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict):
                st.log.append((n, len(msgs), str(msgs[0].get("content", ""))[:80]))
            self.arrived.set()
            fault = self.fault_at.pop(n, None) or (self.fault_queue.pop(0) if self.fault_queue else None)
            if fault is None and self.fault_for is not None:
                fault = self.fault_for(body)
            if self.down:
                fault = "drop"
            if fault:
                st.faults[fault] += 1
            if fault == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=503)
            if fault == "timeout":
                await asyncio.sleep(self.hang_s)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if fault == "500":
                return web.json_response({"error": {"message": "injected server error"}}, status=500)
            if fault == "429":
                return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0"})
            if fault == "garbage":
                return web.Response(body=b"<html>502 gateway hiccup</html>", content_type="text/html")
            messages = body.get("messages")
            if not isinstance(messages, list) or not body.get("model"):
                return web.json_response({"error": {"message": "messages and model are required"}}, status=400)
            text = self.reply(messages, body)
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
            return web.json_response(
                {
                    "id": f"cmpl-{n}",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split())},
                }
            )
        finally:
            st.in_flight -= 1


def main() -> None:
    """``python -m goalconvo.devtools.openai_stub --port 8000 --delay 0.2``: try ``--llm vllm`` without a GPU."""
    import argparse

    ap = argparse.ArgumentParser(description="A loopback OpenAI-compatible stub server (canned replies).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds per reply")
    args = ap.parse_args()

    async def serve() -> None:
        async with OpenAIStubServer(delay_s=args.delay, host=args.host, port=args.port) as srv:
            print(f"OpenAI-compatible stub on {srv.base_url} (model {srv.model}); Ctrl-C to stop", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
