"""Typed values in a sentence, and the slot a value is said to be ("the postcode is X").

Types: ``phone``, ``postcode``, ``train_id``, ``reference``, ``price``, ``free``, ``time``,
``duration``, ``stars``, ``people``, ``nights``, ``day``, ``venue`` (a name of the venue
database, with its domains), ``address``, ``station``, ``area``, ``pricerange``, ``food``,
``car``. Fixed shapes are read first (a phone number is no price), then the database's
names and addresses, longest first (an address holding a venue's name is an address),
then single words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goalconvo.nlu.lexicon import AREAS, CLAIM_PHRASES, DAYS, PRICE_RANGES, WRONG_TYPES, Lexicon
from goalconvo.core.roles import AREA, CUISINE, DEPARTMENT, INTERNET, PARKING, PRICE_RANGE, STARS, TRAVEL_TIME
from goalconvo.packs.builtin import default_pack, pack_toml

#: How the default pack's locale writes phones, postcodes, timetable ids and prices in a turn (shapes.toml).
_LOCALE: dict[str, str] = pack_toml(default_pack(), "shapes")["understanding"]
_NUM_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a couple of|a party of|party of")
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone", re.compile(_LOCALE["phone"])),
    ("postcode", re.compile(_LOCALE["postcode"])),
    ("train_id", re.compile(_LOCALE["timetable_id"])),
    ("price", re.compile(_LOCALE["price"])),
    ("free", re.compile(r"\b(?:free of charge|no charge|free entrance|free admission|free to (?:get in|enter)|"
                        r"(?:is|are|it's|entrance|admission) (?:absolutely |completely |totally )?free)\b")),
    ("time", re.compile(r"(?<![\d.£])\d{1,2}[:]\d{2}(?: ?[ap]\.?m\.?)?(?![\d]| ?pounds| ?gbp)|(?<![\d.£])\d{1,2}(?:\.\d{2})? ?[ap]\.?m\b\.?"
                        r"|\b(?:noon|midday|midnight)\b")),
    (TRAVEL_TIME, re.compile(r"\b\d+ ?(?:minutes?|mins?|hours?|hrs?)\b")),
    (STARS, re.compile(rf"\b(?:\d|zero|{_NUM_WORDS})[ -]?stars?\b|\bstar rating of (?:\d|zero|{_NUM_WORDS})\b")),
    ("nights", re.compile(rf"\b(?:\d+|{_NUM_WORDS}|a|one|a single|single) ?(?:nights?|days)\b")),
    ("people", re.compile(
        rf"\b(?:\d+|{_NUM_WORDS}) ?(?:people|persons?|guests|adults|of us|in (?:my|our|the) (?:party|group)|tickets?|seats?"
        r"|passengers)\b|\b(?:party|group|table) (?:of|for) (?:\d+|" + _NUM_WORDS + r")\b"
        r"|\b(?:just|only) (?:me|myself|one|one person|the one|the two of us|us two)\b|\bfor (?:\d+|" + _NUM_WORDS
        + r")(?= (?:on|at|for|starting|from|please|people|person)\b|[,.?!]|$)|\b(?:me and my|my (?:wife|husband|partner) and i)\b")),
    ("reference", re.compile(r"(?<![a-z0-9])(?=[a-z0-9]*\d)[a-z0-9]{8}(?![a-z0-9])")),
)
#: A reference of letters only ("LERUQAPY"), known by the words before it.
_NAMED_REFERENCE = re.compile(r"\b(?:(?:reference|confirmation)(?: number| code| no| #)?|(?:reservation|booking) (?:number|code|reference))"
                              r"(?: is:?|:|#) ?([a-z0-9]{8})(?![a-z0-9])")
_ADDRESS_SHAPE = re.compile(
    r"\b(?:\d+[a-z]? )?[a-z']+ (?:street|road|rd|lane|avenue|ave|drive|close|parade|square|way|row|hill|court|terrace)\b"
)
_AMENITIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (INTERNET, re.compile(r"\b(?:wifi|internet|wireless)\b")),
    (PARKING, re.compile(r"\b(?:parking|car park|park (?:there|the car|my car))\b")),
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_WORD_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("day", re.compile(r"\b(?:" + "|".join(DAYS) + r"|today|tonight|tomorrow|this weekend)\b"
                       r"|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b(?:" + _MONTHS + r") \d{1,2}(?:st|nd|rd|th)?\b"
                       r"|\b\d{1,2}(?:st|nd|rd|th)(?: of (?:" + _MONTHS + r"|the month|this month|next month))?\b")),
    (AREA, re.compile(r"\b(?:" + "|".join(sorted(AREAS, key=len, reverse=True)) + r")\b")),
    (PRICE_RANGE, re.compile(r"\b(?:" + "|".join(sorted(PRICE_RANGES, key=len, reverse=True)) + r")\b")),
)


@dataclass(frozen=True)
class Value:
    """A value said in a sentence: its type, its text (normalised) and where it is."""

    type: str
    text: str
    start: int
    end: int
    domains: frozenset[str] = frozenset()

    @property
    def compact(self) -> str:
        return re.sub(r"[^a-z0-9]", "", self.text)


@dataclass(frozen=True)
class Claim:
    """``the <slot> is <value>``: the slot a value is introduced as, and the value found right after."""

    slot: str
    value: Value
    #: Said with "is" / ":" ("the postcode is X"); without, a value of another type may be another thing.
    copula: bool = True

    @property
    def wrong(self) -> bool:
        return self.copula and self.value.type in WRONG_TYPES.get(self.slot, ())


def find_values(text: str, lex: Lexicon) -> list[Value]:
    """Typed values of one normalised sentence, in order of position, never overlapping."""
    taken: list[tuple[int, int]] = []
    out: list[Value] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(kind: str, m: re.Match[str], domains: frozenset[str] = frozenset(), group: int = 0) -> None:
        a, b = m.span(group)
        if free(a, b):
            taken.append((a, b))
            out.append(Value(kind, m.group(group).strip(), a, b, domains))

    for kind, pattern in _SHAPES:
        for m in pattern.finditer(text):
            if kind == "phone" and len(re.sub(r"\D", "", m.group())) not in (10, 11):
                continue
            if kind == "reference" and m.group().isdigit() and len(m.group()) != 8:
                continue
            add(kind, m)
    for m in _NAMED_REFERENCE.finditer(text):
        add("reference", m, group=1)
    # Database phrases, longest first: "cafe jello gallery, 13 magdalene street" is an address.
    found: list[tuple[int, str, re.Match[str]]] = []
    for kind, pattern in _AMENITIES:
        for m in pattern.finditer(text):
            add(kind, m)
    for kind, pattern in (("address", lex.address_pattern), ("venue", lex.name_pattern),
                          ("station", lex.station_pattern), (CUISINE, lex.food_pattern), ("car", lex.car_pattern),
                          ("type", lex.type_pattern), (DEPARTMENT, lex.department_pattern)):
        if pattern is not None:
            found += [(len(m.group(1)), kind, m) for m in pattern.finditer(text)]
    for m in _ADDRESS_SHAPE.finditer(text):
        found.append((len(m.group()) - 1, "address", m))  # a database phrase of the same length wins
    for _, kind, m in sorted(found, key=lambda x: -x[0]):
        group = 1 if m.re.groups else 0
        add(kind, m, lex.names.get(m.group(group), frozenset()) if kind == "venue" else frozenset(), group)
    for kind, pattern in _WORD_TYPES:
        for m in pattern.finditer(text):
            add(kind, m)
    return sorted(out, key=lambda v: v.start)


_CLAIMS = tuple((slot, re.compile(p)) for slot, p in CLAIM_PHRASES)
#: What may stand between a claim's words and its value ("the address is at 12 ...").
_GAP = re.compile(r"^(?:\s|the |a |an |just |only |about |around |roughly |approximately |:|-)*$")
_COPULA = re.compile(r"(?:\bis|\bwill be|\bwould be|\bcomes to|:|#|\bat|\bon|\bby) ?$")


def find_claims(text: str, values: list[Value]) -> list[Claim]:
    """Each ``<slot words> <value>`` of the sentence with the typed value right after the words."""
    out = []
    for slot, pattern in _CLAIMS:
        for m in pattern.finditer(text):
            after = [v for v in values if v.start >= m.end() and _GAP.match(text[m.end() : v.start])]
            if after:
                out.append(Claim(slot, after[0], bool(_COPULA.search(m.group(0)))))
    return out
