"""Opening the corpus file for a whole-corpus write, saying plainly when a running pipeline holds it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from goalconvo.sinks.query_server import endpoint_file
from goalconvo.sinks.store import CorpusStore


class CorpusBusy(RuntimeError):
    """The corpus file is held by another process."""


def open_store(db: Path) -> CorpusStore:
    try:
        return CorpusStore(db)
    except duckdb.IOException as exc:
        where = f" (its sink answers at {endpoint_file(db).read_text().strip()})" if endpoint_file(db).exists() else ""
        raise CorpusBusy(
            f"{db} is open in another process{where}; stop that pipeline first, this command writes the file"
        ) from exc
