"""The offline default model really generates (Qwen2.5-Coder-0.5B assembled from its pinned wheels)."""

import asyncio

import pytest

from goalconvo.agents.dialogue import DialogueEngine
from goalconvo.core.goals import builtin_goals
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.llm import ChatMessage, GenerationParams, create_backend


@pytest.mark.slow
def test_local_backend_loads_the_bundled_model_and_answers():
    backend = create_backend(Settings(llm="local"))

    async def go():
        await backend.start()
        try:
            return await backend.complete(
                [ChatMessage("system", "You are a helpful assistant."), ChatMessage("user", "Name a colour.")],
                GenerationParams(max_tokens=16, temperature=0.0, seed=1),
            )
        finally:
            await backend.close()

    out = asyncio.run(go())
    assert backend.model_name == "local:qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert out.text.strip() and out.completion_tokens > 0 and out.prompt_tokens > 0


@pytest.mark.slow
def test_local_model_drives_one_exchange_of_a_dialogue():
    s = Settings(llm="local", max_tokens=40, max_turns=1)
    backend = create_backend(s)
    eng = DialogueEngine(backend, VenueDB.load(), s)

    async def go():
        st = await eng.start(builtin_goals()[0], "r-local")
        st = await eng.user_turn(st)
        return await eng.bot_turn(st)

    step = asyncio.run(go())
    assert step.finished is not None and step.finished.stop_reason in ("max_turns", "goal_done")
    assert [t.speaker for t in step.state.turns] == ["user", "bot"]
    assert all(len(t.text.split()) >= 2 for t in step.state.turns)
    assert step.state.llm_calls == 2 and step.state.completion_tokens > 0


@pytest.mark.slow
def test_avoid_start_bars_the_first_token_only():
    """Greedy decoding would start with the same token twice; barred, it starts otherwise."""
    backend = create_backend(Settings(llm="local"))
    ask = [ChatMessage("system", "Repeat the user's line exactly."), ChatMessage("user", "Hello there, hello again.")]

    async def go():
        await backend.start()
        try:
            free = await backend.complete(ask, GenerationParams(max_tokens=12, temperature=0.0, seed=1))
            barred = await backend.complete(ask, GenerationParams(max_tokens=12, temperature=0.0, seed=1,
                                                                  avoid_start=free.text))
            return free.text, barred.text
        finally:
            await backend.close()

    free, barred = asyncio.run(go())
    tok = backend._llm.tokenize
    first = lambda t: tok(t.strip().encode(), add_bos=False, special=False)[:1]  # noqa: E731
    assert free.strip() and barred.strip()
    assert first(barred) != first(free), (free, barred)


def test_the_barred_token_is_free_after_the_first_position():
    """The processor bars the draft's first token once: later positions keep their scores."""
    import numpy as np

    from goalconvo.llm.local import LocalLlamaBackend

    backend = LocalLlamaBackend()
    backend._llm = type("Tok", (), {"tokenize": staticmethod(lambda b, add_bos, special: [7, 3])})()
    (bar,) = backend._bar_first_token("Hello there")
    first = bar(np.array([1, 2]), np.zeros(10, dtype=np.single))
    assert first[7] == -np.inf and np.isfinite(np.delete(first, 7)).all()
    later = bar(np.array([1, 2, 5]), np.zeros(10, dtype=np.single))
    assert np.isfinite(later).all()


def test_weight_repack_is_off_where_the_cpu_advertises_amx():
    """This project's CI VM advertises AMX and llama.cpp's AMX buffers crashed its first decode."""
    from goalconvo.llm.local import cpu_advertises_amx, weight_repack_on

    amx = "processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n"
    plain = "processor\t: 0\nflags\t\t: fpu avx2 avx512f\nbugs\t\t: amx_tile_is_not_a_flag_here\n"
    assert cpu_advertises_amx(amx) and not cpu_advertises_amx(plain)
    assert weight_repack_on("auto", amx) is False and weight_repack_on("auto", plain) is True
    assert weight_repack_on("on", amx) is True and weight_repack_on("off", plain) is False
    assert create_backend(Settings(llm="local", llama_weight_repack="off")).repack is False


def test_extra_buffers_off_reaches_the_loaded_models_parameters_and_is_undone():
    """Through ``Llama`` itself (its vocabulary only: cheap), not only the defaults it reads."""
    import llama_cpp.llama_cpp as lib
    from llama_cpp import Llama

    from goalconvo.llm import bundled
    from goalconvo.llm.local import extra_buffers

    path = str(bundled.bundled_model_path())
    with extra_buffers(False):
        off = Llama(model_path=path, vocab_only=True, verbose=False)
    assert off.model_params.use_extra_bufts is False
    assert lib.llama_model_default_params().use_extra_bufts is True
    with extra_buffers(True):
        on = Llama(model_path=path, vocab_only=True, verbose=False)
    assert on.model_params.use_extra_bufts is True
