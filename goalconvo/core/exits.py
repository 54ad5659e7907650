"""Cleanups that must run on every way out of the process that can run code.

A running sink announces itself in ``<db>.endpoint`` (and its token file); an embedded
broker is a child process. Stopping in order removes both, but a process can also end
by an unhandled error, ``sys.exit`` or a forced exit after a stop that hung (see
``commands.common.run_async``). Whatever registers here runs once, in reverse order, at
interpreter exit (``atexit``) or when ``run_all`` is called before ``os._exit``; only a
SIGKILL skips it.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_lock = threading.Lock()
_ids = itertools.count(1)
_pending: dict[int, tuple[str, Callable[[], None]]] = {}


def on_exit(what: str, fn: Callable[[], None]) -> int:
    """Run ``fn`` when the process exits (unless ``cancel``-led first); returns a handle for ``cancel``."""
    with _lock:
        handle = next(_ids)
        _pending[handle] = (what, fn)
    return handle


def cancel(handle: int | None) -> None:
    """``fn`` was done in order: nothing left to do at exit."""
    if handle is not None:
        with _lock:
            _pending.pop(handle, None)


def run_all() -> None:
    """Run every pending cleanup now (newest first), each once; errors are logged, never raised."""
    while True:
        with _lock:
            if not _pending:
                return
            handle = max(_pending)
            what, fn = _pending.pop(handle)
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - the next cleanup must still run
            log.warning("cleanup %s failed: %s", what, exc)


atexit.register(run_all)
