"""vLLM in this process (``AsyncLLMEngine``), for a GPU machine with no separate server.

Installed with the ``[vllm]`` extra and imported only when ``--llm vllm-inprocess``
is chosen, so the rest of GoalConvo never pays for (or needs) vLLM and CUDA.
Many dialogues in flight become one continuous batch inside the engine.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from goalconvo.llm.base import CallContext, ChatMessage, Completion, GenerationParams, LLMBackend, LLMError


class VLLMInProcessBackend(LLMBackend):
    def __init__(self, model: str | None, *, max_in_flight: int = 64, timeout_s: float = 120.0, **engine_kw: Any):
        if not model:
            raise LLMError("--llm vllm-inprocess needs --model (a Hugging Face model name or folder)")
        self.model = model
        self.engine_kw = engine_kw
        self.timeout_s = timeout_s
        self.model_name = f"vllm:{model}"
        self._slots = asyncio.Semaphore(max_in_flight)
        self._engine: Any = None
        self._tokenizer: Any = None
        self._ids = itertools.count()

    async def start(self) -> None:
        if self._engine is not None:
            return
        try:
            from vllm import AsyncEngineArgs, AsyncLLMEngine
        except ImportError as exc:
            raise LLMError("vLLM is not installed: pip install 'goalconvo[vllm]' (needs a CUDA GPU)") from exc
        self._engine = AsyncLLMEngine.from_engine_args(AsyncEngineArgs(model=self.model, **self.engine_kw))
        tok = self._engine.get_tokenizer()
        self._tokenizer = await tok if asyncio.iscoroutine(tok) else tok

    async def close(self) -> None:
        if self._engine is not None and hasattr(self._engine, "shutdown"):
            self._engine.shutdown()
        self._engine = None

    @staticmethod
    def _sampling(params: GenerationParams) -> Any:
        from vllm import SamplingParams

        kw: dict[str, Any] = dict(
            temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens,
            stop=list(params.stop) or None, seed=params.seed,
        )
        if params.json_schema is not None:
            try:  # vLLM >= 0.10
                from vllm.sampling_params import StructuredOutputsParams

                kw["structured_outputs"] = StructuredOutputsParams(json=params.json_schema)
            except ImportError:  # older releases
                from vllm.sampling_params import GuidedDecodingParams

                kw["guided_decoding"] = GuidedDecodingParams(json=params.json_schema)
        return SamplingParams(**kw)

    async def complete(
        self, messages: list[ChatMessage], params: GenerationParams, context: CallContext | None = None
    ) -> Completion:
        await self.start()
        prompt = self._tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages], tokenize=False, add_generation_prompt=True
        )
        request_id = f"goalconvo-{next(self._ids)}"
        async with self._slots:
            final = None

            async def drain() -> None:
                nonlocal final
                async for out in self._engine.generate(prompt, self._sampling(params), request_id):
                    final = out

            try:
                await asyncio.wait_for(drain(), self.timeout_s)
            except asyncio.TimeoutError:
                await self._engine.abort(request_id)
                raise LLMError(f"vLLM did not finish within {self.timeout_s}s") from None
        if final is None or not final.outputs:
            raise LLMError("vLLM returned no output")
        out = final.outputs[0]
        return Completion(
            text=out.text,
            prompt_tokens=len(final.prompt_token_ids or []),
            completion_tokens=len(out.token_ids or []),
            model=self.model_name,
        )
