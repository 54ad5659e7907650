"""The words the templates use for MultiWOZ's domains and slots, and how values are written.

The words are data in the default pack (``words.toml``): what a slot is called in a question
("the postcode"), what a domain's thing is called ("a place to stay"), what is booked there
("a table", "a room", "tickets"). Here: how they are read, and the casing people write values
in ("Golden Wok", "Friday", "CB2 1AD").
"""

from __future__ import annotations

import re
from typing import Any

from goalconvo.packs.builtin import default_pack, pack_words

#: Slots that belong to a booking rather than to the search.
BOOKING_SLOTS = ("People", "Day", "Time", "Stay")

#: The default pack's template words (``[files] words`` of MultiWOZ's ``pack.toml``).
_WORDS: dict[str, Any] = pack_words(default_pack())


def _pairs(table: dict[str, list[list[str]]]) -> dict[str, tuple[tuple[str, str], ...]]:
    return {k: tuple((a, b) for a, b in v) for k, v in table.items()}


#: How a question or an answer names an attribute ("the phone number").
SLOT_NOUN: dict[str, str] = dict(_WORDS["slot_noun"])
#: The same attributes as a User asks for them (shorter, plainer).
ASK_NOUN: dict[str, str] = {**SLOT_NOUN, **_WORDS["ask_noun"]}
#: A domain's thing, singular and plural.
DOMAIN_NOUN: dict[str, tuple[str, str]] = {k: (a, b) for k, (a, b) in _WORDS["service_noun"].items()}
#: Other words for a domain's thing, for variety where no type is given.
DOMAIN_SYNONYMS: dict[str, tuple[tuple[str, str], ...]] = _pairs(_WORDS["service_synonyms"])
#: What a customer calls a domain's thing where no type is asked for ("a hotel" for any place to
#: stay: the desk never calls a guesthouse a hotel, a customer may).
USER_SYNONYMS: dict[str, tuple[tuple[str, str], ...]] = _pairs(_WORDS["user_synonyms"])
#: Hotel types as people say them.
HOTEL_TYPE: dict[str, tuple[str, str]] = {k: (a, b) for k, (a, b) in _WORDS["hotel_type"].items()}
#: Attraction types as people say them: (a singular with article, plural).
ATTRACTION_TYPE: dict[str, tuple[str, str]] = {k: (a, b) for k, (a, b) in _WORDS["attraction_type"].items()}
#: Lodging types that go without saying ("a hotel that is a hotel").
PLAIN_LODGING_TYPES: frozenset[str] = frozenset(_WORDS["plain_lodging_type"]["words"])
#: What an amenity is called when a User asks for it, by act slot (``Internet`` -> ``wifi``).
AMENITY_WORD: dict[str, str] = dict(_WORDS["amenity_word"])
#: What a booking holds, per domain.
BOOKED_THING: dict[str, str] = dict(_WORDS["booked_thing"])

#: Food words written in lower case (the others are proper adjectives: "Italian", "Modern European").
_LOWER_FOOD = frozenset(_WORDS["values"]["lower_food"])
_LOWER_NAME_WORDS = frozenset({"and", "of", "the", "de", "la", "on", "in", "at", "a", "an", "for", "to", "by", "off"})
_CAR_MAKES = {"bmw": "BMW", "vw": "VW"}


def title(value: str) -> str:
    """``"city centre north b and b"`` -> ``"City Centre North B and B"``; ``"christ's college"`` -> ``"Christ's College"``."""
    words = value.split()
    out = []
    for i, w in enumerate(words):
        if i and w in _LOWER_NAME_WORDS:
            out.append(w)
        elif w[:1].isalpha():
            out.append(w[:1].upper() + w[1:])
        else:
            out.append(w)
    return " ".join(out)


def _postcode(value: str) -> str:
    c = re.sub(r"\s+", "", value).upper()
    m = re.fullmatch(r"([A-Z]{1,2}\d{1,2}[A-Z]?)(\d[A-Z]{2})", c)
    return f"{m.group(1)} {m.group(2)}" if m else value.upper()


def _address(value: str) -> str:
    v = re.sub(r"\s+,", ",", value.strip())
    return title(v)


def display(slot: str, value: str) -> str:
    """A value as people write it in a sentence: names, days and stations capitalised, postcodes in
    upper case with their space. The validator compares case- and space-insensitively."""
    v = value.strip()
    low = v.lower()
    if slot in ("Name", "Depart", "Dest") and not re.fullmatch(r"tr\s?\d{4}", low):
        return title(low)
    if slot == "Day":
        return " or ".join(d.capitalize() for d in low.split(" or "))
    if slot == "Food":
        return low if low in _LOWER_FOOD else title(low)
    if slot == "Post":
        return _postcode(low)
    if slot == "Addr":
        return _address(low)
    if slot in ("Id", "Ref"):
        return v.upper()
    if slot == "Car":
        parts = low.split()
        return " ".join(_CAR_MAKES.get(p, p.capitalize() if i == len(parts) - 1 else p) for i, p in enumerate(parts))
    return v


_UNIT_WORDS = tuple(_WORDS["unit_words"]["words"])
_OWN_UNIT_WORDS = tuple(_WORDS["unit_words"]["own"])


def department(value: str, article: bool = True) -> str:
    """A hospital department as people name it: ``"an emergency department"``, ``"a cardiology department"``,
    ``"a paediatric clinic"`` (no "department department")."""
    v = value.strip().lower()
    own = any(v.endswith(w) for w in _OWN_UNIT_WORDS)
    phrase = v if own else f"{v} department"
    if not article:
        return phrase
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


#: Foods that are dishes, not cuisines: "seafood", not "seafood food".
_FOOD_NOUNS = frozenset({"seafood", "fish and chips", "light bites", "barbeque", "pizza", "tapas", "steakhouse", "gastropub"})


def food_phrase(value: str) -> str:
    """``"Italian food"``, but ``"seafood"``: the food a restaurant serves, as a noun phrase."""
    return value if value.lower() in _FOOD_NOUNS else f"{value} food"


def content_phrases() -> frozenset[str]:
    """The words that name what acts carry: slot nouns ("phone number"), domain nouns ("place to
    stay"), venue types, amenities ("free wifi"), booking things ("a table"). Every template shares
    them with MultiWOZ by necessity; the check that templates copy no MultiWOZ wording skips them
    (with the act values) and holds the rest to it."""
    out = set(SLOT_NOUN.values()) | set(ASK_NOUN.values()) | set(BOOKED_THING.values())
    for one, many in DOMAIN_NOUN.values():
        out |= {one, many}
    for options in (*DOMAIN_SYNONYMS.values(), *USER_SYNONYMS.values()):
        for one, many in options:
            out |= {one, many}
    for one, many in (*HOTEL_TYPE.values(), *ATTRACTION_TYPE.values()):
        out |= {one.split(" ", 1)[1] if one.startswith(("a ", "an ")) else one, many}
    out |= set(_WORDS["content_words"]["words"])
    return frozenset(out)
