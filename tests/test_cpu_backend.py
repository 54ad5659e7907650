"""A CPU backend's call that times out (issue 14, item 14): the error says the call goes on in its thread,
and the next call starts only when it has returned, with its own full timeout."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from goalconvo.llm import ChatMessage, Completion, GenerationParams, LLMError
from goalconvo.llm.base import CPUBackend

MSGS = [ChatMessage("user", "hi")]


class SlowModel(CPUBackend):
    """Call 1 holds the thread until ``release`` is set; later calls take ``work_s``."""

    model_name = "cpu-under-test"

    def __init__(self, timeout_s: float, work_s: float):
        super().__init__()
        self.timeout_s = timeout_s
        self.work_s = work_s
        self.release = threading.Event()
        self.spans: list[tuple[int, float, float]] = []

    def _call(self, messages, params) -> Completion:
        n = len(self.spans) + 1
        t0 = time.monotonic()
        self.spans.append((n, t0, 0.0))
        if n == 1:
            self.release.wait(30)
        else:
            time.sleep(self.work_s)
        self.spans[n - 1] = (n, t0, time.monotonic())
        return Completion(f"reply {n}", 1, 1, self.model_name)


def test_a_timed_out_call_is_waited_for_and_the_next_call_gets_its_whole_timeout(caplog):
    model = SlowModel(timeout_s=2.0, work_s=1.4)

    async def scenario():
        with pytest.raises(LLMError) as first:
            await model.complete(MSGS, GenerationParams())
        second = asyncio.create_task(model.complete(MSGS, GenerationParams()))
        # The first call runs on for another second (a CPU model cannot be stopped), then returns.
        await asyncio.sleep(1.0)
        model.release.set()
        return str(first.value), await second

    with caplog.at_level(logging.WARNING, logger="goalconvo.llm.base"):
        message, reply = asyncio.run(scenario())
    assert "did not answer within 2.0s" in message and "next call starts only when it returns" in message, message
    # Before: the second call's 2 s ran out while it sat silently behind the first (1 s) plus its own work (1.4 s).
    assert reply.text == "reply 2"
    (_, _, end1), (_, start2, _) = model.spans
    assert start2 >= end1, "the second call started while the first still held the model"
    assert "waits for a call that timed out" in caplog.text


def test_a_call_that_never_returns_stops_later_calls_with_a_clear_error():
    model = SlowModel(timeout_s=0.5, work_s=0.0)

    async def scenario():
        with pytest.raises(LLMError):
            await model.complete(MSGS, GenerationParams())
        with pytest.raises(LLMError) as second:
            await model.complete(MSGS, GenerationParams())
        started = len(model.spans)
        model.release.set()
        third = await model.complete(MSGS, GenerationParams())
        return str(second.value), started, third

    message, started, third = asyncio.run(scenario())
    assert "still running after another 0.5s" in message and "no new call is started" in message, message
    assert started == 1, "a call was started while the timed-out one still held the model's thread"
    assert third.text == "reply 2", "once the stuck call returned, calls work again"
