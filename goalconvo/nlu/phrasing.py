"""The generation-time check: may this phrasing be used for this turn?

:func:`check_phrasing` reads a candidate the way the judge's sense check will read
the finished dialogue (the same :mod:`goalconvo.nlu` understanding), so a phrasing
it refuses would have cost the dialogue its acceptance. With the planned acts it
also compares what the text says with what the plan says:

- drops an act: a planned request whose slot is not asked, an offer to book, a
  booking, a no-offer / no-book, a recommendation, a goodbye, thanks, a welcome or
  an offer of more help the text does not say;
- adds an act: the text books, offers to book, says nothing matched, asks for a slot
  or says goodbye where the plan does not, or talks about another domain only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from goalconvo.nlu.dialogue import dialogue_faults
from goalconvo.nlu.lexicon import ACT_SLOTS, Lexicon
from goalconvo.nlu.understand import Speaker, Understanding, understand
from goalconvo.core.roles import (
    AREA, CUISINE, DESTINATION, ORIGIN, PRICE_RANGE, RIDE, STAY, TIMETABLE, TRAVEL_TIME,
)

#: MultiWOZ intents -> the intents :mod:`goalconvo.nlu.acts` reads.
PLANNED_INTENTS: dict[str, str] = {
    "Inform": "inform", "Request": "request", "Recommend": "recommend", "Select": "recommend", "NoOffer": "no-offer",
    "OfferBook": "offer-book", "OfferBooked": "booked", "Book": "booked", "NoBook": "no-book", "reqmore": "reqmore",
    "welcome": "welcome", "bye": "bye", "greet": "greet", "thank": "thank",
}
#: Intents whose absence from the text drops an act (an inform is the validator's: every value said).
_MUST_SAY = ("request", "offer-book", "booked", "no-offer", "no-book", "recommend", "bye", "thank", "welcome", "reqmore")
#: Intents the text may not add to the plan (thanks, greetings, offers of more help are harmless).
_MAY_NOT_ADD = ("booked", "offer-book", "no-offer", "no-book", "bye")
#: Slots that one question may ask together ("what time?" asks for a departure or an arrival).
_SAME_QUESTION = ({"leave", "arrive", "time"}, {"price", "fee", PRICE_RANGE}, {AREA, "address"}, {"type", CUISINE},
                  {STAY, TRAVEL_TIME}, {ORIGIN, DESTINATION})


def _planned(acts: Mapping[str, Sequence[Sequence[str]]]) -> tuple[set[str], set[str], set[str], bool]:
    """(intents, requested slots, domains, whether a taxi is booked by its car) of MultiWOZ-form acts."""
    intents, slots, domains = set(), set(), set()
    may_book = False
    for key, pairs in acts.items():
        domain, _, intent = key.partition("-")
        domain = domain.lower()
        if domain not in ("general", "booking"):
            domains.add(domain)
        mine = PLANNED_INTENTS.get(intent)
        if domain == "booking" and intent == "Inform" and all(str(p[0]).lower() == "none" for p in pairs):
            mine = "offer-book"  # MultiWOZ's Booking-Inform with no slot: "shall I book it?"
        if domain == RIDE and intent == "Inform" and any(str(p[0]) == "Car" for p in pairs):
            may_book = True  # MultiWOZ's booked taxi is its car and phone
        if mine:
            intents.add(mine)
        if intent == "Request":
            for pair in pairs:
                slot = ACT_SLOTS.get(str(pair[0]))
                if slot == "time" and domain == TIMETABLE:
                    slot = TRAVEL_TIME
                if slot == PRICE_RANGE and domain == TIMETABLE:
                    slot = "price"
                if slot:
                    slots.add(slot)
    return intents, slots, domains, may_book


def _alike(slot: str) -> set[str]:
    out = {slot}
    for group in _SAME_QUESTION:
        if slot in group:
            out |= group
    return out


def act_problems(u: Understanding, planned_acts: Mapping[str, Sequence[Sequence[str]]]) -> list[str]:
    """What the text ``u`` drops from or adds to ``planned_acts`` (MultiWOZ form)."""
    intents, slots, domains, may_book = _planned(planned_acts)
    said = set(u.intents)
    asked = set(u.requests)
    if said & {"no-offer", "no-book"}:
        said |= {"no-offer", "no-book"}  # "sorry, none left" says either
    if "recommend" in intents and (u.of_type("venue", "train_id") or "offer-book" in said):
        said.add("recommend")
    if "request" in said or u.asks:
        said.add("request")
    out = []
    for intent in _MUST_SAY:
        if intent in intents and intent not in said:
            out.append(f"drops the planned {intent} act")
    for slot in sorted(slots):
        if not (_alike(slot) & asked) and not u.mentions(_alike(slot)):
            out.append(f"does not ask for the planned {slot.replace('_', ' ')}")
    for intent in _MAY_NOT_ADD:
        if intent == "booked" and may_book:
            continue
        if intent in said and intent not in intents and not (intent in ("no-offer", "no-book") and intents & {"no-offer", "no-book"}):
            out.append(f"adds a {intent} act the plan does not make")
    extra = {s for s in asked if not any(_alike(s) & _alike(p) for p in slots)}
    if extra:
        out.append(f"asks for the {', '.join(sorted(s.replace('_', ' ') for s in extra))}, which the plan does not ask")
    if domains and u.domains and not (u.domains & domains):
        out.append(f"talks about {', '.join(sorted(u.domains))}; the plan is about {', '.join(sorted(domains))}")
    return out


def check_phrasing(
    text: str,
    speaker: Speaker,
    previous: str | None = None,
    *,
    lexicon: Lexicon,
    planned_acts: Mapping[str, Sequence[Sequence[str]]] | None = None,
    history: Sequence[tuple[Speaker, str]] = (),
) -> list[str]:
    """Problems of ``text`` as ``speaker``'s next turn; ``[]`` means it may be used.

    ``previous``: the utterance it answers (the other speaker's); ``history``: the whole
    dialogue so far as ``(speaker, text)`` (its last turn is the previous utterance;
    give either). ``planned_acts``: the turn's acts in MultiWOZ form, to refuse a
    phrasing that drops or adds an act. Each problem reads ``"role: ..."``,
    ``"fact: ..."``, ``"coherence: ..."`` or ``"acts: ..."``.
    """
    turns: list[tuple[Speaker, str]] = list(history)
    if previous is not None and (not turns or turns[-1][1] != previous):
        turns.append(("bot" if speaker == "user" else "user", previous))
    turns.append((speaker, text))
    last = len(turns) - 1
    problems = [f"{f.category}: {f.message}" for f in dialogue_faults(turns, lexicon) if f.turn == last]
    if planned_acts:
        problems += [f"acts: {p}" for p in act_problems(understand(text, speaker, lexicon), planned_acts)]
    return problems
