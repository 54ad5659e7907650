"""What a typed goal slot may hold: one table, keyed by slot name.

The planner books for ``people`` and ``stay``, compares ``time``/``leaveAt``/``arriveBy`` as clock
times and names a ``day``; a goal whose value cannot be read that way ("-5" people, "-99:99",
1e308 nights) is refused where it enters (``records.DomainGoal``), with a reason naming the slot,
instead of becoming a dialogue about nonsense. Slots not in the table take any short text.
MultiWOZ val's goals all fit (people 1-8, stays 1-5 nights, times such as "9:15" and "17:45").
"""

from __future__ import annotations

import re

from goalconvo.packs.values import MAX_VALUE_CHARS, WEEKDAYS, is_clock_time

__all__ = ["MAX_VALUE_CHARS", "SLOT_TYPES", "WEEKDAYS", "slot_value_problem"]

#: slot -> (kind, bounds): ``count`` (a whole number within the bounds, with what it counts),
#: ``clock`` (H:MM or HH:MM, 0:00-24:59: MultiWOZ's timetable writes a train past midnight as 24:07), ``weekday`` (a day of the week, any case).
SLOT_TYPES: dict[str, tuple[str, ...] | tuple[str, int, int, str]] = {
    "people": ("count", 1, 20, "people"),
    "stay": ("count", 1, 30, "nights"),
    "time": ("clock",),
    "leaveAt": ("clock",),
    "arriveBy": ("clock",),
    "day": ("weekday",),
}

_COUNT = re.compile(r"[0-9]{1,4}")


def slot_value_problem(slot: str, value: str) -> str | None:
    """Why ``value`` cannot fill ``slot`` (a sentence naming the slot), or None when it can."""
    if len(value) > MAX_VALUE_CHARS:
        return f"{slot}: a value of {len(value)} characters (at most {MAX_VALUE_CHARS})"
    kind = SLOT_TYPES.get(slot)
    if kind is None:
        return None
    text = value.strip()
    if kind[0] == "count":
        _, low, high, unit = kind
        if _COUNT.fullmatch(text) is None or not (low <= int(text) <= high):
            return f"{slot}: {value!r} is not a whole number of {unit} from {low} to {high}"
    elif kind[0] == "clock":
        if not is_clock_time(text):
            return f"{slot}: {value!r} is not a time of day (H:MM or HH:MM, 0:00 to 24:59)"
    elif kind[0] == "weekday" and text.lower() not in WEEKDAYS:
        return f"{slot}: {value!r} is not a day of the week ({', '.join(WEEKDAYS)})"
    return None
