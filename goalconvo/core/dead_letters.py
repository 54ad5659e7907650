"""Dead letters: what could not be decoded or processed, with the reason, restorable byte for byte.

A :class:`DeadLetter` carries the source event whole (or its first bytes, when it is too large to carry),
its place on its topic, the stage that refused it and the ids it names (``salvage_ids`` finds them even in an
event that does not decode), so ``replay`` can publish it again and ``run`` can count it as its own.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any, ClassVar

import orjson
from pydantic import Field

from goalconvo.core.records import MAX_ID_CHARS, Record
from goalconvo.core.wire import encode
from goalconvo.core.text import escape_controls

#: A dead letter wraps a whole event (JSON-escaped, or base64 beside its text): its topics
#: (``max.message.bytes``) and the producers that write them allow this much.
DEAD_LETTER_MAX_BYTES = 8 * 1024 * 1024
#: What a dead letter keeps of an event too large to carry whole.
TRUNCATED_PAYLOAD_BYTES = 256 * 1024


class DeadLetter(Record):
    """An event that could not be decoded or processed, with the reason."""

    max_event_bytes: ClassVar[int] = DEAD_LETTER_MAX_BYTES

    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    stage: str
    reason: str
    error_type: str
    key: str | None = None
    #: The whole source event as text (``replay --unwrap`` publishes it again), unless ``payload_truncated``.
    payload: str = ""
    #: The source event's bytes in base64 when they are not UTF-8 (``payload`` then shows them with U+FFFD).
    payload_base64: str | None = None
    #: The event was too large to carry whole: ``payload`` holds its first bytes only (see ``fit``).
    payload_truncated: bool = False
    #: The source event's size in bytes (set when it was truncated).
    payload_bytes: int | None = None
    run_id: str | None = None
    goal_id: str | None = None
    dialogue_id: str | None = None
    at: float = Field(default_factory=time.time)

    def original_value(self) -> bytes:
        """The source event's value, byte for byte (a truncated payload cannot give it: ValueError)."""
        if self.payload_truncated:
            raise ValueError(f"the dead letter holds only the first bytes of a {self.payload_bytes}-byte event")
        if self.payload_base64 is not None:
            return base64.b64decode(self.payload_base64)
        return self.payload.encode("utf-8")

    def fit(self, limit: int | None = None) -> "DeadLetter":
        """This dead letter, or a copy whose payload is cut so that it serialises within ``limit`` bytes.

        An event too large to carry whole (a 10 MB goal the broker took) is still dead-lettered,
        with its ids and the reason, never lost: its first ``TRUNCATED_PAYLOAD_BYTES`` stay.
        """
        limit = limit or DEAD_LETTER_MAX_BYTES
        if len(encode(self)) <= limit:
            return self
        raw = self.original_value() if not self.payload_truncated else self.payload.encode("utf-8", "replace")
        keep = min(TRUNCATED_PAYLOAD_BYTES, limit // 8)
        while True:
            head = raw[:keep].decode("utf-8", errors="ignore")
            cut = self.model_copy(update={
                "payload": head, "payload_base64": None, "payload_truncated": True,
                "payload_bytes": self.payload_bytes or len(raw),
                "reason": self.reason if "payload truncated" in self.reason
                else f"{self.reason} (payload truncated to its first {len(head.encode())} of {len(raw)} bytes)",
            })
            if len(encode(cut)) <= limit:
                return cut
            if keep < 64:  # a key that large is no key: cut it too
                return cut.model_copy(update={"key": (cut.key or "")[:MAX_ID_CHARS]})
            keep //= 2

    @property
    def dead_letter_id(self) -> str:
        """Stable across replays of the same source event (the sink stores it once)."""
        if self.source_offset is not None:
            return f"{self.source_topic}:{self.source_partition}:{self.source_offset}"
        return hashlib.sha1(f"{self.source_topic}\x00{self.key}\x00{self.payload}".encode()).hexdigest()[:24]


def payload_text(raw: bytes | str | None) -> str:
    """A dead-letter-safe rendering of raw bytes, whole (never raises)."""
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def payload_fields(raw: bytes | str | None) -> dict[str, str | None]:
    """``payload`` and ``payload_base64`` of a DeadLetter: the whole event, restorable byte for byte."""
    exact = None
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            exact = base64.b64encode(raw).decode("ascii")
    return {"payload": payload_text(raw), "payload_base64": exact}


#: The id fields a dead letter carries, found in an event even when it does not decode.
_ID_FIELDS = ("goal_id", "run_id", "dialogue_id")
#: Only this much of an undecodable event is parsed or searched for its ids.
_SALVAGE_PARSE_BYTES = 16 * 1024 * 1024
_SALVAGE_SCAN_BYTES = 64 * 1024
_ID_PATTERN = re.compile(rb'"(goal_id|run_id|dialogue_id)"\s*:\s*"((?:[^"\\]|\\.){1,400})"')


def _usable(value: Any) -> str | None:
    """An id as a dead letter may carry it: a string, cut to MAX_ID_CHARS, control characters escaped."""
    if not isinstance(value, str) or not value:
        return None
    return escape_controls(value)[:MAX_ID_CHARS]


def salvage_ids(raw: bytes | str | None) -> dict[str, str]:
    """The goal, run and dialogue ids an event names, read even when the event does not decode.

    Reads the JSON where it parses (a Goal's own ids, a turn event's and its goal's, a judged
    dialogue's), else searches the event's first and last bytes for the id fields. Every dead
    letter carries what this finds, so ``run`` counts a dead-lettered goal of its own run.
    """
    if not raw:
        return {}
    data = raw.encode("utf-8", "replace") if isinstance(raw, str) else raw
    found: dict[str, str] = {}
    obj: Any = None
    if len(data) <= _SALVAGE_PARSE_BYTES:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
    if isinstance(obj, dict):
        dialogue = obj.get("dialogue") if isinstance(obj.get("dialogue"), dict) else {}
        places = [obj, obj.get("goal"), dialogue, dialogue.get("goal")]
        for place in places:
            if isinstance(place, dict):
                for name in _ID_FIELDS:
                    value = _usable(place.get(name))
                    if value is not None:
                        found.setdefault(name, value)
        return found
    for chunk in (data[:_SALVAGE_SCAN_BYTES], data[-_SALVAGE_SCAN_BYTES:]):
        for m in _ID_PATTERN.finditer(chunk):
            try:
                value = _usable(orjson.loads(b'"' + m.group(2) + b'"'))
            except orjson.JSONDecodeError:
                continue
            if value is not None:
                found.setdefault(m.group(1).decode(), value)
    return found
