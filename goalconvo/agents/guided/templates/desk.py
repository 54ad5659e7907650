"""The SupportBot's side: a turn's acts as a desk clerk would say them.

Order within a turn: a refusal first (no match, no booking), then what was booked,
then how many matches and the one recommended, then the answers asked for, then the
desk's question or offer, then the closing. Booking words fit the domain (a table at
a restaurant, a room at a hotel, tickets for a train); a venue named in the previous
turn is "it" or "they", not named again.
"""

from __future__ import annotations

import random
import zlib

from goalconvo.agents.guided.normalize import norm
from goalconvo.agents.guided.templates import phrases as P
from goalconvo.agents.guided.templates.context import TurnContext
from goalconvo.agents.guided.templates.desk_travel import cap, fmt, new_count, render_taxi, render_train, render_train_booked
from goalconvo.agents.guided.acts import act_key, split_key
from goalconvo.agents.guided.templates.nouns import (
    Slots,
    an,
    area,
    booking_clause,
    facts,
    has,
    join,
    noun_phrase,
    pick,
    price,
    route,
    silent,
    take,
    yes,
)
from goalconvo.agents.guided.templates.words import (
    ATTRACTION_TYPE, HOTEL_TYPE, PLAIN_LODGING_TYPES, SLOT_NOUN, department, display, food_phrase,
)
from goalconvo.core.roles import DEPARTMENT_DESK, LODGING, OFFICE, RIDE, SIGHT, TABLE, TIMETABLE

_DESC = ("Stars", "Price", "Food", "Type", "Area", "Internet", "Parking")
_VENUES = (TABLE, LODGING, SIGHT)
#: Slots that find or describe a venue or train (the rest answer questions about it).
_FINDING = frozenset({"Choice", "Name", "Id", "Car", "Department", "Leave", "Arrive", "Depart", "Dest", *_DESC})


def _their(domain: str) -> str:
    return "their" if domain in (TABLE, LODGING, DEPARTMENT_DESK, OFFICE) else "its"


def _third_person(domain: str, s: Slots, rng: random.Random) -> list[str]:
    """Constraints a named venue meets, as "has free parking", "is in the north"; consumes them."""
    out = []
    for slot in [k for k in _DESC if has(s, k)]:
        values = [v for v in s.pop(slot) if not silent(v)]
        v = join([display(slot, x) for x in values], "or")
        if slot == "Area":
            out.append("is " + area(values[0], rng))
        elif slot == "Price":
            out.append("is " + price(values[0], rng))
        elif slot == "Stars":
            out.append(f"has {v} stars")
        elif slot in ("Internet", "Parking"):
            word = "free wifi" if slot == "Internet" else "free parking"
            out.append(f"has {word}" if yes(values[0]) else f"has no {slot.lower()}")
        elif slot == "Food":
            out.append(f"serves {food_phrase(v)}")
        elif slot == "Type":
            t = norm(values[0])
            one = ATTRACTION_TYPE.get(t, (an(t), ""))[0] if domain == SIGHT else an(HOTEL_TYPE.get(t, (t, ""))[0])
            out.append(f"is {one}")
    return out


def _closing(rng: random.Random) -> list[str]:
    """The desk's goodbye: a whole line or welcome, wish and goodbye put together (never all empty)."""
    if rng.random() < 0.3:
        return [pick(rng, P.BOT_WELCOME_BYE)]
    parts = [pick(rng, P.BOT_CLOSE_WELCOME), pick(rng, P.BOT_CLOSE_WISH), pick(rng, P.BOT_CLOSE_BYE)]
    if not parts[1] and not parts[2]:
        parts[2] = "Goodbye!"
    return [p for p in parts if p]


def _named_one_fails(acts: dict[tuple[str, str], Slots], ctx: TurnContext) -> bool:
    """Whether the place this desk just named fails what the User added ("Is it cheap?") and this turn
    moves on to another or to none: it says so first rather than answer a question with a new search."""
    for key, pairs in ctx.own_previous.items():
        d, intent = split_key(key)
        named = {v.lower() for slot, v in pairs if slot == "Name"}
        if d not in _VENUES or intent not in ("Inform", "Recommend") or not named:
            continue
        added = any(slot not in ("Name", "none") for slot, _ in ctx.previous.get(act_key(d, "Inform"), []))
        now = {v.lower() for (dd, i), s in acts.items() if dd == d and i in ("Inform", "Recommend") for v in s.get("Name", [])}
        if added and ((d, "NoOffer") in acts or (now and not now & named)):
            return True
    return False


def _type_goes_without_saying(domain: str, types: list[str], names: list[str]) -> bool:
    """A hotel that is a hotel, or a venue whose name says its type ("Mumford Theatre")."""
    t = norm(types[0]) if types else ""
    if domain == LODGING and t in PLAIN_LODGING_TYPES:
        return True
    word = {"guesthouse": "guest house", "swimmingpool": "pool", "concerthall": "hall"}.get(t, t)
    return bool(word) and all(word in n.lower() or t in n.lower() for n in names)


def _describe(domain: str, s: Slots, rng: random.Random, ctx: TurnContext, recommend: bool) -> list[str]:
    """Inform / Recommend of venues: how many match, the one named, then its attributes."""
    out: list[str] = []
    choice = take(s, "Choice")
    names = [v for v in s.pop("Name", []) if not silent(v)]
    if choice and not new_count(domain, choice, ctx):
        choice = ""
        if not names:  # nor does "It's a theatre." on its own
            for k in _DESC:
                s.pop(k, None)
    desc = {k: s.pop(k) for k in _DESC if k in s}
    if choice and not names:
        one = norm(choice) in ("1", "one")
        np = noun_phrase(domain, desc, rng, plural=not one)
        out.append(pick(rng, P.BOT_CHOICE_ONE if one else P.BOT_CHOICE).format(n=choice, np=np, nps=np))
    elif names:
        name = join([display("Name", n) for n in names], "or" if recommend else "and")
        already = all(n.lower() in ctx.own_named for n in names)
        if choice and norm(choice) not in ("1", "one"):
            cons = {k: v for k, v in desc.items() if k in ("Area", "Price", "Food", "Type")}
            if cons and rng.random() < 0.6:
                for k in cons:
                    desc.pop(k)
                np = noun_phrase(domain, cons, rng, plural=True)
                out.append(pick(rng, P.BOT_CHOICE).format(n=choice, nps=np))
            else:
                out.append(pick(rng, ("There are {c} of those.", "I have {c} that match.", "{c} places fit.")).format(c=choice).capitalize())
        if choice and norm(choice) in ("1", "one"):
            out.append(pick(rng, ("It's the only one.", "There's only the one.")))
        if set(desc) == {"Type"} and _type_goes_without_saying(domain, desc["Type"], names):
            desc = {}  # "Gonville Hotel, a hotel" says the type twice
        if already and desc and not recommend:
            preds = _third_person(domain, desc, rng)
            out.append(fmt(pick(rng, P.BOT_CONFIRM), name=name, pred=join(preds)))
        elif any(has(desc, k) for k in desc):
            np = noun_phrase(domain, desc, rng)
            out.append(fmt(pick(rng, P.BOT_RECOMMEND if recommend or choice else P.BOT_NAME), name=name, np=np))
        else:
            out.append(fmt(pick(rng, P.BOT_RECOMMEND_BARE if recommend else P.BOT_NAME_BARE), name=name))
    elif choice:
        out.append(pick(rng, ("I have {c} options.", "There are {c} options.")).format(c=choice))
    s.update({k: v for k, v in desc.items() if v})
    return out + facts(domain, s, rng, _their(domain))


def _inform(domain: str, s: Slots, rng: random.Random, ctx: TurnContext, recommend: bool = False,
            nooffer: Slots | None = None) -> list[str]:
    if domain == TIMETABLE:
        return render_train(s, rng, ctx, nooffer)
    if domain == RIDE:
        return render_taxi(s, rng)
    if domain == DEPARTMENT_DESK and has(s, "Department"):
        d = take(s, "Department")
        return [pick(rng, P.BOT_HOSPITAL).format(a_dept=department(d), dept=department(d, article=False))] + facts(domain, s, rng, "their")
    if domain == OFFICE and has(s, "Name"):
        return [fmt(pick(rng, P.BOT_POLICE), name=take(s, "Name"))] + facts(domain, s, rng, "their")
    return _describe(domain, s, rng, ctx, recommend)


def _nooffer(domain: str, s: Slots, rng: random.Random) -> list[str]:
    if domain == TIMETABLE:
        r = route(TIMETABLE, s, rng)
        return [pick(rng, P.BOT_TRAIN_NOOFFER).format(route=f" {r}" if r else "")] + facts(domain, s, rng)
    name = take(s, "Name", "or")
    s = {k: v for k, v in s.items() if not all(map(silent, v))}
    if name:
        return [pick(rng, P.BOT_NOOFFER_NAME).format(name=name)]
    if not s:
        return [pick(rng, P.BOT_NOOFFER_BARE)]
    if domain == DEPARTMENT_DESK and has(s, "Department"):
        return [f"I'm sorry, the hospital has no {department(take(s, 'Department'), article=False)}."]
    np = noun_phrase(domain, s, rng, plural=True)
    return [pick(rng, P.BOT_NOOFFER).format(nps=np)] + facts(domain, s, rng)


def _ask(domain: str, s: Slots, rng: random.Random, after_refusal: bool, booking: bool,
         refused: Slots | None = None) -> list[str]:
    slots = [k for k in s if k.lower() != "none"]
    if not slots:
        return []
    others = [k for k in (refused or {}) if k not in slots and k in P.BOT_ASK_OTHER and k not in ("Name", "Department")]
    if after_refusal and not booking and len(slots) == 1 and others:
        # The User may change any of the constraints that failed: asking about one only and hearing
        # about another reads as not listening.
        return [pick(rng, P.BOT_ASK_OTHER_TWO).format(a=SLOT_NOUN.get(slots[0], slots[0].lower()),
                                                       b=SLOT_NOUN.get(others[0], others[0].lower()))]
    if after_refusal:
        asks = [pick(rng, P.BOT_ASK_OTHER.get(k, (f"Would another {SLOT_NOUN.get(k, k.lower())} do?",))) for k in slots]
        return list(dict.fromkeys(asks))
    if booking:
        if len(slots) == 1:
            return [pick(rng, P.BOT_BOOK_ASK_ONE.get(slots[0], (f"What {SLOT_NOUN.get(slots[0], slots[0].lower())} would you like?",)))]
        return [cap(join([P.BOT_BOOK_ASK.get(k, f"what {SLOT_NOUN.get(k, k.lower())}") for k in slots])) + "?"]
    questions = []
    for k in slots:
        if domain == RIDE and k in P.BOT_ASK_TAXI:
            questions.append(pick(rng, P.BOT_ASK_TAXI[k]))
        elif domain == LODGING and k == "Type":
            questions.append(pick(rng, P.BOT_ASK_HOTEL_TYPE))
        elif domain == TABLE and k == "Type":
            questions.append(pick(rng, P.BOT_ASK_RESTAURANT_TYPE))
        else:
            questions.append(pick(rng, P.BOT_ASK.get(k, (f"What {SLOT_NOUN.get(k, k.lower())} would you like?",))))
    if len(questions) == 1:
        return questions
    first = questions[0].rstrip("?")
    rest = [q[:1].lower() + q[1:] for q in questions[1:]]
    return [first + ", and " + rest[0]] + [cap(q) if not q.startswith("and ") else "A" + q[1:] for q in rest[1:]]


def _booked(domain: str, s: Slots, rng: random.Random, ctx: TurnContext) -> list[str]:
    ref = take(s, "Ref")
    name = take(s, "Name")
    clause = booking_clause(domain, s, rng)
    kind = domain if domain in P.BOT_BOOKED else ""
    tail = f" {clause}" if clause else ""
    if name:
        out = [pick(rng, P.BOT_BOOKED[kind]).format(name=name, clause=tail)]
    else:
        out = [pick(rng, P.BOT_BOOKED_BARE[kind]).format(clause=tail)]
    if ref:
        out.append(pick(rng, P.BOT_REF).format(v=ref))
    return out + facts(domain, s, rng, _their(domain))


def _nobook(domain: str, s: Slots, rng: random.Random) -> list[str]:
    name = take(s, "Name") or take(s, "Id")
    clause = booking_clause(domain, s, rng)
    kind = domain if domain in P.BOT_NOBOOK else ""
    tail = f" {clause}" if clause else ""
    if name:
        return [pick(rng, P.BOT_NOBOOK[kind]).format(name=name, clause=tail)] + facts(domain, s, rng)
    return [pick(rng, P.BOT_NOBOOK_BARE).format(clause=tail)] + facts(domain, s, rng)


def _select(domain: str, s: Slots, rng: random.Random) -> list[str]:
    choice = take(s, "Choice")
    out = []
    for k in [k for k, v in s.items() if len([x for x in v if not silent(x)]) >= 2]:
        vals = [x for x in s.pop(k) if not silent(x)]
        shown = [area(v, rng).removeprefix("in ") if k == "Area" else display(k, v) for v in vals]
        out.append(pick(rng, ("Would you prefer {x}?", "Which would you like, {x}?", "Do you prefer {x}?")).format(x=join(shown, "or")))
    rest = {k: v for k, v in s.items() if v and not all(map(silent, v))}
    if rest:
        name = take(rest, "Name", "or") or take(rest, "Id", "or")
        if domain in (TIMETABLE, RIDE):
            r = route(domain, rest, rng)
            what = " ".join(x for x in (name or f"the {domain}", r) if x)
        else:
            what = name or an(noun_phrase(domain, rest, rng, article=False))
        out.append(pick(rng, ("Would {x} suit you?", "Would you like {x}?", "How does {x} sound?")).format(x=what))
        out += facts(domain, rest, rng)
    if choice:
        out.insert(0, pick(rng, ("There are {c} options.", "I have {c} of them.")).format(c=choice))
    return out or [pick(rng, ("Which one would you prefer?", "Any preference between them?"))]


def _same_booking(acts: dict[tuple[str, str], Slots], domain: str, names: list[str]) -> bool:
    """Whether this turn books the venue it names (then the booking sentence names it)."""
    wanted = {n.lower() for n in names}
    for (d, i), s in acts.items():
        if i == "Book" and d in ("booking", domain) and {n.lower() for n in s.get("Name", [])} & wanted:
            return True
    return False


def render_desk(acts: dict[tuple[str, str], Slots], general: set[str], rng: random.Random, ctx: TurnContext,
                topic: str | None) -> list[str]:
    """The SupportBot's sentences for ``acts`` (``{(domain, intent): slots}``); ``topic`` is the domain
    ``booking`` acts are about."""
    def dom(d: str) -> str:
        return (topic or "") if d == "booking" else d

    refusal = [(d, i) for (d, i) in acts if i in ("NoOffer", "NoBook")]
    body: list[str] = []
    nooffer_train = acts.get((TIMETABLE, "NoOffer"))
    train_inform = (TIMETABLE, "Inform") in acts and any(k == "Id" for k in acts[(TIMETABLE, "Inform")])
    for (d, i), s in acts.items():
        s = dict(s)
        if i == "NoOffer" and not (d == TIMETABLE and train_inform):
            body += _nooffer(d, s, rng)
        elif i == "NoBook":
            body += _nobook(dom(d), s, rng)
    booked: list[str] = []
    # A train found and booked in one turn is said once, in the booking sentence.
    booked_ids = {v.lower() for (d, i), s in acts.items() if i in ("Book", "OfferBooked") and dom(d) == TIMETABLE
                  for v in s.get("Id", [])}
    train_times: Slots = {}
    if booked_ids and (TIMETABLE, "Inform") in acts and {v.lower() for v in acts[(TIMETABLE, "Inform")].get("Id", [])} <= booked_ids:
        found = dict(acts[(TIMETABLE, "Inform")])
        train_times = {k: found.pop(k) for k in ("Leave", "Arrive") if k in found}
        for k in ("Id", "Depart", "Dest", "Choice"):  # "I have 7 trains. You're booked on ..." crams the turn
            found.pop(k, None)
        acts = {**acts, (TIMETABLE, "Inform"): found}
    for (d, i), s in acts.items():
        s = dict(s)
        if i in ("Book", "OfferBooked"):
            booked += render_train_booked(s, rng, train_times) if dom(d) == TIMETABLE else _booked(dom(d), s, rng, ctx)
    # What is found is said before what is booked; answers about it after the booking.
    offers: list[str] = []
    answers: list[str] = []
    offered = False
    for (d, i), s in acts.items():
        s = dict(s)
        if d == "booking" and i == "Inform":
            continue  # the offer to book, said with the questions
        if i in ("Inform", "Recommend"):
            nooffer = dict(nooffer_train) if d == TIMETABLE and nooffer_train is not None and train_inform else None
            finds = i == "Recommend" or any(k in s for k in ("Name", "Id", "Choice", "Car", "Department"))
            if set(s) == {"Name"} and _same_booking(acts, d, s["Name"]):
                continue  # "I've booked a room at X" names it: no "How about X?" before
            if finds and d != RIDE:
                # "Their postcode is ..." before "I'd suggest X", or "You can reach them on ..." before
                # "You're booked in at X", answers about a place not yet named: answers come last.
                asked = {k: s.pop(k) for k in list(s) if k not in _FINDING}
                answers.extend(facts(dom(d), asked, rng, _their(dom(d))))
            said = _inform(d, s, rng, ctx, recommend=i == "Recommend", nooffer=nooffer)
            (offers if finds else answers).extend(said)
            offered = offered or i == "Recommend" or "Name" in acts[(d, i)] and d in _VENUES
    body += offers + booked + answers
    for (d, i), s in acts.items():
        if i == "Select":
            body += _select(d, dict(s), rng)
    questions: list[str] = []
    for (d, i), s in acts.items():
        if i == "Request":
            after = any(r[0] in (d, "booking") or d == "booking" for r in refusal)
            refused = acts.get((d, "NoOffer")) if d != "booking" else None
            questions += _ask(dom(d), dict(s), rng, after_refusal=after, booking=d == "booking",
                              refused={k: v for k, v in (refused or {}).items() if not all(map(silent, v))})
    booking_offer = ("booking", "Inform") in acts or any(i == "OfferBook" for _, i in acts)
    if booking_offer:
        d = next((d for (d, i) in acts if i == "OfferBook"), topic or "")
        offer = dict(acts.get(("booking", "Inform")) or acts.get((d, "OfferBook")) or {})
        name = take(offer, "Name", "or")
        if dom(d) == TIMETABLE and offer:
            body += render_train(offer, rng, ctx, None)
        kind = dom(d) if dom(d) in P.BOT_OFFER_BOOK_NAME else ""
        clause = booking_clause(dom(d), offer, rng) if dom(d) != TIMETABLE else ""
        if clause and not name:
            questions.append(pick(rng, P.BOT_OFFER_BOOK_CLAUSE).format(clause=clause))
        elif clause:
            questions.append(pick(rng, P.BOT_OFFER_BOOK_NAME[kind]).format(name=name).rstrip("?") + f" {clause}?")
        elif name:
            questions.append(pick(rng, P.BOT_OFFER_BOOK_NAME[kind]).format(name=name))
        else:
            questions.append(pick(rng, P.BOT_OFFER_BOOK.get(dom(d), P.BOT_OFFER_BOOK[""])))
    lead: list[str] = []
    if _named_one_fails(acts, ctx):
        lead.append(pick(rng, P.BOT_NAMED_FAILS))
    if "greet" in general and not ctx.greeted:
        lead.append(pick(rng, P.BOT_GREET))
    tail: list[str] = []
    if "welcome" in general and "bye" in general:
        tail += _closing(rng)
        general = general - {"bye"}
    elif "welcome" in general:
        lead.append(pick(rng, P.BOT_WELCOME))
    if questions and not body and any(d == "booking" and i == "Request" for d, i in acts) and not refusal:
        ack = pick(rng, P.BOT_BOOK_ASK_LEAD)
        if ack:
            lead.append(ack)
    if "reqmore" in general:
        frames = P.BOT_REQMORE_AFTER_OFFER if offered and not questions else P.BOT_REQMORE
        # Turn by turn through the frames from a place the dialogue's first topic sets: the desk's
        # next turn never asks "Anything further I can do?" word for word again; a frame saying
        # "help" after "Glad to help." gives way to the next.
        i = zlib.crc32(",".join(ctx.topics[:1]).encode()) + ctx.turn // 2
        helped = any("help" in x.lower() for x in lead + tail)
        while helped and "help" in frames[i % len(frames)].lower() and any("help" not in f.lower() for f in frames):
            i += 1
        tail.append(frames[i % len(frames)])
    if "bye" in general:
        tail.append(pick(rng, P.BOT_BYE))
    sentences = lead + body + questions + tail
    return sentences or [pick(rng, P.BOT_FALLBACK)]
