"""A generated goal said in words (its ``message``), the way MultiWOZ's goal messages read.

``describe_generated`` is called by the goal generator with the order the agenda will pursue the
domains in; each domain's constraints, a failing first request and the settling value, the
booking, and the attributes asked for, each in one sentence.
"""

from __future__ import annotations

from typing import Any

#: Domains whose goals are about a venue.
PLACE_DOMAINS = ("attraction", "hotel", "restaurant")
_OPENERS = ("You are planning your trip in Cambridge.", "You are looking for information in Cambridge.",
            "You are visiting Cambridge and need some help.")
_INTRO = {
    "restaurant": "You are looking for a place to dine.", "hotel": "You are looking for a place to stay.",
    "attraction": "You are looking for places to go in town.", "train": "You are looking for a train.",
    "hospital": "You were injured and are looking for a hospital nearby.",
    "police": "You were robbed and are looking for help from the police.",
    "taxi": "You also want to book a taxi.",
}
_NAMED = {"restaurant": "You are looking for a particular restaurant called {}.",
          "hotel": "You are looking for a particular hotel called {}.",
          "attraction": "You are looking for a particular attraction called {}."}
_WHO = {"restaurant": "The restaurant", "hotel": "The hotel", "attraction": "The attraction", "train": "The train",
        "taxi": "The taxi", "hospital": "The hospital"}


def _phrase(domain: str, slot: str, value: str) -> str:
    return {
        "food": f"should serve {value} food", "area": f"should be in the {value}",
        "pricerange": f"should be in the {value} price range", "stars": f"should have a star rating of {value}",
        "internet": "should include free wifi" if value == "yes" else "does not need to have internet",
        "parking": "should include free parking" if value == "yes" else "does not need to have free parking",
        "type": f"should be of the type {value}", "departure": f"should depart from {value}",
        "destination": f"should go to {value}", "day": f"should leave on {value}",
        "leaveAt": f"should leave after {value}", "arriveBy": f"should arrive by {value}",
        "department": f"should have the {value} department",
    }.get(slot, f"should have {slot} {value}")


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
    names = {"car type": "car type", "phone": "phone number", "trainID": "train ID", "duration": "travel time",
             "leaveAt": "departure time", "arriveBy": "arrival time", "entrance fee": "entrance fee",
             "pricerange": "price range", "stars": "star rating", "internet": "internet availability",
             "parking": "parking information", "food": "type of food"}
    ws = [names.get(s, s) for s in slots]
    return ws[0] if len(ws) == 1 else ", ".join(ws[:-1]) + " and " + ws[-1]


def _booking_words(domain: str, book: dict[str, str]) -> str:
    if domain == "hotel":
        return f"for {book['people']} people and {book['stay']} nights starting from {book['day']}"
    if domain == "restaurant":
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
        elif d == "taxi":
            if "departure" in info:
                lines.append(f"You also want to book a taxi from {info['departure']} to {info['destination']}.")
            elif len(places) >= 2:
                lines.append("You also want to book a taxi to commute between the two places.")
            else:
                lines.append(_INTRO["taxi"])
            times = {k: v for k, v in info.items() if k in ("leaveAt", "arriveBy")}
            if "arriveBy" in times and times["arriveBy"] == domains.get("restaurant", {}).get("book", {}).get("time"):
                lines.append(f"The taxi should arrive at the restaurant by the booked time, {times['arriveBy']}.")
            elif times:
                lines.append(_constraints("taxi", times))
        else:
            lines.append(_INTRO[d] if i == 0 or d not in PLACE_DOMAINS else _INTRO[d].replace("You are", "You are also"))
            if fail and fail != info:
                lines.append(_constraints(d, fail))
                changed = {k: v for k, v in info.items() if fail.get(k) != v}
                lines.append(f"If there is no such {d if d != 'attraction' else 'place'}, how about one that "
                             + " and ".join(_indicative(_phrase(d, k, v)) for k, v in changed.items()) + ".")
            elif info:
                lines.append(_constraints(d, info))
        if g["book"]:
            verb = "book a table" if d == "restaurant" else "book it" if d == "hotel" else "book tickets"
            lines.append(f"Once you find the {d} you want to {verb} {_booking_words(d, g['book'])}.")
            if g["fail_book"]:
                changed = {k: v for k, v in g["book"].items() if g["fail_book"].get(k) != v}
                first = {k: g["fail_book"][k] for k in changed}
                lines[-1] = (f"Once you find the {d} you want to {verb} "
                             f"{_booking_words(d, {**g['book'], **first})}.")
                what = ", ".join(f"{'nights' if k == 'stay' else k} {v}" for k, v in changed.items())
                lines.append(f"If the booking fails, try {what} instead.")
            lines.append("Make sure you get the reference number.")
        if g["reqt"] and d != "taxi":
            lines.append(f"Make sure you get the {_words(g['reqt'])}.")
        elif d == "taxi":
            lines.append("Make sure you get the contact number and car type.")
    return lines


# -- many goals ----------------------------------------------------------------------------------
