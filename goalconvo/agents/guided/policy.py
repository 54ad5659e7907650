"""The SupportBot's rule policy: dialogue acts from the venue database and its belief state.

The bot never sees the goal, only the User's acts. Its state is a plain JSON dict
(it travels in each dialogue event) and every step is deterministic given the
state, the dialogue id and the user's acts:

- ``belief``: what the User informed (see :mod:`belief`);
- ``venue``: the venue (or train id) in play per domain; ``booked``: MultiWOZ's
  ``booked`` lists; ``book_done``: the booking values of the last booking per domain;
- ``asked``: slots the bot already asked per domain (it asks at most once per slot);
- ``unavailable``: the booking system's calendar, requests it refuses
  (``[{"domain": "hotel", "slots": {"day": "tuesday"}}]``). This is the world, not the
  goal: MultiWOZ's wizards booked through a widget whose refusals the task set up,
  and :func:`unavailable_from_goal` sets it up the same way from ``fail_book``.
"""

from __future__ import annotations

import copy
import difflib
import random
import re
from typing import Any

from goalconvo.agents.guided import belief as bs
from goalconvo.agents.guided.acts import DialogueActs, add_act, split_key
from goalconvo.agents.guided.policy_helpers import ALL_ROWS, act_pair, same_name
from goalconvo.agents.guided.policy_travel import TravelPolicy
from goalconvo.core.records import Goal
from goalconvo.core.venues import VenueDB, booking_reference
from goalconvo.core.roles import (
    AREA, ARRIVE_BY, CUISINE, INTERNET, LEAVE_AT, LODGING, PARKING, PRICE_RANGE, SIGHT, STARS, TABLE,
    TIMETABLE, TIMETABLE_ID,
)

#: Slots the bot may ask to narrow a search, per domain, in the order it prefers.
ASKABLE: dict[str, tuple[str, ...]] = {
    TABLE: (CUISINE, AREA, PRICE_RANGE),
    LODGING: (AREA, PRICE_RANGE, "type", STARS),
    SIGHT: ("type", AREA),
}
#: Attributes that describe a venue when it is offered (those the User informed, and the type).
DESCRIBE: dict[str, tuple[str, ...]] = {
    TABLE: (CUISINE, PRICE_RANGE, AREA),
    LODGING: ("type", PRICE_RANGE, AREA, STARS, PARKING, INTERNET),
    SIGHT: ("type", AREA),
}
#: Domains whose bookings go through ``Booking-*`` acts.
BOOKING_DOMAINS = (TABLE, LODGING)
#: Act slots that answer a User's request (an Inform carrying one is an answer, not an offer).
_ANSWER_SLOTS = ("Addr", "Phone", "Post", "Fee", "Open", "Ref", "Ticket", "Time", "Leave", "Arrive", "Car")


def unavailable_from_goal(goal: Goal) -> list[dict[str, Any]]:
    """The booking calendar's refusals: each ``fail_book`` slot that differs from ``book``.

    Reads: ``goal.domains[*].book``, ``fail_book``. This is what the booking system
    refuses, set up from the task as MultiWOZ's collection did; the policy's
    decisions use it like the database, never the rest of the goal.
    """
    out = []
    for domain, g in goal.domains.items():
        slots = {k: v.lower() for k, v in g.fail_book.items() if g.book.get(k, "").lower() != v.lower()}
        if slots:
            out.append({"domain": domain, "slots": slots})
    return out


class BotPolicy(TravelPolicy):
    """Rule policy over a :class:`VenueDB`; ``respond`` is the only step."""

    def __init__(self, db: VenueDB, dialogue_id: str) -> None:
        self.db = db
        self.dialogue_id = dialogue_id

    @staticmethod
    def new_state(unavailable: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A fresh bot state; ``unavailable`` is the booking calendar (see the module doc)."""
        return {
            "turn": 0, "belief": {}, "venue": {}, "booked": {}, "book_done": {},
            "asked": {}, "refused": {}, "unavailable": list(unavailable or []), "done": False,
        }

    # -- the step -----------------------------------------------------------------
    def respond(self, state: dict[str, Any], user_acts: DialogueActs) -> tuple[DialogueActs, dict[str, Any], dict[str, Any]]:
        """The bot's acts for ``user_acts``, its new state and the belief in MultiWOZ ``metadata`` form.

        Reads: the User's ``*-Inform`` / ``*-Request`` / ``general-*`` acts and ``state``.
        Adds: ``belief`` updates, ``venue``, ``booked``, ``asked``; ``done`` after a bye.
        """
        st = copy.deepcopy(state)
        st["turn"] += 1
        informed = bs.update(st["belief"], user_acts)
        requests: dict[str, list[str]] = {}
        order: list[str] = []
        for key, pairs in user_acts.items():
            domain, intent = split_key(key)
            if domain not in bs.SEMI:
                continue
            if domain not in order:
                order.append(domain)
            if intent == "Request":
                requests.setdefault(domain, []).extend(
                    s for a, _ in pairs if (s := bs.goal_slot(domain, a)) is not None
                )
        out: DialogueActs = {}
        offered_before = dict(st.get("named", {}))
        for domain in order:
            changed = {s for d, s, _ in informed if d == domain}
            getattr(self, f"_{domain}")(st, domain, changed, requests.get(domain, []), out)
            self._taken_up(st, domain, offered_before, bool(requests.get(domain)) or bool(changed & set(bs.BOOK[domain])))
        self._general(st, user_acts, out, bool(order))
        return out, st, bs.metadata(st["belief"], st["booked"])

    @staticmethod
    def _taken_up(st: dict[str, Any], domain: str, offered: dict[str, str], engaged: bool) -> None:
        """The belief state names a venue the desk offered once the User takes it up (asks about it or
        books it), as MultiWOZ's annotators labelled it; the search itself never reads that name."""
        venue = st["venue"].get(domain)
        if domain in DESCRIBE and engaged and venue and offered.get(domain) == str(venue).lower():
            st["belief"].setdefault(domain, {"semi": {}, "book": {}})["semi"].setdefault("name", str(venue).lower())

    def _rng(self, st: dict[str, Any], what: str) -> random.Random:
        return random.Random(f"{self.dialogue_id}:{st['turn']}:{what}")

    def _general(self, st: dict[str, Any], user_acts: DialogueActs, out: DialogueActs, had_domain: bool) -> None:
        """Closing, greetings and ``reqmore`` after an answer or a booking."""
        if "general-bye" in user_acts:
            if "general-thank" in user_acts:
                add_act(out, "general", "welcome")
            add_act(out, "general", "bye")
            st["done"] = True
            return
        if not had_domain:
            if "general-thank" in user_acts:
                add_act(out, "general", "welcome")
            elif "general-greet" in user_acts:
                add_act(out, "general", "greet")
            add_act(out, "general", "reqmore")
            return
        if not out:
            add_act(out, "general", "reqmore")
            return
        waiting = any(split_key(k)[1] in ("Request", "OfferBook", "NoOffer", "NoBook", "Recommend", "Select") for k in out)
        waiting = waiting or "Booking-Inform" in out
        # A venue just offered (named with no answer asked for) waits for the User's word on it.
        waiting = waiting or any(split_key(k)[1] == "Inform" and split_key(k)[0] in DESCRIBE and any(p[0] == "Name" for p in v)
                                 and not any(p[0] in _ANSWER_SLOTS for p in v) for k, v in out.items())
        if not waiting:
            add_act(out, "general", "reqmore")

    # -- venues: restaurant, hotel, attraction ------------------------------------
    def _row(self, domain: str, name: str | None) -> dict[str, Any] | None:
        if not name:
            return None
        key = TIMETABLE_ID if domain == TIMETABLE else "name"
        for row in self.db.tables.get(domain, []):
            if str(row.get(key, "")).lower() == name.lower():
                return row
        return None

    def _find_name(self, domain: str, name: str) -> dict[str, Any] | None:
        rows = self.db.tables.get(domain, [])
        exact = [r for r in rows if same_name(str(r.get("name", "")), name)]
        if exact:
            return exact[0]
        word = re.compile(rf"\b{re.escape(name.lower())}\b")
        part = [r for r in rows if word.search(str(r.get("name", "")).lower())]
        return part[0] if part else None

    def _semi(self, st: dict[str, Any], domain: str) -> dict[str, str]:
        """The informed constraints, each as the database spells it (a wizard reads past typos)."""
        semi = st["belief"].get(domain, {}).get("semi", {})
        return {k: self._canonical(domain, k, v) for k, v in semi.items() if v not in ("dontcare", "")}

    def _canonical(self, domain: str, slot: str, value: str) -> str:
        if slot in ("name", LEAVE_AT, ARRIVE_BY):
            return value
        known = self.db.all_values(domain, slot)
        if not known or value in known:
            return value
        close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.85)
        return close[0] if close else value

    def _candidates(self, domain: str, semi: dict[str, str]) -> list[dict[str, Any]]:
        return self.db.search(domain, {k: v for k, v in semi.items() if k != "name"}, limit=ALL_ROWS)

    def _matches(self, domain: str, row: dict[str, Any], semi: dict[str, str]) -> bool:
        return any(r is row for r in self._candidates(domain, semi))

    def _venue_domain(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """Search, ask, recommend or no-offer; then answer requests and book.

        Reads: ``belief[domain]``, ``venue[domain]``, ``asked[domain]``. Adds: ``venue[domain]``.
        """
        semi = self._semi(st, domain)
        venue = self._row(domain, st["venue"].get(domain))
        wants_booking = bool(changed & set(bs.BOOK[domain])) or self._booking_pending(st, domain)
        if "name" in changed and "name" in semi:
            venue = self._find_name(domain, semi["name"])
            if venue is None:
                add_act(out, domain, "NoOffer", [act_pair(domain, "name", semi["name"])])
                st["venue"].pop(domain, None)
                return
            st["venue"][domain] = venue["name"]
            if not reqs and not wants_booking:
                self._offer(st, domain, venue, 1, "Inform", out)
        elif venue is not None and changed & set(bs.SEMI[domain]):
            if not self._matches(domain, venue, semi):
                venue = None
                st["venue"].pop(domain, None)
            elif not reqs and not wants_booking:
                # The venue in play still fits: confirm it on the slots just given.
                pairs = [act_pair(domain, k, venue[k]) for k in sorted(changed) if k in semi and k in venue]
                add_act(out, domain, "Inform", [act_pair(domain, "name", venue["name"])] + pairs)
        if venue is None and (changed or reqs):
            cands = self._candidates(domain, semi)
            if not cands:
                self._no_offer(st, domain, semi, out)
                return
            ask = self._slot_to_ask(st, domain, semi, cands)
            if ask and not reqs and not wants_booking:
                st["asked"].setdefault(domain, []).append(ask)
                shared = [k for k in DESCRIBE.get(domain, ()) if k in semi and len({str(r.get(k)) for r in cands}) == 1]
                add_act(out, domain, "Inform", [["Choice", str(len(cands))]] + [act_pair(domain, k, cands[0][k]) for k in shared][:3])
                add_act(out, domain, "Request", [act_pair(domain, ask, "?")])
                return
            rng = self._rng(st, domain)
            venue = cands[rng.randrange(min(3, len(cands)))]
            st["venue"][domain] = venue["name"]
            self._offer(st, domain, venue, len(cands), "Recommend" if len(cands) > 1 else "Inform", out)
            if domain in BOOKING_DOMAINS and not wants_booking and not reqs and rng.random() < 0.4:
                add_act(out, "booking", "Inform")
        if venue is None:
            return
        self._answer(st, domain, venue, reqs, out)
        if domain in BOOKING_DOMAINS and wants_booking:
            self._book(st, domain, venue, out)

    _restaurant = _hotel = _attraction = _venue_domain

    def _slot_to_ask(self, st: dict[str, Any], domain: str, semi: dict[str, str], cands: list[dict[str, Any]]) -> str | None:
        """A constraint worth asking: unknown, splits the candidates, not asked before; one ask per domain."""
        asked = st["asked"].get(domain, [])
        known = st["belief"].get(domain, {}).get("semi", {})
        if asked or len(cands) <= 3:
            return None
        for slot in ASKABLE.get(domain, ()):
            if slot not in known and len({str(r.get(slot)) for r in cands}) > 1:
                return slot
        return None

    def _offer(self, st: dict[str, Any], domain: str, venue: dict[str, Any], n: int, intent: str, out: DialogueActs) -> None:
        """Name a venue: with several matches, their count and the constraints they share first
        ("I have 5 cheap guesthouses in the north. How about X?"), else the venue with them."""
        cons = self._described(st, domain, venue)
        informed = set(self._semi(st, domain))
        pairs = [act_pair(domain, "name", venue["name"])]
        if n > 1:
            # The count shares only what the User asked for; the venue's own type goes with its name.
            add_act(out, domain, "Inform", [["Choice", str(n)]] + [act_pair(domain, k, venue[k]) for k in cons if k in informed])
            pairs += [act_pair(domain, k, venue[k]) for k in cons if k not in informed]
        else:
            pairs += [act_pair(domain, k, venue[k]) for k in cons]
        add_act(out, domain, intent, pairs)
        self._named(st, domain, venue["name"])

    def _described(self, st: dict[str, Any], domain: str, venue: dict[str, Any]) -> list[str]:
        """The constraints a venue is described by: those informed, and its type (a guesthouse is
        never called a hotel)."""
        semi = self._semi(st, domain)
        cons = [k for k in DESCRIBE.get(domain, ()) if k in semi and k in venue][:3]
        if set(semi) <= {"name"}:  # looked up by name: say what it is
            cons = [k for k in DESCRIBE.get(domain, ()) if venue.get(k) not in (None, "", "?")][:3]
        if "type" in DESCRIBE.get(domain, ()) and "type" not in cons and venue.get("type"):
            cons.insert(0, "type")
        return cons

    @staticmethod
    def _named(st: dict[str, Any], domain: str, name: str) -> None:
        """Remember the venue (or train) the bot last named per domain: answers about it need not name it again."""
        st.setdefault("named", {})[domain] = str(name).lower()

    def _no_offer(self, st: dict[str, Any], domain: str, semi: dict[str, str], out: DialogueActs) -> None:
        """No venue: say which constraints fail and ask to relax one that would give matches."""
        add_act(out, domain, "NoOffer", [act_pair(domain, k, v) for k, v in semi.items() if k != "name"] or None)
        for slot in reversed(list(semi)):
            rest = {k: v for k, v in semi.items() if k != slot}
            if slot != "name" and self._candidates(domain, rest):
                add_act(out, domain, "Request", [act_pair(domain, slot, "?")])
                return

    def _answer(self, st: dict[str, Any], domain: str, row: dict[str, Any], reqs: list[str], out: DialogueActs) -> None:
        """Inform each requested attribute from the venue in play (``unknown`` where the database has ``?``)."""
        pairs = []
        for slot in reqs:
            if slot == "reference":
                done = st["booked"].get(domain)
                if done:
                    pairs.append(["Ref", done[-1]["reference"]])
                continue
            value = row.get(slot)
            if value is None or isinstance(value, (dict, list)):
                continue
            pair = act_pair(domain, slot, "unknown" if value == "?" else value)
            if any(pair == p for k, v in out.items() if split_key(k)[0] == domain for p in v):
                continue  # said already in this turn (the train just offered)
            pairs.append(pair)
        if pairs:
            name_key = "Id" if domain == TIMETABLE else "Name"
            name = str(row.get(TIMETABLE_ID if domain == TIMETABLE else "name"))
            said = any(p[0] == name_key for k, v in out.items() if k.startswith(domain.capitalize()) for p in v)
            if not said and st.get("named", {}).get(domain) != name.lower():
                pairs.insert(0, [name_key, name])
                self._named(st, domain, name)
            add_act(out, domain, "Inform", pairs)

    # -- bookings ------------------------------------------------------------------
    def _booking_pending(self, st: dict[str, Any], domain: str) -> bool:
        book = st["belief"].get(domain, {}).get("book", {})
        return bool(book) and book != st["book_done"].get(domain)

    def _refused(self, st: dict[str, Any], domain: str, book: dict[str, str]) -> dict[str, str] | None:
        for entry in st["unavailable"]:
            if entry["domain"] == domain and all(book.get(k) == v for k, v in entry["slots"].items()):
                return entry["slots"]
        return None

    def _reference(self, st: dict[str, Any], domain: str) -> str:
        n = len(st["booked"].get(domain, []))
        return booking_reference(self.dialogue_id if n == 0 else f"{self.dialogue_id}#{n}", domain)

    def _book(self, st: dict[str, Any], domain: str, venue: dict[str, Any], out: DialogueActs) -> None:
        """Booking-Request missing slots, Booking-NoBook where the calendar refuses, else Booking-Book + Ref."""
        book = st["belief"].get(domain, {}).get("book", {})
        if book == st["book_done"].get(domain):
            return
        missing = [s for s in bs.BOOK[domain] if s not in book]
        if missing:
            add_act(out, "booking", "Request", [act_pair(domain, s, "?") for s in missing])
            return
        if book == st.setdefault("refused", {}).get(domain):
            return
        refused = self._refused(st, domain, book)
        if refused:
            st["refused"][domain] = dict(book)
            add_act(out, "booking", "NoBook", [act_pair(domain, k, book[k]) for k in bs.BOOK[domain] if k in refused or k == "day"])
            add_act(out, "booking", "Request", [act_pair(domain, k, "?") for k in refused])
            return
        ref = self._reference(st, domain)
        st["booked"].setdefault(domain, []).append({"name": venue["name"], "reference": ref})
        st["book_done"][domain] = dict(book)
        add_act(out, "booking", "Book", [["Name", venue["name"]], ["Ref", ref]])
