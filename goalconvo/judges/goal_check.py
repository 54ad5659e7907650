"""Goal completion, checked against the goal's slots rather than keywords alone.

For every domain of the goal: each requested attribute (``reqt``) was answered,
each booking asked for got a reference, and the venue the bot settled on does
not contradict a constraint (``info``) in the database.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from goalconvo.core.records import CheckResult, Dialogue
from goalconvo.core.venues import SEARCHABLE, VenueDB
from goalconvo.core.vocab import SLOT_WORDS
from goalconvo.core.roles import (
    ARRIVE_BY, DEPARTMENT, DEPARTMENT_DESK, ENTRANCE_FEE, LEAVE_AT, RIDE, STARS, TIMETABLE, TIMETABLE_ID,
    TRAVEL_TIME,
)
from goalconvo.packs.builtin import default_pack, pack_toml

#: The default pack's understanding words (its lexicon.toml).
_LEXICON = pack_toml(default_pack(), "lexicon")

_NO_MATCH = re.compile(
    r"\b(no|not|none|nothing|unfortunately|sorry|unable|cannot|can't|don't|doesn't|isn't|aren't|unavailable)\b"
)
_REF = re.compile(r"\b(reference|ref|confirmation)\b[^.?!]{0,40}?\b([A-Z0-9]{8})\b", re.I)
#: Value shapes that answer a request even when the venue is not identifiable.
_LOCALE: dict[str, str] = pack_toml(default_pack(), "shapes")["goal_check"]
_SHAPES: dict[str, re.Pattern[str]] = {
    "phone": re.compile(_LOCALE["phone"]),
    "postcode": re.compile(_LOCALE["postcode"], re.I),
    TIMETABLE_ID: re.compile(_LOCALE["timetable_id"], re.I),
    "price": re.compile(_LOCALE["price"], re.I),
    ENTRANCE_FEE: re.compile(_LOCALE["entrance_fee"], re.I),
    TRAVEL_TIME: re.compile(r"\d+\s*(minutes|mins|hours?)", re.I),
    LEAVE_AT: re.compile(r"\b\d{1,2}:\d{2}\b"),
    ARRIVE_BY: re.compile(r"\b\d{1,2}:\d{2}\b"),
    STARS: re.compile(r"\b[0-5][ -]star|\bstars?\b", re.I),
}
_ALIASES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEXICON["mention_words"].items()}


@dataclass
class DomainOutcome:
    domain: str
    missing_reqt: list[str] = field(default_factory=list)
    missing_booking: bool = False
    contradicted: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: The goal's first request could not be met (fail_info) and the bot never said so.
    unhandled_failure: bool = False

    @property
    def complete(self) -> bool:
        return not (self.missing_reqt or self.missing_booking or self.contradicted or self.unhandled_failure)


#: The column that names a venue of a domain (a hospital's departments have no name).
_NAME_KEY = {TIMETABLE: TIMETABLE_ID, DEPARTMENT_DESK: DEPARTMENT}


def _loose(text: str) -> str:
    """Lower case, words only, padded: ``"Hills Rd, Cambridge"`` and ``"hills rd , cambridge"`` match."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _named_venues(domain: str, bot_loose: str, db: VenueDB) -> list[dict]:
    """Every venue of ``domain`` the bot named (by name, train id or department), in the order of
    last mention; whole words only ('worth house' is not named by 'warkworth house').
    ``bot_loose``: the bot's text through ``_loose``, computed once per dialogue."""
    key = _NAME_KEY.get(domain, "name")
    found = []
    for row in db.tables.get(domain, []):
        name = _loose(str(row.get(key, "")))
        if len(name) < 5:  # three characters and the padding
            continue
        i = bot_loose.rfind(name)
        if i >= 0:
            found.append((i + len(name), len(name), row))
    # By where the mention ends, the longer name last: "colorectal surgery" wins over the "surgery" inside it.
    return [row for _, _, row in sorted(found, key=lambda x: (x[0], x[1]))]


def _same(want: str, have: str) -> bool:
    """Slot values equal up to case, spacing and small typos (MultiWOZ goals have 'mutliple sports')."""
    a, b = re.sub(r"[^a-z0-9]", "", want.lower()), re.sub(r"[^a-z0-9]", "", have.lower())
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.85


def _conflicts(domain: str, info: dict[str, str], venue: dict) -> dict[str, tuple[str, str]]:
    out = {}
    for slot, want in info.items():
        have = venue.get(slot)
        if slot in SEARCHABLE.get(domain, ()) and slot != "name" and have is not None:
            if want.lower() not in ("dontcare", "?", "") and not _same(str(want), str(have)):
                out[slot] = (str(want), str(have))
    return out


#: The bot says it cannot tell (the database does not know either).
_UNKNOWN = re.compile(
    r"\b(unknown|unsure|not sure|not listed|no (price )?info(rmation)?"
    r"|(do not|don't|do n't) (know|have (that |the |any |price )?info(rmation)?))\b"
)


def _answered(slot: str, venue: dict | None, bot_text: str, bot_loose: str) -> bool:
    """``bot_text`` lower-cased; ``bot_loose`` the same through ``_loose`` (computed once per dialogue)."""
    if venue is not None and slot in venue:
        value = str(venue[slot]).strip()
        if value in ("?", ""):  # the database does not know: saying so answers the request
            if _UNKNOWN.search(bot_text):
                return True
        elif _loose(value) in bot_loose:
            return True
    shape = _SHAPES.get(slot)
    if shape is not None and shape.search(bot_text):
        return True
    words = _ALIASES.get(slot, ()) + (SLOT_WORDS.get(slot, slot).lower(), slot.lower())
    return any(w in bot_text for w in words)


def check_goal(d: Dialogue, db: VenueDB) -> tuple[CheckResult, list[DomainOutcome]]:
    bot_text = " ".join(t.text for t in d.turns if t.speaker == "bot")
    bot_lower = bot_text.lower()
    bot_loose = _loose(bot_text)
    user_lower = " ".join(t.text for t in d.turns if t.speaker == "user").lower()
    meta_refs = {dom for t in d.turns for dom in t.meta.get("booking_refs", {})}
    outcomes = []
    for domain in d.goal.domain_names:
        g = d.goal.domains[domain]
        out = DomainOutcome(domain)
        named = _named_venues(domain, bot_loose, db) if domain in SEARCHABLE else []
        venue = named[-1] if named else None
        out.missing_reqt = [r for r in g.reqt if not _answered(r, venue, bot_lower, bot_loose)]
        if g.book and domain != RIDE:
            out.missing_booking = not (domain in meta_refs or _REF.search(bot_text))
        # A failing first request is handled when the user made it and the bot said it cannot be met.
        failing = {
            v.lower() for k, v in g.fail_info.items()
            if g.info.get(k, "").lower() != v.lower() and len(v) >= 3 and v.lower() not in ("yes", "dontcare")
        }
        asked = any(re.search(rf"\b{re.escape(v)}\b", user_lower) for v in failing)
        if asked and not _NO_MATCH.search(bot_lower):
            out.unhandled_failure = True
        # A constraint is contradicted when no venue the bot named satisfies the goal
        # (humans name alternatives before settling; any one that fits will do).
        if named and not any(not _conflicts(domain, g.info, row) for row in named):
            out.contradicted = _conflicts(domain, g.info, named[-1])
        outcomes.append(out)
    done = sum(o.complete for o in outcomes)
    problems = []
    for o in outcomes:
        if o.missing_reqt:
            problems.append(f"{o.domain}: {', '.join(o.missing_reqt)} not answered")
        if o.missing_booking:
            problems.append(f"{o.domain}: booking without a reference")
        if o.unhandled_failure:
            problems.append(f"{o.domain}: the first request cannot be met and the bot never said so")
        for slot, (want, have) in o.contradicted.items():
            problems.append(f"{o.domain}: {slot} is {have}, goal wants {want}")
    score = done / max(1, len(outcomes))
    return (
        CheckResult(name="goal_completion", passed=not problems, reason="; ".join(problems), score=score),
        outcomes,
    )
