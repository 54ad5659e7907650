"""LLM backends behind one async interface (see base.py); ``create_backend`` picks one."""

from __future__ import annotations

from pathlib import Path

from goalconvo.core.settings import Settings, secret
from goalconvo.llm.base import (
    CallContext,
    ChatMessage,
    Completion,
    GenerationParams,
    LLMBackend,
    LLMError,
)

__all__ = ["CallContext", "ChatMessage", "Completion", "GenerationParams", "LLMBackend", "LLMError", "create_backend"]


def _is_gguf(spec: str | None) -> bool:
    """The bundled default, a .gguf file, or ``REPO:FILE.gguf`` on the hub: llama.cpp."""
    if spec is None or spec in ("qwen2.5-coder-0.5b", "smollm2"):
        return True
    if spec.lower().endswith(".gguf") or ":" in spec:
        return True
    return Path(spec).is_file()


def create_backend(settings: Settings) -> LLMBackend:
    """The backend ``settings.llm`` names; heavy imports happen only for the chosen one."""
    if settings.llm == "scripted":
        from goalconvo.llm.scripted import ScriptedBackend

        return ScriptedBackend(delay_s=settings.llm_delay_s)
    if settings.llm == "local":
        if _is_gguf(settings.model):
            from goalconvo.llm.local import LocalLlamaBackend

            return LocalLlamaBackend(settings.model, timeout_s=settings.llm_timeout_s,
                                     weight_repack=settings.llama_weight_repack)
        from goalconvo.llm.transformers_local import TransformersBackend

        return TransformersBackend(settings.model or "", timeout_s=settings.llm_timeout_s)
    if settings.llm == "vllm":
        from goalconvo.llm.vllm_server import VLLMServerBackend

        return VLLMServerBackend(
            [u.strip() for u in settings.llm_urls.split(",") if u.strip()],
            settings.model,
            max_in_flight=settings.max_in_flight,
            timeout_s=settings.llm_timeout_s,
            retries=settings.llm_retries,
            backoff_s=settings.llm_backoff_s,
            api_key=secret(settings.llm_api_key),
            outage_s=settings.llm_outage_s,
            json_mode=settings.llm_json_mode,
        )
    if settings.llm == "vllm-inprocess":
        from goalconvo.llm.vllm_inprocess import VLLMInProcessBackend

        return VLLMInProcessBackend(settings.model, max_in_flight=settings.max_in_flight, timeout_s=settings.llm_timeout_s)
    raise LLMError(f"unknown LLM backend {settings.llm!r}")
