"""A whole dialogue read turn by turn: each turn's own faults, its fit to the turn before,
and facts that contradict earlier ones.

Across turns:

- a train the desk offers or books goes from / to a station the User never asked for,
  while the User named another (the User left from Cambridge, the desk books from
  London Kings Cross), or the User itself says another departure without changing its
  mind in words ("actually", "instead", "back");
- a booking for a day or a number of people or nights nobody said, when the User said
  another;
- a different reference for a booking already given one, the User having asked
  nothing new;
- the desk offering again, by name, what it already booked;
- a desk turn that only says back the User's request, naming nothing the User did not say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from goalconvo.nlu.coherence import follows
from goalconvo.nlu.garble import load_garble_model
from goalconvo.nlu.lexicon import Lexicon
from goalconvo.nlu.understand import Fault, Speaker, Understanding, only_restates, plain_words, understand, utterance_faults

_NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
_CHANGE = re.compile(r"\b(actually|instead|change|changed|rather|sorry|mean|meant|back|return|returning|also|another|different"
                     r"|second|other|too|as well|wrong|mistake|correction|cancel|same)\b")
_FROM = re.compile(r"\b(?:from|leaving|leaves|departing|departs|depart|leave|out of)(?: from)? $")
_TO = re.compile(r"\b(?:to|into|arriving (?:in|at)|arrives (?:in|at)|arrive (?:in|at)|going to|heading to|for|destination(?: is)?) $")


#: The desk presents something as on offer ("TR7245 is available", "how about X?").
_AVAILABLE = re.compile(r"\b(is|are) (still )?available\b")


def _number(text: str) -> int | None:
    m = re.search(r"\d+", text)
    if m:
        return int(m.group())
    for w, n in _NUMBERS.items():
        if re.search(rf"\b{w}\b", text):
            return n
    if re.search(r"\b(just|only) (me|myself|one)\b|\bsingle\b|^an? ", text):
        return 1
    return None


@dataclass
class _Memory:
    user_from: set[str] = field(default_factory=set)
    user_to: set[str] = field(default_factory=set)
    user_stations: set[str] = field(default_factory=set)
    #: value type -> values said by anyone so far (a desk's offer of another day counts).
    said: dict[str, set[str]] = field(default_factory=dict)
    #: (domain, value type) -> values the User said.
    user_said: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    refs: dict[str, tuple[str, int]] = field(default_factory=dict)  # venue or train id -> (reference, turn)
    booked: dict[str, int] = field(default_factory=dict)  # venue or train id -> turn it was booked
    user_turns: list[tuple[int, str]] = field(default_factory=list)
    domain: str | None = None
    #: Whether a venue was named yet (by either speaker).
    named: bool = False
    #: Every word the User said so far.
    user_words: set[str] = field(default_factory=set)


_REBOOK = re.compile(r"\b(book|reserve|reservation|booking|change|instead|another|different|actually|cancel|also|again"
                     r"|try|how about|what about|people|nights?|at \d)\b")


def _stations(u: Understanding, lex: Lexicon) -> tuple[list[frozenset[str]], list[frozenset[str]]]:
    """Stations said as a departure and as a destination ("from X", "to Y", "X to Y")."""
    froms, tos = [], []
    for s in u.sentences:
        for v in s.values:
            if v.type != "station":
                continue
            before = s.text[max(0, v.start - 30) : v.start]
            st = lex.stations_of(v.text)
            if _FROM.search(before):
                froms.append(st)
            elif _TO.search(before):
                tos.append(st)
    return froms, tos


def _entity(values: list) -> str | None:
    for t in ("train_id", "venue"):
        for v in values:
            if v.type == t:
                return v.compact
    return None


def _day_people_nights(sentences: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s in sentences:
        for v in s.values:
            if v.type == "day" and v.text not in ("today", "tonight", "tomorrow", "this weekend"):
                out.setdefault("day", set()).add(v.text)
            elif v.type in ("people", "nights"):
                n = _number(v.text)
                if n is not None:
                    out.setdefault(v.type, set()).add(str(n))
    return out


def _one(domains: set[str]) -> str | None:
    return next(iter(domains)) if len(domains) == 1 else None


def _user_turn(index: int, u: Understanding, mem: _Memory, lex: Lexicon) -> list[Fault]:
    out: list[Fault] = []
    froms, tos = _stations(u, lex)
    changed = bool(_CHANGE.search(u.norm))
    for st in froms:
        if mem.user_from and not (st & mem.user_from) and not changed and not (st & mem.user_to):
            out.append(Fault("fact", f"the User now leaves from {sorted(st)[0]}, having said {sorted(mem.user_from)[0]}"))
    for a in froms:
        for b in tos:
            if a & b and len(a) == 1:
                out.append(Fault("fact", f"a train from {sorted(a)[0]} to itself"))
    if froms:
        mem.user_from = set(froms[-1])
    if tos:
        mem.user_to = set(tos[-1])
    for st in froms + tos:
        mem.user_stations |= st
    mem.domain = _one(u.domains) or mem.domain
    for s in u.sentences:
        domain = _one(s.domains) or mem.domain
        if domain:
            for t, vals in _day_people_nights([s]).items():
                mem.user_said.setdefault((domain, t), set()).update(vals)
    mem.user_turns.append((index, u.norm))
    mem.user_words |= plain_words(u.norm)
    mem.named = mem.named or bool(u.of_type("venue"))
    return out


def _desk_turn(index: int, u: Understanding, mem: _Memory, lex: Lexicon) -> list[Fault]:
    out: list[Fault] = []
    froms, tos = _stations(u, lex)
    offering = {"booked", "offer-book", "inform", "recommend"} & u.intents and "no-offer" not in u.intents
    if offering and u.of_type("train_id", "time"):
        for st, mine, label in [(s, mem.user_from, "from") for s in froms] + [(s, mem.user_to, "to") for s in tos]:
            if mine and not (st & mine) and not (st & mem.user_stations):
                out.append(Fault("fact", f"the desk's train goes {label} {sorted(st)[0]}; the User asked for {sorted(mine)[0]}"))
    turn_domain = _one(u.domains) or mem.domain
    for s in u.sentences:
        if "booked" not in s.intents:
            continue
        domain = _one(s.domains) or turn_domain
        for t, vals in _day_people_nights([s]).items():
            wanted = mem.user_said.get((domain, t), set()) if domain else set()
            for v in sorted(vals - mem.said.get(t, set())):
                if wanted:
                    unit = {"day": "", "people": " people", "nights": " nights"}[t]
                    out.append(Fault("fact", f"the desk books for {v}{unit}; the User said {sorted(wanted)[0]}{unit}"))
    turn_entity = _entity(u.values)
    for s in u.sentences:
        key = _entity(s.values) or turn_entity
        for r in (v for v in s.values if v.type == "reference"):
            old = mem.refs.get(key) if key else None
            if old and old[0] != r.compact:
                asked_again = any(old[1] < i < index and _REBOOK.search(t) for i, t in mem.user_turns)
                if old[1] == index or not asked_again:
                    where = "in the same turn" if old[1] == index else f"after {old[0].upper()} in turn {old[1]}"
                    out.append(Fault("fact", f"a second reference {r.text.upper()} for the same booking {where}"))
            if key:
                mem.refs[key] = (r.compact, index)
    for s in u.sentences:
        named = [v for v in s.values if v.type in ("venue", "train_id")]
        if "booked" in s.intents:
            for v in named:
                mem.booked.setdefault(v.compact, index)
        elif s.intents & {"offer-book", "recommend"} or _AVAILABLE.search(s.text):
            for v in named:
                if mem.booked.get(v.compact, index) < index:
                    out.append(Fault("fact", f"offers {v.text!r} again, booked in turn {mem.booked[v.compact]}"))
    out += _detail_before_place(u, mem)
    restated = only_restates(u, mem.user_words)
    if restated:
        out.append(restated)
    mem.domain = turn_domain
    return out


#: Details that belong to a place ("the phone number is ..."), and words of a turn about a taxi's driver.
_DETAILS = ("phone", "postcode", "address")
_DRIVER = re.compile(r"\b(taxi|cab|driver|car|contact number)\b")


def _detail_before_place(u: Understanding, mem: _Memory) -> list[Fault]:
    """A desk that gives a phone number, postcode or address, then names the place, when nothing was
    named before: the detail belonged to nothing yet ("The address is Storey's Way. I'd recommend
    Churchill College")."""
    order = [(v.type, v.text) for s in u.sentences for v in sorted(s.values, key=lambda v: v.start)]
    venues = [i for i, (t, _) in enumerate(order) if t == "venue"]
    out = []
    if not mem.named and venues and not _DRIVER.search(u.norm):
        first = next((i for i, (t, _) in enumerate(order) if t in _DETAILS), None)
        if first is not None and first < venues[0]:
            out.append(Fault("coherence", f"the desk gives the {order[first][0]} before naming the place it belongs to"))
    mem.named = mem.named or bool(venues)
    return out


def cross_turn_faults(index: int, u: Understanding, mem: _Memory, lex: Lexicon) -> list[Fault]:
    """Faults of turn ``index`` against what was said before it; updates ``mem``."""
    out = _user_turn(index, u, mem, lex) if u.speaker == "user" else _desk_turn(index, u, mem, lex)
    for t, vals in _day_people_nights(u.sentences).items():
        mem.said.setdefault(t, set()).update(vals)
    return out


def read_dialogue(turns: Sequence[tuple[Speaker, str]], lex: Lexicon) -> list[Understanding]:
    return [understand(text, speaker, lex) for speaker, text in turns]


def dialogue_faults(turns: Sequence[tuple[Speaker, str]], lex: Lexicon, garble: bool = False) -> list[Fault]:
    """Every fault of a dialogue given as ``(speaker, text)`` turns, each with its turn index.

    ``garble``: also the turns the readers' model (``nlu.garble``) scores as garbled, after the rules
    (the judge's sense check asks for it under ``Settings.sense_garble``; the generation-time
    phrasing check does not).
    """
    readings = read_dialogue(turns, lex)
    mem = _Memory()
    out: list[Fault] = []
    prev: Understanding | None = None
    for i, u in enumerate(readings):
        found = utterance_faults(u, lex) + follows(prev, u) + cross_turn_faults(i, u, mem, lex)
        out += [Fault(f.category, f.message, i) for f in found]
        prev = u
    if garble:
        model = load_garble_model()
        for i, score in model.garbled(turns):
            who = "customer" if turns[i][0] == "user" else "desk clerk"
            out.append(Fault("garble", f"reads like no {who} would say it ({score:.2f} >= {model.threshold:.2f}, "
                                       "learnt from readers' marks)", i))
    return out
