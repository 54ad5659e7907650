"""A cheap belief tracker: which domains and slot values the user has mentioned.

The SupportBot sees the database only through this: constraints are read from
what the user said (not from the hidden goal), then looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from goalconvo.core.records import DialogueState
from goalconvo.core.venues import SEARCHABLE, VenueDB, booking_reference
from goalconvo.core.vocab import DOMAIN_WORDS
from goalconvo.core.roles import (
    CAR_TYPE, DESTINATION, LODGING, OPENING_HOURS, ORIGIN, RIDE, STARS, TABLE, TIMETABLE,
)

_BOOK = re.compile(r"\b(book|reserve|reservation)\b")


@dataclass
class Knowledge:
    domains: list[str]
    constraints: dict[str, dict[str, str]]
    venues: dict[str, list[dict]]
    booking_refs: dict[str, str] = field(default_factory=dict)
    taxi: dict[str, str] = field(default_factory=dict)
    wants_booking: bool = False

    def render(self) -> str:
        lines = []
        for d in self.domains:
            if d == RIDE:
                lines.append(f"taxi: a {self.taxi.get(CAR_TYPE)} is available, contact number {self.taxi.get('phone')}")
                continue
            rows = self.venues.get(d, [])
            if not rows:
                lines.append(f"{d}: no match for {self.constraints.get(d) or 'the request so far'}")
            for r in rows[:3]:
                facts = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("id", "location", "introduction", OPENING_HOURS, "takesbookings", "price") or k == "price" and isinstance(v, str))
                lines.append(f"{d}: {facts}")
        for d, ref in self.booking_refs.items():
            lines.append(f"booking for {d}: confirmed, reference number {ref}")
        return "\n".join(lines) or "nothing asked yet"


def _user_text(state: DialogueState) -> str:
    return " ".join(t.text.lower() for t in state.turns if t.speaker == "user")


def track(state: DialogueState, db: VenueDB) -> Knowledge:
    """Domains, constraints, matching venues and booking references for the next bot turn."""
    text = _user_text(state)
    last = next((t.text.lower() for t in reversed(state.turns) if t.speaker == "user"), "")
    domains = [d for d, words in DOMAIN_WORDS.items() if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words)]
    constraints: dict[str, dict[str, str]] = {}
    venues: dict[str, list[dict]] = {}
    for d in domains:
        cons: dict[str, str] = {}
        for slot in SEARCHABLE.get(d, ()):
            # The longest value mentioned wins ("london kings cross" over "cross").
            found = [v for v in db.all_values(d, slot) if v and re.search(rf"\b{re.escape(v)}\b", text)]
            if slot in (ORIGIN, DESTINATION):
                continue
            if slot == STARS:
                m = re.search(r"\b([0-5])[ -]stars?\b|\bstars? (?:of )?([0-5])\b", text)
                found = [m.group(1) or m.group(2)] if m else []
            if found:
                cons[slot] = max(found, key=len)
        if d == TIMETABLE:
            for slot, pat in ((ORIGIN, r"from ([a-z ]+?)(?: to | on |[.,?]|$)"), (DESTINATION, r"to ([a-z ]+?)(?: on | from |[.,?]|$)")):
                stations = db.all_values(d, slot)
                for m in re.finditer(pat, text):
                    cand = m.group(1).strip()
                    if cand in stations:
                        cons[slot] = cand
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
                if day in text:
                    cons["day"] = day
        constraints[d] = cons
        if d != RIDE:
            venues[d] = db.search(d, cons)
    wants_booking = bool(_BOOK.search(last))
    refs = {}
    if wants_booking:
        for d in domains:
            if d in (LODGING, TABLE, TIMETABLE) and venues.get(d):
                refs[d] = booking_reference(state.dialogue_id, d)
    taxi = db.taxi_for(state.dialogue_id) if RIDE in domains else {}
    return Knowledge(domains, constraints, venues, refs, taxi, wants_booking)
