"""LLM backends behind one async interface (see base.py); ``create_backend`` picks one."""

from __future__ import annotations

from goalconvo.agents.llm.base import (
    CallContext,
    ChatMessage,
    Completion,
    GenerationParams,
    LLMBackend,
    LLMError,
)
from goalconvo.settings import Settings

__all__ = ["CallContext", "ChatMessage", "Completion", "GenerationParams", "LLMBackend", "LLMError", "create_backend"]


def create_backend(settings: Settings) -> LLMBackend:
    """The backend ``settings.llm`` names; heavy imports happen only for the chosen one."""
    if settings.llm == "scripted":
        from goalconvo.agents.llm.scripted import ScriptedBackend

        return ScriptedBackend(delay_s=settings.llm_delay_s)
    if settings.llm == "local":
        from goalconvo.agents.llm.local import LocalLlamaBackend

        return LocalLlamaBackend(settings.model, timeout_s=settings.llm_timeout_s)
    raise LLMError(f"LLM backend {settings.llm!r} is not available in this build")
