"""Opening the corpus file for a whole-corpus write, saying plainly when a running pipeline holds it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import duckdb

from goalconvo.sinks.query_server import endpoint_file
from goalconvo.sinks.store import CorpusStore


class CorpusBusy(RuntimeError):
    """The corpus file is held by another process."""


def open_store(db: Path, *, file_access: bool = True) -> CorpusStore:
    try:
        return CorpusStore(db, file_access=file_access)
    except duckdb.IOException as exc:
        where = f" (its sink answers at {endpoint_file(db).read_text().strip()})" if endpoint_file(db).exists() else ""
        raise CorpusBusy(
            f"{db} is open in another process{where}; stop that pipeline first, this command writes the file"
        ) from exc


def _holder_running(db: Path) -> bool:
    """Whether the sink that announced itself in ``db``'s endpoint file is still a live process.

    A SIGKILLed sink leaves its endpoint file behind; its pid is then gone. An unreadable file or
    a pid that cannot be checked counts as running (the cautious answer)."""
    try:
        pid = int(json.loads(endpoint_file(db).read_text())["pid"])
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by another user
    return True


def open_store_waiting(db: Path, wait_s: float = 10.0, *, file_access: bool = True) -> CorpusStore:
    """Open ``db`` for a worker's sink, waiting up to ``wait_s`` while another process holds it.

    A reader of a free corpus file (``goalconvo query`` or the dashboard when no pipeline runs)
    holds DuckDB's lock for the length of a query; a worker that starts at that moment waits it
    out instead of stopping. A holder that stays (another pipeline) is a :class:`CorpusBusy`.
    Runs before the worker serves anything, so the short sleeps hold up nothing.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return CorpusStore(db, file_access=file_access)
        except duckdb.IOException as exc:
            # A running pipeline's sink (it announces an endpoint) will not let go: say so at once. An
            # endpoint left by a killed sink is no holder: the lock is a reader's, wait it out.
            if "lock" not in str(exc).lower() or _holder_running(db) or time.monotonic() >= deadline:
                return open_store(db, file_access=file_access)  # raises CorpusBusy with the holder's endpoint, or opens if it just freed
            time.sleep(0.1)
