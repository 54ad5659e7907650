"""Records on the wire: orjson bytes with a size limit, decoded and validated with a readable error.

Every record that travels is encoded here and decoded here (``decode(Goal, raw)``); an event too
large to carry is refused before it is produced (``check_event_size``), one that does not decode
raises ``DecodeError`` naming the fields at fault, which the stages dead-letter with that reason.
"""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import ValidationError

from goalconvo.core.records import MAX_EVENT_BYTES, Record


class DecodeError(ValueError):
    """An event's bytes are not a valid record of the expected type."""


R = TypeVar("R", bound=Record)


class EventTooLarge(ValueError):
    """An event that would exceed ``MAX_EVENT_BYTES``: refused before it is produced."""


def check_event_size(value: bytes, what: str = "event") -> bytes:
    """``value`` if an event may carry it, else EventTooLarge naming its size and the limit."""
    if len(value) > MAX_EVENT_BYTES:
        raise EventTooLarge(f"{what} of {len(value)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit of an event")
    return value


def encode(record: Record) -> bytes:
    return orjson.dumps(record.model_dump(mode="json"))


def decode(cls: type[R], raw: bytes | str | None) -> R:
    """Parse and validate ``raw`` as ``cls``, or raise a readable DecodeError."""
    if raw is None:
        raise DecodeError("empty event (no value)")
    limit = cls.max_event_bytes
    if len(raw) > limit:
        raise DecodeError(f"event of {len(raw)} bytes exceeds the {limit}-byte limit")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DecodeError(f"expected a JSON object for {cls.__name__}, got {type(obj).__name__}")
    try:
        return cls.model_validate(obj)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or cls.__name__
            parts.append(f"{where}: {err['msg']}")
        raise DecodeError(f"invalid {cls.__name__}: " + "; ".join(parts)) from None
