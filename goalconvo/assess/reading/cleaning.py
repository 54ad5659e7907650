"""One way of writing for every dialogue on a sheet: MultiWOZ's tokenisation undone, values and casing alike.

Readers must not tell a human dialogue from a generated one by its surface, so both pass
through the same function (``Cleaner.clean``): tokenisation undone (``do n't``, ``i 'm``,
``cb41da .``, spaces before punctuation, tokenised quotes and brackets, runs of spaces and
line breaks), values written one way (postcodes ``CB4 1DA``, train ids ``TR1234``, booking
references upper case, prices ``£23.60`` whether written ``23.60 pounds``, ``23.60 GBP`` or
``£ 23.60``), and casing alike (venue names, streets, stations, days, cuisines and car makes in
one casing, generic words such as ``hotel`` or ``north`` in lower case mid-sentence, ``i`` as
``I``, sentence starts capitalised, shouted turns in sentence case). What it never changes is
what was said: words, order, mistakes of content.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from goalconvo.core.venues import VenueDB
from goalconvo.core.roles import DESTINATION, ORIGIN, TIMETABLE
from goalconvo.packs.builtin import default_pack, pack_toml

#: The default pack's reading-kit words (its reading.toml).
_READING = pack_toml(default_pack(), "reading")

#: Words a name keeps in lower case unless it starts the name ("City Centre North B and B").
_MINOR = frozenset({"a", "an", "and", "at", "by", "for", "in", "of", "on", "the", "to", "off"})
#: Words written in capitals inside names.
_UPPER = frozenset({"adc", "hk", "bmw", "ent", "uk"})

#: Venue names that are everyday phrases: left as written (capitalising them would touch ordinary sentences).
_NOT_NAMES = frozenset({"the place", "home from home"})

#: Proper names beside the venue database's: cuisines, makes, the hospital, days.
_PROPER = tuple(_READING["proper_names"]["words"])
#: Generic words people capitalise now and then mid-sentence; one casing for both sources.
_GENERIC = tuple(_READING["generic_words"]["words"])

_STREET = re.compile(r"\b(road|rd|street|st|lane|way|avenue|parade|crescent|passage|row|place|terrace|court|"
                     r"gardens|yard|square|hill|hills|common|causeway|close|drive|walk)\b")


def name_case(name: str) -> str:
    """A name as a person writes it: words capitalised, small words (and, of, the...) lower inside it."""
    words = name.lower().split(" ")
    out = []
    for i, w in enumerate(words):
        if w in _UPPER or (len(w) == 1 and w.isalpha() and w != "a"):
            out.append(w.upper())
        elif i and w in _MINOR:
            out.append(w)
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in w.split("-")))
    return " ".join(out)


def _street_names(address: str) -> list[str]:
    """The street and place names in a database address (numbers and the trailing 'city centre' left out)."""
    out = []
    for part in re.split(r"\s*,\s*", detokenise(address).lower()):
        part = re.sub(r"^[\d\w]*\d[\d\w]*\s*(?:-\s*\d+\s*)?", "", part).strip()  # "15-17 ", "251a ", "2G "
        part = re.sub(r"\s+city centre$", "", part).strip()
        part = re.sub(r"^(off|between)\s+", "", part)
        if not part or any(c.isdigit() for c in part) or len(part.split()) > 5:
            continue
        if _STREET.search(part) or len(part.split()) <= 3:
            out.append(part)
    return out


class Cleaner:
    """Writes any dialogue text the one way (see the module's docstring); built from a venue database."""

    def __init__(self, names: Iterable[str]):
        proper: dict[str, str] = {}
        for n in _GENERIC:
            proper[n] = n
        for n in _PROPER:
            proper[n] = name_case(n) if n != "uk" else "UK"
        for n in names:
            n = re.sub(r"\s+", " ", detokenise(n).strip().lower())
            if len(n) < 3 or n in _NOT_NAMES:
                continue
            proper[n] = name_case(n)
            if "guest house" in n:  # said either way
                proper.setdefault(n.replace("guest house", "guesthouse"), name_case(n.replace("guest house", "guesthouse")))
            if n.startswith("the ") and len(n.split()) > 2:  # "the golden curry" is said "golden curry" too
                proper.setdefault(n[4:], name_case(n[4:]))
        self.casing = proper
        alternatives = sorted(proper, key=len, reverse=True)
        self._names = re.compile(
            r"(?<![\w'])(" + "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alternatives) + r")(?![\w'])",
            re.IGNORECASE,
        )

    @classmethod
    def for_venues(cls, db: VenueDB | None = None) -> "Cleaner":
        """The cleaner of a venue database's names, addresses, stations and car makes (default: the shipped one)."""
        if db is None:
            return _shipped()
        names: list[str] = []
        for domain, rows in db.tables.items():
            for r in rows:
                if r.get("name"):
                    names.append(str(r["name"]))
                if r.get("address"):
                    names.extend(_street_names(str(r["address"])))
                for slot in (ORIGIN, DESTINATION):
                    if domain == TIMETABLE and r.get(slot):
                        names.append(str(r[slot]))
        names.extend(db.taxi.get("taxi_types") or [])
        return cls(names)

    def clean(self, text: str) -> str:
        """``text`` written the sheet's one way (both sources go through this)."""
        t = detokenise(text)
        letters = [c for c in t if c.isalpha()]
        if len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.7 * len(letters):
            t = t.lower()  # a shouted turn
        t = normalise_values(t)
        t = self._names.sub(lambda m: self.casing[re.sub(r"\s+", " ", m.group(1).lower())], t)
        t = capitalise(t)
        return t + "." if t[-1:].isalnum() else t  # a turn ends as a sentence does


@functools.lru_cache(maxsize=1)
def _shipped() -> Cleaner:
    return Cleaner.for_venues(VenueDB.load())


# -- the steps --------------------------------------------------------------------------------------

_CONTRACTION = re.compile(r"(\w) n't\b", re.IGNORECASE)
_CLITIC = re.compile(r"(\w) '(s|m|re|ve|ll|d)\b", re.IGNORECASE)
_QUOTED = re.compile(r'"\s+([^"]*?)\s+"')
_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:%)])(?=\s|$|[.,!?;:\"')])")


def detokenise(text: str) -> str:
    """MultiWOZ's tokenised text as people write it: ``I 'm`` -> ``I'm``, ``cb41da .`` -> ``cb41da.``."""
    t = re.sub(r"(?<=[A-Za-z0-9])[ \t]*[\r\n]+\s*(?=[A-Z])", ". ", str(text))  # lines of a message: sentences
    t = re.sub(r"\s+", " ", t).strip()
    t = _CONTRACTION.sub(r"\1n't", t)
    t = _CLITIC.sub(r"\1'\2", t)
    t = _QUOTED.sub(r'"\1"', t)
    t = re.sub(r"\(\s+", "(", t)
    t = re.sub(r"\s+\.\.\.", "...", t)
    for _ in range(3):  # "ok . ." and "? !" close up in turn
        t = _BEFORE_PUNCT.sub(r"\1", t)
    t = re.sub(r"(\d)\s+-\s*(\d)|(\d)\s*-\s+(\d)", lambda m: f"{m.group(1) or m.group(3)}-{m.group(2) or m.group(4)}", t)
    t = re.sub(r"£\s+(?=\d)", "£", t)
    return t.strip()


_POSTCODE = re.compile(r"\b(cb)\s?(\d{1,2})\s?(\d)\s?([a-z]{2})\b", re.IGNORECASE)
_TRAIN_ID = re.compile(r"\btr\s?(\d{4})\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{8}\b", re.IGNORECASE)
_PRICE = re.compile(r"(?<![\w.£])(\d+(?:\.\d{1,2})?)\s*(?:pounds?|gbp|quid)\b", re.IGNORECASE)
_TOWNINFO = re.compile(r"\btown\s?info(\s+cent(?:re|er))?\b", re.IGNORECASE)


def normalise_values(text: str) -> str:
    """Postcodes, train ids, references and prices written one way; MultiWOZ's desk name made generic."""
    t = _POSTCODE.sub(lambda m: f"CB{m.group(2)} {m.group(3)}{m.group(4).upper()}", text)
    t = _TRAIN_ID.sub(lambda m: f"TR{m.group(1)}", t)
    t = _REFERENCE.sub(lambda m: m.group(0).upper(), t)
    t = _PRICE.sub(lambda m: f"£{m.group(1)}", t)
    t = re.sub(r"£(\d+)\.(\d)(?!\d)", r"£\1.\g<2>0", t)  # "£10.1" -> "£10.10"
    return _TOWNINFO.sub(lambda m: "tourist information" + (" centre" if m.group(1) else ""), t)


_LONE_I = re.compile(r"(?<![\w'])i(?![\w]|\.\w)")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+|^[\"'(])([a-z])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|st|no|approx|vs|mr|mrs|dr)\.)\s+$", re.IGNORECASE)


def capitalise(text: str) -> str:
    """``i`` as ``I`` and each sentence's first letter in upper case (not after "e.g.", "St." and the like)."""
    t = _LONE_I.sub("I", text)

    def start(m: re.Match[str]) -> str:
        if _ABBREVIATION.search(t[: m.start(2)]):
            return m.group(0)
        return m.group(1) + m.group(2).upper()

    return _SENTENCE_START.sub(start, t)
