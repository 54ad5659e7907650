"""Opening the corpus file for a whole-corpus write, saying plainly when a running pipeline holds it."""

from __future__ import annotations

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
            # A running pipeline's sink (it announces an endpoint) will not let go: say so at once.
            if "lock" not in str(exc).lower() or endpoint_file(db).exists() or time.monotonic() >= deadline:
                return open_store(db, file_access=file_access)  # raises CorpusBusy with the holder's endpoint, or opens if it just freed
            time.sleep(0.1)
