"""How each stage sends and dead-letters: a mixin of :class:`streams.app.Pipeline` (its own file: one job).

``send`` returns only once the broker acknowledged the event; ``_guarded`` decodes an event,
hands it to the stage, and dead-letters whatever fails (a decode error, a stage's exception)
with the reason and the ids it can salvage, retrying the dead letter's own send, so one bad
event never stops a stage and none is lost without a trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from faust.types import EventT

from goalconvo.core import dead_letters, records, wire
from goalconvo.core.dead_letters import DeadLetter, salvage_ids
from goalconvo.core.records import DialogueState, Goal, JudgedDialogue
from goalconvo.core.wire import DecodeError, check_event_size, encode
from goalconvo.streams import progress as marks
from goalconvo.streams.topics import DEAD_LETTER_SUFFIX

if TYPE_CHECKING:
    from goalconvo.streams.topics import Topics

log = logging.getLogger(__name__)


def _key_text(key: Any) -> str | None:
    if key is None:
        return None
    return key.decode("utf-8", errors="replace") if isinstance(key, bytes) else str(key)


class DeadLettering:
    """``send``, ``dead_letter`` and ``_guarded``; the pipeline gives the topics, its Faust topics and ``_mark``."""

    topics: "Topics"
    _topic: dict[str, Any]
    _mark: Callable[..., Awaitable[None]]

    async def send(self, topic: str, key: str, record: records.Record) -> Any:
        """Send, and return once the broker acknowledged it (its RecordMetadata: topic, partition, offset).

        Faust's ``Topic.send`` only queues the event and hands back the delivery's future; a
        progress mark written before that future resolves can outlive the event (issue 13).
        An event over ``MAX_EVENT_BYTES`` is never sent (``EventTooLarge``: the next stage would
        refuse it, and its dead letter would name no run): the stage dead-letters the one it holds.
        """
        value = encode(record)
        if not topic.endswith(DEAD_LETTER_SUFFIX):
            check_event_size(value, f"the next event (on {topic})")
        delivery = await self._topic[topic].send(key=key.encode(), value=value)
        return await delivery

    async def dead_letter(self, dl_topic: str, event: EventT, stage: str, reason: str, exc: BaseException | None, **ids: Any) -> None:
        """Publish the event with the reason; it carries the ids it names even if it did not decode,
        and an event too large to carry whole goes truncated (``DeadLetter.fit``), never lost."""
        msg = event.message
        raw = event.value
        record = DeadLetter(
            source_topic=msg.topic,
            source_partition=msg.partition,
            source_offset=msg.offset,
            stage=stage,
            reason=reason,
            error_type=type(exc).__name__ if exc else "Rejected",
            key=_key_text(event.key),
            **dead_letters.payload_fields(raw),
            **{**salvage_ids(raw), **{k: v for k, v in ids.items() if v is not None}},
        ).fit()
        log.warning("dead-letter from %s at %s: %s", msg.topic, stage, reason[:500])
        await self.send(dl_topic, record.key or record.dead_letter_id, record)

    async def _dead_letter_surely(self, dl_topic: str, event: EventT, stage: str, reason: str,
                                  exc: BaseException | None, **ids: Any) -> None:
        """``dead_letter``, tried again after a failed send: a stage that raised here would be restarted
        by Faust past the event, and the event would be lost without a trace."""
        for attempt in range(4):
            try:
                await self.dead_letter(dl_topic, event, stage, reason, exc, **ids)
                return
            except Exception as send_error:  # noqa: BLE001 - the broker away for a moment
                if attempt == 3:
                    log.error("cannot dead-letter %s:%s:%s (%s); giving up on it", event.message.topic,
                              event.message.partition, event.message.offset, send_error)
                    raise
                await asyncio.sleep(0.5 * 2**attempt)

    async def _guarded(
        self,
        event: EventT,
        stage: str,
        dl_topic: str,
        record_type: type[records.Record],
        handle: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Decode, handle, and dead-letter anything that fails; never raise."""
        try:
            record = wire.decode(record_type, event.value)
        except DecodeError as exc:
            await self._dead_letter_surely(dl_topic, event, stage, str(exc), exc)
            return
        try:
            await handle(record)
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the stage
            ids: dict[str, Any] = {}
            if isinstance(record, Goal):
                ids = {"goal_id": record.goal_id, "run_id": record.run_id}
            elif isinstance(record, DialogueState):
                ids = {"goal_id": record.goal.goal_id, "run_id": record.run_id, "dialogue_id": record.dialogue_id}
            elif isinstance(record, JudgedDialogue):
                d = record.dialogue
                ids = {"goal_id": d.goal.goal_id, "run_id": d.run_id, "dialogue_id": d.dialogue_id}
            await self._dead_letter_surely(dl_topic, event, stage, f"{type(exc).__name__}: {exc}", exc, **ids)
            if isinstance(record, DialogueState) and event.message.topic in (self.topics.turns_user, self.topics.turns_bot):
                await self._mark(record, marks.DEAD)  # accounted for: the watchdog leaves it alone
