"""The interface every LLM backend implements: chat messages in, text out.

Backends are async and never block the event loop: CPU models run in a
dedicated thread, HTTP backends keep many requests in flight.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


class LLMError(RuntimeError):
    """A call failed for good (after retries); the message says why."""


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class GenerationParams:
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 96
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: llama.cpp's penalty on repeated tokens (local CPU models only).
    repeat_penalty: float = 1.15
    #: A JSON schema the output must follow (structured output), or None for text.
    json_schema: dict[str, Any] | None = None
    #: Text the reply must not begin with: its first token is barred at the reply's first position
    #: (local llama.cpp models; servers ignore it). Phrasing passes its draft, so a small model that
    #: would copy the draft word for word starts a rewording of its own instead.
    avoid_start: str | None = None


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""


@dataclass
class CallContext:
    """What the call is for. Real backends ignore it; the scripted one reads it."""

    task: Literal["experience", "user", "bot", "judge", "phrase"]
    data: dict[str, Any] = field(default_factory=dict)


class LLMBackend(abc.ABC):
    """One model behind one async call."""

    #: Stored with every dialogue (e.g. ``vllm:mistral-7b-instruct``).
    model_name: str = "unknown"

    async def start(self) -> None:
        """Load weights or open connections; called once per process."""

    async def close(self) -> None:
        """Release what ``start`` acquired."""

    @abc.abstractmethod
    async def complete(
        self, messages: list[ChatMessage], params: GenerationParams, context: CallContext | None = None
    ) -> Completion:
        """Generate one reply to ``messages``."""


class CPUBackend(LLMBackend):
    """A model on this machine's CPU: loaded once, called from one dedicated thread.

    The event loop never waits on the CPU; the thread also serialises calls, as
    llama.cpp contexts and transformers models are not safe to share between threads.

    A call cannot be interrupted: one that times out keeps its thread until it
    returns. The error says so, and the next call starts only once it has returned
    (waiting at most ``timeout_s`` more, with a warning), so its own timeout measures
    the model, not a hidden queue behind the call that was given up on.
    """

    timeout_s: float = 120.0

    def __init__(self) -> None:
        from concurrent.futures import Future, ThreadPoolExecutor

        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=type(self).__name__)
        #: A call that timed out and may still be running in the thread.
        self._overrun: Future | None = None
        self._turn: Any = None  # (event loop, asyncio.Lock): one call at a time

    @abc.abstractmethod
    def _call(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        """Generate, blocking (runs in the dedicated thread)."""

    async def run_in_thread(self, fn: Any, *args: Any) -> Any:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)

    def _lock(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._turn is None or self._turn[0] is not loop:
            self._turn = (loop, asyncio.Lock())
        return self._turn[1]

    async def _await_overrun(self) -> None:
        """Let a call that timed out return before the next one starts (bounded by ``timeout_s``)."""
        import asyncio
        import logging

        overrun = self._overrun
        if overrun is None or overrun.done():
            self._overrun = None
            return
        logging.getLogger(__name__).warning(
            "%s: the next call waits for a call that timed out to return (it cannot be interrupted)", self.model_name
        )
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(overrun)), self.timeout_s)
        except asyncio.TimeoutError:
            raise LLMError(
                f"{self.model_name}: a call that timed out is still running after another {self.timeout_s}s; "
                "no new call is started while it holds the model's thread"
            ) from None
        except Exception:  # noqa: BLE001 - its outcome was for a caller that already gave up
            pass
        self._overrun = None

    async def complete(
        self, messages: list[ChatMessage], params: GenerationParams, context: CallContext | None = None
    ) -> Completion:
        import asyncio

        await self.start()
        async with self._lock():
            await self._await_overrun()
            call = self._thread.submit(self._call, messages, params)
            try:
                return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(call)), self.timeout_s)
            except asyncio.TimeoutError:
                self._overrun = call
                raise LLMError(
                    f"{self.model_name} did not answer within {self.timeout_s}s; the call cannot be interrupted and "
                    "goes on in the model's thread, so the next call starts only when it returns"
                ) from None
            except asyncio.CancelledError:
                self._overrun = call  # the caller gave up; the thread did not
                raise
            except ValueError as exc:  # llama.cpp: a prompt longer than the context
                raise LLMError(f"{self.model_name} refused the prompt: {exc}") from exc
