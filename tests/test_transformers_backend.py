"""The hub-loading path (transformers ``from_pretrained``) on a tiny chat model the test builds and saves.

The model's weights are random: this proves the loading and calling code, not
generation quality (the bundled GGUF test and `goalconvo run` show that).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from goalconvo.core.settings import Settings
from goalconvo.llm import ChatMessage, GenerationParams, LLMError, create_backend

transformers = pytest.importorskip("transformers")

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def _tiny_chat_model(folder: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = "hello i need a hotel in the centre please book it for two people thank you goodbye".split()
    specials = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = CHAT_TEMPLATE
    cfg = LlamaConfig(
        vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=256, pad_token_id=1, bos_token_id=2, eos_token_id=3,
    )
    LlamaForCausalLM(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_a_saved_chat_model_loads_by_name_and_generates(tmp_path: Path):
    folder = _tiny_chat_model(tmp_path / "tiny-chat")
    backend = create_backend(Settings(llm="local", model=str(folder)))
    assert type(backend).__name__ == "TransformersBackend"
    assert backend.model_name == "hf:tiny-chat"

    async def go():
        try:
            return await backend.complete(
                [ChatMessage("system", "you book hotel"), ChatMessage("user", "i need a hotel please")],
                GenerationParams(max_tokens=6, seed=1, temperature=0.7),
            )
        finally:
            await backend.close()

    c = asyncio.run(go())
    assert c.prompt_tokens > 8 and 1 <= c.completion_tokens <= 6
    assert c.model == "hf:tiny-chat"
    vocab = "hello i need a hotel in the centre please book it for two people thank you goodbye".split()
    assert c.text.split() and set(c.text.split()) <= set(vocab) | {"<unk>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"}


def test_a_name_that_is_neither_a_folder_nor_reachable_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    backend = create_backend(Settings(llm="local", model="no-such-org/no-such-model"))

    async def go():
        with pytest.raises(LLMError) as err:
            await backend.start()
        await backend.close()
        return str(err.value)

    assert "cannot load model 'no-such-org/no-such-model'" in asyncio.run(go())
