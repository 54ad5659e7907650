"""A generated goal said in words (its ``message``), the way MultiWOZ's goal messages read.

``describe_generated`` is called by the goal generator with the order the agenda will pursue the
domains in; each domain's constraints, a failing first request and the settling value, the
booking, and the attributes asked for, each in one sentence. The lines' words are the default
pack's (``goal_messages.toml``); how they are put together is here.
"""

from __future__ import annotations

from typing import Any

from goalconvo.packs.builtin import default_pack, pack_toml
from goalconvo.core.roles import ARRIVE_BY, DESTINATION, LEAVE_AT, LODGING, ORIGIN, RIDE, SIGHT, STAY, TABLE

#: Domains whose goals are about a venue.
PLACE_DOMAINS = (SIGHT, LODGING, TABLE)
#: The default pack's goal-message lines (``[files] goal_messages`` of MultiWOZ's ``pack.toml``).
_TEXT: dict[str, Any] = pack_toml(default_pack(), "goal_messages")
_OPENERS: tuple[str, ...] = tuple(_TEXT["openers"])
_INTRO: dict[str, str] = _TEXT["intro"]
_NAMED: dict[str, str] = _TEXT["named"]
_WHO: dict[str, str] = _TEXT["who"]
_ASKED: dict[str, str] = _TEXT["asked"]


def _phrase(domain: str, slot: str, value: str) -> str:
    said = _TEXT["constraint"].get(slot)
    if isinstance(said, dict):  # a yes/no slot: a line for each
        return said["yes"] if value == "yes" else said["no"]
    return said.format(value=value) if said else f"should have {slot} {value}"


def _indicative(phrase: str) -> str:
    """``should be in the north`` -> ``is in the north`` (for "how about one that ...")."""
    for a, b in (("should be", "is"), ("should serve", "serves"), ("should have", "has"), ("should include", "includes")):
        if phrase.startswith(a):
            return b + phrase[len(a):]
    return phrase


def _constraints(domain: str, info: dict[str, str]) -> str:
    parts = [_phrase(domain, k, v) for k, v in info.items() if k != "name"]
    who = _WHO.get(domain, domain.capitalize())
    # Two constraints to a sentence, as MultiWOZ's messages have them.
    return " ".join(f"{who} " + " and ".join(parts[i:i + 2]) + "." for i in range(0, len(parts), 2))


def _words(slots: list[str]) -> str:
    ws = [_ASKED.get(s, s) for s in slots]
    return ws[0] if len(ws) == 1 else ", ".join(ws[:-1]) + " and " + ws[-1]


def _booking_words(domain: str, book: dict[str, str]) -> str:
    if domain == LODGING:
        return f"for {book['people']} people and {book[STAY]} nights starting from {book['day']}"
    if domain == TABLE:
        return f"for {book['people']} people at {book['time']} on {book['day']}"
    return f"for {book['people']} people"


def describe_generated(order: list[str], domains: dict[str, dict[str, Any]]) -> list[str]:
    """MultiWOZ-like message lines, one domain after another in ``order`` (no line names another domain)."""
    lines = [_OPENERS[len(order) % len(_OPENERS)]]
    places = [d for d in order if d in PLACE_DOMAINS]
    for i, d in enumerate(order):
        g = domains[d]
        info, fail = g["info"], g["fail_info"]
        if d in _NAMED and "name" in info:
            lines.append(_NAMED[d].format(info["name"]))
        elif d == RIDE:
            if ORIGIN in info:
                lines.append(f"You also want to book a taxi from {info[ORIGIN]} to {info[DESTINATION]}.")
            elif len(places) >= 2:
                lines.append("You also want to book a taxi to commute between the two places.")
            else:
                lines.append(_INTRO[RIDE])
            times = {k: v for k, v in info.items() if k in (LEAVE_AT, ARRIVE_BY)}
            if ARRIVE_BY in times and times[ARRIVE_BY] == domains.get(TABLE, {}).get("book", {}).get("time"):
                lines.append(f"The taxi should arrive at the restaurant by the booked time, {times[ARRIVE_BY]}.")
            elif times:
                lines.append(_constraints(RIDE, times))
        else:
            lines.append(_INTRO[d] if i == 0 or d not in PLACE_DOMAINS else _INTRO[d].replace("You are", "You are also"))
            if fail and fail != info:
                lines.append(_constraints(d, fail))
                changed = {k: v for k, v in info.items() if fail.get(k) != v}
                lines.append(f"If there is no such {d if d != SIGHT else 'place'}, how about one that "
                             + " and ".join(_indicative(_phrase(d, k, v)) for k, v in changed.items()) + ".")
            elif info:
                lines.append(_constraints(d, info))
        if g["book"]:
            verb = "book a table" if d == TABLE else "book it" if d == LODGING else "book tickets"
            lines.append(f"Once you find the {d} you want to {verb} {_booking_words(d, g['book'])}.")
            if g["fail_book"]:
                changed = {k: v for k, v in g["book"].items() if g["fail_book"].get(k) != v}
                first = {k: g["fail_book"][k] for k in changed}
                lines[-1] = (f"Once you find the {d} you want to {verb} "
                             f"{_booking_words(d, {**g['book'], **first})}.")
                what = ", ".join(f"{'nights' if k == STAY else k} {v}" for k, v in changed.items())
                lines.append(f"If the booking fails, try {what} instead.")
            lines.append("Make sure you get the reference number.")
        if g["reqt"] and d != RIDE:
            lines.append(f"Make sure you get the {_words(g['reqt'])}.")
        elif d == RIDE:
            lines.append("Make sure you get the contact number and car type.")
    return lines


# -- many goals ----------------------------------------------------------------------------------
