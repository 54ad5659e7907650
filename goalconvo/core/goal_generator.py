"""New goals composed from the venue databases, the way MultiWOZ's goals were made.

A goal picks a domain set by a mix (default: MultiWOZ val's observed one), then per
domain a *target* row of the database whose informable slots give ``info`` (so
``info`` is satisfiable by construction); at ``fail_first_rate`` one venue domain
gets a ``fail_info`` that matches no venue (the user asks it first, then settles
for ``info``). ``book`` and ``reqt`` follow MultiWOZ's shapes (a booked venue asks
for the reference, an unbooked one for attributes); ``fail_book`` at
``fail_book_rate``. Trains come from a real timetable row (times rounded so the row
still fits); a taxi goes between the goal's venues (the agenda takes the venues the
dialogue settles on, as MultiWOZ's taxi goals did; named ends where the goal pins
its venues by name) and arrives by the restaurant's booking time. A ``message``
says the goal in words, ordered as the agenda will pursue it.

Reproducible from a seed: goal ``i`` of seed ``s`` depends on nothing else. Ids are
content-derived (``gen:<hash>``), so the same content is the same goal.

Reads: :class:`VenueDB` tables. Adds: :class:`Goal` records (``source="generated"``).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from typing import Any

from goalconvo.core.goal_mix import Mix, normal_mix, parse_goal_mix
from goalconvo.core.goal_messages import PLACE_DOMAINS as _PLACES, describe_generated
from goalconvo.core.goals import goal_content_key
from goalconvo.core.records import Goal
from goalconvo.core.venues import VenueDB
from goalconvo.packs.builtin import default_pack
from goalconvo.packs.derived import booking_slots, constraint_slots, request_slots
from goalconvo.core.roles import (
    AREA, ARRIVE_BY, CAR_TYPE, CUISINE, DEPARTMENT, DEPARTMENT_DESK, DESTINATION, INTERNET, LEAVE_AT,
    LODGING, OFFICE, ORIGIN, PARKING, PRICE_RANGE, RIDE, SIGHT, STAY, TABLE, TIMETABLE,
)

_PACK = default_pack()
INFO_SIZES: dict[str, tuple[int, ...]] = {TABLE: (2, 2, 3, 3, 3), LODGING: (2, 3, 3, 4, 4), SIGHT: (1, 1, 2, 2)}
#: Informable slots a target venue lends to ``info`` (besides ``name``; the pack's search
#: constraints), and how many MultiWOZ took.
INFO_SLOTS: dict[str, tuple[str, ...]] = {d: constraint_slots(_PACK.service(d)) for d in INFO_SIZES}  # type: ignore[arg-type]
#: Share of venue goals pinned by name (MultiWOZ val: ~25%).
NAME_RATE = 0.25
#: Attributes a user may ask for (``reqt``), per domain: what the bot's database can answer
#: (the pack's search results, or a booking's for a service that only books).
REQT_SLOTS: dict[str, tuple[str, ...]] = {s.name: request_slots(s) for s in _PACK.services}
#: Booking slots per domain (the pack's booking intents' own).
BOOK_SLOTS: dict[str, tuple[str, ...]] = {s.name: booking_slots(s) for s in _PACK.services if booking_slots(s)}
#: Share of goals of a domain that book (MultiWOZ val: hotel 61%, restaurant 61%, train 56%).
BOOK_RATE: dict[str, float] = {LODGING: 0.6, TABLE: 0.6, TIMETABLE: 0.55}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Constraint values that no venue has, a last resort when no combination of real values fails.
NO_SUCH_VALUE: dict[str, tuple[str, ...]] = {
    CUISINE: ("jamaican", "venetian", "basque", "scandinavian", "australasian"),
    "type": ("spa", "zoo", "aquarium"),
}
#: Slots whose value a failing first request changes (their values are words the judge can find).
_FAILABLE = (CUISINE, AREA, PRICE_RANGE, "type")
_TIME = re.compile(r"^\d{2}:\d{2}$")

#: The goal source (``run --goal-source``, ``goals produce --source``) that means "generate new goals".
GENERATE_SOURCE = "generate"


# -- goal content ------------------------------------------------------------------------
def content_goal_id(goal: Goal) -> str:
    return "gen:" + hashlib.sha1(goal_content_key(goal).encode()).hexdigest()[:16]


# -- composing one goal ------------------------------------------------------------------------
def _value_ok(v: Any) -> bool:
    return isinstance(v, (str, int)) and str(v).strip() not in ("", "?")


def _quarter(rng: random.Random, lo: int, hi: int) -> str:
    """A time on the quarter hour between ``lo`` and ``hi`` o'clock."""
    m = rng.randrange(lo * 4, hi * 4 + 1) * 15
    return f"{m // 60:02d}:{m % 60:02d}"


def _minutes(t: str) -> int:
    h, m = t.split(":")
    return int(h) * 60 + int(m)


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


class _Composer:
    """Builds one goal from ``rng``; domain by domain, with the links between them."""

    def __init__(self, db: VenueDB, rng: random.Random, fail_book_rate: float):
        self.db, self.rng, self.fail_book_rate = db, rng, fail_book_rate
        self.targets: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, dict[str, Any]] = {}

    # venues: restaurant, hotel, attraction
    def venue(self, domain: str, fail_first: bool) -> None:
        rng = self.rng
        rows = [r for r in self.db.tables.get(domain, []) if _value_ok(r.get("name"))]
        target = rng.choice(rows)
        self.targets[domain] = target
        # Internet and parking are asked for when wanted (MultiWOZ's goals say "yes"), never ruled out.
        slots = [s for s in INFO_SLOTS[domain] if _value_ok(target.get(s))
                 and (s not in (INTERNET, PARKING) or str(target[s]).lower() == "yes")]
        if not fail_first and rng.random() < NAME_RATE:
            info = {"name": str(target["name"]).lower()}
        else:
            k = min(len(slots), rng.choice(INFO_SIZES[domain]))
            if fail_first and not any(s in _FAILABLE for s in slots[:k]):
                slots = [s for s in slots if s in _FAILABLE] + [s for s in slots if s not in _FAILABLE]
            chosen = rng.sample(slots, k) if not fail_first else self._with_failable(slots, k)
            info = {s: str(target[s]).lower() for s in slots if s in chosen}
        g: dict[str, Any] = {"info": info, "reqt": [], "book": {}, "fail_info": {}, "fail_book": {}}
        if fail_first:
            g["fail_info"] = self._failing(domain, info)
        if domain in BOOK_SLOTS and rng.random() < BOOK_RATE[domain]:
            g["book"] = self._booking(domain)
            if rng.random() < self.fail_book_rate:
                g["fail_book"] = self._fail_booking(domain, g["book"])
            if rng.random() < 0.1:
                fits = self.db.search(domain, info, limit=10**6)
                g["reqt"] = [rng.choice([s for s in ("address", "postcode", "phone") if all(_value_ok(r.get(s)) for r in fits)])]
        else:
            # Only what every venue meeting ``info`` can answer (a few restaurants have no phone).
            fits = self.db.search(domain, info, limit=10**6)
            pool = [s for s in REQT_SLOTS[domain] if s not in info
                    and all(_value_ok(r.get(s)) or r.get(s) == "?" for r in fits)]
            n = rng.choice((1, 1, 2, 2, 3))
            g["reqt"] = sorted(rng.sample(pool, min(n, len(pool))))
        self.domains[domain] = g

    def _with_failable(self, slots: list[str], k: int) -> list[str]:
        failable = [s for s in slots if s in _FAILABLE]
        first = self.rng.choice(failable)
        rest = [s for s in slots if s != first]
        return [first] + self.rng.sample(rest, max(0, min(k, len(slots)) - 1))

    def _failing(self, domain: str, info: dict[str, str]) -> dict[str, str]:
        """``info`` with one word slot changed to a value (from the database's own) that no venue has with the rest."""
        rng = self.rng
        slots = [s for s in info if s in _FAILABLE]
        rng.shuffle(slots)
        for slot in slots:
            values = sorted(self.db.all_values(domain, slot) - {info[slot], "?", ""})
            rng.shuffle(values)
            for v in values:
                cand = {**info, slot: v}
                if not self.db.search(domain, cand, limit=1):
                    return cand
            # With the other slots of the target too, a real value may fail where it alone would not.
            target = self.targets[domain]
            wider = {**{s: str(target[s]).lower() for s in INFO_SLOTS[domain] if _value_ok(target.get(s))}, **info}
            for v in values:
                cand = {**wider, slot: v}
                if not self.db.search(domain, cand, limit=1):
                    info.update({k: wider[k] for k in wider if k not in info})
                    return cand
        slot = next((s for s in slots if s in NO_SUCH_VALUE), None)
        if slot is None:
            slot = CUISINE if domain == TABLE else "type"
            info.setdefault(slot, str(self.targets[domain][slot]).lower())
        return {**info, slot: rng.choice(NO_SUCH_VALUE[slot])}

    def _booking(self, domain: str) -> dict[str, str]:
        rng = self.rng
        book = {"people": str(rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8)))}
        if domain in (LODGING, TABLE):
            book["day"] = rng.choice(DAYS)
        if domain == LODGING:
            book[STAY] = str(rng.choice((1, 2, 2, 3, 3, 4, 5)))
        if domain == TABLE:
            book["time"] = _quarter(rng, 11, 21)
        return book

    def _fail_booking(self, domain: str, book: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        slot = rng.choice(("day", "time") if domain == TABLE else ("day", STAY))
        if slot == "day":
            value = rng.choice([d for d in DAYS if d != book["day"]])
        elif slot == "time":
            value = _hhmm((_minutes(book["time"]) + rng.choice((-60, -30, 30, 60))) % (24 * 60))
        else:
            value = str(int(book[STAY]) + rng.choice((1, 2)))
        return {**book, slot: value}

    # trains
    def train(self) -> None:
        rng = self.rng
        rows = self.db.tables.get(TIMETABLE, [])
        linked = [self.domains[d]["book"]["day"] for d in (LODGING, TABLE)
                  if d in self.domains and self.domains[d]["book"].get("day")]
        if linked and rng.random() < 0.6:
            day = linked[0]
            rows = [r for r in rows if r.get("day") == day] or rows
        row = rng.choice(rows)
        info = {ORIGIN: row[ORIGIN], DESTINATION: row[DESTINATION], "day": row["day"]}
        if rng.random() < 0.42:
            info[LEAVE_AT] = _hhmm(_minutes(row[LEAVE_AT]) // 15 * 15)
            other = ARRIVE_BY
        else:
            up = -(-_minutes(row[ARRIVE_BY]) // 15) * 15
            info[ARRIVE_BY] = _hhmm(up) if up < 24 * 60 else row[ARRIVE_BY]
            other = LEAVE_AT
        g: dict[str, Any] = {"info": info, "reqt": [], "book": {}, "fail_info": {}, "fail_book": {}}
        if rng.random() < BOOK_RATE[TIMETABLE]:
            g["book"] = {"people": str(rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 7, 8)))}
        else:
            pool = list(REQT_SLOTS[TIMETABLE]) + [other]
            g["reqt"] = sorted(rng.sample(pool, rng.choice((1, 1, 2, 2, 3))))
        self.targets[TIMETABLE] = row
        self.domains[TIMETABLE] = g

    # taxi, hospital, police
    def taxi(self) -> None:
        rng = self.rng
        places = [d for d in _PLACES if d in self.domains]
        info: dict[str, str] = {}
        rest_time = self.domains.get(TABLE, {}).get("book", {}).get("time")
        if not places:
            # A taxi on its own: between two real venues.
            pool = [str(r["name"]).lower() for d in _PLACES for r in self.db.tables.get(d, []) if _value_ok(r.get("name"))]
            a, b = rng.sample(pool, 2)
            info = {ORIGIN: a, DESTINATION: b}
        else:
            pinned = [self.domains[d]["info"].get("name") for d in places]
            if len(places) >= 2 and all(pinned[:2]):
                a, b = pinned[0], pinned[1]
                if TABLE in places[:2] and rest_time and a == self.domains[TABLE]["info"].get("name"):
                    a, b = b, a
                elif rng.random() < 0.5:
                    a, b = b, a
                info = {ORIGIN: a, DESTINATION: b}
        if rest_time and TABLE in places and (info.get(DESTINATION) in (None, self.domains[TABLE]["info"].get("name"))) and rng.random() < 0.6:
            info[ARRIVE_BY] = rest_time
        elif rng.random() < 0.6:
            info[LEAVE_AT] = _quarter(rng, 7, 22)
        else:
            info[ARRIVE_BY] = _quarter(rng, 8, 23)
        self.domains[RIDE] = {"info": info, "reqt": [CAR_TYPE, "phone"], "book": {}, "fail_info": {}, "fail_book": {}}

    def hospital(self) -> None:
        rows = [r for r in self.db.tables.get(DEPARTMENT_DESK, []) if _value_ok(r.get(DEPARTMENT))]
        row = self.rng.choice(rows)
        self.targets[DEPARTMENT_DESK] = row
        reqt = sorted(self.rng.sample([s for s in REQT_SLOTS[DEPARTMENT_DESK] if _value_ok(row.get(s))], self.rng.choice((1, 1, 2, 3))))
        self.domains[DEPARTMENT_DESK] = {"info": {DEPARTMENT: str(row[DEPARTMENT]).lower()}, "reqt": reqt,
                                    "book": {}, "fail_info": {}, "fail_book": {}}

    def police(self) -> None:
        reqt = sorted(self.rng.sample(REQT_SLOTS[OFFICE], self.rng.choice((1, 2, 3))))
        self.domains[OFFICE] = {"info": {}, "reqt": reqt, "book": {}, "fail_info": {}, "fail_book": {}}


def compose_goal(
    rng: random.Random, db: VenueDB, domains: tuple[str, ...], *, fail_first: bool = False, fail_book_rate: float = 0.15,
) -> Goal:
    """One goal over ``domains``; ``fail_first``: one venue domain asks a ``fail_info`` first."""
    c = _Composer(db, rng, fail_book_rate)
    venues = [d for d in domains if d in _PLACES]
    failing = rng.choice(venues) if fail_first and venues else None
    order = [d for d in (OFFICE, DEPARTMENT_DESK) if d in domains] + [d for d in domains if d in _PLACES or d == TIMETABLE]
    mid = order[len([d for d in order if d in (OFFICE, DEPARTMENT_DESK)]):]
    rng.shuffle(mid)
    order = [d for d in order if d in (OFFICE, DEPARTMENT_DESK)] + mid + ([RIDE] if RIDE in domains else [])
    for d in [d for d in order if d in _PLACES]:
        c.venue(d, d == failing)
    if TIMETABLE in domains:
        c.train()
    if RIDE in domains:
        c.taxi()
    if DEPARTMENT_DESK in domains:
        c.hospital()
    if OFFICE in domains:
        c.police()
    goal = Goal.model_validate({
        "goal_id": "gen:pending",
        "domains": {d: c.domains[d] for d in order},
        "message": describe_generated(order, c.domains),
        "source": "generated",
    })
    goal.goal_id = content_goal_id(goal)
    return goal


def iter_generated_goals(
    db: VenueDB | None = None,
    seed: int | str = 0,
    *,
    mix: Mix | str | None = None,
    fail_first_rate: float = 0.0,
    fail_book_rate: float = 0.15,
    run_id: str | None = None,
    skip_repeats: bool = True,
    start: int = 0,
) -> Iterator[Goal]:
    """Goals without end, reproducible from ``seed``; goal ``i`` depends only on ``(seed, i)``.

    ``skip_repeats`` leaves out a goal whose content this iterator already gave (it would
    be the same dialogue); the last million keys are remembered. Where a mix's content runs
    out (police goals differ only in what they ask), a repeat is given after 50 draws in a row
    found nothing new, so the stream never stalls.
    """
    db = db or VenueDB.load()
    mix = parse_goal_mix(mix) if mix is None or isinstance(mix, str) else normal_mix(mix)
    sets, weights = list(mix), list(mix.values())
    seen: dict[str, None] = {}
    misses = 0
    i = start
    while True:
        rng = random.Random(f"goalgen:{seed}:{i}")
        i += 1
        domains = rng.choices(sets, weights=weights)[0]
        goal = compose_goal(rng, db, domains, fail_first=rng.random() < fail_first_rate, fail_book_rate=fail_book_rate)
        if skip_repeats:
            if goal.goal_id in seen and misses < 50:
                misses += 1
                continue
            misses = 0
            seen[goal.goal_id] = None
            if len(seen) > 1_000_000:
                seen.pop(next(iter(seen)))
        goal.run_id = run_id
        yield goal


def generate_goals(
    n: int,
    seed: int | str = 0,
    db: VenueDB | None = None,
    *,
    mix: Mix | str | None = None,
    fail_first_rate: float = 0.0,
    fail_book_rate: float = 0.15,
    run_id: str | None = None,
    skip_repeats: bool = True,
) -> list[Goal]:
    """``n`` generated goals (the first ``n`` of :func:`iter_generated_goals`)."""
    it = iter_generated_goals(db, seed, mix=mix, fail_first_rate=fail_first_rate, fail_book_rate=fail_book_rate,
                              run_id=run_id, skip_repeats=skip_repeats)
    return [next(it) for _ in range(n)]


# -- validity -----------------------------------------------------------------------------------------
def goal_problems(goal: Goal, db: VenueDB) -> list[str]:
    """Why ``goal`` is not a valid generated goal (empty: valid).

    Each ``info`` is met by some row of the database (unless it is a declared ``fail_info``,
    which must match none); book slots are the domain's; ``reqt`` is answerable; a taxi's
    named ends are real venues and its times are HH:MM.
    """
    out: list[str] = []
    names = {str(r.get("name", "")).lower() for d in _PLACES for r in db.tables.get(d, [])}
    for d, g in goal.domains.items():
        if d in (TABLE, LODGING, SIGHT, TIMETABLE):
            if not db.search(d, g.info, limit=1):
                out.append(f"{d}: info {g.info} matches no row")
            if "name" in g.info and g.info["name"] not in names:
                out.append(f"{d}: no venue named {g.info['name']}")
            if g.fail_info and g.fail_info != g.info and db.search(d, g.fail_info, limit=1):
                out.append(f"{d}: fail_info {g.fail_info} matches a row")
        elif d == DEPARTMENT_DESK:
            depts = {str(r.get(DEPARTMENT, "")).lower() for r in db.tables.get(DEPARTMENT_DESK, [])}
            if g.info.get(DEPARTMENT, "").lower() not in depts:
                out.append(f"hospital: no department {g.info.get(DEPARTMENT)}")
        elif d == RIDE:
            for k in (ORIGIN, DESTINATION):
                if k in g.info and g.info[k] not in names:
                    out.append(f"taxi: {k} {g.info[k]} is no venue")
            if not ({LEAVE_AT, ARRIVE_BY} & set(g.info)):
                out.append("taxi: no time")
        for k in (LEAVE_AT, ARRIVE_BY, "time"):
            for slots in (g.info, g.book):
                if k in slots and not _TIME.match(slots[k]):
                    out.append(f"{d}: {k} {slots[k]} is not HH:MM")
        if set(g.book) - set(BOOK_SLOTS.get(d, ())) or (g.book and set(g.book) != set(BOOK_SLOTS[d])):
            out.append(f"{d}: book slots {sorted(g.book)}")
        allowed = set(REQT_SLOTS.get(d, ())) | ({LEAVE_AT, ARRIVE_BY} if d == TIMETABLE else set())
        if set(g.reqt) - allowed:
            out.append(f"{d}: reqt {sorted(set(g.reqt) - allowed)} cannot be answered")
        if not g.reqt and not g.book:
            out.append(f"{d}: neither reqt nor book")
    return out

