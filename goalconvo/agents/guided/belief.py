"""The SupportBot's belief state: what the User has informed, kept per domain.

The compact form travels in the bot's state (``{"hotel": {"semi": {"area": "east"},
"book": {"day": "monday"}}}``, informed slots only); :func:`metadata` writes it out
as MultiWOZ's per-system-turn ``metadata`` (every domain, every slot, ``booked``).
"""

from __future__ import annotations

from typing import Any

from goalconvo.agents.guided.acts import GOAL_SLOT, DialogueActs, split_key
from goalconvo.core.roles import (
    AREA, ARRIVE_BY, CUISINE, DEPARTMENT, DEPARTMENT_DESK, DESTINATION, INTERNET, LEAVE_AT, LODGING,
    OFFICE, ORIGIN, PARKING, PRICE_RANGE, RIDE, SIGHT, STARS, STAY, TABLE, TIMETABLE, TRAVEL_TIME,
)

#: MultiWOZ's belief-state slots per domain (``semi``: search constraints).
SEMI: dict[str, tuple[str, ...]] = {
    RIDE: (LEAVE_AT, DESTINATION, ORIGIN, ARRIVE_BY),
    OFFICE: (),
    TABLE: (CUISINE, PRICE_RANGE, "name", AREA),
    DEPARTMENT_DESK: (DEPARTMENT,),
    LODGING: ("name", AREA, PARKING, PRICE_RANGE, STARS, INTERNET, "type"),
    SIGHT: ("type", "name", AREA),
    TIMETABLE: (LEAVE_AT, DESTINATION, "day", ARRIVE_BY, ORIGIN),
}
#: MultiWOZ's booking slots per domain (``book``; ``booked`` is added to each).
BOOK: dict[str, tuple[str, ...]] = {
    RIDE: (),
    OFFICE: (),
    TABLE: ("people", "day", "time"),
    DEPARTMENT_DESK: (),
    LODGING: ("people", "day", STAY),
    SIGHT: (),
    TIMETABLE: ("people",),
}
DOMAINS: tuple[str, ...] = tuple(SEMI)


def goal_slot(domain: str, act_slot: str) -> str | None:
    """An act slot as the goal/database slot of ``domain`` (``Time`` is a train's duration)."""
    if act_slot == "Time" and domain == TIMETABLE:
        return TRAVEL_TIME
    return GOAL_SLOT.get(act_slot)


def update(belief: dict[str, Any], user_acts: DialogueActs) -> list[tuple[str, str, str]]:
    """Apply the User's ``*-Inform`` pairs to ``belief``; returns ``(domain, slot, value)`` applied.

    Reads: ``Domain-Inform`` acts. Adds: ``belief[domain]["semi"|"book"][slot]``.
    """
    applied = []
    for key, pairs in user_acts.items():
        domain, intent = split_key(key)
        if intent != "Inform" or domain not in SEMI:
            continue
        for act_slot, value in pairs:
            slot = goal_slot(domain, act_slot)
            if slot is None or value in ("?", "none", ""):
                continue
            part = "book" if slot in BOOK[domain] else "semi" if slot in SEMI[domain] else None
            if part is None:
                continue
            belief.setdefault(domain, {"semi": {}, "book": {}})[part][slot] = str(value).lower()
            applied.append((domain, slot, str(value).lower()))
    return applied


def metadata(belief: dict[str, Any], booked: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """MultiWOZ's ``metadata``: every domain; a touched domain's unset slots read ``not mentioned``."""
    out: dict[str, Any] = {}
    for domain in DOMAINS:
        known = belief.get(domain)
        blank = "not mentioned" if known else ""
        semi = {s: (known or {}).get("semi", {}).get(s, blank) for s in SEMI[domain]}
        book: dict[str, Any] = {"booked": [dict(b) for b in booked.get(domain, [])]}
        book.update({s: (known or {}).get("book", {}).get(s, blank) for s in BOOK[domain]})
        out[domain] = {"book": book, "semi": semi}
    return out
