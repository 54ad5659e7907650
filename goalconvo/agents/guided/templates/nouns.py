"""Phrases made of slot values: noun phrases, predicates, journeys, booking clauses, facts.

Each helper *consumes* the slots it says (pops them from the :data:`Slots` dict), so a
builder can say the rest as facts and nothing is said twice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from goalconvo.agents.guided.normalize import SILENT_VALUES, norm, number_word
from goalconvo.agents.guided.templates import phrases as P
from goalconvo.agents.guided.templates.words import (
    ATTRACTION_TYPE,
    DOMAIN_NOUN,
    DOMAIN_SYNONYMS,
    HOTEL_TYPE,
    USER_SYNONYMS,
    SLOT_NOUN,
    display,
    food_phrase,
)
from goalconvo.core.roles import LODGING, SIGHT, TABLE, TIMETABLE

Slots = dict[str, list[str]]


def pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


def an(phrase: str) -> str:
    """``"italian restaurant"`` -> ``"an italian restaurant"``."""
    first = phrase.split()[0].lower() if phrase else ""
    vowel = first[:1] in "aeiou" or first in ("8", "11", "18") or first.startswith("8")
    if first in ("one", "uni", "university", "european", "eu") or first.startswith(("uni", "eu", "one")):
        vowel = False
    return ("an " if vowel else "a ") + phrase


def join(items: Sequence[str], word: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def silent(v: str) -> bool:
    return norm(v) in SILENT_VALUES


def dontcare(v: str) -> bool:
    return norm(v) in ("dontcare", "dont care", "don't care", "any")


def has(s: Slots, slot: str) -> bool:
    return any(not silent(v) for v in s.get(slot, ()))


def take(s: Slots, slot: str, word: str = "and") -> str:
    """Pop a slot; its said values, written for a sentence and joined (``"a and b"``), or ``""``."""
    return join([display(slot, v) for v in s.pop(slot, []) if not silent(v)], word)


def yes(v: str) -> bool:
    return norm(v) in ("yes", "free", "true", "y")


def count(v: str, rng: random.Random) -> str:
    """A small number as digits or, now and then, as a word."""
    if v.isdigit() and int(v) <= 12 and rng.random() < 0.35:
        return number_word(int(v))
    return v


def people(v: str, rng: random.Random, user: bool = False) -> str:
    """``"4 people"``; a customer may also say "4 of us", "a party of 4"."""
    n = count(v, rng)
    if not user:
        return f"{n} person" if norm(v) in ("1", "one") else f"{n} people"
    if norm(v) in ("1", "one"):
        return pick(rng, (f"{n} person", f"{n} person", "just one person"))
    group = (f"a group of {n}",) if v.isdigit() and int(v) >= 3 else ()
    return pick(rng, (f"{n} people", f"{n} people", f"{n} people", f"{n} of us", *group))


def nights(v: str, rng: random.Random) -> str:
    n = count(v, rng)
    return f"{n} night" if norm(v) in ("1", "one") else f"{n} nights"


def gather(pairs: list[list[str]]) -> Slots:
    """``[["Food", "thai"], ["Area", "north"]]`` -> ``{"Food": ["thai"], "Area": ["north"]}`` (none pairs dropped)."""
    out: Slots = {}
    for slot, value in pairs:
        if slot.lower() == "none":
            continue
        out.setdefault(slot, []).append(value)
    return out


# --- noun phrases ----------------------------------------------------------------------


def area(v: str, rng: random.Random) -> str:
    nv = norm(v)
    if nv in ("centre", "center"):
        return pick(rng, ["in the centre", "in the city centre", "in the centre of town", "in the centre", "in the center",
                          "in the center of town"])
    if nv in ("north", "south", "east", "west"):
        return pick(rng, [f"in the {nv}", f"in the {nv}", f"on the {nv} side", f"in the {nv} of town"])
    return f"in {v}" if nv.startswith("the ") else f"in the {v}"


def price(v: str, rng: random.Random) -> str:
    if norm(v) == "moderate":
        return pick(rng, ["moderately priced", "moderately priced", "mid-priced"])
    return v


def head_noun(domain: str, s: Slots, rng: random.Random, plural: bool, user: bool = False) -> tuple[str, bool]:
    """The head noun (the venue type where given) and whether it carries its own article."""
    t = take(s, "Type", "or").lower()
    if domain == SIGHT and t:
        one, many = ATTRACTION_TYPE.get(t, (an(t), t if t.endswith("s") else t + "s"))
        return (many, False) if plural else (one, True)
    if domain == LODGING and t:
        one, many = HOTEL_TYPE.get(t, (t, t if t.endswith("s") else t + "s"))
        return (many if plural else one), False
    if t:
        return (t if not plural else (t if t.endswith("s") else t + "s")), False
    options = (USER_SYNONYMS if user else DOMAIN_SYNONYMS).get(domain) or DOMAIN_SYNONYMS.get(domain, (DOMAIN_NOUN.get(domain, (domain, domain + "s")),))
    one, many = pick(rng, options)
    return (many if plural else one), False


def noun_phrase(domain: str, s: Slots, rng: random.Random, plural: bool = False, article: bool = True, user: bool = False) -> str:
    """Search constraints as a noun phrase; consumes the slots it says.

    ``{"Price": ["cheap"], "Food": ["thai"], "Area": ["north"]}`` ->
    ``"a cheap Thai restaurant in the north"`` (plural: ``"cheap Thai restaurants in the north"``).
    """
    adj: list[str] = []
    stars = ""
    if has(s, "Stars"):
        v = take(s, "Stars", "or")
        if plural or not v.isdigit():
            stars = f"with {v} stars"
        else:
            adj.append(pick(rng, [f"{v}-star", f"{v} star"]))
    if has(s, "Price"):
        adj.append(" or ".join(price(v, rng) for v in s.pop("Price") if not silent(v)))
    food = take(s, "Food", "or") if has(s, "Food") else ""
    noun, own_article = head_noun(domain, s, rng, plural, user)
    if domain == TABLE and food:
        if noun.startswith("place") and not user:  # "a place to eat serving Indian food" reads as a form
            noun = DOMAIN_NOUN[TABLE][1 if plural else 0]
            adj.append(food)
        elif noun.startswith("place"):
            noun = f"{noun} serving {food_phrase(food)}"
        else:
            adj.append(food)
    mods = []
    if has(s, "Area"):
        mods.append(" or ".join(area(v, rng) for v in s.pop("Area") if not silent(v)))
    extras = []
    for slot, word in (("Internet", "free wifi"), ("Parking", "free parking")):
        if has(s, slot):
            v = take(s, slot)
            extras.append(word if yes(v) else f"no {slot.lower()}")
    if stars:
        mods.append(stars)
    if extras:
        mods.append(("and " if stars else "with ") + " and ".join(extras))
    if has(s, "Department"):
        mods.append(f"with a {take(s, 'Department')} department")
    if own_article:  # "a museum", "a place with interesting architecture" (attractions take no adjectives)
        phrase = " ".join([noun, *mods]).strip()
        return phrase if article else phrase.split(" ", 1)[1]
    phrase = " ".join([*adj, noun, *mods]).strip()
    return an(phrase) if article and not plural else phrase


def predicates(domain: str, s: Slots, rng: random.Random) -> list[str]:
    """Constraints as verb phrases for "It should ...": ``be in the north``, ``have free parking``."""
    out = []
    for slot in list(s):
        values = [v for v in s[slot] if not silent(v)]
        if not values:
            continue
        v = join([display(slot, x) for x in values], "or")
        if slot == "Area":
            out.append("be somewhere " + " or ".join(area(x, rng) for x in values))
        elif slot == "Price":
            out.append("be " + " or ".join(price(x, rng) for x in values))
        elif slot == "Stars":
            out.append(f"have {v} stars")
        elif slot in ("Internet", "Parking"):
            word = "free wifi" if slot == "Internet" else "free parking"
            out.append(f"have {word}" if yes(values[0]) else f"not need {slot.lower()}")
        elif slot == "Food":
            out.append(f"serve {food_phrase(v)}")
        elif slot == "Type":
            t = norm(values[0])
            one = ATTRACTION_TYPE.get(t, (an(t), ""))[0] if domain == SIGHT else an(HOTEL_TYPE.get(t, (t, ""))[0])
            out.append(f"be {one}")
        else:
            continue
        s.pop(slot)
    return out


def route(domain: str, s: Slots, rng: random.Random, day: bool = True, varied: bool = False) -> str:
    """A train's or taxi's journey; consumes Depart, Dest, (Day,) Leave, Arrive.

    ``varied``: the ways a traveller says it ("to Ely from Cambridge", "leaving Cambridge for
    Ely", "going to Ely"), not only the timetable's "from X to Y"."""
    parts = []
    dep = take(s, "Depart") if has(s, "Depart") else ""
    dest = take(s, "Dest") if has(s, "Dest") else ""
    if varied and dep and dest:
        parts.append(pick(rng, (f"from {dep} to {dest}", f"to {dest} from {dep}", f"from {dep} to {dest}",
                                f"leaving {dep} for {dest}", f"that goes to {dest} from {dep}",
                                f"departing {dep} and arriving {'in' if domain == TIMETABLE else 'at'} {dest}")))
    elif varied and dest:
        parts.append(pick(rng, (f"to {dest}", f"going to {dest}", f"into {dest}", f"heading to {dest}")))
    elif varied and dep:
        parts.append(pick(rng, (f"from {dep}", f"leaving {dep}", f"out of {dep}", f"departing from {dep}")))
    else:
        parts += [f"from {dep}"] * bool(dep) + [f"to {dest}"] * bool(dest)
    if day and domain == TIMETABLE and has(s, "Day"):
        parts.append(f"on {take(s, 'Day', 'or')}")
    if has(s, "Leave"):
        parts.append(pick(rng, ["leaving after", "departing after", "after"] if domain == TIMETABLE else ["leaving at", "at"]) + f" {take(s, 'Leave', 'or')}")
    if has(s, "Arrive"):
        parts.append(pick(rng, ["arriving by", "getting in by", "to arrive by"]) + f" {take(s, 'Arrive', 'or')}")
    return " ".join(parts)


def booking_clause(domain: str, s: Slots, rng: random.Random, user: bool = False) -> str:
    """``"for 4 people on Friday at 18:30"`` / hotel ``"for 2 people for 3 nights from Friday"``;
    consumes People, Stay, Day, Time."""
    parts = []
    if has(s, "People"):
        parts.append("for " + people(take(s, "People", "or"), rng, user))
    if has(s, "Stay"):
        parts.append("for " + nights(take(s, "Stay", "or"), rng))
    if has(s, "Day"):
        day = take(s, "Day", "or")
        parts.append((pick(rng, ["from", "starting", "arriving"]) if domain == LODGING else "on") + f" {day}")
    if has(s, "Time"):
        parts.append(f"at {take(s, 'Time', 'or')}")
    return " ".join(parts)


def facts(domain: str, s: Slots, rng: random.Random, their: str = "their") -> list[str]:
    """One sentence per remaining slot, two short ones joined with "and"; consumes every slot."""
    out = []
    for slot in list(s):
        values = [v for v in s.pop(slot) if not silent(v)]
        if not values:
            continue
        v = join([display(slot, x) for x in values], "or" if slot == "Name" else "and")
        nv = norm(values[0])
        if slot in ("Internet", "Parking"):
            out.append(pick(rng, P.FACT_YESNO[(slot, yes(values[0]))]))
        elif slot == "Fee" and nv == "free":
            out.append(pick(rng, P.FACT_FREE))
        elif nv == "unknown":  # the database has '?': say what is unknown
            out.append(pick(rng, P.FACT_UNKNOWN).format(noun=SLOT_NOUN.get(slot, slot.lower())))
        elif slot == "Area" and nv in ("centre", "center"):
            out.append(pick(rng, ["It's in the centre.", "It's in the city centre.", "It's right in the centre."]))
        elif slot == "Time" and domain != TIMETABLE:
            out.append(pick(rng, ["That's at {v}.", "The time is {v}."]).format(v=v))
        elif slot == "Price" and nv == "moderate" and len(values) == 1:
            out.append(pick(rng, ["It's moderately priced.", "Its prices are moderate."]))
        else:
            frame = pick(rng, P.FACT.get(slot, (f"The {SLOT_NOUN.get(slot, slot.lower())} is {{v}}.",)))
            a_v = join([ATTRACTION_TYPE.get(norm(x), (an(display(slot, x)), ""))[0] for x in values], "or") if slot == "Type" else ""
            out.append(frame.format(v=v, a_v=a_v, food=food_phrase(v), Their=their.capitalize(), their=their))
    return _pair_up(out, rng)


def _pair_up(sentences: list[str], rng: random.Random) -> list[str]:
    """Two short facts read better as one: "The address is X, and the postcode is Y."."""
    out: list[str] = []
    i = 0
    while i < len(sentences):
        a = sentences[i]
        b = sentences[i + 1] if i + 1 < len(sentences) else ""
        same_start = bool(b) and a.split()[0] == b.split()[0]
        if b and len(a.split()) + len(b.split()) <= 16 and (same_start or rng.random() < 0.6):
            if same_start and b.split()[0] in ("Their", "Its", "The"):
                b = "the " + b.split(" ", 1)[1]  # "Their postcode is X, and the phone number is Y"
            out.append(a.rstrip(".") + ", and " + (b[:1].lower() + b[1:] if not b.startswith(("I ", "I'")) else b))
            i += 2
            continue
        out.append(a)
        i += 1
    return out
