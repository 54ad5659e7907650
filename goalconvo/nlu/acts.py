"""Dialogue acts said by a sentence, read from its words alone.

Intents (MultiWOZ's, lower-case with dashes): ``greet``, ``thank``, ``bye``, ``welcome``,
``reqmore``, ``recommend``, ``offer-book``, ``booked``, ``no-offer``, ``no-book``,
``select``, ``request`` (with the slots asked), ``inform`` (a value or a slot said).
The domain of a sentence comes from the venue it names, a train id, or the words
for a domain (:data:`~goalconvo.nlu.lexicon.DOMAIN_NOUNS`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from goalconvo.nlu.lexicon import DOMAIN_NOUNS, REQUEST_WORDS, SLOT_TYPES
from goalconvo.nlu.values import Value
from goalconvo.core.roles import TIMETABLE


def _rx(p: str) -> re.Pattern[str]:
    return re.compile(p)


INTENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "greet": _rx(r"^(hello|hi|hey|good (morning|afternoon|evening)|greetings)\b|\bwelcome to\b"),
    "thank": _rx(r"\b(thank|thanks|cheers|appreciate|grateful)\b"),
    "bye": _rx(r"\b(bye|goodbye|good-bye|farewell|take care|have a (nice|good|great|lovely|wonderful|pleasant|safe|fantastic)"
               r"|enjoy your|see you|good night|goodnight)\b"),
    "welcome": _rx(r"\b(you're|you are) (very |most )?welcome\b|\bmy pleasure\b|\b(glad|happy) (i|we) (could|was able to|were able to|can)"
                   r" (help|assist|be of)|\bhappy to (help|assist|be of)|\bglad to (help|assist|be of)|\bno problem\b|\banytime\b"),
    "reqmore": _rx(r"\banything else\b|\bsomething else\b|\bwhat else\b|\bwhat else can (i|we)\b|\b(can|may) i (help|assist) (you )?"
                   r"(with|further)\b|\bwill that be all\b|\bis that all\b|\banything more (i|we) can\b|\bany other (questions|way)\b"
                   r"|\b(can|may) i help you\b|\bhow (else )?(can|may) i (help|assist)\b"),
    "recommend": _rx(r"\bi (would |'d |will |can |might |could )?(recommend|suggest)\b|\bmay i (recommend|suggest)\b|\bhow about\b"
                     r"|\bwhat about\b|\byou (might|may|would|will) (like|enjoy|love|want to (try|consider|check))\b|\bmy (recommendation|suggestion)\b"
                     r"|\b(is|are|would be) (a |an )?(great|good|nice|popular|lovely|excellent|fine) (choice|option|place|pick)\b"
                     r"|\bi (think|believe) you('d| would| will) (like|enjoy)\b|\btry\b(?! again)"),
    "offer-book": _rx(r"\b(shall|should|can|may|could) (i|we) (go ahead and )?(book|reserve|make (a|the|your) (reservation|booking))"
                      r"|\bwould you like (me|us) to (book|reserve|make|go ahead)|\bwould you like (to (book|reserve|make)|a (reservation|booking|table|room)"
                      r"|(some )?tickets|(a )?ticket|me to)|\bdo you want (me|us) to|\bwant me to (book|reserve)\b|\b(do|would) you (want|like|need) "
                      r"(a |the )?(booking|reservation|tickets|to book|to reserve|me to book|it booked)|\bi can (book|reserve) (it|that|one|this|you|a|the|them|for)\b"
                      r"|\b(interested in|like) (booking|reserving|a reservation|making a reservation)|\bshall i\b.*\b(book|reserve)"
                      r"|\bbook (it|that|one) for you\b|\bif you('d| would) like (me to|to) (book|reserve)"),
    "booked": _rx(r"\b(i|we)('ve| have)? (successfully )?(booked|reserved|made (a|the|your) (reservation|booking))\b"
                  r"|\b(is|are|was|were|has been|have been|been) (now )?(successfully )?(booked|reserved|confirmed)\b(?! up)"
                  r"|\b(booking|reservation) (was|is|has been) (successful|complete|completed|confirmed|made|done)"
                  r"|\b(you're|you are) (all )?(set|booked)\b|\ball booked\b|\b(booked|reserved) you\b|\byour (reference|confirmation)\b"
                  r"|\breference (number|code|no)?( is|:|#)|\bbooking (is|was) made\b|\bi booked\b|\bdone, i\b"
                  r"|^(booked|reserved|confirmed|done|all set)\b|\breference (number |code )?(?=[a-z0-9]*\d)[a-z0-9]{8}\b"),
    "no-offer": _rx(r"\bthere (are|is|were|was) no\b(?! (charge|fee|entrance fee|cost|need|problem|rush))|\bthere (aren't|isn't|weren't|wasn't) (a|an|any)\b"
                    r"|\b(i|we) (don't|do not|couldn't|could not|can't|cannot|wasn't able to|was unable to|am unable to|did not|didn't)"
                    r" (find|see|have|locate|show)\b|\b(no|not any) (results|matches|match|entries|options|trains|hotels|restaurants|attractions"
                    r"|places|guesthouses)\b|\bnothing (matches|fits|available|like that|in)\b|\bunable to find\b|\bnone (of them|that|in|match)"
                    r"|\b(i'm|i am) (sorry|afraid),? (but )?(there|i|we|that|it|no)\b|\bunfortunately\b"),
    "no-book": _rx(r"\b(unable|not able|wasn't able|was not able|couldn't|could not|can't|cannot) (to )?(book|reserve|make (the|a|that|your) "
                   r"(booking|reservation)|complete)\b|\bbooking (was )?(unsuccessful|failed|not successful|did not go through|didn't go through)"
                   r"|\b(fully booked|booked up)\b|\bno (availability|rooms|tables|vacancies|vacancy|seats)\b|\b(isn't|is not|aren't|are not|not) available\b"
                   r"|\bunavailable\b"),
    "select": _rx(r"\bwhich (one|of (these|those|them)|would you prefer|do you prefer)\b|\bwould you prefer\b.*\bor\b"),
}

#: Words that make a sentence ask for something even without a question mark.
ASKING = re.compile(
    r"\b(could you|can you|would you|will you|can i|could i|may i|tell me|give me|send me|let me know|i need the|i need their"
    r"|i need its|i'd like the|i would like the|i'd like to know|i would like to know|i want the|i'll need|i will need"
    r"|i also need the|i'll also need|please provide|provide me|i need to know|i'd also like|do you know|do you have"
    r"|what's|what is|what are|where is|how much|how long|how many|which|what time|i need to get the|get me the"
    r"|we need|we'd like|we would like|we'll need|we will need)\b"
)

_REQUEST_PHRASES = sorted(((p, slot) for slot, ps in REQUEST_WORDS.items() for p in ps), key=lambda x: -len(x[0]))
_REQUEST_RX = [(p, re.compile(r"(?<![a-z0-9])" + re.escape(p) + r"(?:s|es)?(?![a-z0-9])"), slot) for p, slot in _REQUEST_PHRASES]
_DOMAIN_RX = {d: re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(w) for w in ws) + r")(?![a-z0-9])")
              for d, ws in DOMAIN_NOUNS.items()}


_WH_QUESTION = re.compile(r"^(?:\w+,? )?(what|which|when|where|how many|how long|for how many)\b")


@dataclass(frozen=True)
class Act:
    intent: str
    domain: str | None = None
    slots: tuple[str, ...] = ()


@functools.lru_cache(maxsize=4096)
def _slot_mentions(text: str) -> tuple[tuple[str, int, int], ...]:
    taken: list[tuple[int, int]] = []
    out = []
    for phrase, rx, slot in _REQUEST_RX:
        if phrase not in text:  # a substring test first: most phrases are absent from a sentence
            continue
        for m in rx.finditer(text):
            a, b = m.span()
            if all(b <= s or a >= e for s, e in taken):
                taken.append((a, b))
                out.append((slot, a, b))
    return tuple(sorted(out, key=lambda x: x[1]))


def slot_mentions(text: str) -> list[tuple[str, int, int]]:
    """``(slot, start, end)`` of every slot word, longest first, never overlapping."""
    return list(_slot_mentions(text))


def domains_of(text: str, values: list[Value]) -> set[str]:
    """Domains a sentence is about: the venues it names, a train id, domain words outside venue names."""
    out: set[str] = set()
    masked = text
    for v in values:
        if v.type == "venue":
            out |= set(v.domains)
            masked = masked[: v.start] + " " * (v.end - v.start) + masked[v.end :]
        elif v.type == "train_id":
            out.add(TIMETABLE)
        elif v.type in ("address", "station"):
            masked = masked[: v.start] + " " * (v.end - v.start) + masked[v.end :]
    for d, rx in _DOMAIN_RX.items():
        if rx.search(masked):
            out.add(d)
    return out


def requested_slots(text: str, question: bool, values: list[Value]) -> tuple[str, ...]:
    """Slots a sentence asks for: it asks (``?`` or asking words) and names the slot without its value."""
    if not (question or ASKING.search(text)):
        return ()
    said = {v.type for v in values}
    out = []
    for slot, _, _ in slot_mentions(text):
        answer_types = SLOT_TYPES.get(slot, ())
        if answer_types and said & set(answer_types) and slot not in ("phone", "postcode", "reference", "train_id"):
            continue  # "a hotel in the north part of town?" informs the area, it does not ask for it
        if slot not in out:
            out.append(slot)
    return tuple(out)


def sentence_acts(text: str, question: bool, values: list[Value], domains: set[str]) -> list[Act]:
    """The acts of one normalised sentence."""
    dom = next(iter(domains)) if len(domains) == 1 else None
    acts = [Act(intent, dom) for intent, rx in INTENT_PATTERNS.items() if rx.search(text)]
    intents = {a.intent for a in acts}
    if "offer-book" in intents and _WH_QUESTION.match(text):
        acts = [a for a in acts if a.intent != "offer-book"]  # "what time do you want to book?" asks, it does not offer
    if "no-book" in intents and "booked" in intents and re.search(r"\b(fully booked|booked up)\b", text):
        acts = [a for a in acts if a.intent != "booked"]
    slots = requested_slots(text, question, values)
    if slots:
        acts.append(Act("request", dom, slots))
    if values and not question:
        acts.append(Act("inform", dom, tuple(dict.fromkeys(v.type for v in values))))
    return acts
