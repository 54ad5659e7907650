"""The goal above each dialogue on a sheet: what the customer wants, from the goal record, the same way for both sources.

Never MultiWOZ's HTML message nor our generated message text: either would give the origin
away. Only the record's slots are told (per domain ``info``, ``book``, ``reqt``, ``fail_info``,
``fail_book``; anything else, such as MultiWOZ's ``invalid`` flags, is ignored), a domain per
sentence in one fixed order, and the words go through the sheet's cleaner like the turns. The
message is read for one thing only, as the guided agenda reads it: whether a ``fail_info`` is a
first try at all (MultiWOZ keeps stale ones its crowd workers were never told about).
"""

from __future__ import annotations

from functools import lru_cache

from goalconvo.assess.reading.cleaning import Cleaner, name_case
from goalconvo.core.goals import fail_info_applies, taxi_endpoint_domains
from goalconvo.core.records import DomainGoal, Goal
from goalconvo.core.venues import VenueDB
from goalconvo.core.roles import (
    AREA, ARRIVE_BY, CUISINE, DEPARTMENT, DEPARTMENT_DESK, DESTINATION, INTERNET, LEAVE_AT, LODGING,
    OFFICE, ORIGIN, PARKING, PRICE_RANGE, RIDE, SIGHT, STARS, STAY, TABLE, TIMETABLE,
)
from goalconvo.packs.builtin import default_pack, pack_toml
from goalconvo.packs.values import date_wordings

#: The default pack's reading-kit words (its reading.toml).
_READING = pack_toml(default_pack(), "reading")

#: The order domains are told in, whatever order the goal record holds them.
ORDER = (TABLE, LODGING, SIGHT, DEPARTMENT_DESK, OFFICE, TIMETABLE, RIDE)

_NONE = {"", "dontcare", "dont care", "don't care", "any", "none", "not mentioned", "?"}
_PRICE = dict(_READING["goal_price"])
_ATTRACTION = dict(_READING["goal_attraction_type"])
_ASK = dict(_READING["goal_ask"])
#: What a goal sentence calls a place where the goal gives no type.
_NOUN: dict[str, str] = dict(_READING["goal_noun"])
#: Lodging types a goal sentence says as themselves.
_LODGING_TYPES: tuple[str, ...] = tuple(_READING["goal_lodging_types"]["words"])
#: What a goal sentence calls an amenity (``parking``, ``wifi``).
_AMENITY: dict[str, str] = dict(_READING["goal_amenity"])


def _given(v: object) -> str | None:
    s = str(v).strip()
    return None if s.lower() in _NONE else s


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" and not phrase.lower().startswith(("one", "uni", "eu")) else "a ") + phrase


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _venue(domain: str, info: dict[str, str]) -> str:
    """``a cheap Indian restaurant in the north``, ``a 4-star guesthouse in the east with free parking``."""
    v = {k: s for k, x in info.items() if (s := _given(x)) is not None}
    if domain in (TIMETABLE, RIDE):
        return _trip(domain, v)
    if domain == OFFICE:
        return "the police station"
    if domain == DEPARTMENT_DESK:
        if DEPARTMENT not in v:
            return "the hospital"
        dept = v[DEPARTMENT].lower()
        return f"the hospital's {dept}" + ("" if dept.endswith(tuple(_READING["goal_department"]["words"])) else " department")
    noun = _NOUN[domain]
    if domain == LODGING and v.get("type", "").lower() in _LODGING_TYPES:
        noun = v["type"].lower()
    if domain == SIGHT and "type" in v:
        noun = _ATTRACTION.get(v["type"].lower(), v["type"].lower())
    if "name" in v:
        return f"{name_case(v['name'])} ({_article(noun)})"
    adj = []
    if PRICE_RANGE in v:
        adj.append(_PRICE.get(v[PRICE_RANGE].lower(), v[PRICE_RANGE]))
    if STARS in v:
        adj.append(f"{v[STARS]}-star")
    if CUISINE in v:
        adj.append(v[CUISINE])
    phrase = _article(" ".join([*adj, noun]))
    if AREA in v:
        phrase += f" in the {v[AREA].lower()}"
    extras = []
    for slot, word in ((PARKING, _AMENITY[PARKING]), (INTERNET, _AMENITY[INTERNET])):
        if slot in v:
            extras.append(f"free {word}" if v[slot].lower() in ("yes", "free", "true") else f"no {word} needed")
    if extras:
        phrase += " with " + _words(extras)
    return phrase


def _place(value: str) -> str:
    """A taxi endpoint: a name in its casing, or one of the goal's places ("the theatre") as it is."""
    return value if value.startswith(_OF_GOAL) else name_case(value)


def _trip(domain: str, v: dict[str, str]) -> str:
    if domain == TIMETABLE:
        phrase = "a train"
    else:
        phrase = "a taxi"
    if ORIGIN in v:
        phrase += f" from {_place(v[ORIGIN])}"
    if DESTINATION in v:
        phrase += f" to {_place(v[DESTINATION])}"
    if domain == RIDE and ORIGIN not in v and DESTINATION not in v:
        phrase += " between two of the places above"
    if "day" in v:
        phrase += f" on {v['day']}"
    times = []
    if LEAVE_AT in v:
        times.append(f"leaving after {v[LEAVE_AT]}")
    if ARRIVE_BY in v:
        times.append(f"arriving by {v[ARRIVE_BY]}")
    return phrase + (", " + " and ".join(times) if times else "")


def _lower(d: dict[str, str]) -> dict[str, str]:
    return {k: str(v).strip().lower() for k, v in d.items()}


def _first_ask(info: dict[str, str], fail: dict[str, str], message: list[str]) -> str | None:
    """What the customer asks for first, that may not exist (the slots of ``fail_info`` that differ).

    Only where the goal's message asks for it (``fail_info_applies``, the agenda's own rule): MultiWOZ
    keeps stale ``fail_info`` its crowd workers were never told about. The message decides, never shows.
    """
    if not fail_info_applies(_lower(info), _lower(fail), message):
        return None
    diff = {k: s for k, x in fail.items() if (s := _given(x)) is not None and _given(info.get(k, "")) != s}
    if not diff:
        return None
    parts = []
    for k, s in diff.items():
        if k == CUISINE:
            parts.append(f"{s} food")
        elif k == PRICE_RANGE:
            parts.append(_article(f"{_PRICE.get(s.lower(), s)} one"))
        elif k == STARS:
            parts.append(f"{s} stars")
        elif k == "type":
            parts.append(_article(_ATTRACTION.get(s.lower(), s.lower())))
        elif k in (LEAVE_AT, ARRIVE_BY):
            parts.append(("leaving after " if k == LEAVE_AT else "arriving by ") + s)
        elif k == "name":
            parts.append(name_case(s))
        elif k in (PARKING, INTERNET):
            parts.append(("free " if s.lower() in ("yes", "free", "true") else "no ") + _AMENITY[k])
        elif k != AREA:
            parts.append(s)
    asked = _words(parts) if parts else "one"
    if AREA in diff:
        asked += f" in the {diff[AREA].lower()}"
    return "first asking for " + asked + ", which may not be found"


_BOOK_TRY = {"people": "for {}", "day": "on {}", "time": "at {}", STAY: "for {} nights"}


def _booking(domain: str, book: dict[str, str], fail: dict[str, str]) -> str | None:
    b = {k: s for k, x in book.items() if k in ("people", "day", "time", STAY) and (s := _given(x)) is not None}
    if not b:
        return None
    people = b.get("people")
    if domain == TIMETABLE:
        text = f"with {people} ticket{'s' if people != '1' else ''} booked" if people else "booked"
    elif domain == TABLE:
        text = "a table booked" + (f" for {people}" if people else "") + (f" at {b['time']}" if "time" in b else "") \
               + (f" on {b['day']}" if "day" in b else "")
    else:
        text = "booked" + (f" for {people} {'person' if people == '1' else 'people'}" if people else "")
        if STAY in b:
            text += f", {b[STAY]} night{'s' if b[STAY] != '1' else ''}"
        if "day" in b:
            text += f" from {b['day']}"
    tried = [_BOOK_TRY[k].format(s) for k, x in fail.items() if k in _BOOK_TRY and (s := _given(x)) is not None
             and s != b.get(k)]
    if tried:
        text += f" (a first try {_words(tried)} cannot be booked)"
    return text


def _need(slot: str) -> str:
    if slot in (PARKING, INTERNET):
        return "whether it has " + _AMENITY[slot]
    return "the " + _ASK.get(slot, slot)


def _clause(domain: str, g: DomainGoal, message: list[str]) -> str:
    parts = [_venue(domain, g.info)]
    if (first := _first_ask(g.info, g.fail_info, message)) is not None:
        parts[0] += f", {first}"
    if (booking := _booking(domain, g.book, g.fail_book)) is not None:
        parts.append(booking)
    needs = (["the reference number"] if booking else []) + [_need(r) for r in g.reqt if r not in ("ref", "reference", "none")]
    text = ", ".join(parts)
    if needs:
        text += "; they need " + _words(list(dict.fromkeys(needs)))
    return text


def pack_goal_text(goal: Goal) -> str:
    """A domain pack's goal: each task as the pack's intent description says it, with its values."""
    from goalconvo.packs.model import PackError
    from goalconvo.packs.registry import find_pack

    try:
        pack = find_pack(str(goal.pack).partition("@")[0])
    except PackError:
        pack = None
    sentences = []
    for i, t in enumerate(goal.tasks):
        svc = pack.service(t.service) if pack else None
        intent = svc.intent(t.intent) if svc else None
        what = (intent.description.rstrip(".") if intent and intent.description else
                "".join(" " + c.lower() if c.isupper() else c for c in t.intent).strip())
        what = what[:1].lower() + what[1:]
        # An ISO date in words, as the dialogue says it ("March 5th" for 2019-03-05).
        given = ", ".join(f"{k.replace('_', ' ')} {(date_wordings(str(v)) or [v])[0]}" for k, v in t.inform.items()
                          if str(v).lower() not in _NONE)
        asks = " and ".join(r.replace("_", " ") for r in t.request)
        lead = "The customer wants to " if i == 0 else "Then they want to "
        sentence = lead + what + (f" ({given})" if given else "")
        if t.failed_first:
            sentence += "; if that cannot be done, they take an offered alternative"
        if t.outcome == "failure" and not (intent and not intent.is_transactional and t.inform and t.service):
            sentence += "; it may not work out"
        sentences.append(sentence + (f"; they ask for the {asks}" if asks else "") + ".")
    return " ".join(sentences)


def goal_text(goal: Goal, cleaner: Cleaner | None = None) -> str:
    """What the customer wants, one short sentence per domain: the same words for a human and a generated goal."""
    if goal.names_a_pack:
        return pack_goal_text(goal)
    cleaner = cleaner or Cleaner.for_venues()
    domains = sorted(goal.domains, key=lambda d: ORDER.index(d) if d in ORDER else len(ORDER))
    sentences = []
    for i, d in enumerate(domains):
        lead = "The customer wants " if i == 0 else "They also want "
        g = goal.domains[d]
        if d == RIDE:
            g = g.model_copy(update={"info": _taxi_between(goal, domains)})
        sentences.append(lead + _clause(d, g, goal.message) + ".")
    return cleaner.clean(" ".join(sentences))


#: How a taxi endpoint that is one of the goal's places starts ("the theatre").
_OF_GOAL = "the "


@lru_cache(maxsize=1)
def _shipped_names() -> dict[str, set[str]]:
    return VenueDB.load().place_names()


def _taxi_between(goal: Goal, domains: list[str]) -> dict[str, str]:
    """A taxi between two places of the goal is told as such ("from the theatre to the restaurant"), as
    MultiWOZ's own goal messages say it ("a taxi to commute between the two places"): the names in its
    record are the venues the writer's dialogue found, which another dialogue of the goal need not find."""
    info = dict(goal.domains[RIDE].info)
    cons = {k: str(v).strip().lower() for k, v in info.items()}
    for slot, d in taxi_endpoint_domains(cons, domains, _shipped_names()).items():
        other = goal.domains[d].info
        if d == SIGHT:
            noun = _ATTRACTION.get(str(other.get("type", "")).lower(), str(other.get("type", "") or _NOUN[SIGHT]).lower())
        elif d == LODGING:
            kind = str(other.get("type", "")).lower()
            noun = kind if kind in _LODGING_TYPES else _NOUN[LODGING]
        else:
            noun = _NOUN[TABLE]
        info[slot] = f"{_OF_GOAL}{noun}"
    return info
