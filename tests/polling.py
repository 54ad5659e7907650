"""Waiting in tests: poll a condition until it holds or a deadline passes, never sleep a fixed time.

``wait_for`` blocks (tests that drive a subprocess or a thread); ``until`` awaits
(tests inside an event loop; the predicate may be a coroutine function). Both
return the predicate's last value, so ``assert wait_for(...)`` fails with what
was seen, not after a guessed delay that a slow machine overruns.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.25) -> Any:
    """Call ``predicate`` until it returns something truthy or ``timeout_s`` passed; its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


async def until(predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.25) -> Any:
    """``wait_for`` inside an event loop; ``predicate`` may return an awaitable."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval_s)
