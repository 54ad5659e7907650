"""The phrasing check: does an utterance say its acts, invent nothing, and sound like its speaker?

``validate`` returns human-readable problems (stored per turn when a phrasing is
refused); an empty list means the phrasing may be used.

Input: the speaker, the turn's ``DialogueActs``, the text; optionally the venue
names of the database (``known_values``), the previous utterance and the
speaker's own earlier ones.
Checks:
- every act value is said (case, punctuation, "3"/"three", "17:15"/"5:15 pm",
  "£10"/"10 pounds", postcode spacing normalised; ``dontcare`` needs nothing;
  ``Internet``/``Parking`` ``yes`` needs a mention of wifi/internet/parking);
- every requested slot (``?``) is asked about; a no-offer / no-book says no,
  thanks thank, goodbyes say bye;
- nothing the acts don't carry: no other venue name or train station, phone
  number, postcode, train id, reference or other letter-digit code, price, clock
  time, number, wifi / parking, or area / price range / day (unless the line asks
  for that slot);
- no person named: a capitalised word inside a sentence ("What's Mei's phone
  number?", "Thanks, Tom.") that no act value, venue or station name carries is
  someone the model made up (small models address the persona by name);
- no booking the acts don't make: the desk says nothing is booked or reserved,
  and gives no reference, unless an act books (a taxi's car and phone do);
- the right speaker: a User does not talk like the desk and the desk not like a
  customer; no speaker tags, act notation or prompt text ("rewrite", "customer line");
- one utterance, ending a sentence (not cut off), not too long, no echo of the
  previous utterance or repeat of the speaker's own earlier one.

It checks facts and form, not sense: a fluent line that keeps every value and
invents none passes, whatever else it says.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from goalconvo.agents.guided import validator_patterns as V
from goalconvo.agents.guided.acts import DialogueActs, split_key
from goalconvo.agents.guided.normalize import (
    WORD_NUMBERS,
    compact,
    norm,
    prices_in,
    value_said,
)
from goalconvo.core.roles import DEPARTMENT, DESTINATION, ORIGIN

def known_names(tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> frozenset[str]:
    """Venue names, train stations and hospital departments of a venue database (``VenueDB.tables``),
    for ``known_values``."""
    return frozenset(
        str(row[key])
        for rows in tables.values()
        for row in rows
        if isinstance(row, Mapping)
        for key in ("name", ORIGIN, DESTINATION, DEPARTMENT)
        if row.get(key)
    )


@functools.lru_cache(maxsize=8)
def _known_words(known_values: frozenset[str]) -> frozenset[str]:
    """Every word of the venue and station names (a name may be said in part, capitalised)."""
    return frozenset(w for name in known_values for w in V.ALNUM.findall(norm(name)))


@functools.lru_cache(maxsize=8)
def _name_pattern(known_values: frozenset[str]) -> re.Pattern[str] | None:
    names = sorted({norm(n) for n in known_values if len(norm(n)) >= 3} - V.AMBIGUOUS_NAMES, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(n) for n in names) + r")(?![a-z0-9])")


def _trigrams(text: str) -> set[tuple[str, ...]]:
    w = V.WORD.findall(text.lower())
    return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}


def overlap(a: str, b: str) -> float:
    """Shared trigrams over the smaller set (the judge's repetition/echo measure); 0 when either has < 3."""
    ga, gb = _trigrams(a), _trigrams(b)
    if len(ga) < 3 or len(gb) < 3:
        return 0.0
    return len(ga & gb) / min(len(ga), len(gb))


def _postcode_or_ordinal(token: str) -> bool:
    t = token.lower()
    return bool(V.NOT_A_CODE.fullmatch(t))


def _clock_minutes(h: int, mi: int, ampm: str) -> set[int]:
    """Minutes after midnight a said clock time may mean (both halves of the day without am/pm)."""
    if h > 23 or mi > 59:
        return set()
    if ampm.startswith("p"):
        return {(h % 12 + 12) * 60 + mi}
    if ampm.startswith("a"):
        return {(h % 12) * 60 + mi}
    return {h * 60 + mi, ((h + 12) % 24) * 60 + mi}


def _carried(acts: DialogueActs) -> list[tuple[str, str, str]]:
    """``(intent, slot, value)`` of every act pair."""
    return [(split_key(k)[1], slot, value) for k, pairs in acts.items() for slot, value in pairs]


def _missing_values(acts: DialogueActs, ntext: str) -> list[str]:
    out = []
    for intent, slot, value in _carried(acts):
        if slot.lower() == "none" or value == "?":
            continue
        v = norm(value)
        if slot in ("Internet", "Parking") and v in ("yes", "no", "free", "none"):
            if v != "none" and not any(w in ntext for w in V.REQUEST_WORDS[slot]):
                out.append(f"does not mention {slot.lower()} ({slot}={value})")
            continue
        if not value_said(slot, value, ntext):
            out.append(f"misses {slot}={value!r}")
    return out


def _unasked(acts: DialogueActs, ntext: str, raw: str) -> list[str]:
    out = []
    requested = [(slot, value) for intent, slot, value in _carried(acts) if intent == "Request" and value == "?"]
    if requested and "?" not in raw and not V.ASKING.search(ntext):
        out.append("has a request but asks nothing")
    for slot, value in requested:
        if slot.lower() == "none":
            continue
        words = V.REQUEST_WORDS.get(slot, (slot.lower(),))
        if not any(re.search(rf"(?<![a-z]){re.escape(w)}", ntext) for w in words):
            out.append(f"does not ask for {slot}")
    return out


def _intents_unsaid(acts: DialogueActs, ntext: str, raw: str) -> list[str]:
    out = []
    intents = {split_key(k)[1] for k in acts}
    for intent in ("thank", "bye", "welcome", "reqmore", "greet", "OfferBook"):
        if intent in intents and not V.INTENT_MARKERS[intent].search(ntext):
            out.append(f"does not say the {intent} act")
    if intents & {"NoOffer", "NoBook"} and not V.NEGATION.search(ntext):
        out.append("does not say that nothing matched / the booking failed")
    if intents & {"Book", "OfferBooked"} and not V.BOOKED.search(ntext):
        out.append("does not say the booking was made")
    return out


def _values_of(acts: DialogueActs) -> list[str]:
    return [v for _, slot, v in _carried(acts) if slot.lower() != "none" and v not in ("?", "none")]


def _invented(acts: DialogueActs, ntext: str, raw: str, known_values: frozenset[str]) -> list[str]:
    """Facts the text states that no act carries."""
    values = _values_of(acts)
    nvalues = " | ".join(norm(v) for v in values)
    cvalues = {compact(v) for v in values}
    out = []
    digits_text = re.sub(r"(?<=\d)[ -](?=\d)", "", ntext)
    for m in V.PHONE.finditer(digits_text):
        if m.group() not in cvalues:
            out.append(f"invents phone number {m.group()}")
    for m in V.POSTCODE.finditer(ntext):
        if compact(m.group()) not in cvalues and m.group() not in nvalues:
            out.append(f"invents postcode {m.group()}")
    for m in V.TRAIN_ID.finditer(ntext):
        if compact(m.group()) not in cvalues:
            out.append(f"invents train id {m.group().upper()}")
    refs = {m.group() for m in V.REF_TOKEN.finditer(raw)} | {m.group(2) for m in V.REF_AFTER_WORD.finditer(raw)}
    for ref in sorted(refs):
        c = compact(ref)
        if c not in cvalues and not any(c in cv for cv in cvalues) and not c.isdigit() and c not in WORD_NUMBERS:
            if V.REF_TOKEN.fullmatch(ref) or any(ch.isdigit() for ch in ref):
                out.append(f"invents reference {ref}")
    for m in V.CODE.finditer(raw):
        code = m.group()
        if code in refs:
            continue  # already said as an invented reference
        if compact(code) not in cvalues and not _postcode_or_ordinal(code) and not any(compact(code) in cv for cv in cvalues):
            out.append(f"invents the code {code}")
    amounts = set()
    for v in values:
        amounts |= prices_in(norm(v))
        amounts |= {round(float(n), 2) for n in re.findall(r"\d+(?:\.\d+)?", v)}
    for amount in sorted(prices_in(ntext) - amounts):
        out.append(f"invents price {amount:g} pounds")
    times: set[int] = set()
    for v in values:
        for m in V.CLOCK.finditer(norm(v)):
            times |= _clock_minutes(int(m.group(1)), int(m.group(2)), m.group(3) or "")
        for m in V.BARE_CLOCK.finditer(norm(v)):
            times |= _clock_minutes(int(m.group(1)), 0, m.group(2))
    for m in V.CLOCK.finditer(V.PRICE.sub(" ", ntext)):
        said = _clock_minutes(int(m.group(1)), int(m.group(2)), m.group(3) or "")
        if said and not said & times:
            out.append(f"invents time {m.group(0).strip()}")
    for m in V.BARE_CLOCK.finditer(ntext):
        said = _clock_minutes(int(m.group(1)), 0, m.group(2))
        if said and not said & times:
            out.append(f"invents time {m.group(0).strip()}")
    carried_numbers = _numbers_of(values)
    rest = V.CLOCK.sub(" ", V.PRICE.sub(" ", V.SPACED_PHONE.sub(" ", ntext)))
    for m in V.NUMBER.finditer(rest):
        if _num(m.group()) not in carried_numbers:
            out.append(f"invents the number {m.group()}")
    asked = {slot for intent, slot, v in _carried(acts) if intent == "Request" and v == "?"}
    for word in sorted(set(V.WORD.findall(ntext)) & V.CLOSED_VALUES.keys()):
        if V.CLOSED_VALUES[word] in asked:
            continue  # "cheap, moderate or expensive?" asks for a price range
        if not re.search(rf"(?<![a-z]){word[:5]}", nvalues):
            out.append(f"says {word!r}, which the acts do not carry")
    slots = {slot for _, slot, _ in _carried(acts)}
    for slot, pattern_ in V.AMENITY.items():
        word = pattern_.search(ntext)
        if word and slot not in slots and not pattern_.search(nvalues):
            out.append(f"mentions {word.group(1)}, which the acts do not carry")
    carried_words, known_words = set(V.ALNUM.findall(nvalues)), _known_words(known_values)
    for word in dict.fromkeys(V.MIDSENTENCE_CAPITAL.findall(raw)):
        w = word.lower()
        if w not in carried_words and w not in known_words and w not in V.CAPITALISED_OK:
            out.append(f"names {word!r}, whom or which the acts do not carry")
    pattern = _name_pattern(known_values)
    if pattern is not None:
        for m in pattern.finditer(ntext):
            name = m.group(1)
            if name not in nvalues:
                out.append(f"names {name!r}, which the acts do not carry")
    return list(dict.fromkeys(out))


def _num(token: str) -> str:
    """``"05"`` -> ``"5"``, ``"10.10"`` -> ``"10.1"``: numbers compared by value."""
    try:
        return f"{float(token):g}"
    except ValueError:
        return token


def _numbers_of(values: list[str]) -> set[str]:
    """Every number an act value says, as digits (``three`` -> ``3``; phone numbers whole)."""
    out: set[str] = set()
    for v in values:
        nv = norm(v)
        out |= {_num(n) for n in re.findall(r"\d+(?:\.\d+)?", nv)}
        out |= {_num(compact(v))} if compact(v).isdigit() else set()
        out |= {str(n) for w, n in WORD_NUMBERS.items() if re.search(rf"\b{w}\b", nv)}
    return out


#: A claim that something was booked: "is reserved", "I've booked", "your reference is" (not "shall I book?").
_BOOKING_CLAIM = re.compile(
    r"\b((is|are|was|were|been|have|has|i've|we've|got you) (booked|reserved)"
    r"|(reference|confirmation|booking) (number |code )?(is|:)|reference \w*\d\w*)"
)


def _invented_booking(speaker: str, acts: DialogueActs, ntext: str) -> list[str]:
    """The desk says something is booked (or gives a reference) where no act books anything.

    A taxi's ``Inform`` of car and phone is MultiWOZ's booked taxi, so it may say booked.
    """
    if speaker != "bot":
        return []
    intents = {split_key(k)[1] for k in acts}
    slots = {slot for _, slot, _ in _carried(acts)}
    booking = any(split_key(k)[0] == "booking" for k in acts)
    if booking or intents & {"Book", "OfferBooked", "OfferBook", "NoBook"} or slots & {"Ref", "Car"}:
        return []
    m = _BOOKING_CLAIM.search(ntext)
    return [f"says {m.group(1)!r} where no act books anything"] if m else []


def _wrong_speaker(speaker: str, text: str) -> list[str]:
    if speaker == "user":
        m = V.DESK_LINES.search(text)
        return [f"the User speaks like the desk ({m.group(0)!r})"] if m else []
    m = V.CUSTOMER_LINES.search(text)
    return [f"the SupportBot speaks like a customer ({m.group(0).strip()!r})"] if m else []


def validate(
    speaker: str,
    acts: DialogueActs,
    text: str,
    *,
    known_values: Iterable[str] = frozenset(),
    previous_utterance: str = "",
    own_earlier: Sequence[str] = (),
    max_words: int = 60,
    max_overlap: float = 0.8,
) -> list[str]:
    """Problems of ``text`` as ``speaker``'s phrasing of ``acts``; ``[]`` means it may be used.

    ``known_values``: venue names (and other facts) of the database; any one said
    that no act carries is refused. ``previous_utterance`` / ``own_earlier``: the
    judge refuses echoes and repeats, so the phrasing is held to the same
    ``max_overlap``.
    """
    known = known_values if isinstance(known_values, frozenset) else frozenset(known_values)
    raw = text.strip()
    if not re.search(r"[a-z0-9]", raw.lower()):
        return ["empty"]
    problems: list[str] = []
    if "\n" in raw:
        problems.append("more than one line")
    if V.TAGS.search(raw):
        problems.append("has a speaker tag")
    if V.LEAKS.search(raw):
        problems.append(f"leaks prompt or act notation ({V.LEAKS.search(raw).group(0)!r})")  # type: ignore[union-attr]
    if V.TRUNCATED_END.search(raw) or not V.SENTENCE_END.search(raw):
        problems.append("stops mid-sentence")
    n_words = len(raw.split())
    if n_words > max_words:
        problems.append(f"too long ({n_words} words, at most {max_words})")
    ntext = norm(raw)
    problems += _missing_values(acts, ntext)
    problems += _unasked(acts, ntext, raw)
    problems += _intents_unsaid(acts, ntext, raw)
    problems += _invented(acts, ntext, raw, known)
    problems += _invented_booking(speaker, acts, ntext)
    problems += _wrong_speaker(speaker, raw)
    if previous_utterance and overlap(raw, previous_utterance) >= max_overlap:
        problems.append("echoes the previous utterance")
    if any(overlap(raw, earlier) >= max_overlap for earlier in own_earlier):
        problems.append("repeats an earlier utterance of the same speaker")
    return problems
