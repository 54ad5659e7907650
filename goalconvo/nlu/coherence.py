"""Does a turn follow from the one before it?

- the desk answers what the User just asked: a request for the phone gets a phone
  number (or the word, or a reason it cannot, or a question back to narrow it down);
- the User's reply fits the desk's question: asked how many people, it gives people,
  another constraint, a "don't mind", a no, or asks something;
- the User does not answer a desk question by asking the same question back;
- the dialogue's first turn does not ask for "the phone number" of something never named.
"""

from __future__ import annotations

import re

from goalconvo.nlu.lexicon import ATTRIBUTE_SLOTS, CONSTRAINT_SLOTS, SLOT_TYPES
from goalconvo.nlu.understand import Fault, Understanding
from goalconvo.core.roles import (
    AREA, CUISINE, DESTINATION, INTERNET, ORIGIN, PARKING, PRICE_RANGE, STARS, TRAVEL_TIME,
)

#: The desk says why it cannot answer, or that it does not know.
_CANNOT = re.compile(
    r"\b(no|not|none|nothing|unknown|unsure|sorry|unfortunately|afraid|unable|cannot|can't|couldn't|don't|doesn't|isn't"
    r"|aren't|unavailable|n/a|varies|depends|free|one moment|let me|hold on|check|i will get|i'll get|i will find|i'll find"
    r"|i will look|i'll look|yes|yeah|correct|right|it is|it does|they do|they are|it's a|it's an|it is a|it is an|minute"
    r"|moment|be right back|right back|wait|process|working on|more information|more info|more details|narrow)\b"
)
#: A place said as where a journey starts or ends, named or not.
_PLACE_ANSWER = re.compile(r"\b(?:to|from|into|at|out of|get to|going to|heading to|leaving|pick me up at)\s+(?:the\s+)?[a-z0-9']{3,}")
#: The User does not mind, or declines, or changes its mind.
_LOOSE_ANSWER = re.compile(
    r"\b(any|anything|anywhere|whatever|either|doesn't matter|does not matter|don't care|do not care|no preference|not picky"
    r"|not particular|up to you|you choose|you pick|surprise me|no|not|nope|actually|instead|rather|never mind|not sure"
    r"|don't know|do not know|unsure|yes|yeah|yep|sure|ok|okay|please|that's fine|that is fine|that works|sounds good|great"
    r"|perfect|fine|thank|thanks|bye|goodbye|just|only|myself|alone|me|matter|mind|care|preference|flexible|same|between|both"
    r"|earlier|later|early|late|morning|afternoon|evening|night|whichever|closest|earliest|latest|soonest|best|reservation"
    r"|booking|by the time)\b"
)
#: Value types that state a constraint (a reply giving any of them is on topic).
_CONSTRAINT_TYPES = frozenset({"day", "time", "people", "nights", AREA, PRICE_RANGE, CUISINE, STARS, "venue", "station",
                               "address", "train_id", "price", "free", "car", "type", INTERNET, PARKING})
#: Value types that answer some request (a desk naming any of them is answering something).
ANSWER_TYPES = ("phone", "postcode", "address", "price", "free", "time", TRAVEL_TIME, STARS, "reference", "car",
                "type", INTERNET, PARKING, AREA, PRICE_RANGE, CUISINE)
_PREFERENCE_ASK = re.compile(r"\b(do|would|will|did) you (prefer|like|want|need)\b|\bare you looking for\b|\byour preference")


def _trigrams(text: str) -> set[tuple[str, ...]]:
    w = re.findall(r"[a-z0-9']+", text)
    return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}


def desk_answers(prev: Understanding, cur: Understanding) -> list[Fault]:
    """The User asked for attributes (``prev``); the desk's turn (``cur``) must address at least one."""
    asked = [s for s in prev.requests if s in ATTRIBUTE_SLOTS]
    if not asked or prev.speaker != "user" or cur.speaker != "bot":
        return []
    clarifies = bool(cur.requests) or any(
        s.sentence.question and not s.intents & {"reqmore", "bye", "welcome", "thank"} for s in cur.sentences)
    if clarifies or cur.mentions(set(asked)) or _CANNOT.search(cur.norm):
        return []
    types = {t for s in asked for t in SLOT_TYPES.get(s, ())}
    if types & cur.value_types or cur.of_type("venue", "train_id", *ANSWER_TYPES):
        return []  # an answer of some kind: a venue named, a value of a requestable attribute
    if {"booked", "no-book", "no-offer", "offer-book"} & cur.intents:
        return []  # the booking the User also asked for comes first
    what = " and ".join(s.replace("_", " ") for s in asked[:3])
    return [Fault("coherence", f"the User asked for the {what}; the desk's answer gives none of it and no reason")]


def user_fits(prev: Understanding, cur: Understanding) -> list[Fault]:
    """The desk asked for constraints (``prev``); the User's reply (``cur``) must fit, and not ask the same back."""
    asked = [s for s in prev.requests if s in CONSTRAINT_SLOTS]
    if not asked or prev.speaker != "bot" or cur.speaker != "user":
        return []
    out: list[Fault] = []
    types = {t for s in asked for t in SLOT_TYPES.get(s, ())}
    mirrored = [
        s for s in cur.sentences
        if s.sentence.question and set(a for act in s.acts if act.intent == "request" for a in act.slots) & set(asked)
        and not {v.type for v in s.values} & types
        and (_PREFERENCE_ASK.search(s.text) or any(
            len(_trigrams(s.text) & _trigrams(p.text)) >= max(2, len(_trigrams(s.text)) // 2)
            for p in prev.sentences if p.sentence.question))
    ]
    if mirrored:
        out.append(Fault("coherence", f"the desk asked for the {asked[0].replace('_', ' ')}; the User asks the same back "
                                      f"({mirrored[0].text!r})"))
        return out
    if cur.value_types & (types | _CONSTRAINT_TYPES) or cur.mentions(set(asked)) or cur.asks or cur.domains:
        return out
    if _LOOSE_ANSWER.search(cur.norm):
        return out
    if {DESTINATION, ORIGIN} & set(asked) and _PLACE_ANSWER.search(cur.norm):
        return out  # "I need to get to Golden Dragon": a place the venue database need not know
    out.append(Fault("coherence", f"the desk asked for the {' and '.join(s.replace('_', ' ') for s in asked[:3])}; "
                                  "the User's reply says nothing of it"))
    return out


def opens(cur: Understanding) -> list[Fault]:
    """A first turn that asks about "their" phone before anything is named has nothing to refer to."""
    if cur.speaker != "user" or not [s for s in cur.requests if s in ATTRIBUTE_SLOTS]:
        return []
    if cur.domains or cur.of_type("venue", "train_id", "station", "type", CUISINE):
        return []
    what = " and ".join(s.replace("_", " ") for s in cur.requests[:3])
    return [Fault("coherence", f"the User opens by asking for the {what} of nothing it named")]


def follows(prev: Understanding | None, cur: Understanding) -> list[Fault]:
    """Faults of ``cur`` as a reply to ``prev``; a first turn (``prev`` None) must name what it asks about."""
    if prev is None:
        return opens(cur)
    if prev.speaker == cur.speaker:
        return []
    return desk_answers(prev, cur) + user_fits(prev, cur)
