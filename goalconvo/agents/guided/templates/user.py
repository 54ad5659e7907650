"""The User's side: a turn's acts as a customer would say them, given what the desk just said.

Answers to a question are short ("In the north, please.", "Four of us."), a new need
is stated once ("I also need a train to Ely on Friday."), a booking follows an offer
("Yes please, for 4 people at 18:30."), and a refusal is met with the alternative
("Okay, how about one in the south instead?").
"""

from __future__ import annotations

import random

from goalconvo.agents.guided.normalize import norm
from goalconvo.agents.guided.templates import phrases as P
from goalconvo.agents.guided.templates.context import TurnContext
from goalconvo.agents.guided.templates.nouns import (
    Slots,
    an,
    area,
    booking_clause,
    count,
    dontcare,
    facts,
    join,
    nights,
    noun_phrase,
    people,
    pick,
    predicates,
    price,
    route,
    silent,
    take,
    yes,
)
from goalconvo.agents.guided.templates.words import (
    AMENITY_WORD, ASK_NOUN, ATTRACTION_TYPE, BOOKING_SLOTS, HOTEL_TYPE, department, display, food_phrase,
)
from goalconvo.core.roles import DEPARTMENT_DESK, LODGING, OFFICE, RIDE, SIGHT, TABLE, TIMETABLE

_SEARCH = ("Stars", "Price", "Food", "Type", "Area", "Internet", "Parking", "Department")
_ROUTE = ("Depart", "Dest", "Day", "Leave", "Arrive")


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _answer(domain: str, slot: str, values: list[str], rng: random.Random) -> str:
    """One short sentence answering the desk's question about ``slot``."""
    said = [v for v in values if not silent(v)]
    v = join([display(slot, x) for x in said], "or")
    end = pick(rng, P.USER_FRAGMENT_END)
    if slot == "Area":
        p = " or ".join(area(x, rng) for x in said)
        return pick(rng, (f"Somewhere {p}{end}.", f"I'd want it {p}.", f"{_cap(p)}{end}.", f"Preferably {p}."))
    if slot == "Price":
        p = " or ".join(price(x, rng) for x in said)
        return pick(rng, (f"Something {p}{end}.", f"I'd like something {p}.", f"{_cap(p)}{end}.", f"{_cap(p)} would be ideal."))
    if slot == "Food":
        return pick(rng, (f"{_cap(food_phrase(v))}{end}.", f"I'd like {food_phrase(v)}.", f"I'm in the mood for {v}.", f"Let's go with {v}."))
    if slot == "Type":
        t = said[0].lower()
        if domain == SIGHT:
            a = ATTRACTION_TYPE.get(t, (an(t), ""))[0]
            return pick(rng, (f"{_cap(a)}{end}.", f"I'd like to visit {a}.", f"I'm interested in {a}."))
        one = HOTEL_TYPE.get(t, (t, ""))[0]
        return pick(rng, (f"{_cap(an(one))}{end}.", f"I'd prefer {an(one)}.", f"{_cap(an(one))} would be best."))
    if slot == "Stars":
        return pick(rng, (f"{_cap(count(said[0], rng))} stars{end}.", f"It should have {v} stars.", f"I'd like {v} stars."))
    if slot in ("Internet", "Parking"):
        word = AMENITY_WORD[slot]
        if yes(said[0]):
            return pick(rng, (f"Yes, I'll need free {word}.", f"Yes, it must have free {word}.", f"Free {word}, yes please."))
        return pick(rng, (f"No, I don't need {word}.", f"{_cap(word)} isn't necessary."))
    if slot == "Name":
        return pick(rng, (f"It's called {v}.", f"The name is {v}.", f"I'm after {v}."))
    if slot == "Day":
        return pick(rng, (f"On {v}{end}.", f"{_cap(v)}{end}.", f"I'd like {v}.", f"That's for {v}."))
    if slot == "People":
        p = people(said[0], rng, user=True)
        n = count(said[0], rng)
        one = norm(said[0]) in ("1", "one")
        return pick(rng, (f"For {p}{end}.", f"It's for {p}.", f"{_cap(p)}{end}.") + (() if one else (f"There will be {n} of us.", f"{_cap(n)} of us.")))
    if slot == "Time":
        return pick(rng, (f"At {v}{end}.", f"{v}{end}.", f"At {v}, if possible.", f"Let's say {v}."))
    if slot == "Stay":
        p = nights(said[0], rng)
        return pick(rng, (f"For {p}{end}.", f"{_cap(p)}{end}.", f"I'll be staying {p}."))
    if slot == "Leave":
        if domain == RIDE:
            return pick(rng, (f"At {v}{end}.", f"I'd like to leave at {v}.", f"Pick me up at {v}{end}."))
        return pick(rng, (f"After {v}{end}.", f"I want to leave after {v}.", f"Some time after {v}.", f"Leaving after {v}{end}."))
    if slot == "Arrive":
        return pick(rng, (f"I need to arrive by {v}.", f"By {v}{end}.", f"I have to be there by {v}.", f"I'd like to get there by {v}."))
    if slot == "Depart":
        if domain == RIDE:
            return pick(rng, (f"From {v}{end}.", f"Pick me up at {v}{end}.", f"I'll be at {v}."))
        return pick(rng, (f"From {v}{end}.", f"I'm leaving from {v}.", f"I'll be departing from {v}."))
    if slot == "Dest":
        return pick(rng, (f"To {v}{end}.", f"I'm going to {v}.", f"I'm heading to {v}.", f"I need to get to {v}."))
    if slot == "Department":
        d = department(v, article=False)
        return pick(rng, (f"The {d}{end}.", f"I need the {d}."))
    return f"The {ASK_NOUN.get(slot, slot.lower())} should be {v}."


def _dontcare(slot: str, rng: random.Random) -> str:
    return pick(rng, P.USER_DONTCARE.get(slot, P.USER_DONTCARE[""]))


def _search_np(domain: str, s: Slots, rng: random.Random) -> str:
    """A new need as a noun phrase: ``"a cheap guesthouse in the north"``, ``"a train from X to Y on Friday"``."""
    if domain in (TIMETABLE, RIDE):
        r = route(domain, s, rng, varied=True)
        noun = domain if domain == TIMETABLE or rng.random() < 0.7 else "cab"
        return f"a {noun} {r}".strip()
    if domain == OFFICE:
        return "the nearest police station"
    if domain == DEPARTMENT_DESK:
        dept = take(s, "Department")
        return f"a hospital with {department(dept)}" if dept else "the hospital"
    search = {k: s.pop(k) for k in _SEARCH if k in s}
    return noun_phrase(domain, search, rng, user=True)


def _inform(domain: str, s: Slots, rng: random.Random, ctx: TurnContext) -> list[str]:
    out: list[str] = []
    for slot in [k for k, vs in s.items() if vs and all(dontcare(v) for v in vs)]:
        s.pop(slot)
        out.append(_dontcare(slot, rng))
    s = {k: v for k, v in s.items() if not all(silent(x) for x in v)}
    name = take(s, "Name")
    booking: Slots = {k: s.pop(k) for k in BOOKING_SLOTS if k in s and not (domain == TIMETABLE and k == "Day")}
    asked = ctx.asked(domain)
    prev = ctx.previous_intents(domain)
    main: list[str] = []

    # Answering the desk's question first, in a few words each.
    answered = [k for k in list(s) + list(booking) if k in asked]
    if answered and not (prev & {"NoOffer", "NoBook"}):
        book_asked = [k for k in answered if k in booking]
        if len(book_asked) >= 2:
            clause = booking_clause(domain, {k: booking.pop(k) for k in book_asked}, rng, user=True)
            main.append(_cap(clause) + pick(rng, P.USER_FRAGMENT_END) + ".")
        journey = [k for k in _ROUTE if k in s]
        if domain in (TIMETABLE, RIDE) and len(journey) >= 2:
            # Several details of a journey in one breath: "To Ely on Saturday, after 10:30."
            r = route(domain, {k: s.pop(k) for k in journey}, rng, varied=True)
            if r.startswith(("to ", "from ", "into ")):
                frames = (f"{_cap(r)}, please.", f"I'd like to travel {r}.", f"I need to go {r}.") if domain == TIMETABLE else (
                    f"{_cap(r)}, please.", f"I need the taxi {r}.", f"I'd like to go {r}.")
            elif r.startswith("that "):  # "One that goes to Ely from Cambridge", not "travel that goes"
                frames = (f"One {r}, please.", f"I need one {r}.")
            elif r.startswith(("heading", "going", "leaving", "departing")):
                frames = (f"{_cap(r)}, please.", f"I'll be {r}.")
            else:
                frames = (f"{_cap(r)}, please.",)
            main.append(pick(rng, frames))
        for k in answered:
            if k in s:
                main.append(_answer(domain, k, s.pop(k), rng))
            elif k in booking:
                main.append(_answer(domain, k, booking.pop(k), rng))
    if asked & {"Leave", "Arrive"} and not answered:
        # Asked when to arrive, the User says when to leave (or the other way): said in full.
        for k in [k for k in ("Leave", "Arrive") if k in s and k not in asked]:
            v = take(s, k, "or")
            main.append(pick(rng, (f"I'd rather leave after {v}.", f"What matters is leaving after {v}.")) if k == "Leave" and domain == TIMETABLE
                        else pick(rng, (f"I'd like to leave at {v}.", f"I want to be picked up at {v}.")) if k == "Leave"
                        else pick(rng, (f"I only need to get there by {v}.", f"What matters is getting there by {v}.")))
    # What else the turn informs.
    if prev & {"NoOffer"} and (s or name):
        if name:
            main.append(pick(rng, (f"Okay, how about {name} instead?", f"What about {name}, then?")))
        elif domain in (TIMETABLE, RIDE):
            r = route(domain, s, rng, varied=True)
            main.append(pick(rng, (f"Okay, what about {r}?", f"Could you check {r} instead?", f"Then {r} would do.")))
        else:
            search = {k: s.pop(k) for k in _SEARCH if k in s}
            if rng.random() < 0.5 and len(search) <= 2:
                preds = predicates(domain, search, rng)
                if preds:
                    main.append(pick(rng, P.USER_RELAX_MORE).format(pred=join(preds)))
            if search:
                main.append(pick(rng, P.USER_RELAX).format(np=noun_phrase(domain, search, rng, user=True)))
    elif name and not booking:
        frames = P.USER_NAME_OPEN if ctx.turn == 0 or not ctx.topics else P.USER_NAME_NEXT
        main.append(pick(rng, frames).format(name=name))
    elif s and domain in (TIMETABLE, RIDE) and not ctx.is_new_topic(domain):
        # Details of a journey already under way: "I'd like to leave after 09:15."
        for k in [k for k in _ROUTE if k in s]:
            main.append(_answer(domain, k, s.pop(k), rng))
    elif s and (ctx.is_new_topic(domain) or domain in (OFFICE, DEPARTMENT_DESK)):
        frames = P.USER_OPEN if not ctx.topics else P.USER_NEXT
        if domain in (TIMETABLE, RIDE):
            frames = P.USER_OPEN_TRAVEL if not ctx.topics else P.USER_NEXT_TRAVEL
        main.append(pick(rng, frames).format(np=_search_np(domain, s, rng)))
    elif s:
        search = {k: s.pop(k) for k in _SEARCH if k in s}
        preds = predicates(domain, search, rng)
        question = _as_question(preds) if ctx.offered(domain) and not answered else ""
        if question and rng.random() < 0.75:
            # The desk just named a place: people ask whether it fits rather than state a rule.
            main.append(pick(rng, P.USER_CHECK_NAMED).format(question=question, Question=_cap(question)))
        elif preds:
            lead = "also " if answered else ""
            frame = pick(rng, P.USER_MORE)
            main.append(frame.replace("should ", f"should {lead}").format(pred=join(preds)))
    elif not booking and not main and not out and ctx.is_new_topic(domain):
        frames = P.USER_OPEN if not ctx.topics else P.USER_NEXT
        main.append(pick(rng, frames).format(np=_search_np(domain, {}, rng)))
    if booking:
        clause = booking_clause(domain, booking, rng, user=True)
        kind = domain if domain in P.USER_BOOK else ""
        if prev & {"NoBook"}:
            main.append(pick(rng, P.USER_BOOK_RETRY).format(clause=clause))
        elif name:
            main.append(pick(rng, P.USER_BOOK_NAME.get(kind, P.USER_BOOK_NAME[""])).format(name=name, clause=clause))
        elif ctx.offered_booking() and not main:
            main.append(pick(rng, P.USER_BOOK_YES).format(clause=clause, Clause=_cap(clause)))
        else:
            main.append(pick(rng, P.USER_BOOK[kind]).format(clause=clause))
    main += facts(domain, s, rng)  # anything left (rare act combinations)
    return out + main


_QUESTION_VERBS = (("be somewhere ", "is it "), ("be ", "is it "), ("have ", "does it have "), ("serve ", "does it serve "))


def _as_question(preds: list[str]) -> str:
    """ "be expensive", "have free parking" as "is it expensive and does it have free parking";
    empty where a predicate has no question form ("not need parking")."""
    out: list[str] = []
    last = ""
    for pred in preds:
        verb, ask = next(((v, q) for v, q in _QUESTION_VERBS if pred.startswith(v)), ("", ""))
        if not ask:
            return ""
        # "does it have 3 stars and free parking", not "... and does it have free parking"
        out.append(pred[len(verb):] if ask == last else ask + pred[len(verb):])
        last = ask
    return join(out)


def _request(domain: str, slots: list[str], rng: random.Random, ctx: TurnContext, with_other: bool) -> list[str]:
    out: list[str] = []
    nouns: list[str] = []
    for slot in slots:
        if slot in P.USER_ASK_YESNO:
            out.append(pick(rng, P.USER_ASK_YESNO[slot]))
        elif slot in P.USER_ASK_ONE and (len(slots) == 1 or rng.random() < 0.5):
            out.append(pick(rng, P.USER_ASK_ONE[slot]))
        elif slot == "Time" and domain not in (TIMETABLE,):
            nouns.append("booking time")
        elif slot == "Time":
            nouns.append("travel time")  # "What's the time?" asks the clock
        else:
            nouns.append(ASK_NOUN.get(slot, slot.lower()))
    if nouns:
        in_play = bool(ctx.named) and domain in (TABLE, LODGING, SIGHT)
        their = pick(rng, ("their", "the")) if in_play else "the"
        frames = P.USER_ASK
        if not any(k.endswith("-Request") for k in ctx.own_previous):
            # "I'd like the phone number too" with nothing asked before has nothing to add to
            frames = tuple(f for f in frames if not f.rstrip(".?").endswith(("too", "as well"))) or frames
        frame = pick(rng, frames)
        if with_other:  # after a booking or other informs, the request is an add-on
            frame = pick(rng, ("Could I also get {their} {list}?", "And what's {their} {list}?", "Also, what is {their} {list}?", "Could you tell me {their} {list} too?"))
        out.insert(0, frame.format(their=their, list=join(nouns)))
    return out


def render_user(acts: dict[str, Slots], general: set[str], rng: random.Random, ctx: TurnContext) -> list[str]:
    """The User's sentences for ``acts`` (``{(domain, intent): slots}`` in act order) and ``general`` intents."""
    body: list[str] = []
    informs = [(d, s) for (d, i), s in acts.items() if i == "Inform"]
    requests = [(d, list(s)) for (d, i), s in acts.items() if i == "Request"]
    inform_domains = {d for d, _ in informs}
    booking = any(k in BOOKING_SLOTS and not (d == TIMETABLE and k == "Day") for d, s in informs for k in s)
    for d, s in informs:
        body += _inform(d, dict(s), rng, ctx)
    for d, slots in requests:
        if ctx.is_new_topic(d) and d not in inform_domains:
            # Asking about a thing never mentioned: say what it is first.
            body.append(pick(rng, P.USER_NEXT if ctx.topics else P.USER_OPEN).format(np=_search_np(d, {}, rng)))
        body += _request(d, slots, rng, ctx, with_other=bool(body))
    for (d, i), s in acts.items():
        if i not in ("Inform", "Request"):
            body += facts(d, dict(s), rng)
    lead = _acknowledge(ctx, bool(informs), bool(requests), booking, rng) if body else ""
    if body and ctx.offered_booking() and not booking and rng.random() < 0.6:
        lead = pick(rng, P.USER_NOT_BOOKING)
    if lead:
        body.insert(0, lead)
    tail = []
    if "thank" in general and "bye" in general:
        tail += _closing(rng, "general-reqmore" in ctx.previous)
    elif "thank" in general:
        tail.append(pick(rng, P.USER_THANK))
    elif "bye" in general:
        tail.append(pick(rng, P.USER_BYE))
    sentences = body + tail
    if ctx.turn == 0 and body and not {d for d, _ in acts} & {TIMETABLE, RIDE} and rng.random() < 0.25:
        sentences.insert(0, pick(rng, P.USER_TRIP))  # "Cambridge" said where no train goes there
    spelled_out = rng.random() < 0.3 and "greet" not in general
    if spelled_out:
        sentences = [_uncontract(x) for x in sentences]
    if "greet" in general and not ctx.greeted:
        hello = pick(rng, P.USER_GREET)
        if sentences and not sentences[0].startswith(("I ", "I'")):
            sentences[0] = f"{hello}, {sentences[0][:1].lower()}{sentences[0][1:]}"
        elif sentences:
            sentences[0] = f"{hello}, {sentences[0]}"
        else:
            sentences = [hello + "!"]
    return sentences or [pick(rng, P.USER_FALLBACK)]


def _closing(rng: random.Random, asked_more: bool) -> list[str]:
    """Thanks and goodbye: a whole line or one put together from parts; "No, ..." after "anything else?"."""
    if rng.random() < 0.3:
        return [pick(rng, P.USER_THANK_BYE)]
    done = pick(rng, P.USER_CLOSE_DONE)
    if asked_more and rng.random() < 0.6:
        done = pick(rng, P.USER_CLOSE_NO).format(done=done[:1].lower() + done[1:] if not done.startswith("I") else done)
    thanks = pick(rng, P.USER_CLOSE_THANKS)
    parts = [done, thanks] if rng.random() < 0.6 or done.startswith("No") else [thanks, done]
    if rng.random() < 0.25 and not done.startswith("No"):
        parts = [thanks]  # "Thanks a lot. Bye!"
    return [*parts, *[b for b in (pick(rng, P.USER_CLOSE_BYE),) if b]]


_CONTRACTIONS = (("I'm", "I am"),)


def _uncontract(sentence: str) -> str:
    """Many customers write "I am" and "I would like" in full."""
    for short, full in _CONTRACTIONS:
        sentence = sentence.replace(short, full)
    return sentence


def _acknowledge(ctx: TurnContext, informs: bool, requests: bool, booking: bool, rng: random.Random) -> str:
    """A word on what the desk just said, before the User moves on (not when answering its question)."""
    prev = ctx.previous_intents()
    if ctx.asked() and informs:
        return ""
    if prev & {"NoOffer", "NoBook"}:
        return pick(rng, P.USER_ACK_BAD) if rng.random() < 0.35 else ""
    if prev & {"Book", "OfferBooked"} or any(k == "Taxi-Inform" and any(s == "Car" for s, _ in v) for k, v in ctx.previous.items()):
        return pick(rng, P.USER_ACK_DONE) if rng.random() < 0.7 else ""
    offered = any(ctx.offered(d) for d in ctx.topics)
    if offered and (requests or booking) and not ctx.offered_booking():
        return pick(rng, P.USER_ACK_OFFER) if rng.random() < 0.55 else ""
    return ""
