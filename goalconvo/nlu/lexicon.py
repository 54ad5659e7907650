"""Every domain-specific word the understanding knows, in one place: the default pack's ``lexicon.toml``.

Two parts:

- fixed word lists of the Cambridge travel desk (read from MultiWOZ's pack): how people name each domain, what a
  booking of each domain is called (a table, a room, tickets), how each slot is asked
  for and how a value is introduced ("the postcode is ..."), which value types a slot
  takes, and MultiWOZ's act slot names;
- :class:`Lexicon`, the values of one venue database (names and the domains they
  belong to, addresses, postcodes, phone numbers, stations, food types, car makes),
  built with :meth:`Lexicon.from_tables` from the tables a :class:`~goalconvo.core.venues.VenueDB`
  holds, so an imported set is read with the database it was judged against.

The code in ``goalconvo/nlu`` reads these names only; nothing domain-specific is
written elsewhere in it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from goalconvo.nlu.text import normalize
from goalconvo.packs.builtin import default_pack, pack_toml
from goalconvo.core.roles import (
    CUISINE, DEPARTMENT, DEPARTMENT_DESK, DESTINATION, LODGING, ORIGIN, RIDE, SIGHT, TABLE, TIMETABLE,
)

#: The default pack's understanding words (``[files] lexicon`` of MultiWOZ's ``pack.toml``).
_WORDS: dict[str, Any] = pack_toml(default_pack(), "lexicon")


def _tuples(table: str) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in _WORDS[table].items()}


#: How people name a domain (normalised text: "guest house" is "guesthouse").
DOMAIN_NOUNS: dict[str, tuple[str, ...]] = _tuples("domain_nouns")
#: What a booking of a domain is called; a word books only the domains listed.
BOOKING_UNITS: dict[str, tuple[str, ...]] = _tuples("booking_units")
#: Domains whose bookings have a unit word above (a taxi is booked as itself).
UNIT_DOMAINS: tuple[str, ...] = tuple(_WORDS["unit_domains"])
#: Words that ask for a slot (what a User asks of the desk, or the desk of the User).
REQUEST_WORDS: dict[str, tuple[str, ...]] = _tuples("request_words")
#: Slots a User asks the desk about (attributes of a venue, train or booking).
ATTRIBUTE_SLOTS: tuple[str, ...] = tuple(_WORDS["attribute_slots"])
#: Slots the desk asks the User about (constraints and booking details).
CONSTRAINT_SLOTS: tuple[str, ...] = tuple(_WORDS["constraint_slots"])
#: The value types that answer a slot (for coherence and for claims like "the postcode is X").
SLOT_TYPES: dict[str, tuple[str, ...]] = _tuples("slot_types")
#: A value introduced as a slot: ``(slot, pattern before the value)``. The value runs to the
#: sentence's end or a comma / "and". A value of another type there is a garbled fact.
CLAIM_PHRASES: tuple[tuple[str, str], ...] = tuple((a, b) for a, b in _WORDS["claim_phrases"])
#: Value types that can never be a claimed slot's value (a phone number is no postcode).
WRONG_TYPES: dict[str, tuple[str, ...]] = _tuples("wrong_types")
#: MultiWOZ's act slot names -> the slots here (a train's ``Time`` is its duration).
ACT_SLOTS: dict[str, str] = dict(_WORDS["act_slots"])
AREAS: tuple[str, ...] = tuple(_WORDS["areas"])
#: Ways of saying a price range (the guided templates say "mid-priced", "reasonably priced", "low cost" too).
PRICE_RANGES: tuple[str, ...] = tuple(_WORDS["price_ranges"])
DAYS: tuple[str, ...] = tuple(_WORDS["days"])
#: Venue names that are everyday phrases, never read as naming a venue.
AMBIGUOUS_NAMES = frozenset(_WORDS["ambiguous_names"])
#: Shorter names people give the stations.
STATION_ALIASES: dict[str, tuple[str, ...]] = _tuples("station_aliases")
#: How people name the types of the database ("swimmingpool" is "swimming pool").
TYPE_ALIASES: dict[str, tuple[str, ...]] = _tuples("type_aliases")
#: Cuisines people ask for that a database may not serve (an answer all the same).
MORE_FOODS: tuple[str, ...] = tuple(_WORDS["more_foods"])
#: Car colours and makes a taxi is described by (beside the database's own lists).
CAR_COLOURS: tuple[str, ...] = tuple(_WORDS["car_colours"])
CAR_MAKES: tuple[str, ...] = tuple(_WORDS["car_makes"])


def _n(value: Any) -> str:
    return normalize(str(value)).strip(" .,")


@dataclass(frozen=True)
class Lexicon:
    """Values of one venue database, normalised: what a said value is."""

    #: venue name -> the domains it names (a name may be a hotel's and a restaurant's).
    names: Mapping[str, frozenset[str]] = field(default_factory=dict)
    addresses: frozenset[str] = frozenset()
    postcodes: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    stations: frozenset[str] = frozenset()
    foods: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    car_colours: frozenset[str] = frozenset(CAR_COLOURS)
    car_makes: frozenset[str] = frozenset(CAR_MAKES)

    @classmethod
    def from_tables(cls, tables: Mapping[str, Iterable[Mapping[str, Any]]], taxi: Mapping[str, Any] | None = None) -> "Lexicon":
        """From ``VenueDB.tables`` (and ``VenueDB.taxi``): every name, address, postcode, station."""
        names: dict[str, set[str]] = {}
        addresses, postcodes, phones, stations, foods, types, departments = (set() for _ in range(7))
        foods.update(MORE_FOODS)
        for domain, rows in tables.items():
            for row in rows:
                name = _n(row.get("name", "")) if domain != TIMETABLE else ""
                if len(name) >= 4 and name not in AMBIGUOUS_NAMES:
                    names.setdefault(name, set()).add(domain)
                    if name.startswith("the ") and len(name) > 9 and name[4:] not in AMBIGUOUS_NAMES:
                        names.setdefault(name[4:], set()).add(domain)
                for slot, bag in (("address", addresses), ("postcode", postcodes), ("phone", phones)):
                    if row.get(slot):
                        bag.add(_n(row[slot]))
                if domain == TIMETABLE:
                    stations.update(_n(row.get(k, "")) for k in (ORIGIN, DESTINATION))
                if domain == TABLE and row.get(CUISINE):
                    foods.add(_n(row[CUISINE]))
                if row.get("type") and domain in (LODGING, SIGHT):
                    types.add(_n(row["type"]))
                if domain == DEPARTMENT_DESK and row.get(DEPARTMENT):
                    departments.add(_n(row[DEPARTMENT]))
        colours = set(CAR_COLOURS) | {_n(v) for v in (taxi or {}).get("taxi_colors", [])}
        makes = set(CAR_MAKES) | {_n(v) for v in (taxi or {}).get("taxi_types", [])}
        addresses.discard("")
        stations.discard("")
        return cls(
            names={k: frozenset(v) for k, v in names.items()},
            addresses=frozenset(a for a in addresses if len(a) >= 4),
            postcodes=frozenset(postcodes),
            phones=frozenset(phones),
            stations=frozenset(stations),
            foods=frozenset(foods),
            types=frozenset(types),
            departments=frozenset(departments),
            car_colours=frozenset(colours),
            car_makes=frozenset(makes),
        )

    @functools.cached_property
    def name_pattern(self) -> re.Pattern[str] | None:
        """Every venue name as one alternation, longest first, whole words only."""
        return _alternation(self.names)

    @functools.cached_property
    def address_pattern(self) -> re.Pattern[str] | None:
        return _alternation(self.addresses)

    @functools.cached_property
    def station_pattern(self) -> re.Pattern[str] | None:
        return _alternation(self.stations | {a for s in self.stations for a in STATION_ALIASES.get(s, ())})

    def stations_of(self, said: str) -> frozenset[str]:
        """The stations a said name may be: ``"london"`` is either London station, ``"stansted"`` the airport."""
        if said in self.stations:
            return frozenset({said})
        return frozenset(s for s in self.stations if said in STATION_ALIASES.get(s, ()))

    @functools.cached_property
    def food_pattern(self) -> re.Pattern[str] | None:
        return _alternation(self.foods)

    @functools.cached_property
    def department_pattern(self) -> re.Pattern[str] | None:
        return _alternation(self.departments)

    @functools.cached_property
    def type_pattern(self) -> re.Pattern[str] | None:
        said = {t for t in self.types} | {a for t in self.types for a in TYPE_ALIASES.get(t, ())}
        return _alternation(said | {t + "s" for t in said if not t.endswith("s")})

    @functools.cached_property
    def car_pattern(self) -> re.Pattern[str] | None:
        """A car as a taxi is described: a make, with its colour before it ("yellow lexus")."""
        if not self.car_makes:
            return None
        colours = "|".join(sorted(map(re.escape, self.car_colours), key=len, reverse=True))
        makes = "|".join(sorted(map(re.escape, self.car_makes), key=len, reverse=True))
        return re.compile(rf"(?<![a-z0-9])((?:(?:{colours}) )?(?:{makes}))(?![a-z0-9])")

    @functools.cached_property
    def words_in_addresses(self) -> str:
        """All addresses joined: a venue name found inside one is also an address."""
        return " | ".join(sorted(self.addresses))


def _alternation(phrases: Iterable[str]) -> re.Pattern[str] | None:
    items = sorted({p for p in phrases if p}, key=len, reverse=True)
    if not items:
        return None
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(p) for p in items) + r")(?![a-z0-9])")


def lexicon_for(venues: Any) -> Lexicon:
    """The lexicon of a ``VenueDB`` (built once per database object)."""
    cached = getattr(venues, "_nlu_lexicon", None)
    if isinstance(cached, Lexicon):
        return cached
    lex = Lexicon.from_tables(venues.tables, getattr(venues, RIDE, None))
    try:
        object.__setattr__(venues, "_nlu_lexicon", lex)
    except (AttributeError, TypeError):
        pass
    return lex
