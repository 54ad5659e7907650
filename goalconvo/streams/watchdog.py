"""The watchdog of each worker: dialogues stranded mid-way are dead-lettered, finished ones purged.

A mixin of :class:`streams.app.Pipeline` (its own file: one job). It reads the pipeline's progress
table, its Faust app's assignment and offsets, and sends through the pipeline's ``send``; the
decisions themselves are :func:`streams.progress.scan`'s.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from faust.types import TP

from goalconvo.core.dead_letters import DeadLetter
from goalconvo.streams import progress as marks

if TYPE_CHECKING:
    import faust

    from goalconvo.core.settings import Settings
    from goalconvo.streams.topics import Topics

log = logging.getLogger(__name__)


class StrandedWatchdog:
    """``watchdog`` (one pass) and its timer's tick; ``_held_since`` is when each partition came to this worker."""

    app: "faust.App"
    topics: "Topics"
    settings: "Settings"
    progress: Any
    watchdog_stats: dict[str, int]
    _held_since: dict[int, float]

    async def _on_progress_recovered(self) -> None:
        """After a rebalance every partition's clock restarts: its events may have waited for a worker."""
        self._held_since.clear()

    def _committed(self, topic: str, partition: int) -> int | None:
        return self.app.consumer._committed_offset.get(TP(topic, partition))

    def _highwater(self, topic: str, partition: int) -> int | None:
        try:
            return self.app.consumer.highwater(TP(topic, partition))
        except Exception:  # noqa: BLE001 - not assigned or not fetched yet: unknown
            return None

    async def watchdog(self) -> marks.ScanResult | None:
        """One pass over the progress entries of the partitions this worker holds.

        Reads: the progress table, this worker's assignment, the group's committed offsets and
        the log ends of the turn topics. Writes: a dead letter (stage ``watchdog``) for each
        stranded dialogue, then its tombstone; purges tombstones past the horizon (changelog
        deletes). Each worker runs it on its own partitions, so it scales out with the workers.
        """
        app, t = self.app, self.topics
        if app.rebalancing or getattr(app, "in_recovery", False):
            self._held_since.clear()
            return None
        now = time.time()
        actives = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == t.turns_user}
        standbys = {tp.partition for tp in app.assignor.assigned_standbys()}
        for p in list(self._held_since):
            if p not in actives:
                del self._held_since[p]
        for p in actives:
            self._held_since.setdefault(p, now)
        store = self.progress.data
        result = marks.scan(
            list(store.items()), now=now, held_since=self._held_since, standby=standbys,
            committed=self._committed, highwater=self._highwater, turn_topics=(t.turns_user, t.turns_bot),
            stranded_after_s=self.settings.stranded_after_s, horizon_s=self.settings.progress_horizon_s,
        )
        for key in result.forget:
            store.pop(key, None)  # a stale local copy: the partition's owner keeps the real one
        for key, p in result.purge:
            store.pop(key, None)
            self.progress.send_changelog(p, key, None, value_serializer="raw")
        for key, entry in result.stranded:
            await self._dead_letter_stranded(key, entry)
            if store.get(key) == entry:  # it made no progress while the dead letter was sent
                tomb = marks.stranded(entry, time.time())
                store[key] = tomb
                self.progress.send_changelog(entry["p"], key, tomb)
        self.watchdog_stats["stranded"] += len(result.stranded)
        self.watchdog_stats["purged"] += len(result.purge)
        self.watchdog_stats["waiting"] = result.waiting
        return result

    async def _watchdog_tick(self) -> None:
        try:
            await self.watchdog()
        except Exception:  # noqa: BLE001 - the broker away for a moment: the next pass tries again
            log.exception("watchdog pass failed")

    async def _dead_letter_stranded(self, dialogue_id: str, entry: dict[str, Any]) -> None:
        """The same dead letter (same id) whichever worker sends it, however often."""
        turns = entry["n"]
        after = self.settings.stranded_after_s
        payload = {
            "dialogue_id": dialogue_id, "turns": turns, "last_progress_at": entry.get("at"),
            "next_topic": entry.get("nt"), "next_partition": entry.get("np"), "next_offset": entry.get("no"),
        }
        record = DeadLetter(
            source_topic=entry.get("nt") or (self.topics.turns_bot if turns % 2 else self.topics.turns_user),
            source_partition=entry["p"],
            stage="watchdog",
            reason=f"stranded: no progress for {after:g} s after turn {turns}",
            error_type="Stranded",
            key=dialogue_id,
            payload=orjson.dumps(payload).decode(),
            run_id=entry.get("run"),
            goal_id=entry.get("goal"),
            dialogue_id=dialogue_id,
        )
        log.warning("dead-letter %s: %s", dialogue_id, record.reason)
        await self.send(self.topics.dialogues_dead_letter, dialogue_id, record)
