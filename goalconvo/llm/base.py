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
    #: A JSON schema the output must follow (structured output), or None for text.
    json_schema: dict[str, Any] | None = None


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
    """

    timeout_s: float = 120.0

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=type(self).__name__)

    @abc.abstractmethod
    def _call(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        """Generate, blocking (runs in the dedicated thread)."""

    async def run_in_thread(self, fn: Any, *args: Any) -> Any:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def complete(
        self, messages: list[ChatMessage], params: GenerationParams, context: CallContext | None = None
    ) -> Completion:
        import asyncio

        await self.start()
        try:
            return await asyncio.wait_for(self.run_in_thread(self._call, messages, params), self.timeout_s)
        except asyncio.TimeoutError:
            raise LLMError(f"{self.model_name} did not answer within {self.timeout_s}s") from None
        except ValueError as exc:  # llama.cpp: a prompt longer than the context
            raise LLMError(f"{self.model_name} refused the prompt: {exc}") from exc
