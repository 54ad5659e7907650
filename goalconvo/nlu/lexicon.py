"""Every domain-specific word the understanding knows, in one place (a future domain pack replaces this).

Two parts:

- fixed word lists of the Cambridge travel desk: how people name each domain, what a
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

#: How people name a domain (normalised text: "guest house" is "guesthouse").
DOMAIN_NOUNS: dict[str, tuple[str, ...]] = {
    "hotel": ("hotel", "hotels", "guesthouse", "guesthouses", "b and b", "bed and breakfast", "place to stay",
              "places to stay", "accommodation", "lodging", "lodgings"),
    "restaurant": ("restaurant", "restaurants", "place to eat", "places to eat", "place to dine", "eatery"),
    "attraction": ("attraction", "attractions", "museum", "museums", "college", "colleges", "theatre", "cinema",
                   "nightclub", "swimming pool", "swimmingpool", "gallery", "church", "boat", "concert hall",
                   "concerthall", "park", "architecture", "entertainment", "places to visit", "place to visit",
                   "things to do", "something to do", "places to go", "place to go", "sights", "sightseeing"),
    "train": ("train", "trains", "railway", "rail"),
    "taxi": ("taxi", "taxis", "cab", "cabs"),
    "hospital": ("hospital", "clinic"),
    "police": ("police", "police station"),
}

#: What a booking of a domain is called; a word books only the domains listed.
BOOKING_UNITS: dict[str, tuple[str, ...]] = {
    "table": ("restaurant",),
    "tables": ("restaurant",),
    "room": ("hotel",),
    "rooms": ("hotel",),
    "ticket": ("train", "attraction"),
    "tickets": ("train", "attraction"),
    "seat": ("train", "attraction"),
    "seats": ("train", "attraction"),
}
#: Domains whose bookings have a unit word above (a taxi is booked as itself).
UNIT_DOMAINS = ("restaurant", "hotel", "train")

#: Words that ask for a slot (what a User asks of the desk, or the desk of the User).
REQUEST_WORDS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "telephone", "contact number", "phone number", "number for", "their number", "its number",
              "the number"),
    "address": ("address", "where is it", "where are they", "where it is", "where they are", "located",
                "location", "street"),
    "postcode": ("postcode", "post code", "postal code", "zip code", "postcodes"),
    "fee": ("entrance fee", "entry fee", "admission", "fee", "cost to get in", "cost of entry", "charge to"),
    "price": ("price", "fare", "cost", "how much", "ticket price", "total"),
    "duration": ("travel time", "journey time", "how long", "duration", "trip time", "length of the"),
    "leave": ("departure time", "leave", "leaves", "leaving", "depart", "departs", "departing", "what time does it",
              "be picked up", "pick you up at", "picked up at", "pickup time", "pick up time", "what time should the taxi",
              "when should the taxi", "when do you want the taxi"),
    "arrive": ("arrival time", "arrive", "arrives", "arriving", "get in", "get there"),
    "train_id": ("train id", "train number", "train's id", "id number", "trainid", "the id"),
    "stars": ("star", "stars", "rating"),
    "area": ("area", "part of town", "side of town", "part of the city", "where in town", "what part"),
    "pricerange": ("price range", "pricerange", "budget", "price point", "how expensive"),
    "food": ("food", "cuisine", "type of restaurant", "kind of restaurant"),
    "type": ("type of", "kind of", "sort of", "what type", "what kind", "a type", "which type", "type in mind",
             "what sort"),
    "parking": ("parking", "park there", "car park"),
    "internet": ("internet", "wifi"),
    "reference": ("reference", "confirmation number", "booking number", "ref number", "reservation number"),
    "car": ("car type", "type of car", "kind of car", "make of car", "what car", "which car", "car model",
            "what kind of car", "colour", "color"),
    "name": ("name of", "the name", "called", "what is it called", "its name"),
    "day": ("what day", "which day", "day would", "day will", "day do", "day are", "what date", "which date",
            "day of the week", "day you", "on what day", "day and time", "the day", "and day", "day and"),
    "people": ("how many people", "how many guests", "how many persons", "how many tickets", "how many of you",
               "how many in your party", "party size", "for how many", "how many will", "number of people",
               "how many are", "how many would", "how many seats", "size of your party", "number of guests",
               "how many people"),
    "stay": ("how many nights", "how many days", "how long will you", "how long would you", "how long do you",
             "number of nights", "length of stay", "how long are you", "nights will", "nights would",
             "how long is your stay", "how long will your stay", "how long would your stay", "in nights", "for how long",
             "how long you", "how long will they"),
    "time": ("what time", "which time", "time would", "time will", "time do", "time of", "time for"),
    "departure": ("where from", "from where", "departure station", "departing from", "leaving from",
                  "coming from", "where will you be departing", "where are you departing", "pick you up from",
                  "pick up from", "picked up from", "where should the taxi pick", "where will the taxi pick", "your departure", "departure site", "departure location",
                  "starting from", "traveling from", "travelling from", "depart from", "leave from"),
    "destination": ("destination", "where to", "going to", "heading to", "where are you going", "where will you be going",
                    "where would you like to go", "travelling to", "traveling to", "headed", "where are you headed",
                    "arriving in", "going", "drop you off", "dropped off", "be going"),
    "department": ("department",),
}
#: Slots a User asks the desk about (attributes of a venue, train or booking).
ATTRIBUTE_SLOTS = ("phone", "address", "postcode", "fee", "price", "duration", "leave", "arrive", "train_id", "stars",
                   "area", "pricerange", "food", "type", "parking", "internet", "reference", "car")
#: Slots the desk asks the User about (constraints and booking details).
CONSTRAINT_SLOTS = ("day", "people", "stay", "time", "leave", "arrive", "departure", "destination", "area",
                    "pricerange", "food", "type", "stars", "name", "parking", "internet", "department")

#: The value types that answer a slot (for coherence and for claims like "the postcode is X").
SLOT_TYPES: dict[str, tuple[str, ...]] = {
    "phone": ("phone",),
    "address": ("address",),
    "postcode": ("postcode",),
    "fee": ("price", "free"),
    "price": ("price", "free", "pricerange"),
    "duration": ("duration",),
    "leave": ("time",),
    "arrive": ("time",),
    "time": ("time",),
    "train_id": ("train_id",),
    "stars": ("stars",),
    "area": ("area",),
    "pricerange": ("pricerange",),
    "food": ("food",),
    "reference": ("reference",),
    "car": ("car",),
    "day": ("day",),
    "people": ("people",),
    "stay": ("nights",),
    "departure": ("station", "venue", "address"),
    "destination": ("station", "venue", "address"),
    "name": ("venue",),
    "type": ("type",),
    "internet": ("internet",),
    "parking": ("parking",),
    "department": ("department",),
}

#: A value introduced as a slot: ``(slot, pattern before the value)``. The value runs to the
#: sentence's end or a comma / "and". A value of another type there is a garbled fact.
CLAIM_PHRASES: tuple[tuple[str, str], ...] = (
    ("postcode", r"\b(?:post ?code|postal code)(?: is| will be| would be|:)? "),
    ("phone", r"\b(?:phone number|telephone number|phone|telephone|contact number)(?: is| will be|:)? "),
    ("phone", r"\b(?:call|reach|contact|ring) (?:them|him|her|it|the driver|the taxi|the venue) (?:on|at) "),
    ("address", r"\baddress(?:es)?(?: is| will be|:)? "),
    ("address", r"\b(?:is|are|it's|they're) located (?:at|on) "),
    ("address", r"\byou (?:will|can|'ll) find (?:it|them) (?:at|on) "),
    ("reference", r"\b(?:reference|confirmation)(?: number| code| no)?(?: is| will be|:|#) "),
    ("reference", r"\b(?:booking|reservation) (?:number|code|reference)(?: is| will be|:|#) "),
    ("price", r"\b(?:fare|ticket price|price per ticket|cost per ticket|entrance fee|total cost|total fee|the total)"
              r"(?: is| will be| comes to| would be|:)? "),
    ("price", r"\b(?:costs?|it's) (?=£|\d)"),
    ("leave", r"\b(?:leaves|departs|leaving|departing) (?:at|by) "),
    ("arrive", r"\b(?:arrives|arriving|arrive|gets in|getting in) (?:at|by) (?=\d)"),
    ("train_id", r"\b(?:train id|train number|the id)(?: is|:)? "),
)
#: Value types that can never be a claimed slot's value (a phone number is no postcode).
WRONG_TYPES: dict[str, tuple[str, ...]] = {
    "postcode": ("phone", "address", "venue", "price", "time", "day", "reference", "train_id", "station", "car", "area"),
    "phone": ("postcode", "address", "venue", "price", "time", "day", "reference", "train_id", "station", "car"),
    "address": ("phone", "venue", "price", "time", "day", "reference", "train_id", "car"),
    "reference": ("phone", "postcode", "address", "venue", "price", "time", "day", "train_id", "station", "car"),
    "price": ("phone", "postcode", "address", "venue", "time", "day", "reference", "train_id", "station", "car"),
    "leave": ("phone", "postcode", "price", "reference", "car", "address"),
    "arrive": ("phone", "postcode", "price", "reference", "car", "address"),
    "train_id": ("phone", "postcode", "address", "venue", "price", "time", "day", "reference", "station", "car"),
}

#: MultiWOZ's act slot names -> the slots here (a train's ``Time`` is its duration).
ACT_SLOTS: dict[str, str] = {
    "Addr": "address", "Area": "area", "Arrive": "arrive", "Car": "car", "Day": "day", "Depart": "departure",
    "Dest": "destination", "Fee": "fee", "Food": "food", "Id": "train_id", "Internet": "internet", "Leave": "leave",
    "Name": "name", "Parking": "parking", "People": "people", "Phone": "phone", "Post": "postcode",
    "Price": "pricerange", "Ref": "reference", "Stars": "stars", "Stay": "stay", "Ticket": "price", "Time": "time",
    "Type": "type", "Department": "department", "Choice": "choice", "Open": "openhours",
}

AREAS = ("north", "south", "east", "west", "centre", "city centre", "town centre")
#: Ways of saying a price range (the guided templates say "mid-priced", "reasonably priced", "low cost" too).
PRICE_RANGES = ("cheap", "moderate", "moderately priced", "expensive", "inexpensive", "budget", "mid priced",
                "mid-priced", "mid range", "mid-range", "midrange", "reasonably priced", "low cost", "low-cost",
                "low priced", "low-priced", "budget friendly", "budget-friendly", "pricey", "upmarket", "high end",
                "high-end")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Venue names that are everyday phrases, never read as naming a venue.
AMBIGUOUS_NAMES = frozenset({"the place", "the junction", "home from home", "cambridge", "the cambridge", "parkside"})
#: Shorter names people give the stations.
STATION_ALIASES: dict[str, tuple[str, ...]] = {
    "london kings cross": ("kings cross", "king's cross", "london"),
    "london liverpool street": ("liverpool street", "london liverpool", "london"),
    "birmingham new street": ("birmingham",),
    "stansted airport": ("stansted",),
    "kings lynn": ("king's lynn",),
    "bishops stortford": ("bishop's stortford", "bishop stortford"),
}
#: How people name the types of the database ("swimmingpool" is "swimming pool").
TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    "swimmingpool": ("swimming pool", "pool"), "concerthall": ("concert hall",), "multiple sports": ("sports", "sport"),
    "nightclub": ("night club", "club"), "boat": ("boating", "boats", "punting"), "architecture": ("architectural", "church", "churches", "chapel"),
    "guesthouse": ("guesthouse", "b and b", "bed and breakfast"), "entertainment": ("entertainment",),
}
#: Cuisines people ask for that a database may not serve (an answer all the same).
MORE_FOODS = ("afghan", "australian", "austrian", "barbeque", "bbq", "basque", "belgian", "brazilian", "cantonese",
              "caribbean", "catalan", "corsica", "crossover", "cuban", "danish", "eastern european",
              "english", "eritrean", "fusion", "german", "greek", "halal", "hungarian", "indonesian", "irish", "jamaican",
              "kosher", "latin american", "malaysian", "moroccan", "persian", "polish", "polynesian", "romanian", "russian",
              "scandinavian", "scottish", "singaporean", "steakhouse", "swedish", "swiss", "tuscan",
              "vegetarian", "vegan", "venetian", "welsh", "american", "pizza", "sushi", "curry",
              "noodles", "tapas", "mexican", "asian", "oriental", "middle eastern", "south african")
#: Car colours and makes a taxi is described by (beside the database's own lists).
CAR_COLOURS = ("black", "white", "red", "yellow", "blue", "grey", "gray", "silver", "green")
CAR_MAKES = ("toyota", "skoda", "bmw", "honda", "ford", "audi", "lexus", "volvo", "volkswagen", "tesla", "mercedes")


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
                name = _n(row.get("name", "")) if domain != "train" else ""
                if len(name) >= 4 and name not in AMBIGUOUS_NAMES:
                    names.setdefault(name, set()).add(domain)
                    if name.startswith("the ") and len(name) > 9 and name[4:] not in AMBIGUOUS_NAMES:
                        names.setdefault(name[4:], set()).add(domain)
                for slot, bag in (("address", addresses), ("postcode", postcodes), ("phone", phones)):
                    if row.get(slot):
                        bag.add(_n(row[slot]))
                if domain == "train":
                    stations.update(_n(row.get(k, "")) for k in ("departure", "destination"))
                if domain == "restaurant" and row.get("food"):
                    foods.add(_n(row["food"]))
                if row.get("type") and domain in ("hotel", "attraction"):
                    types.add(_n(row["type"]))
                if domain == "hospital" and row.get("department"):
                    departments.add(_n(row["department"]))
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
    lex = Lexicon.from_tables(venues.tables, getattr(venues, "taxi", None))
    try:
        object.__setattr__(venues, "_nlu_lexicon", lex)
    except (AttributeError, TypeError):
        pass
    return lex
