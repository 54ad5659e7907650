"""vLLM's OpenAI-compatible server (``vllm serve MODEL``), or any server speaking that API.

Throughput comes from many requests in flight (vLLM batches them), so this
backend keeps up to ``max_in_flight`` calls open at once across one or more
base URLs (round-robin; a retry moves to the next URL, so one dead replica does
not stall the rest). A call is retried with exponential backoff and jitter on
429, 5xx, a timeout, a dropped connection or a body that is not a chat
completion; any other 4xx is the caller's mistake and fails at once with the
server's own message. Structured output uses ``response_format`` with a JSON
schema, which vLLM's server turns into guided decoding.

Servers spell that differently: vLLM (and OpenAI) take
``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``; llama.cpp's
``llama_cpp.server`` takes only ``{"type": "json_object", "schema": {...}}`` and
answers the other form with HTTP 500 (its validation error, "Input should be 'text'
or 'json_object'"). ``json_mode`` picks one, or ``"auto"``: send ``json_schema``
first and, on an error status whose body mentions ``response_format``, resend at
once (no backoff, no retry counted) as ``json_object`` and keep that form for every
later call.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from goalconvo.llm.base import CallContext, ChatMessage, Completion, GenerationParams, LLMBackend, LLMError

DOWN_COOLDOWN_S = 5.0
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
JSON_MODES = ("auto", "json_schema", "json_object")


class _FormatRefused(Exception):
    """The server refused the request's ``response_format`` form (auto mode tries the other)."""


class _Retryable(Exception):
    """One attempt failed in a way another attempt may not."""

    def __init__(self, reason: str, retry_after: float | None = None, unreachable: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.unreachable = unreachable


@dataclass
class CallStats:
    """What a benchmark or test wants to know about the traffic."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    failures: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers else None
    try:
        return min(30.0, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


class VLLMServerBackend(LLMBackend):
    def __init__(
        self,
        urls: list[str],
        model: str | None = None,
        *,
        max_in_flight: int = 16,
        timeout_s: float = 120.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        api_key: str | None = None,
        outage_s: float = 60.0,
        json_mode: str = "auto",
    ):
        if not urls:
            raise LLMError("the vllm backend needs at least one base URL (--llm-urls)")
        if json_mode not in JSON_MODES:
            raise LLMError(f"json_mode must be one of {', '.join(JSON_MODES)}, not {json_mode!r}")
        self.urls = [u.rstrip("/") for u in urls]
        self.model = model
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.api_key = api_key
        self.outage_s = outage_s
        self.json_mode = json_mode
        #: The structured-output form in use: fixed by the setting, or learnt in auto mode
        #: (None until a server has accepted or refused ``json_schema``).
        self.json_form: str | None = None if json_mode == "auto" else json_mode
        self.stats = CallStats()
        self._next_url = itertools.count()
        #: A replica that refused a connection is skipped for a while, while others answer.
        self._down_until: dict[str, float] = {}
        self._slots: asyncio.Semaphore | None = None
        self._session: aiohttp.ClientSession | None = None
        self.model_name = f"vllm:{model}" if model else "vllm:?"

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        if self._session is not None:
            return
        self._slots = asyncio.Semaphore(self.max_in_flight)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self._session = aiohttp.ClientSession(
            headers=headers,
            connector=aiohttp.TCPConnector(limit=self.max_in_flight * 2, limit_per_host=self.max_in_flight),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
        )
        if self.model is None:
            self.model = await self._discover_model()
            self.model_name = f"vllm:{self.model}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _discover_model(self) -> str:
        """The server's first model, as ``vllm serve`` exposes exactly one."""
        assert self._session is not None
        errors = []
        for url in self.urls:
            try:
                async with self._session.get(f"{url}/models") as resp:
                    body = await resp.read()
                    if resp.status == 200:
                        data = orjson.loads(body).get("data") or []
                        if data and isinstance(data[0], dict) and data[0].get("id"):
                            return str(data[0]["id"])
                    errors.append(f"{url}: HTTP {resp.status}")
            except (aiohttp.ClientError, asyncio.TimeoutError, orjson.JSONDecodeError, AttributeError) as exc:
                errors.append(f"{url}: {type(exc).__name__} {exc}")
        await self.close()
        raise LLMError("no --model given and no server said which model it serves: " + "; ".join(errors))

    def _pick_url(self, turn: int) -> str:
        """Round-robin from ``turn``, skipping replicas that recently refused connections."""
        n = len(self.urls)
        now = time.monotonic()
        for i in range(n):
            url = self.urls[(turn + i) % n]
            if self._down_until.get(url, 0.0) <= now:
                return url
        return self.urls[turn % n]

    # -- calls -----------------------------------------------------------------
    def request_body(
        self, messages: list[ChatMessage], params: GenerationParams, json_form: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.json_schema is not None:
            form = json_form or self.json_form or "json_schema"
            if form == "json_object":  # llama.cpp's server (llama_cpp.server, llama-server)
                body["response_format"] = {"type": "json_object", "schema": params.json_schema}
            else:  # vLLM, OpenAI
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "goalconvo", "schema": params.json_schema, "strict": True},
                }
        return body

    async def complete(
        self, messages: list[ChatMessage], params: GenerationParams, context: CallContext | None = None
    ) -> Completion:
        await self.start()
        assert self._slots is not None
        form = self.json_form or "json_schema"
        body = orjson.dumps(self.request_body(messages, params, form))
        # Only auto mode, with a schema and a form not yet settled, may fall back on a refusal.
        probing = params.json_schema is not None and self.json_mode == "auto" and self.json_form is None
        self.stats.calls += 1
        last = "no attempt made"
        start = next(self._next_url)
        outage_until = time.monotonic() + self.outage_s
        attempt = turn = 0
        while True:
            url = self._pick_url(start + turn)
            turn += 1
            try:
                async with self._slots:
                    self.stats.in_flight += 1
                    self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
                    try:
                        result = await self._attempt(url, body, probing and form == "json_schema")
                    finally:
                        self.stats.in_flight -= 1
                if probing and self.json_form is None:
                    self.json_form = form  # this server takes it: stop probing
                return result
            except _FormatRefused:
                # The server does not know json_schema: resend at once as json_object, and
                # remember it (a second refusal is a real error, raised by _attempt).
                self.json_form = form = "json_object"
                body = orjson.dumps(self.request_body(messages, params, form))
                continue
            except _Retryable as exc:
                last = f"{url}: {exc}"
                # A server that cannot be reached at all is waited for (up to outage_s), not
                # counted against the retries: a restarting vLLM must not kill every dialogue.
                waiting_out = exc.unreachable and time.monotonic() < outage_until
                if exc.unreachable:
                    self._down_until[url] = time.monotonic() + DOWN_COOLDOWN_S
                if not waiting_out:
                    if attempt == self.retries:
                        break
                    attempt += 1
                self.stats.retries += 1
                delay = exc.retry_after
                if delay is None:
                    delay = min(self.backoff_max_s, self.backoff_s * 2 ** (turn - 1)) * random.uniform(0.5, 1.0)
                await asyncio.sleep(delay)
        self.stats.failures += 1
        raise LLMError(f"LLM call failed after {turn} attempts; last: {last}")

    async def _attempt(self, url: str, body: bytes, may_refuse_format: bool = False) -> Completion:
        assert self._session is not None
        self.stats.attempts += 1
        try:
            async with self._session.post(f"{url}/chat/completions", data=body) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except asyncio.TimeoutError:
            raise _Retryable(f"no answer within {self.timeout_s}s") from None
        except aiohttp.ClientError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__}: {exc})", unreachable=True) from None
        # Checked before the retry statuses: llama_cpp.server answers an unknown response_format
        # type with HTTP 500 (a validation error it does not map to 422), which must not be retried.
        if may_refuse_format and status >= 400 and b"response_format" in raw:
            raise _FormatRefused(raw[:200].decode("utf-8", "replace"))
        if status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {status}: {raw[:200].decode('utf-8', 'replace')}", _retry_after(headers))
        if status >= 400:
            raise LLMError(f"{url} refused the request, HTTP {status}: {raw[:500].decode('utf-8', 'replace')}")
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Completion:
        try:
            data = orjson.loads(raw)
            choice = data["choices"][0]
            text = choice["message"]["content"]
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
            raise _Retryable(f"not a chat completion ({type(exc).__name__}): {raw[:120]!r}") from None
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            model=self.model_name,
        )
