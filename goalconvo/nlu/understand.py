"""One utterance understood from its text and its speaker alone.

:func:`understand` gives an :class:`Understanding`: the sentences, the acts each
says (:mod:`goalconvo.nlu.acts`), the typed values and what each is said to be
(:mod:`goalconvo.nlu.values`), the role cues of either side
(:mod:`goalconvo.nlu.roles`), what it asks, and the faults one utterance shows on
its own (:func:`utterance_faults`): the other side's lines, a value of the wrong
type, booking words that do not fit the domain, a fact stacked twice, a re-offer of
what it just booked, a word said twice, self-talk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from goalconvo.nlu.acts import Act, domains_of, sentence_acts, slot_mentions
from goalconvo.nlu.lexicon import BOOKING_UNITS, DOMAIN_NOUNS, UNIT_DOMAINS, Lexicon
from goalconvo.nlu.roles import CUSTOMER_CUES, DESK_CUES, SELF_TALK, cues
from goalconvo.nlu.text import Sentence, normalize, split_sentences
from goalconvo.nlu.values import Claim, Value, find_claims, find_values
from goalconvo.core.roles import TIMETABLE

Speaker = Literal["user", "bot"]
Category = Literal["role", "fact", "coherence", "garble"]


@dataclass(frozen=True)
class Fault:
    """A problem a reader would see: which turn, what kind, in words."""

    category: Category
    message: str
    turn: int | None = None


@dataclass
class SentenceReading:
    sentence: Sentence
    values: list[Value]
    claims: list[Claim]
    domains: set[str]
    acts: list[Act]

    @property
    def intents(self) -> set[str]:
        return {a.intent for a in self.acts}

    @property
    def text(self) -> str:
        return self.sentence.text


@dataclass
class Understanding:
    speaker: Speaker
    text: str
    #: The text through :func:`~goalconvo.nlu.text.normalize`.
    norm: str = ""
    sentences: list[SentenceReading] = field(default_factory=list)
    desk_cues: list[tuple[str, str]] = field(default_factory=list)
    customer_cues: list[tuple[str, str]] = field(default_factory=list)
    self_talk: list[tuple[str, str]] = field(default_factory=list)

    @property
    def acts(self) -> list[Act]:
        return [a for s in self.sentences for a in s.acts]

    @property
    def intents(self) -> set[str]:
        return {a.intent for a in self.acts}

    @property
    def values(self) -> list[Value]:
        return [v for s in self.sentences for v in s.values]

    @property
    def value_types(self) -> set[str]:
        return {v.type for v in self.values}

    @property
    def requests(self) -> tuple[str, ...]:
        """Slots the utterance asks for, in order."""
        return tuple(dict.fromkeys(slot for a in self.acts if a.intent == "request" for slot in a.slots))

    @property
    def domains(self) -> set[str]:
        return {d for s in self.sentences for d in s.domains}

    @property
    def asks(self) -> bool:
        """A question, or a request in other words ("I need to know the day")."""
        return any(s.sentence.question for s in self.sentences) or bool(self.requests)

    def mentions(self, slots: tuple[str, ...] | set[str]) -> bool:
        """Whether any of ``slots`` is named in words ("the phone number", "entrance fee")."""
        return any(slot in slots for s in self.sentences for slot, _, _ in slot_mentions(s.text))

    def of_type(self, *types: str) -> list[Value]:
        return [v for v in self.values if v.type in types]

    @property
    def other_side_cues(self) -> list[tuple[str, str]]:
        """The cues of the side that is not speaking."""
        return self.desk_cues if self.speaker == "user" else self.customer_cues


def understand(text: str, speaker: Speaker, lex: Lexicon) -> Understanding:
    u = Understanding(speaker=speaker, text=text, norm=normalize(text))
    for sentence in split_sentences(u.norm):
        values = find_values(sentence.text, lex)
        domains = domains_of(sentence.text, values)
        u.sentences.append(SentenceReading(sentence, values, find_claims(sentence.text, values), domains,
                                           sentence_acts(sentence.text, sentence.question, values, domains)))
        u.desk_cues += cues(sentence.text, DESK_CUES)
        u.customer_cues += cues(sentence.text, CUSTOMER_CUES)
        u.self_talk += cues(sentence.text, SELF_TALK)
    return u


_UNIT_RX = re.compile(r"(?<![a-z])(" + "|".join(sorted(BOOKING_UNITS, key=len, reverse=True)) + r")(?![a-z])")
_ATTACHED = re.compile(r" (?:at|in|for|on) (?:the |a |an |your |this |that )?([a-z]+(?: [a-z]+)?)")
_BOOKING_CONTEXT = re.compile(r"\b(book|booked|booking|reserve|reserved|reservation|confirmed)\b")
_DOUBLED = re.compile(r"\b([a-z]{3,}) \1\b")
#: Doubled words people write on purpose or by a slip of the keys (a reader reads past them).
_DOUBLES_OK = frozenset({"very", "bye", "that", "had", "really", "many", "knock", "far", "haha", "the", "and", "you",
                         "for", "would", "like", "can", "will", "have", "are", "was", "there", "this", "not", "too", "two", "one",
                         "three", "four"})
#: Words that present a venue as on offer ("there is X", "X is available", "how about X?").
_PRESENTING = re.compile(r"\b(there is|there's|how about|what about|i recommend|i suggest|i'd recommend|you might like"
                         r"|is available|are available|fits your|i have)\b")
_USER_CLAIMS_NOT_THEIRS = ("postcode", "reference", "train_id")
#: A slot's name used as a thing a place has: "a cardiology hospital with a department".
_SLOT_AS_THING = re.compile(r"\bwith an? (department|area|price range|pricerange|type|food|cuisine|name|star rating)"
                            r"(?=[.?!,]|$| and\b| or\b| please\b)")
#: Details a desk says once a turn: said again in another sentence, they are stacked.
_ONCE_A_TURN = ("postcode", "phone", "reference", "train_id")
#: A desk sentence that only says back what the customer asked for ("You're looking for X.",
#: "X is the department you need."): a turn of nothing but these answers nothing.
_RESTATES = re.compile(
    r"^(?:(?:ok|okay|sure|great|alright|so|certainly|absolutely),? )*(?:you(?:'re| are) (?:looking for|after|interested in"
    r"|in need of)|you(?: want| need| would like|'d like| require))\b"
    r"(?! (?:to|me to) (?:tell|give|let|provide|specify|say|choose|pick|decide|confirm|call|contact|know)\b)"
    r"|\bis (?:the|just the|exactly the) (?:(?!if |when |so )[a-z]+ ){1,3}you(?:'re| are)? (?:need|want|looking for|asked for"
    r"|requested|after)\b")
_GENERAL = frozenset({"reqmore", "bye", "welcome", "thank", "greet"})


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _quote(s: str, n: int = 60) -> str:
    return repr(s if len(s) <= n else s[: n - 1] + "…")


def utterance_faults(u: Understanding, lex: Lexicon) -> list[Fault]:
    """What is wrong with one utterance, read alone."""
    out: list[Fault] = []
    side = "desk" if u.speaker == "user" else "customer"
    who = "the User" if u.speaker == "user" else "the desk"
    for label, words in u.other_side_cues:
        out.append(Fault("role", f"{who} speaks like the {side}: {label} ({_quote(words)})"))
    for label, words in u.self_talk:
        out.append(Fault("role", f"{who} {label} ({_quote(words)})"))
    booked_entities: set[str] = set()
    seen_claims: set[tuple[str, str]] = set()
    said_twice: set[str] = set()
    for s in u.sentences:
        for c in s.claims:
            if c.wrong:
                out.append(Fault("fact", f"the {c.slot.replace('_', ' ')} is {_quote(c.value.text)} ({_a(c.value.type.replace('_', ' '))})"))
            elif u.speaker == "user" and c.slot in _USER_CLAIMS_NOT_THEIRS and c.copula and not s.sentence.question:
                out.append(Fault("role", f"the User gives the {c.slot.replace('_', ' ')} as the desk would ({_quote(c.value.text)})"))
            key = (c.slot, c.value.compact)
            if key in seen_claims:
                out.append(Fault("fact", f"says the {c.slot.replace('_', ' ')} {_quote(c.value.text)} twice"))
                said_twice.add(c.value.compact)
            seen_claims.add(key)
        if u.speaker == "bot":
            out += _booking_word_faults(s)
        for a, b in zip(s.values, s.values[1:]):
            if a.type == b.type and a.compact == b.compact and re.fullmatch(r"\s*(,|or|and|, or|, and)\s*", s.text[a.end : b.start]):
                out.append(Fault("fact", f"stacks the same {a.type.replace('_', ' ')} twice ({_quote(s.text[a.start:b.end])})"))
        for m in _DOUBLED.finditer(s.text):
            inside = any(v.start <= m.start() and m.end() <= v.end for v in s.values)
            if m.group(1) not in _DOUBLES_OK and not inside and m.group(0) not in lex.words_in_addresses:
                out.append(Fault("fact", f"says {m.group(1)!r} twice in a row"))
        if u.speaker == "bot":
            named = {v.compact for v in s.values if v.type in ("venue", "train_id")}
            if booked_entities & named and (_PRESENTING.search(s.text) or s.intents & {"offer-book", "recommend"}) and "booked" not in s.intents:
                what = next(v.text for v in s.values if v.compact in booked_entities & named)
                out.append(Fault("fact", f"offers {what!r} again after booking it"))
            if "booked" in s.intents:
                booked_entities |= named
            for v in s.values:
                if v.type == "car" and " " in v.text and re.search(r"\b(at|from|to|in front of) (the |a )?$", s.text[: v.start]):
                    out.append(Fault("fact", f"gives the car {v.text!r} as a place"))
            m = re.search(r"\byour (phone|telephone) number,? (is )?0\d", s.text)
            if m:
                out.append(Fault("fact", "gives the venue's phone number as the customer's"))
            if "booked" in s.intents:
                for v in s.values:
                    if v.type == "postcode" and s.text[: v.start].endswith(" at "):
                        out.append(Fault("fact", f"books at a postcode ({_quote(s.text)})"))
        m = _SLOT_AS_THING.search(s.text)
        if m:
            out.append(Fault("fact", f"names the {m.group(1)} as a thing a place has ({_quote(m.group(0))})"))
    if u.speaker == "bot":
        out += _repeats(u, said_twice)
    return out


def _repeats(u: Understanding, claimed: set[str]) -> list[Fault]:
    """A desk turn that says a postcode, phone, reference or train id in two sentences."""
    out: list[Fault] = []
    seen: dict[tuple[str, str], int] = {}
    for i, s in enumerate(u.sentences):
        for v in s.values:
            if v.type not in _ONCE_A_TURN:
                continue
            first = seen.setdefault((v.type, v.compact), i)
            if first != i and v.compact not in claimed:
                out.append(Fault("fact", f"says the {v.type.replace('_', ' ')} {_quote(v.text)} twice in one turn"))
                claimed.add(v.compact)
    return out


#: Words of a restatement's frame, and words that carry nothing ("you're looking for a ... with the ...").
_FRAME_WORDS = frozenset("you re are looking for after interested in need of want would like d require is the a an "
                         "just exactly asked requested so ok okay sure great alright certainly absolutely with at to and "
                         "that this one some".split())


def plain_words(text: str) -> set[str]:
    """The words of normalised ``text``, apostrophes splitting them ("you're" -> you, re)."""
    return set(re.findall(r"[a-z0-9]+", text))


def content_words(text: str) -> set[str]:
    """The words of ``text`` that say something, beyond a restatement's frame."""
    return plain_words(text) - _FRAME_WORDS


def only_restates(u: Understanding, user_words: set[str]) -> Fault | None:
    """A desk turn whose every sentence but its courtesies says back the User's request
    ("You're looking for X.", "X is the department you need.") in words the User already used."""
    content = [s for s in u.sentences if not (s.intents and s.intents <= _GENERAL)]
    if not content or not all(_RESTATES.search(s.text) and not s.sentence.question for s in content):
        return None
    if any(content_words(s.text) - user_words for s in content):
        return None  # it says something new ("You want the clinic at Addenbrookes Hospital")
    return Fault("coherence", f"the desk only says back what the User asked ({_quote(content[0].text)})")


def _booking_word_faults(s: SentenceReading) -> list[Fault]:
    """A table at a hotel, a room at a restaurant, tickets for a restaurant: the unit against the venue
    (or train) named nearest it in the sentence, else the domain word right after it ("a table at the hotel")."""
    if not _BOOKING_CONTEXT.search(s.text):
        return []
    named = [v for v in s.values if v.type in ("venue", "train_id")]
    units = list(_UNIT_RX.finditer(s.text))
    out = []
    for m in units:
        unit = m.group(1)
        before = re.search(r"([a-z]+) $", s.text[: m.start()])
        known = {d for d in UNIT_DOMAINS if before and before.group(1) in DOMAIN_NOUNS[d]}  # "train tickets"
        if not known:
            # The venue or train named nearest the unit, with no other unit word between them.
            def gap(v: Value) -> int:
                a, b = (m.end(), v.start) if v.start >= m.end() else (v.end, m.start())
                return 10**6 if any(a <= o.start() < b for o in units if o is not m) else b - a
            near = sorted(named, key=gap)
            if near and gap(near[0]) <= 40:
                known = set(near[0].domains or {TIMETABLE}) & set(UNIT_DOMAINS)
        if not known:
            after = _ATTACHED.match(s.text, m.end())
            known = {d for d in UNIT_DOMAINS if after and after.group(1) in DOMAIN_NOUNS[d]}
        if len(known) == 1 and not known & set(BOOKING_UNITS[unit]):
            out.append(Fault("fact", f"books a {unit} for a {next(iter(known))} ({_quote(s.text)})"))
    return out
