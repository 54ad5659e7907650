"""The User's agenda: what the User says next, as dialogue acts, from the goal.

Domain after domain (as the goal's message orders them; police/hospital first, taxi
last since it goes between the venues): inform the constraints (``fail_info`` first
where it differs from ``info``), accept a venue, book it (``fail_book`` first), ask
the requested attributes (``reqt``); then thanks and goodbye. It answers the bot's
questions with goal values (``dontcare`` where the goal has none), switches to
``info`` on a no-offer and to ``book`` on a no-book, and records references.

The whole state is a plain JSON dict (``to_dict``/``from_dict``); each step is
deterministic given that state, whose ``seed`` drives the choices that vary: how
many slots a turn informs, asking before all constraints are given, a greeting,
splitting the closing in two. Persona traits (verbosity, patience, style) tilt them.
"""

from __future__ import annotations

import copy
import random
from typing import Any, Collection, Mapping

from goalconvo.agents.guided import belief as bs
from goalconvo.agents.guided.acts import ACT_SLOT, DialogueActs, add_act, split_key
from goalconvo.core.goals import PLACE_DOMAINS, fail_info_applies, taxi_endpoint_domains
from goalconvo.core.records import DomainGoal, Goal, Persona
from goalconvo.core.roles import (
    ARRIVE_BY, CUISINE, DEPARTMENT_DESK, DESTINATION, LEAVE_AT, OFFICE, ORIGIN, RIDE, TABLE, TIMETABLE,
)
from goalconvo.packs.builtin import default_pack, pack_toml

#: The default pack's goal-message words (its goal_messages.toml).
_MESSAGES = pack_toml(default_pack(), "goal_messages")

#: Words that place a domain in a MultiWOZ goal message.
_DOMAIN_CUES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _MESSAGES["domain_cues"].items()}
#: Informing order inside a domain (the rest follow in goal order).
_FIRST = ("name", ORIGIN, DESTINATION, "day", CUISINE, "type")
#: A domain is abandoned after this many user turns in it (the bot cannot satisfy it).
MAX_DOMAIN_TURNS = 9
#: Where a taxi goes when the goal names one venue only (the pack's lexicon: [landmarks] fallback_place).
FALLBACK_PLACE: str = pack_toml(default_pack(), "lexicon")["landmarks"]["fallback_place"]


def _act_slot(slot: str) -> str:
    return ACT_SLOT.get(slot, slot.capitalize())


def _lower(d: dict[str, str], keep: tuple[str, ...] | None = None) -> dict[str, str]:
    return {k: str(v).lower() for k, v in d.items() if keep is None or k in keep}


def _domain_order(goal: Goal, rng: random.Random) -> list[str]:
    """Police/hospital first, then the order the goal's message names the domains in, taxi last."""
    text = [m.lower() for m in goal.message]
    def place(d: str) -> int:
        for i, line in enumerate(text):
            if any(cue in line for cue in _DOMAIN_CUES.get(d, ())):
                return i
        return len(text)
    mid = [d for d in goal.domains if d not in (OFFICE, DEPARTMENT_DESK, RIDE)]
    rng.shuffle(mid)
    mid.sort(key=place)
    first = [d for d in (OFFICE, DEPARTMENT_DESK) if d in goal.domains]
    return first + mid + ([RIDE] if RIDE in goal.domains else [])


def _domain_state(domain: str, g: DomainGoal, message: list[str]) -> dict[str, Any]:
    info, fail = _lower(g.info), _lower(g.fail_info)
    fail_phase = fail_info_applies(info, fail, message)
    book = _lower(g.book, bs.BOOK.get(domain, ()))
    fail_book = _lower(g.fail_book, bs.BOOK.get(domain, ()))
    book_fail = any(book.get(k) != v for k, v in fail_book.items())
    return {
        "info": info, "cons": dict(fail if fail_phase else info), "fail_phase": fail_phase,
        "book": book, "book_target": {**book, **fail_book} if book_fail else dict(book),
        "book_fail_phase": book_fail, "told": {}, "book_told": {},
        "goal_reqt": list(g.reqt), "reqt": list(g.reqt), "req_tries": {},
        "venue": None, "ref": None, "booked": False, "book_failed": False,
        "turns": 0, "done": False, "gave_up": False,
    }


class UserAgenda:
    """The User's side of a planned dialogue; ``next_acts`` is the only step."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    @classmethod
    def from_goal(cls, goal: Goal, seed: str, persona: Persona | dict[str, str] | None = None,
                  venue_names: Mapping[str, Collection[str]] | None = None) -> "UserAgenda":
        """Reads: ``goal.domains`` (info, fail_info, book, fail_book, reqt), ``goal.message`` for the order.

        ``venue_names`` (``VenueDB.place_names()``: lower-case names per venue domain) tells which of
        the goal's own domains a taxi endpoint it names belongs to: the taxi then goes to the venue that
        domain settled on in this dialogue, not to the one the goal's writer found (a cab to The Spice
        Route after booking Sitar Tandoori reads as a broken fact)."""
        traits = persona.model_dump() if isinstance(persona, Persona) else dict(persona or {})
        order = _domain_order(goal, random.Random(f"{seed}:order"))
        state = {
            "seed": seed, "turn": 0, "stage": "domains", "cur": 0, "order": order,
            "traits": {k: str(traits.get(k, "")) for k in ("style", "patience", "verbosity")},
            "dom": {d: _domain_state(d, goal.domains[d], goal.message) for d in order},
        }
        if RIDE in state["dom"] and venue_names:
            state["dom"][RIDE]["endpoint_of"] = taxi_endpoint_domains(state["dom"][RIDE]["cons"], order, venue_names)
        agenda = cls(state)
        agenda._start_domain()
        return agenda

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.state)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "UserAgenda":
        return cls(copy.deepcopy(state))

    @property
    def done(self) -> bool:
        return self.state["stage"] == "done"

    def outcome(self) -> dict[str, dict[str, Any]]:
        """Per domain, what the User got: venue, reference, reqt left unanswered, gave up."""
        return {
            d: {"venue": s["venue"], "ref": s["ref"], "reqt_left": list(s["reqt"]), "gave_up": s["gave_up"],
                "booked": s["booked"], "fail_phase": s["fail_phase"], "book_fail_phase": s["book_fail_phase"]}
            for d, s in self.state["dom"].items()
        }

    # -- the step ---------------------------------------------------------------------
    def next_acts(self, bot_acts: DialogueActs | None) -> tuple[DialogueActs, bool]:
        """The User's acts answering ``bot_acts`` (None to open); ``done`` when they say goodbye.

        Reads: the bot's Request, Inform/Recommend (Name, Id, reqt slots), NoOffer, NoBook,
        Book/OfferBooked (Ref). Adds to the state: told slots, venue, ref, phase switches.
        """
        st = self.state
        if st["stage"] == "done":
            return {}, True
        st["turn"] += 1
        acts: DialogueActs = {}
        # What the desk's turn did that shapes this one: asked "anything else?", named a venue.
        st["desk_asked_more"] = "general-reqmore" in (bot_acts or {})
        cur = self._cur()
        st["desk_named"] = any(slot in ("Name", "Id") and value not in ("?", "none")
                               for key, pairs in (bot_acts or {}).items()
                               if split_key(key)[1] != "NoOffer" and split_key(key)[0] in (cur, "booking")
                               for slot, value in pairs)
        if bot_acts:
            self._observe(bot_acts, acts)
        answered = bool(acts)
        if st["turn"] == 1 and self._rng("greet").random() < self._p_greet():
            add_act(acts, "general", "greet")
        if st["stage"] == "closing":
            add_act(acts, "general", "bye")
            st["stage"] = "done"
            return acts, True
        self._step(acts, answered)
        return acts, st["stage"] == "done"

    # -- reading the bot ------------------------------------------------------------------
    def _cur(self) -> str | None:
        order = self.state["order"]
        return order[self.state["cur"]] if self.state["cur"] < len(order) else None

    def _observe(self, bot_acts: DialogueActs, acts: DialogueActs) -> None:
        cur = self._cur()
        doms = self.state["dom"]
        requests: list[tuple[str, str]] = []
        flags: dict[str, set[str]] = {}
        for key, pairs in bot_acts.items():
            dom, intent = split_key(key)
            dom = cur if dom == "booking" else dom
            if dom not in doms:
                continue
            flags.setdefault(dom, set()).add(intent)
            for slot, value in pairs:
                if slot in ("Name", "Id") and value not in ("?", "none") and intent != "NoOffer":
                    self._set_venue(dom, value)
        for key, pairs in bot_acts.items():
            dom, intent = split_key(key)
            dom = cur if dom == "booking" else dom
            if dom not in doms:
                continue
            s = doms[dom]
            for slot, value in pairs:
                g = bs.goal_slot(dom, slot)
                if intent == "Request":
                    if g:
                        requests.append((dom, g))
                elif intent in ("Inform", "Recommend", "Select", "Book", "OfferBooked") and g in s["reqt"]:
                    s["reqt"].remove(g)
                if slot == "Ref" and intent in ("Book", "OfferBooked"):
                    s["ref"], s["booked"] = value, True
                if dom == RIDE and slot == "Car" and intent == "Inform":
                    s["booked"] = True
        for dom, intents in flags.items():
            s = doms[dom]
            if "NoOffer" in intents:
                offered = dom == TIMETABLE and s["venue"] is not None and "Inform" in intents
                if s["fail_phase"]:
                    self._switch_info(s)
                elif not offered and not self._untold(s):
                    self._relax(s, [g for d, g in requests if d == dom])
                requests = [(d, g) for d, g in requests if d != dom]
            if "NoBook" in intents:
                refused = {bs.goal_slot(dom, a): v for k, ps in bot_acts.items() if k == "Booking-NoBook" for a, v in ps}
                if s["book_fail_phase"]:
                    s["book_target"], s["book_fail_phase"] = dict(s["book"]), False
                elif all(s["book_target"].get(k) == v for k, v in refused.items()):
                    s["book_failed"] = True
                requests = [(d, g) for d, g in requests if d != dom or g not in bs.BOOK[dom]]
            if s["fail_phase"] and s["venue"] and not self._untold(s):
                # The database had what fail_info asked (goal data disagree with it): change mind.
                self._switch_info(s)
                s["venue"] = None
        for dom, slot in requests:
            self._answer(dom, slot, acts)

    def _set_venue(self, dom: str, name: str) -> None:
        s = self.state["dom"][dom]
        if s["venue"] and s["venue"].lower() != name.lower():
            s["reqt"] = [r for r in s["goal_reqt"] if r in s["reqt"] or r not in bs.SEMI.get(dom, ())]
            s["req_tries"] = {}
        s["venue"] = name.lower()

    @staticmethod
    def _switch_info(s: dict[str, Any]) -> None:
        """``fail_info`` met a no-offer: ask ``info`` instead (slots only ``fail_info`` had become dontcare)."""
        extra = {k: "dontcare" for k in s["cons"] if k not in s["info"] and k in s["told"]}
        s["cons"], s["fail_phase"], s["switched"] = {**extra, **s["info"]}, False, True

    @staticmethod
    def _relax(s: dict[str, Any], asked: list[str]) -> None:
        """``info`` itself met a no-offer: let go of the slot the bot asked about, else the last told."""
        slots = [g for g in asked if s["cons"].get(g, "dontcare") != "dontcare"]
        if not slots:
            told = [k for k in s["told"] if s["cons"].get(k, "dontcare") != "dontcare"]
            slots = told[-1:]
        for g in slots:
            s["cons"][g] = "dontcare"

    def _answer(self, dom: str, slot: str, acts: DialogueActs) -> None:
        """Answer the bot's question about ``slot`` from the goal (``dontcare`` where it has none)."""
        s = self.state["dom"][dom]
        if slot in s["cons"]:
            value = s["cons"][slot]
        elif slot in s["book_target"]:
            value = s["book_target"][slot]
            s["book_told"][slot] = value
            add_act(acts, dom, "Inform", [[_act_slot(slot), value]])
            return
        elif slot in (LEAVE_AT, ARRIVE_BY) and ({LEAVE_AT, ARRIVE_BY} - {slot}) & set(s["cons"]):
            slot = ARRIVE_BY if slot == LEAVE_AT else LEAVE_AT
            value = s["cons"][slot]
        else:
            value = "dontcare"
        s["told"][slot] = value
        add_act(acts, dom, "Inform", [[_act_slot(slot), value]])

    # -- deciding the next acts ---------------------------------------------------------------
    def _rng(self, what: str) -> random.Random:
        return random.Random(f"{self.state['seed']}:{self.state['turn']}:{what}")

    def _p_greet(self) -> float:
        return 0.4 if self.state["traits"]["style"] in ("polite and formal", "chatty") else 0.2

    def _how_many(self) -> int:
        """Slots one turn informs: 1-3, more for talkative or hurried users."""
        verbosity, patience = self.state["traits"]["verbosity"], self.state["traits"]["patience"]
        choices = {"terse": (1, 1, 2), "talkative": (2, 3, 3)}.get(verbosity, (1, 2, 2, 3))
        if self._cur() == RIDE:  # a taxi is asked for bit by bit
            choices = (1, 1, 2)
        n = self._rng("many").choice(choices)
        return min(4, n + (1 if patience == "in a hurry" else 0))

    def _p_rest(self) -> float:
        """How likely an answer to the desk's question also gives every constraint still unsaid."""
        p = {"terse": 0.45, "talkative": 0.85}.get(self.state["traits"]["verbosity"], 0.7)
        return min(0.95, p + (0.15 if self.state["traits"]["patience"] == "in a hurry" else 0.0))

    def _hurried(self, what: str, p: float) -> bool:
        if self.state["traits"]["patience"] == "in a hurry":
            p += 0.25
        return self._rng(what).random() < p

    @staticmethod
    def _untold(s: dict[str, Any]) -> list[str]:
        slots = [k for k, v in s["cons"].items() if s["told"].get(k) != v]
        return sorted(slots, key=lambda k: _FIRST.index(k) if k in _FIRST else len(_FIRST))

    def _start_domain(self) -> None:
        """Taxi: departure and destination the goal leaves open are the venues of earlier domains."""
        dom = self._cur()
        if dom != RIDE:
            return
        s, doms = self.state["dom"][RIDE], self.state["dom"]
        for k, d in s.get("endpoint_of", {}).items():
            if doms.get(d, {}).get("venue"):
                s["cons"][k] = str(doms[d]["venue"]).lower()
        places = [doms[d]["venue"] for d in self.state["order"] if d in PLACE_DOMAINS and doms[d]["venue"]]
        if ORIGIN in s["cons"] and DESTINATION in s["cons"]:
            return
        if len(places) < 2:
            places = (places or [FALLBACK_PLACE]) + [FALLBACK_PLACE]
            if places[0] == places[1] == FALLBACK_PLACE:
                places[0] = "the city centre"
        a, b = places[0], places[1]
        rest_time = doms.get(TABLE, {}).get("book", {}).get("time")
        restaurant = doms.get(TABLE, {}).get("venue")
        if restaurant in (a, b) and rest_time and s["cons"].get(ARRIVE_BY) == rest_time:
            a, b = (b, a) if a == restaurant else (a, b)
        elif self._rng("taxi-direction").random() < 0.5:
            a, b = b, a
        taxi = {ORIGIN: a, DESTINATION: b}
        for k in (ORIGIN, DESTINATION):
            s["cons"].setdefault(k, taxi[k])
        s["cons"] = {k: s["cons"][k] for k in (ORIGIN, DESTINATION, LEAVE_AT, ARRIVE_BY) if k in s["cons"]}

    def _step(self, acts: DialogueActs, answered: bool = False) -> None:
        """Inform constraints, then book, then request; a finished domain hands over to the next.

        ``answered``: this turn already answers the bot's question (then it adds less).
        """
        dom = self._cur()
        if dom is None:
            self._close(acts)
            return
        s = self.state["dom"][dom]
        s["turns"] += 1
        if s["turns"] > MAX_DOMAIN_TURNS:
            s["gave_up"] = True
            return self._next_domain(acts)
        untold = self._untold(s)
        if untold:
            # Right after a no-offer the User says at once what else would do; a venue just named is
            # checked against everything still unsaid at once (readers found one a turn mechanical).
            at_once = s.pop("switched", False) or (self.state.get("desk_named", False) and not answered)
            if answered and not at_once:
                # Answering the desk's question, people add what else matters rather than wait to be
                # asked for each (readers found constraints drip-fed after a venue named mechanical).
                at_once = self._rng("rest").random() < self._p_rest()
            n = len(untold) if at_once else self._how_many() - (1 if answered else 0)
            if n <= 0:
                return
            take = untold[:n]
            add_act(acts, dom, "Inform", [[_act_slot(k), s["cons"][k]] for k in take])
            s["told"].update({k: s["cons"][k] for k in take})
            return
        need_book = bool(s["book_target"]) and not s["booked"] and not s["book_failed"]
        if need_book:
            untold_b = [k for k, v in s["book_target"].items() if s["book_told"].get(k) != v]
            if untold_b or not answered:
                take = untold_b or list(s["book_target"])
                if untold_b and len(untold_b) == 3 and self.state["traits"]["verbosity"] == "terse":
                    take = untold_b[:2]
                add_act(acts, dom, "Inform", [[_act_slot(k), s["book_target"][k]] for k in take])
                s["book_told"].update({k: s["book_target"][k] for k in take})
                if s["reqt"] and self._hurried("book+reqt", 0.35):
                    self._request(dom, s, acts, len(s["reqt"]))
            return
        askable = [r for r in s["reqt"] if s["req_tries"].get(r, 0) < 3]
        if askable:
            if not answered:
                n = len(s["reqt"]) if self._rng("reqt").random() < 0.75 else max(1, len(s["reqt"]) // 2)
                self._request(dom, s, acts, n)
            return
        if answered:
            return
        self._next_domain(acts)

    def _request(self, dom: str, s: dict[str, Any], acts: DialogueActs, n: int) -> None:
        """Ask up to ``n`` open attributes; one asked three times unanswered is not asked again."""
        asked = [r for r in s["reqt"] if s["req_tries"].get(r, 0) < 3][:n]
        for r in asked:
            s["req_tries"][r] = s["req_tries"].get(r, 0) + 1
        if asked:
            add_act(acts, dom, "Request", [[_act_slot(r), "?"] for r in asked])

    def _next_domain(self, acts: DialogueActs) -> None:
        # The desk named the finished domain's venue, not one of the next domain's.
        self.state["desk_named"] = False
        self.state["dom"][self._cur()]["done"] = True
        self.state["cur"] += 1
        self._start_domain()
        self._step(acts)

    def _close(self, acts: DialogueActs) -> None:
        """Thanks and goodbye at once, or thanks first and goodbye after the bot's answer."""
        add_act(acts, "general", "thank")
        style = self.state["traits"]["style"]
        p_split = {"chatty": 0.6, "polite and formal": 0.5}.get(style, 0.4)
        if self.state["traits"]["patience"] == "in a hurry":
            p_split = 0.2
        if self.state.get("desk_asked_more"):
            # The desk has just asked "anything else?": a bare thanks would have it ask again.
            p_split = 0.0
        if self._rng("close").random() < p_split:
            self.state["stage"] = "closing"
        else:
            add_act(acts, "general", "bye")
            self.state["stage"] = "done"
