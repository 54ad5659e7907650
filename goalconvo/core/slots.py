"""What a typed goal slot may hold: one table, keyed by slot name.

The planner books for a number of people and nights, compares times of day as clock times and
names a day (the default pack's slot rules say which slot is which); a goal whose value cannot
be read that way ("-5" people, "-99:99", 1e308 nights) is refused where it enters (``records.DomainGoal``), with a reason naming the slot,
instead of becoming a dialogue about nonsense. Slots not in the table take any short text.
MultiWOZ val's goals all fit (people 1-8, stays 1-5 nights, times such as "9:15" and "17:45").
"""

from __future__ import annotations

import re

from goalconvo.packs.builtin import default_pack
from goalconvo.packs.model import Pack
from goalconvo.packs.values import MAX_VALUE_CHARS, WEEKDAYS, is_clock_time

__all__ = ["MAX_VALUE_CHARS", "SLOT_TYPES", "WEEKDAYS", "slot_value_problem"]

#: slot -> (kind, bounds): ``count`` (a whole number within the bounds, with what it counts),
#: ``clock`` (H:MM or HH:MM, 0:00-24:59: MultiWOZ's timetable writes a train past midnight as 24:07),
#: ``weekday`` (a day of the week, any case). Read off the default pack's slot rules.
SlotType = tuple[str, ...] | tuple[str, int, int, str]


def _slot_types(pack: Pack) -> dict[str, SlotType]:
    kinds: dict[str, SlotType] = {}
    for key, rule in pack.slot_rules.items():
        slot = key.partition(".")[2]
        if rule.format == "count" and rule.minimum is not None and rule.maximum is not None:
            kinds.setdefault(slot, ("count", rule.minimum, rule.maximum, rule.unit or slot))
        elif rule.format == "time":
            kinds.setdefault(slot, ("clock",))
        elif rule.format == "weekday":
            kinds.setdefault(slot, ("weekday",))
    return kinds


SLOT_TYPES: dict[str, SlotType] = _slot_types(default_pack())

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
