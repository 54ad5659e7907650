"""Metric snapshots as records arrive: the dashboard's trend lines.

Computed from the incremental tables (``tallies.py``) on a reading cursor in another thread;
only the insert of the few rows goes to the sink's writer thread, so inserts are not held up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor

from goalconvo.sinks.metrics import snapshot_rows
from goalconvo.sinks.store import CorpusStore

log = logging.getLogger(__name__)


class Snapshots:
    """At most one snapshot every ``interval_s``, and only when something new was stored (``mark``)."""

    def __init__(self, store: CorpusStore, writer: Executor, interval_s: float, reference: str | None = None):
        self.store = store
        self.writer = writer
        self.interval_s = interval_s
        #: The reference set whose BERTScore the snapshots carry (the sink's own), else the one scored last.
        self.reference = reference
        self._dirty = False
        self._last_snapshot = 0.0
        self._task: asyncio.Task | None = None

    def mark(self) -> None:
        """Something new is stored: the next due snapshot is taken."""
        self._dirty = True

    def due_now(self) -> None:
        """The next ``maybe_snapshot`` takes one whatever the interval (a catch-up ends with one)."""
        self._dirty = True
        self._last_snapshot = 0.0

    def start_if_due(self) -> None:
        """``maybe_snapshot`` in the background: the sink's loop goes on consuming meanwhile (one at a time)."""
        if self._task is not None and not self._task.done():
            return
        if not self._dirty or time.monotonic() - self._last_snapshot < self.interval_s:
            return
        self._task = asyncio.get_running_loop().create_task(self.maybe_snapshot())

    async def stop(self) -> None:
        """Let a snapshot in progress finish (before the writer shuts down)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def maybe_snapshot(self) -> None:
        """Metrics as records arrive: at most every ``interval_s``, when something new was stored."""
        now = time.monotonic()
        if not self._dirty or now - self._last_snapshot < self.interval_s:
            return
        self._dirty = False
        self._last_snapshot = now
        loop = asyncio.get_running_loop()
        try:
            rows = await loop.run_in_executor(None, lambda: snapshot_rows(self.store.query, reference=self.reference))
            await loop.run_in_executor(self.writer, self.store.snapshot, rows)
        except Exception:  # noqa: BLE001 - a metrics failure must not stop storing
            log.exception("metrics snapshot failed")
