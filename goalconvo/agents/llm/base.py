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

    task: Literal["experience", "user", "bot", "judge"]
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
