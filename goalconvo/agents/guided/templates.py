"""Template phrasing: every act the planner emits, for User and SupportBot, in plain English.

The realizer's last resort and the scripted backend's answer, so a run without a
model still makes dialogues the judge accepts. Each act has several wordings; a
seeded ``random.Random`` picks one, so text varies between dialogues but a replay
says the same. A turn's acts become one utterance: greetings first, then the
content acts, then requests and offers, then closings.

Written for this project (no MultiWOZ utterance is copied): the figures are
measured against MultiWOZ.

Input: a speaker (``"user"`` / ``"bot"``) and ``DialogueActs``.
Output: one utterance in which every act value appears verbatim (numbers may be
written as words, ``moderate`` as "moderately priced").
"""

from __future__ import annotations

import random
from collections.abc import Callable

from goalconvo.agents.guided.acts import DialogueActs, split_key
from goalconvo.agents.guided.normalize import SILENT_VALUES, norm, number_word

Slots = dict[str, list[str]]
Builder = Callable[[str, Slots, random.Random], list[str]]

#: Slots that belong to a booking rather than to the search.
BOOKING_SLOTS = ("People", "Day", "Time", "Stay")
#: How a request names an attribute (``"Could you give me the phone number?"``).
SLOT_NOUN: dict[str, str] = {
    "Addr": "address", "Area": "area", "Arrive": "arrival time", "Car": "car type", "Choice": "options",
    "Day": "day", "Depart": "departure point", "Dest": "destination", "Fee": "entrance fee",
    "Food": "type of food", "Id": "train ID", "Internet": "internet", "Leave": "departure time",
    "Name": "name", "Open": "opening hours", "Parking": "parking", "People": "number of people",
    "Phone": "phone number", "Post": "postcode", "Price": "price range", "Ref": "reference number",
    "Stars": "star rating", "Stay": "number of nights", "Ticket": "ticket price", "Time": "time",
    "Type": "type", "Department": "department",
}
_DOMAIN_NOUN = {
    "restaurant": "restaurant", "hotel": "place to stay", "attraction": "attraction", "train": "train",
    "taxi": "taxi", "hospital": "hospital", "police": "police station", "booking": "booking",
}
_PLURAL = {"place to stay": "places to stay", "police station": "police stations"}
_ATTRACTION_TYPE = {
    "architecture": ("a place with interesting architecture", "places with interesting architecture"),
    "entertainment": ("a place for entertainment", "entertainment venues"),
    "multiple sports": ("a multiple sports venue", "multiple sports venues"),
    "mutliple sports": ("a mutliple sports venue", "mutliple sports venues"),
    "swimmingpool": ("a swimming pool", "swimming pools"),
    "concerthall": ("a concert hall", "concert halls"),
    "boat": ("a boat trip", "boat trips"),
}


def _pick(rng: random.Random, options: list[str] | tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


def _an(phrase: str) -> str:
    """``"italian restaurant"`` -> ``"an italian restaurant"``."""
    first = phrase.split()[0] if phrase else ""
    vowel = first[:1] in "aeiou" or first in ("8", "11", "18") or (first[:1] == "8")
    return ("an " if vowel else "a ") + phrase


def _join(items: list[str], word: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _silent(v: str) -> bool:
    return norm(v) in SILENT_VALUES


def _dontcare(v: str) -> bool:
    return norm(v) in ("dontcare", "dont care", "don't care", "any")


def _has(s: Slots, slot: str) -> bool:
    return any(not _silent(v) for v in s.get(slot, ()))


def _take(s: Slots, slot: str, word: str = "and") -> str:
    """Pop a slot; its said values joined (``"a and b"``), or ``""``."""
    return _join([v for v in s.pop(slot, []) if not _silent(v)], word)


def _yes(v: str) -> bool:
    return norm(v) in ("yes", "free", "true", "y")


def _count(v: str, rng: random.Random) -> str:
    """A small number as digits or, now and then, as a word."""
    if v.isdigit() and int(v) <= 12 and rng.random() < 0.3:
        return number_word(int(v))
    return v


def _plural_unit(v: str, unit: str) -> str:
    one = norm(v) in ("1", "one", "a", "single")
    return f"{v} {unit}" if one else f"{v} {unit}s" if unit != "person" else f"{v} people"


def gather(pairs: list[list[str]]) -> Slots:
    """``[["Food", "thai"], ["Area", "north"]]`` -> ``{"Food": ["thai"], "Area": ["north"]}`` (none pairs dropped)."""
    out: Slots = {}
    for slot, value in pairs:
        if slot.lower() == "none":
            continue
        out.setdefault(slot, []).append(value)
    return out


# --- noun phrases -------------------------------------------------------------------


def _area(v: str, rng: random.Random) -> str:
    if norm(v) in ("centre", "center"):
        return _pick(rng, ["in the centre", "in the city centre", "in the centre of town"])
    if norm(v) in ("north", "south", "east", "west"):
        return _pick(rng, [f"in the {v}", f"on the {v} side of town", f"in the {v} part of town"])
    return f"in {v}" if norm(v).startswith("the ") else f"in the {v}"


def _price(v: str, rng: random.Random) -> str:
    if norm(v) == "moderate":
        return _pick(rng, ["moderately priced", "moderate"])
    return v


def _noun(domain: str, s: Slots, plural: bool) -> str:
    """The head noun: the venue type where one is given, else the domain's noun."""
    t = _take(s, "Type", "or")
    if domain == "attraction" and t:
        a, many = _ATTRACTION_TYPE.get(norm(t), (_an(t), t if t.endswith("s") else t + "s"))
        return many if plural else a.split(" ", 1)[1]
    noun = t or _DOMAIN_NOUN.get(domain, domain)
    if plural:
        return _PLURAL.get(noun, noun if noun.endswith("s") else noun + "s")
    return noun


def noun_phrase(domain: str, s: Slots, rng: random.Random, plural: bool = False) -> str:
    """Search constraints as a noun phrase; consumes the slots it says.

    ``{"Price": ["cheap"], "Food": ["thai"], "Area": ["north"]}`` ->
    ``"cheap thai restaurant in the north"`` (no article).
    """
    adj = []
    stars = ""
    if _has(s, "Stars"):
        v = _take(s, "Stars", "or")
        if plural:
            stars = f"with {v} stars"
        else:
            adj.append(_pick(rng, [f"{v}-star", f"{v} star"]) if v.isdigit() else f"{v}-star")
    if _has(s, "Price"):
        adj.append(" or ".join(_price(v, rng) for v in s.pop("Price") if not _silent(v)))
    if _has(s, "Food"):
        adj.append(_take(s, "Food", "or"))
    noun = _noun(domain, s, plural)
    if domain == "attraction" and noun.startswith(("place ", "places ")) and adj:
        noun = noun.split(" ", 1)[1]  # "cheap place with ..." reads oddly; keep it simple
    mods = []
    if _has(s, "Area"):
        mods.append(" or ".join(_area(v, rng) for v in s.pop("Area") if not _silent(v)))
    extras = []
    for slot, word in (("Internet", "free wifi"), ("Parking", "free parking")):
        if _has(s, slot):
            v = _take(s, slot)
            extras.append(word if _yes(v) else f"no {slot.lower()}")
    if stars:
        mods.append(stars)
    if extras:
        mods.append(("and " if stars else "with ") + " and ".join(extras))
    if _has(s, "Department"):
        mods.append(f"with a {_take(s, 'Department')} department")
    return " ".join([*adj, noun, *mods]).strip()


def route(domain: str, s: Slots, rng: random.Random) -> str:
    """A train's or taxi's journey; consumes Depart, Dest, Day, Leave, Arrive."""
    parts = []
    if _has(s, "Depart"):
        parts.append(f"from {_take(s, 'Depart')}")
    if _has(s, "Dest"):
        parts.append(f"to {_take(s, 'Dest')}")
    if domain == "train" and _has(s, "Day"):
        parts.append(f"on {_take(s, 'Day', 'or')}")
    if _has(s, "Leave"):
        parts.append(_pick(rng, ["leaving after", "departing after", "leaving at"]) + f" {_take(s, 'Leave', 'or')}")
    if _has(s, "Arrive"):
        parts.append(_pick(rng, ["arriving by", "getting there by", "arriving before"]) + f" {_take(s, 'Arrive', 'or')}")
    return " ".join(parts)


def booking_clause(domain: str, s: Slots, rng: random.Random) -> str:
    """``"for 4 people on friday at 18:00"``; consumes People, Day, Time, Stay."""
    parts = []
    if _has(s, "People"):
        parts.append("for " + _plural_unit(_count(_take(s, "People", "or"), rng), "person"))
    if _has(s, "Stay"):
        parts.append("for " + _plural_unit(_count(_take(s, "Stay", "or"), rng), "night"))
    if _has(s, "Day"):
        day = _take(s, "Day", "or")
        parts.append(("starting " if domain == "hotel" and rng.random() < 0.5 else "on ") + day)
    if _has(s, "Time"):
        parts.append(f"at {_take(s, 'Time', 'or')}")
    return " ".join(parts)


# --- facts: one sentence per attribute (the SupportBot's answers) -------------------------

_FACT: dict[str, tuple[str, ...]] = {
    "Addr": ("The address is {v}.", "It is located at {v}.", "You will find it at {v}."),
    "Phone": ("The phone number is {v}.", "You can call them on {v}.", "Their number is {v}."),
    "Post": ("The postcode is {v}.", "Its postcode is {v}.", "The post code is {v}."),
    "Fee": ("The entrance fee is {v}.", "Admission costs {v}.", "Entry is {v}."),
    "Open": ("It is open {v}.", "Opening hours: {v}."),
    "Area": ("It is in the {v}.", "It is located in the {v}.", "It's in the {v} area."),
    "Food": ("They serve {v} food.", "The food is {v}.", "It serves {v} cuisine."),
    "Type": ("It is a {v}.", "It's a {v}."),
    "Stars": ("It has {v} stars.", "It is rated {v} stars.", "It is a {v}-star place."),
    "Price": ("It is in the {v} price range.", "Prices there are {v}.", "It's {v}."),
    "Ref": ("Your reference number is {v}.", "The reference number is {v}.", "Your reference is {v}."),
    "Ticket": ("The ticket costs {v}.", "A ticket is {v}.", "The fare is {v}."),
    "Time": ("The journey takes {v}.", "The trip is {v} long.", "Travel time is {v}."),
    "Leave": ("It leaves at {v}.", "It departs at {v}.", "Departure is at {v}."),
    "Arrive": ("It arrives at {v}.", "It gets in at {v}.", "Arrival is at {v}."),
    "Id": ("The train is {v}.", "That is train {v}.", "It's the {v}."),
    "Day": ("That is on {v}.", "It runs on {v}."),
    "Depart": ("It departs from {v}.", "It leaves from {v}."),
    "Dest": ("It goes to {v}.", "Its destination is {v}."),
    "People": ("That is for {v} people.", "It covers {v} people."),
    "Stay": ("That is for {v} nights.", "The stay is {v} nights."),
    "Car": ("The car is a {v}.", "Look out for a {v}."),
    "Name": ("It is called {v}.", "The name is {v}."),
    "Department": ("That is the {v} department.", "It's the {v} department."),
    "Choice": ("There are {v} options.", "I have {v} options."),
}
_FACT_FEE_FREE = ("Entrance is free.", "It is free to get in.", "There is no charge, it's free.")
_FACT_YESNO = {
    ("Internet", True): ("They have free wifi.", "Free internet is included.", "There is wifi."),
    ("Internet", False): ("They do not offer internet.", "There is no wifi there."),
    ("Parking", True): ("They have free parking.", "Parking is free there.", "There is parking available."),
    ("Parking", False): ("There is no parking there.", "They do not have parking."),
}


def facts(domain: str, s: Slots, rng: random.Random) -> list[str]:
    """One sentence per remaining slot; consumes every slot."""
    out = []
    for slot in list(s):
        values = [v for v in s.pop(slot) if not _silent(v)]
        if not values:
            continue
        v = _join(values, "or" if slot == "Name" else "and")
        if slot in ("Internet", "Parking"):
            out.append(_pick(rng, _FACT_YESNO[(slot, _yes(v))]))
        elif slot == "Fee" and norm(v) == "free":
            out.append(_pick(rng, _FACT_FEE_FREE))
        elif norm(v) == "unknown":  # the database has '?': say what is unknown, not "Admission costs unknown."
            noun = SLOT_NOUN.get(slot, slot.lower())
            out.append(_pick(rng, [f"The {noun} is unknown, I'm afraid.", f"I'm afraid the {noun} is unknown."]))
        elif slot == "Area" and norm(v) in ("centre", "center"):
            out.append(_pick(rng, ["It is in the centre.", "It's in the city centre.", "It is in the centre of town."]))
        elif slot == "Time" and domain != "train":
            out.append(_pick(rng, ["That is at {v}.", "The time is {v}."]).format(v=v))
        elif slot == "Price" and norm(v) == "moderate":
            out.append(_pick(rng, ["It is moderately priced.", "Its prices are moderate."]))
        else:
            out.append(_pick(rng, _FACT.get(slot, (f"The {SLOT_NOUN.get(slot, slot.lower())} is {{v}}.",))).format(v=v))
    return out


# --- the User -----------------------------------------------------------------------

_USER_SEARCH = (
    "I'm looking for {np}.", "I need {np}.", "Could you find me {np}?", "Can you recommend {np}?",
    "I'd like to find {np}.", "Is there {np}?", "Please help me find {np}.", "I want {np}.",
)
_USER_ROUTE = (
    "I need a {noun} {route}.", "Could you get me a {noun} {route}?", "I'm after a {noun} {route}.",
    "I would like a {noun} {route}.", "Can you find a {noun} {route}?", "I have to travel {route}, by {noun}.",
)
_USER_BOOK = (
    "Please book it {clause}.", "Could you reserve it {clause}?", "I'd like to book {clause}.",
    "Can you make a booking {clause}?", "Book it {clause}, please.", "I want a reservation {clause}.",
)
_USER_BOOK_NAME = (
    "I'd like to book {name} {clause}.", "Please reserve {name} {clause}.", "Can you book {name} {clause}?",
)
_USER_NAME = (
    "I'm looking for {name}.", "Can you tell me about {name}?", "I'm trying to find a {noun} called {name}.",
    "Do you have information on {name}?", "I'd like some details about the {noun} {name}.",
    "I need information on a {noun} named {name}.",
)
_USER_DOMAIN = (
    "I also need a {noun}.", "I'd like a {noun} as well.", "Can you help me with a {noun} too?",
    "Next, I need a {noun}.", "I'm also after a {noun}.",
)
_USER_DONTCARE = {
    "Area": ("Any area is fine.", "The area doesn't matter to me."),
    "Price": ("The price doesn't matter.", "Any price range is fine."),
    "Food": ("Any kind of food is fine.", "I don't mind what food."),
    "Stars": ("The star rating doesn't matter.", "Any number of stars is fine."),
    "Internet": ("I don't mind about internet.", "Wifi doesn't matter."),
    "Parking": ("I don't mind about parking.", "Parking doesn't matter."),
    "Type": ("Any type is fine.", "I don't mind what type."),
}
_USER_DONTCARE_ANY = ("I don't mind about the {noun}.", "The {noun} doesn't matter.")


def _user_inform(domain: str, s: Slots, rng: random.Random) -> list[str]:
    out: list[str] = []
    for slot in [k for k, vs in s.items() if vs and all(_dontcare(v) for v in vs)]:
        s.pop(slot)
        noun = SLOT_NOUN.get(slot, slot.lower())
        out.append(_pick(rng, _USER_DONTCARE.get(slot, tuple(t.format(noun=noun) for t in _USER_DONTCARE_ANY))))
    name = _join(s.pop("Name")) if "Name" in s else ""
    booking = {k: s.pop(k) for k in BOOKING_SLOTS if k in s and not (domain == "train" and k == "Day")}
    main: list[str] = []
    if domain in ("train", "taxi"):
        r = route(domain, s, rng)
        if r:
            main.append(_pick(rng, _USER_ROUTE).format(noun=domain, route=r))
    elif name:
        typed = _take(s, "Type")
        if not booking:
            frames = [f for f in _USER_NAME if "{noun}" in f] if typed else list(_USER_NAME)
            main.append(_pick(rng, frames).format(name=name, noun=typed or _DOMAIN_NOUN.get(domain, domain)))
        elif typed:
            main.append(f"It's {_an(typed)}.")
    else:
        search = {k: v for k, v in s.items() if k in ("Stars", "Price", "Food", "Type", "Area", "Internet", "Parking", "Department")}
        if search:
            for k in search:
                s.pop(k)
            main.append(_pick(rng, _USER_SEARCH).format(np=_an(noun_phrase(domain, search, rng))))
    if booking:
        clause = booking_clause(domain, booking, rng)
        if name and domain not in ("train", "taxi"):
            main.append(_pick(rng, _USER_BOOK_NAME).format(name=name, clause=clause))
        else:
            main.append(_pick(rng, _USER_BOOK).format(clause=clause))
    elif name and domain in ("train", "taxi"):
        main.append(_pick(rng, _USER_NAME).format(name=name, noun=domain))
    main += [f"The {SLOT_NOUN.get(k, k.lower())} should be {_join(v)}." for k, v in s.items() if not all(map(_silent, v))]
    if not main and not out:
        main.append(_pick(rng, _USER_DOMAIN).format(noun=_DOMAIN_NOUN.get(domain, domain)))
    return main + out


_USER_ASK = (
    "Could you give me the {list}?", "What is the {list}?", "Can I have the {list}, please?",
    "I'll need the {list}.", "Could you tell me the {list}?", "May I get the {list}?",
)
_USER_ASK_YESNO = {
    "Internet": ("Do they have wifi?", "Is there internet?", "Does it have free wifi?"),
    "Parking": ("Is there parking?", "Do they offer parking?", "Can I park there?"),
}
_USER_ASK_NOUN = {"Price": "price range", "Type": "type of place", "Time": "travel time"}


def _user_request(domain: str, s: Slots, rng: random.Random) -> list[str]:
    out, nouns = [], []
    for slot in s:
        if slot in _USER_ASK_YESNO:
            out.append(_pick(rng, _USER_ASK_YESNO[slot]))
        elif slot == "Time" and domain != "train":
            nouns.append("booking time")
        else:
            nouns.append(_USER_ASK_NOUN.get(slot, SLOT_NOUN.get(slot, slot.lower())))
    if nouns:
        out.insert(0, _pick(rng, _USER_ASK).format(list=_join(nouns)))
    return out


_USER_THANK = ("Thank you.", "Thanks a lot.", "Thank you very much.", "Great, thanks.", "Thanks, that helps.")
_USER_BYE = ("Goodbye.", "Bye.", "Bye for now.", "Have a good day, goodbye.")
_USER_THANK_BYE = (
    "Thanks, that's everything I needed. Goodbye.", "That's all, thank you. Bye!", "Thank you so much, goodbye.",
    "Great, thanks for your help. Bye.", "Perfect, thank you. Have a nice day, bye.", "Thanks, I have all I need. Goodbye!",
    "Wonderful, thank you. That is all for today. Bye.",
)
_USER_GREET = ("Hello.", "Hi there.", "Hi.", "Good morning.")

# --- the SupportBot ------------------------------------------------------------------

_BOT_CHOICE = (
    "There are {choice} {np}.", "I have {choice} {np}.", "I found {choice} {np}.", "We have {choice} {np}.",
)
_BOT_CHOICE_ONE = ("There is one {np}.", "I found just one {np}.", "I have one {np}.")
_BOT_NAME = ("{name} is {np}.", "{name} is {np} that fits.", "There is {name}, {np}.", "I found {name}, {np}.")
_BOT_NAME_BARE = ("{name} fits your request.", "There is {name}.", "I found {name}.", "How about {name}?")
_BOT_RECOMMEND = (
    "I'd recommend {name}, {np}.", "How about {name}? It's {np}.", "{name} is {np} I can recommend.",
    "I suggest {name}, {np}.", "You might like {name}, {np}.",
)
_BOT_RECOMMEND_BARE = ("I'd recommend {name}.", "How about {name}?", "I suggest {name}.", "You might like {name}.")
_BOT_TRAIN_ID = (
    "{id} {route}.", "Train {id} {route}.", "There is {id}, {route}.", "I have {id} {route}.",
)
_BOT_NOOFFER = (
    "Sorry, there are no {np}.", "I'm sorry, I couldn't find any {np}.", "Unfortunately there are no {np}.",
    "I'm afraid there are no {np}.",
)
_BOT_NOOFFER_BARE = (
    "Sorry, nothing matches that.", "I'm sorry, I couldn't find anything like that.",
    "Unfortunately I have nothing that matches.",
)


def _train_route(s: Slots, rng: random.Random) -> str:
    """``"leaves cambridge at 09:00 on monday and arrives in london at 10:00"`` style, for one train."""
    parts = []
    dep, leave = _take(s, "Depart"), _take(s, "Leave", "or")
    if dep or leave:
        parts.append("leaves" + (f" {dep}" if dep else "") + (f" at {leave}" if leave else ""))
    if "Day" in s:
        parts.append(f"on {_take(s, 'Day', 'or')}")
    dest, arrive = _take(s, "Dest"), _take(s, "Arrive", "or")
    if dest or arrive:
        parts.append(("and " if parts else "") + "arrives" + (f" in {dest}" if dest else "") + (f" at {arrive}" if arrive else ""))
    return " ".join(parts) or "is available"


def _bot_describe(domain: str, s: Slots, rng: random.Random, recommend: bool = False) -> list[str]:
    """Inform / Recommend: count of matches, a named venue or train, then its attributes."""
    out = []
    choice = _take(s, "Choice")
    if domain == "train":
        ids = s.pop("Id", [])
        if choice and not ids:
            r = route("train", s, rng)
            tpl = _BOT_CHOICE_ONE if norm(choice) in ("1", "one") else _BOT_CHOICE
            out.append(_pick(rng, tpl).format(choice=choice, np=("trains" if norm(choice) not in ("1", "one") else "train") + (f" {r}" if r else "")))
        elif ids:
            if choice:
                out.append(_pick(rng, ("There are {c} trains.", "I have {c} trains.")).format(c=choice))
            lead = "I'd recommend " if recommend else ""
            out.append(lead + _pick(rng, _BOT_TRAIN_ID).format(id=_join(ids, "or"), route=_train_route(s, rng)))
        return out + facts(domain, s, rng)
    if domain == "taxi":
        return _bot_taxi(s, rng)
    names = s.pop("Name", [])
    desc_slots = {k: s.pop(k) for k in ("Stars", "Price", "Food", "Type", "Area", "Internet", "Parking") if k in s}
    if choice and not names:
        plural = norm(choice) not in ("1", "one")
        np = noun_phrase(domain, desc_slots, rng, plural=plural)
        out.append(_pick(rng, _BOT_CHOICE if plural else _BOT_CHOICE_ONE).format(choice=choice, np=np))
    elif names:
        if choice:
            out.append(_pick(rng, ("There are {c} of those.", "I have {c} options.", "There are {c} that match.")).format(c=choice))
        name = _join(names, "or" if len(names) > 1 and recommend else "and")
        if desc_slots and any(not _silent(v[0]) for v in desc_slots.values()):
            np = _an(noun_phrase(domain, desc_slots, rng))
            out.append(_pick(rng, _BOT_RECOMMEND if recommend else _BOT_NAME).format(name=name, np=np))
        else:
            out.append(_pick(rng, _BOT_RECOMMEND_BARE if recommend else _BOT_NAME_BARE).format(name=name))
    elif choice:
        out.append(_pick(rng, ("I have {c} options.", "There are {c} options.")).format(c=choice))
    s.update({k: v for k, v in desc_slots.items() if v})  # what no phrase above said
    return out + facts(domain, s, rng)


def _bot_taxi(s: Slots, rng: random.Random) -> list[str]:
    out = []
    car = _take(s, "Car", "or")
    r = route("taxi", s, rng)
    if car:
        out.append(_pick(rng, (
            "I have booked a {car} for you{r}.", "Your taxi is booked: a {car} will come for you{r}.",
            "A {car} is booked for you{r}.", "Done, a {car} will pick you up{r}.",
        )).format(car=car, r=f" {r}" if r else ""))
    elif r:
        out.append(f"The taxi goes {r}.")
    if "Phone" in s:
        out.append(_pick(rng, (
            "The contact number is {v}.", "You can reach the driver on {v}.", "Their contact number is {v}.",
        )).format(v=_take(s, "Phone", "or")))
    return out + facts("taxi", s, rng)


def _bot_inform(domain: str, s: Slots, rng: random.Random) -> list[str]:
    if domain == "booking":
        return _bot_offerbook(domain, s, rng)
    return _bot_describe(domain, s, rng)


def _bot_recommend(domain: str, s: Slots, rng: random.Random) -> list[str]:
    return _bot_describe(domain, s, rng, recommend=True)


def _bot_select(domain: str, s: Slots, rng: random.Random) -> list[str]:
    choice = _take(s, "Choice")
    multi = [k for k, v in s.items() if len([x for x in v if not _silent(x)]) >= 2]
    out = []
    for k in multi:
        vals = [x for x in s.pop(k) if not _silent(x)]
        if k == "Area":
            vals = [_area(v, rng).removeprefix("in ") for v in vals]
        out.append(_pick(rng, ("Would you prefer {x}?", "Which would you like, {x}?", "Do you prefer {x}?")).format(x=_join(vals, "or")))
    rest = {k: v for k, v in s.items() if v and not all(map(_silent, v))}
    if rest:
        name = _take(rest, "Name", "or") or _take(rest, "Id", "or")
        if domain in ("train", "taxi"):
            r = route(domain, rest, rng)
            what = " ".join(x for x in (name or f"the {domain}", r) if x)
        else:
            what = name or _an(noun_phrase(domain, rest, rng))
        rest_facts = facts(domain, rest, rng)
        out.append(_pick(rng, ("Would {x} suit you?", "Would you like {x}?", "How does {x} sound?")).format(x=what))
        out += rest_facts
    if choice:
        out.insert(0, _pick(rng, ("There are {c} options.", "I have {c} of them.")).format(c=choice))
    return out or [_pick(rng, ("Which one would you prefer?", "Do you have a preference between them?"))]


def _bot_nooffer(domain: str, s: Slots, rng: random.Random) -> list[str]:
    if domain == "train":
        r = route("train", s, rng)
        return [_pick(rng, _BOT_NOOFFER).format(np="trains" + (f" {r}" if r else ""))] + facts(domain, s, rng)
    name = _take(s, "Name", "or")
    s = {k: v for k, v in s.items() if not all(map(_silent, v))}
    if name:
        return [_pick(rng, ("Sorry, I have no information on {n}.", "I'm sorry, {n} is not in my listings."))
                .format(n=name)]
    if not s:
        return [_pick(rng, _BOT_NOOFFER_BARE)]
    np = noun_phrase(domain, s, rng, plural=True)
    return [_pick(rng, _BOT_NOOFFER).format(np=np)] + facts(domain, s, rng)


_BOT_ASK_ONE = {
    "Area": ("Which area would you like?", "What part of town do you prefer?", "Do you have an area in mind?"),
    "Price": ("What price range are you looking for?", "Do you have a price range in mind?", "What is your budget, cheap, moderate or expensive?"),
    "Food": ("What type of food would you like?", "Which cuisine do you prefer?", "Is there a kind of food you'd like?"),
    "Type": ("What type of place are you after?", "Which type would you prefer?", "Do you have a type in mind?"),
    "Stars": ("How many stars would you like?", "Do you want a particular star rating?"),
    "Internet": ("Do you need internet?", "Will you need wifi?"),
    "Parking": ("Do you need parking?", "Will you need a parking space?"),
    "Name": ("Do you have a particular name in mind?", "Which one would you like, by name?"),
    "Day": ("What day would you like?", "Which day is that for?", "On what day?"),
    "People": ("How many people will there be?", "For how many people?", "How many people is it for?"),
    "Time": ("What time would you like?", "At what time?", "What time suits you?"),
    "Stay": ("How many nights will you stay?", "For how many nights?", "How long is your stay, in nights?"),
    "Depart": ("Where will you be leaving from?", "Where are you departing from?", "What is your departure point?"),
    "Dest": ("Where are you going?", "What is your destination?", "Where would you like to go?"),
    "Leave": ("When would you like to leave?", "What time do you want to depart?", "When do you need to leave?"),
    "Arrive": ("When do you need to arrive by?", "What time do you want to arrive?", "By when must you arrive?"),
    "Department": ("Which department do you need?",),
}
_BOT_ASK_MANY = (
    "Could you tell me the {list}?", "What {list} would you like?", "May I have the {list}?",
    "Please tell me the {list}.",
)


def _bot_request(domain: str, s: Slots, rng: random.Random) -> list[str]:
    slots = list(s)
    if len(slots) == 1:
        slot = slots[0]
        if domain == "taxi" and slot == "Leave":
            return [_pick(rng, ("When would you like to be picked up?", "What time should the taxi leave?"))]
        if domain == "taxi" and slot == "Depart":
            return [_pick(rng, ("Where should the taxi pick you up?", "Where are you leaving from?"))]
        return [_pick(rng, _BOT_ASK_ONE.get(slot, (f"What {SLOT_NOUN.get(slot, slot.lower())} would you like?",)))]
    nouns = [("travel time" if k == "Time" and domain == "train" else "time" if k == "Time" else SLOT_NOUN.get(k, k.lower())) for k in slots]
    return [_pick(rng, _BOT_ASK_MANY).format(list=_join(nouns))]


def _bot_offerbook(domain: str, s: Slots, rng: random.Random) -> list[str]:
    subject = ""
    if "Id" in s:
        subject = _join(s.pop("Id"), "or")
    elif "Name" in s:
        subject = _join(s.pop("Name"), "or")
    clause = booking_clause(domain, s, rng)
    pre = _bot_describe(domain, s, rng) if any(not all(map(_silent, v)) for v in s.values()) else []
    it = subject or "it"
    tail = f" {clause}" if clause else ""
    ask = _pick(rng, (
        "Would you like me to book {it}{tail}?", "Shall I book {it}{tail}?", "Should I reserve {it}{tail} for you?",
        "Do you want me to make a booking for {it}{tail}?",
    )).format(it=it, tail=tail)
    return pre + [ask]


def _bot_book(domain: str, s: Slots, rng: random.Random) -> list[str]:
    ref = _take(s, "Ref")
    subject = _join(s.pop("Id", []) or s.pop("Name", []))
    ticket = _take(s, "Ticket")
    clause = booking_clause(domain, s, rng)
    what = subject or _pick(rng, ("it", "that"))
    head = _pick(rng, (
        "I've booked {what}{tail}.", "You're all set, {what} is booked{tail}.", "Booking confirmed for {what}{tail}.",
        "Done, I booked {what}{tail}.", "{What} is now booked{tail}.",
    ))
    tail = f" {clause}" if clause else ""
    out = [head.format(what=what, What=what[:1].upper() + what[1:], tail=tail)]
    if ticket:
        out.append(_pick(rng, ("The total comes to {v}.", "The total cost is {v}.", "It costs {v} in total.")).format(v=ticket))
    if ref:
        out.append(_pick(rng, ("Your reference number is {v}.", "The reference number is {v}.", "Your reference is {v}.")).format(v=ref))
    return out + facts(domain, s, rng)


def _bot_nobook(domain: str, s: Slots, rng: random.Random) -> list[str]:
    name = _join(s.pop("Name", []) or s.pop("Id", []))
    clause = booking_clause(domain, s, rng)
    tail = f" {clause}" if clause else ""
    if name:
        text = _pick(rng, (
            "Sorry, {n} is fully booked{t}.", "I'm sorry, I couldn't book {n}{t}.", "Unfortunately {n} has no space{t}.",
        )).format(n=name, t=tail)
    else:
        text = _pick(rng, (
            "Sorry, the booking failed{t}.", "I'm sorry, I couldn't make that booking{t}.",
            "Unfortunately that booking is not possible{t}.", "Sorry, there is no availability{t}.",
        )).format(t=tail)
    return [text] + facts(domain, s, rng)


_BOT_GENERAL: dict[str, tuple[str, ...]] = {
    "welcome": ("You're welcome.", "My pleasure.", "Happy to help.", "No problem at all.", "Glad I could help."),
    "greet": ("Hello!", "Hi there!", "Good day!"),
    "reqmore": (
        "Is there anything else I can help you with?", "Can I help with anything else?", "Do you need anything else?",
        "Anything else I can do for you?", "Is there something else you need?", "What else can I do for you?",
    ),
    "bye": ("Goodbye!", "Have a nice day, goodbye.", "Enjoy your trip. Bye!", "Take care, goodbye.", "Have a great day. Bye."),
}
_BOT_WELCOME_BYE = (
    "You're welcome, goodbye!", "My pleasure. Have a nice day, bye.", "Glad I could help. Enjoy your stay, goodbye.",
    "You're welcome. Take care, bye!", "Happy to help. Goodbye and have a good trip.",
)

#: (speaker, intent) -> builder of the sentences for one act. ``general-*`` acts are handled apart.
BUILDERS: dict[tuple[str, str], Builder] = {
    ("user", "Inform"): _user_inform,
    ("user", "Request"): _user_request,
    ("bot", "Inform"): _bot_inform,
    ("bot", "Recommend"): _bot_recommend,
    ("bot", "Select"): _bot_select,
    ("bot", "NoOffer"): _bot_nooffer,
    ("bot", "Request"): _bot_request,
    ("bot", "OfferBook"): _bot_offerbook,
    ("bot", "OfferBooked"): _bot_book,
    ("bot", "Book"): _bot_book,
    ("bot", "NoBook"): _bot_nobook,
}
_ORDER = {
    "greet": 0, "welcome": 1, "Inform": 2, "NoOffer": 2, "NoBook": 2, "Book": 2, "OfferBooked": 2,
    "Recommend": 3, "Select": 4, "Request": 5, "OfferBook": 6, "thank": 7, "reqmore": 8, "bye": 9,
}


def _general(speaker: str, intents: set[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """Sentences for greet/welcome (lead) and thank/reqmore/bye (tail)."""
    lead, tail = [], []
    if speaker == "user":
        if "greet" in intents:
            lead.append(_pick(rng, _USER_GREET))
        if "thank" in intents and "bye" in intents:
            tail.append(_pick(rng, _USER_THANK_BYE))
        elif "thank" in intents:
            tail.append(_pick(rng, _USER_THANK))
        elif "bye" in intents:
            tail.append(_pick(rng, _USER_BYE))
        return lead, tail
    if "greet" in intents:
        lead.append(_pick(rng, _BOT_GENERAL["greet"]))
    if "welcome" in intents and "bye" in intents:
        tail.append(_pick(rng, _BOT_WELCOME_BYE))
        intents = intents - {"bye"}
    elif "welcome" in intents:
        lead.append(_pick(rng, _BOT_GENERAL["welcome"]))
    for intent in ("reqmore", "bye"):
        if intent in intents:
            tail.append(_pick(rng, _BOT_GENERAL[intent]))
    return lead, tail


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:] if sentence else sentence


def render(speaker: str, acts: DialogueActs, rng: random.Random | int | str = 0) -> str:
    """One utterance saying every act of the turn; ``rng`` (or a seed) picks the wording."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    general: set[str] = set()
    content: list[tuple[float, str, str, Slots]] = []
    for key, pairs in acts.items():
        domain, intent = split_key(key)
        if domain == "general":
            general.add(intent)
            continue
        order = _ORDER.get(intent, 5)
        if (domain, intent) == ("booking", "Inform"):
            order = _ORDER["OfferBook"]
        elif intent == "Inform" and speaker == "bot" and not any(slot == "Choice" for slot, _ in pairs):
            order = _ORDER["Recommend"] + 0.5  # a recommendation first, then its details
        content.append((order, domain, intent, gather(pairs)))
    lead, tail = _general(speaker, general, rng)
    body: list[str] = []
    for _, domain, intent, slots in sorted(content, key=lambda c: c[0]):
        builder = BUILDERS.get((speaker, intent))
        if builder is None:  # an intent this speaker does not use: say its facts
            body += facts(domain, slots, rng)
            continue
        body += builder(domain, slots, rng)
    sentences = [_capital(s.strip()) for s in (*lead, *body, *tail) if s.strip()]
    if not sentences:
        sentences = ["Okay." if speaker == "bot" else "Alright."]
    return " ".join(sentences)


_SEARCH_INFO = {
    "restaurant": ("Food", "Price", "Area", "Name"),
    "hotel": ("Type", "Price", "Area", "Stars", "Internet", "Parking", "Name"),
    "attraction": ("Type", "Area", "Name"),
}
_ATTRIBUTES = {
    "restaurant": ("Addr", "Phone", "Post"),
    "hotel": ("Addr", "Phone", "Post"),
    "attraction": ("Addr", "Phone", "Post", "Fee", "Open"),
}
_ROUTE = ("Depart", "Dest", "Leave", "Arrive")

#: Every (speaker, act key) the templates phrase and the slots it may carry: the planner's
#: act inventory (MultiWOZ's, less what its wizards rarely did). ``none`` means no slot.
ACT_INVENTORY: dict[tuple[str, str], tuple[str, ...]] = {
    ("user", "Restaurant-Inform"): _SEARCH_INFO["restaurant"] + ("Day", "People", "Time", "none"),
    ("user", "Hotel-Inform"): _SEARCH_INFO["hotel"] + ("Day", "People", "Stay", "none"),
    ("user", "Attraction-Inform"): _SEARCH_INFO["attraction"] + ("none",),
    ("user", "Train-Inform"): _ROUTE + ("Day", "People", "none"),
    ("user", "Taxi-Inform"): _ROUTE + ("none",),
    ("user", "Hospital-Inform"): ("Department", "none"),
    ("user", "Police-Inform"): ("none",),
    ("user", "Restaurant-Request"): ("Addr", "Phone", "Post", "Area", "Food", "Price", "Name", "Ref"),
    ("user", "Hotel-Request"): ("Addr", "Phone", "Post", "Area", "Price", "Stars", "Internet", "Parking", "Type", "Name", "Ref"),
    ("user", "Attraction-Request"): ("Addr", "Phone", "Post", "Fee", "Area", "Type", "Name", "Open"),
    ("user", "Train-Request"): ("Id", "Ticket", "Time", "Leave", "Arrive", "Ref"),
    ("user", "Taxi-Request"): ("Car", "Phone"),
    ("user", "Hospital-Request"): ("Addr", "Phone", "Post"),
    ("user", "Police-Request"): ("Addr", "Phone", "Post"),
    ("user", "general-greet"): ("none",),
    ("user", "general-thank"): ("none",),
    ("user", "general-bye"): ("none",),
    **{("bot", f"{d.capitalize()}-Inform"): ("Choice",) + _SEARCH_INFO[d] + _ATTRIBUTES[d] + ("Ref",) for d in _SEARCH_INFO},
    **{("bot", f"{d.capitalize()}-Recommend"): _SEARCH_INFO[d] + _ATTRIBUTES[d] for d in _SEARCH_INFO},
    **{("bot", f"{d.capitalize()}-Select"): _SEARCH_INFO[d] + ("Choice", "none") for d in _SEARCH_INFO},
    **{("bot", f"{d.capitalize()}-NoOffer"): _SEARCH_INFO[d] + ("none",) for d in _SEARCH_INFO},
    ("bot", "Restaurant-Request"): ("Food", "Area", "Price", "Name"),
    ("bot", "Hotel-Request"): ("Area", "Price", "Stars", "Type", "Internet", "Parking", "Name"),
    ("bot", "Attraction-Request"): ("Area", "Type", "Name"),
    ("bot", "Booking-Request"): ("People", "Day", "Time", "Stay"),
    ("bot", "Booking-Inform"): ("Name", "none"),
    ("bot", "Booking-Book"): ("Name", "Ref", "People", "Day", "Time", "Stay", "none"),
    ("bot", "Booking-NoBook"): ("Name", "Day", "Time", "People", "Stay", "none"),
    ("bot", "Train-Inform"): ("Choice", "Id", "Ticket", "Time", "Day", "People", "Ref") + _ROUTE,
    ("bot", "Train-Request"): _ROUTE + ("Day", "People"),
    ("bot", "Train-OfferBook"): ("Id", "Leave", "Arrive", "People", "Ticket", "none"),
    ("bot", "Train-OfferBooked"): ("Id", "Ref", "Ticket", "People", "Leave", "Arrive", "Day"),
    ("bot", "Train-NoOffer"): _ROUTE + ("Day", "none"),
    ("bot", "Train-Select"): ("Id", "Leave", "Arrive", "none"),
    ("bot", "Taxi-Inform"): ("Car", "Phone") + _ROUTE,
    ("bot", "Taxi-Request"): _ROUTE,
    ("bot", "Hospital-Inform"): ("Department", "Addr", "Phone", "Post"),
    ("bot", "Hospital-Request"): ("Department",),
    ("bot", "Hospital-NoOffer"): ("Department", "none"),
    ("bot", "Police-Inform"): ("Name", "Addr", "Phone", "Post"),
    ("bot", "Police-NoOffer"): ("none",),
    ("bot", "general-welcome"): ("none",),
    ("bot", "general-reqmore"): ("none",),
    ("bot", "general-bye"): ("none",),
    ("bot", "general-greet"): ("none",),
}
