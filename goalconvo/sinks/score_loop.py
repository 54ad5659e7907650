"""BERTScore of new dialogues as the sink stores them, in a thread of its own (it is slow)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from goalconvo.sinks.scoring import score_similarity
from goalconvo.sinks.store import CorpusStore

log = logging.getLogger(__name__)


class ScoreLoop:
    """Scores what is not scored yet against ``reference``, 16 dialogues at a time; idles ``idle_s`` when none are."""

    def __init__(self, store: CorpusStore, reference: Path, idle_s: float, on_scored: Callable[[], None]):
        self.store = store
        self.reference = reference
        self.idle_s = idle_s
        self.on_scored = on_scored
        self._scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bertscore")
        self._scorer_task: asyncio.Task[None] | None = None
        self._scorer_cache: dict = {}
        self.scored = 0

    def start(self) -> None:
        self._scorer_task = asyncio.create_task(self._score_loop(), name="bertscore")

    async def stop(self) -> None:
        if self._scorer_task is not None:
            self._scorer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scorer_task
            self._scoring.shutdown(wait=True, cancel_futures=True)

    async def _score_loop(self) -> None:
        """BERTScore new dialogues as they arrive, in its own thread (it is slow: ~7 pairs/s on 2 cores)."""
        loop = asyncio.get_running_loop()
        ref = self.reference
        while True:
            try:
                out = await loop.run_in_executor(
                    self._scoring, lambda: score_similarity(self.store, ref, limit=16, cache=self._scorer_cache)
                )
                self.scored += out["scored"]
                if out["scored"]:
                    self.on_scored()
                    continue
            except Exception:  # noqa: BLE001 - similarity must never stop storing
                log.exception("BERTScore of new dialogues failed")
            await asyncio.sleep(self.idle_s)
