"""A Hugging Face transformers chat model on the CPU: ``--llm local --model NAME_OR_FOLDER``.

``NAME`` loads from the Hugging Face hub where the machine has internet (and
its cache afterwards); a folder written by ``save_pretrained`` loads offline.
The model must have a chat template. Loaded once, called from one dedicated
thread, so the event loop never waits on the CPU.

transformers and torch are optional (``pip install 'goalconvo[similarity]'``
brings both, CPU build): the bundled GGUF default needs neither.
"""

from __future__ import annotations

from typing import Any

from goalconvo.llm.base import ChatMessage, Completion, CPUBackend, GenerationParams, LLMError


class TransformersBackend(CPUBackend):
    def __init__(self, model: str, *, timeout_s: float = 120.0, threads: int | None = None):
        super().__init__()
        self.model_spec = model
        self.timeout_s = timeout_s
        self.threads = threads
        self.model_name = f"hf:{model.rstrip('/').split('/')[-1] if '/' in model else model}"
        self._model: Any = None
        self._tok: Any = None

    def _load(self) -> tuple[Any, Any]:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise LLMError("transformers/torch are not installed: pip install 'goalconvo[similarity]'") from exc
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            tok = AutoTokenizer.from_pretrained(self.model_spec)
            model = AutoModelForCausalLM.from_pretrained(self.model_spec)
        except Exception as exc:  # no network, no such repo, not a causal LM
            raise LLMError(f"cannot load model {self.model_spec!r} from a folder or the hub: {exc}") from exc
        if not getattr(tok, "chat_template", None):
            raise LLMError(f"model {self.model_spec!r} has no chat template; use an instruction-tuned model")
        model.eval()
        return model, tok

    async def start(self) -> None:
        if self._model is None:
            self._model, self._tok = await self.run_in_thread(self._load)

    def _call(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        import torch

        tok, model = self._tok, self._model
        ids = tok.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages], add_generation_prompt=True, return_tensors="pt",
            return_dict=True,
        )
        input_ids = ids["input_ids"]
        if params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.no_grad():
            out = model.generate(
                **ids,
                do_sample=params.temperature > 0,
                temperature=max(params.temperature, 1e-5),
                top_p=params.top_p,
                max_new_tokens=params.max_tokens,
                pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
            )
        new = out[0, input_ids.shape[1]:]
        text = tok.decode(new, skip_special_tokens=True)
        for stop in params.stop:
            text = text.split(stop)[0]
        return Completion(text, int(input_ids.shape[1]), int(new.shape[0]), self.model_name)
