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
from goalconvo.agents.guided.acts import ACT_SLOT, DialogueActs, add_act, split_key
from goalconvo.core.records import Goal
from goalconvo.core.venues import VenueDB, booking_reference

#: Slots the bot may ask to narrow a search, per domain, in the order it prefers.
ASKABLE: dict[str, tuple[str, ...]] = {
    "restaurant": ("food", "area", "pricerange"),
    "hotel": ("area", "pricerange", "type", "stars"),
    "attraction": ("type", "area"),
}
#: Attributes that describe a venue when it is offered (those the User informed, and the type).
DESCRIBE: dict[str, tuple[str, ...]] = {
    "restaurant": ("food", "pricerange", "area"),
    "hotel": ("type", "pricerange", "area", "stars", "parking", "internet"),
    "attraction": ("type", "area"),
}
#: Domains whose bookings go through ``Booking-*`` acts.
BOOKING_DOMAINS = ("restaurant", "hotel")
_ALL = 10**6
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


def _pair(domain: str, slot: str, value: Any) -> list[str]:
    act_slot = "Time" if slot == "duration" else ACT_SLOT.get(slot, slot.capitalize())
    return [act_slot, str(value)]


def _hhmm(t: str) -> str:
    m = re.match(r"^(\d{1,2})[:.](\d{2})", t.strip())
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else t


def _same_name(a: str, b: str) -> bool:
    x, y = re.sub(r"^the ", "", a.lower().strip()), re.sub(r"^the ", "", b.lower().strip())
    return x == y or difflib.SequenceMatcher(None, x, y).ratio() >= 0.85


class BotPolicy:
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
        key = "trainID" if domain == "train" else "name"
        for row in self.db.tables.get(domain, []):
            if str(row.get(key, "")).lower() == name.lower():
                return row
        return None

    def _find_name(self, domain: str, name: str) -> dict[str, Any] | None:
        rows = self.db.tables.get(domain, [])
        exact = [r for r in rows if _same_name(str(r.get("name", "")), name)]
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
        if slot in ("name", "leaveAt", "arriveBy"):
            return value
        known = self.db.all_values(domain, slot)
        if not known or value in known:
            return value
        close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.85)
        return close[0] if close else value

    def _candidates(self, domain: str, semi: dict[str, str]) -> list[dict[str, Any]]:
        return self.db.search(domain, {k: v for k, v in semi.items() if k != "name"}, limit=_ALL)

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
                add_act(out, domain, "NoOffer", [_pair(domain, "name", semi["name"])])
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
                pairs = [_pair(domain, k, venue[k]) for k in sorted(changed) if k in semi and k in venue]
                add_act(out, domain, "Inform", [_pair(domain, "name", venue["name"])] + pairs)
        if venue is None and (changed or reqs):
            cands = self._candidates(domain, semi)
            if not cands:
                self._no_offer(st, domain, semi, out)
                return
            ask = self._slot_to_ask(st, domain, semi, cands)
            if ask and not reqs and not wants_booking:
                st["asked"].setdefault(domain, []).append(ask)
                shared = [k for k in DESCRIBE.get(domain, ()) if k in semi and len({str(r.get(k)) for r in cands}) == 1]
                add_act(out, domain, "Inform", [["Choice", str(len(cands))]] + [_pair(domain, k, cands[0][k]) for k in shared][:3])
                add_act(out, domain, "Request", [_pair(domain, ask, "?")])
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
        pairs = [_pair(domain, "name", venue["name"])]
        if n > 1:
            # The count shares only what the User asked for; the venue's own type goes with its name.
            add_act(out, domain, "Inform", [["Choice", str(n)]] + [_pair(domain, k, venue[k]) for k in cons if k in informed])
            pairs += [_pair(domain, k, venue[k]) for k in cons if k not in informed]
        else:
            pairs += [_pair(domain, k, venue[k]) for k in cons]
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
        add_act(out, domain, "NoOffer", [_pair(domain, k, v) for k, v in semi.items() if k != "name"] or None)
        for slot in reversed(list(semi)):
            rest = {k: v for k, v in semi.items() if k != slot}
            if slot != "name" and self._candidates(domain, rest):
                add_act(out, domain, "Request", [_pair(domain, slot, "?")])
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
            pair = _pair(domain, slot, "unknown" if value == "?" else value)
            if any(pair == p for k, v in out.items() if split_key(k)[0] == domain for p in v):
                continue  # said already in this turn (the train just offered)
            pairs.append(pair)
        if pairs:
            name_key = "Id" if domain == "train" else "Name"
            name = str(row.get("trainID" if domain == "train" else "name"))
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
            add_act(out, "booking", "Request", [_pair(domain, s, "?") for s in missing])
            return
        if book == st.setdefault("refused", {}).get(domain):
            return
        refused = self._refused(st, domain, book)
        if refused:
            st["refused"][domain] = dict(book)
            add_act(out, "booking", "NoBook", [_pair(domain, k, book[k]) for k in bs.BOOK[domain] if k in refused or k == "day"])
            add_act(out, "booking", "Request", [_pair(domain, k, "?") for k in refused])
            return
        ref = self._reference(st, domain)
        st["booked"].setdefault(domain, []).append({"name": venue["name"], "reference": ref})
        st["book_done"][domain] = dict(book)
        add_act(out, "booking", "Book", [["Name", venue["name"]], ["Ref", ref]])

    # -- trains ----------------------------------------------------------------------
    def _train(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """Ask route and day, then a time if many trains; offer one; answer; book with a reference.

        Reads: ``belief["train"]``, ``venue["train"]``. Adds: ``venue["train"]``, ``booked["train"]``.
        """
        known = st["belief"].get("train", {}).get("semi", {})
        semi = self._semi(st, "train")
        train = self._row("train", st["venue"].get("train"))
        missing = [s for s in ("departure", "destination", "day") if s not in known]
        if missing and train is None:
            n = 2 if self._rng(st, "train-ask").random() < 0.3 else 1
            add_act(out, "train", "Request", [_pair("train", s, "?") for s in missing[:n]])
            return
        route = {k: semi[k] for k in ("departure", "destination", "day") if k in semi}
        if train is not None and changed & set(bs.SEMI["train"]):
            if not self._train_fits(train, semi) or any(train.get(k) != v for k, v in route.items()):
                train = None
        if train is None:
            cands = self.db.search("train", route, limit=_ALL)
            if not cands:
                add_act(out, "train", "NoOffer", [_pair("train", k, v) for k, v in route.items()])
                if "day" in route:
                    add_act(out, "train", "Request", [["Day", "?"]])
                return
            timed = "leaveAt" in known or "arriveBy" in known
            if not timed and "leaveAt" not in st["asked"].get("train", []) and len(cands) > 1 and not reqs:
                st["asked"].setdefault("train", []).append("leaveAt")
                add_act(out, "train", "Inform", [["Choice", str(len(cands))]])
                slot = "arriveBy" if self._rng(st, "time").random() < 0.3 else "leaveAt"
                add_act(out, "train", "Request", [_pair("train", slot, "?")])
                return
            fits = [t for t in cands if self._train_fits(t, semi)]
            if fits:
                train = self._pick_train(fits, semi)
            else:
                self._train_no_offer(semi, out)
                train = max(cands, key=lambda t: t["leaveAt"]) if "leaveAt" in semi else min(cands, key=lambda t: t["arriveBy"])
            st["venue"]["train"] = train["trainID"]
            if len(fits) > 1:
                add_act(out, "train", "Inform", [["Choice", str(len(fits))]])
            add_act(out, "train", "Inform", [["Id", train["trainID"]], ["Leave", train["leaveAt"]], ["Arrive", train["arriveBy"]]])
            self._named(st, "train", train["trainID"])
            if "people" not in st["belief"].get("train", {}).get("book", {}):
                add_act(out, "train", "OfferBook")
        self._answer(st, "train", train, reqs, out)
        book = st["belief"].get("train", {}).get("book", {})
        if book.get("people") and book != st["book_done"].get("train"):
            ref = self._reference(st, "train")
            st["booked"].setdefault("train", []).append({"trainID": train["trainID"], "reference": ref})
            st["book_done"]["train"] = dict(book)
            add_act(out, "train", "OfferBooked", [["Id", train["trainID"]], ["Ref", ref], ["Ticket", self._total(train, book["people"])]])

    @staticmethod
    def _train_fits(t: dict[str, Any], semi: dict[str, str]) -> bool:
        leave, arrive = semi.get("leaveAt"), semi.get("arriveBy")
        return (not leave or t["leaveAt"] >= _hhmm(leave)) and (not arrive or t["arriveBy"] <= _hhmm(arrive))

    @staticmethod
    def _pick_train(fits: list[dict[str, Any]], semi: dict[str, str]) -> dict[str, Any]:
        if "leaveAt" in semi:
            return min(fits, key=lambda t: t["leaveAt"])
        if "arriveBy" in semi:
            return max(fits, key=lambda t: t["arriveBy"])
        return min(fits, key=lambda t: t["leaveAt"])

    @staticmethod
    def _train_no_offer(semi: dict[str, str], out: DialogueActs) -> None:
        pairs = [_pair("train", s, semi[s]) for s in ("leaveAt", "arriveBy") if s in semi]
        add_act(out, "train", "NoOffer", pairs)

    @staticmethod
    def _total(train: dict[str, Any], people: str) -> str:
        m = re.match(r"([\d.]+)", str(train.get("price", "")))
        if not m or not people.isdigit():
            return str(train.get("price", ""))
        return f"{float(m.group(1)) * int(people):.2f} pounds"

    # -- taxi, police, hospital ----------------------------------------------------------
    def _taxi(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """Ask departure, destination and a time; then book a car (type and phone).

        Reads: ``belief["taxi"]``. Adds: ``booked["taxi"]``.
        """
        known = st["belief"].get("taxi", {}).get("semi", {})
        missing = [s for s in ("departure", "destination") if s not in known]
        if "leaveAt" not in known and "arriveBy" not in known:
            missing.append("leaveAt")
        if missing:
            add_act(out, "taxi", "Request", [_pair("taxi", s, "?") for s in missing[:1]])
            return
        semi = {s: known[s] for s in bs.SEMI["taxi"] if s in known}
        if not st["booked"].get("taxi") or st["book_done"].get("taxi") != semi:
            car = self.db.taxi_for(f"{self.dialogue_id}:taxi:{len(st['booked'].get('taxi', []))}")
            st["booked"].setdefault("taxi", []).append({"type": car["car type"], "phone": car["phone"]})
            st["book_done"]["taxi"] = semi
            add_act(out, "taxi", "Inform", [["Car", car["car type"]], ["Phone", car["phone"]]])
        elif reqs:
            car = st["booked"]["taxi"][-1]
            pairs = [["Car", car["type"]]] if "car type" in reqs else []
            pairs += [["Phone", car["phone"]]] if "phone" in reqs else []
            add_act(out, "taxi", "Inform", pairs or None)

    def _police(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """The police station: its name, and what was asked (address, phone, postcode)."""
        rows = self.db.tables.get("police", [])
        if not rows:
            add_act(out, "police", "NoOffer")
            return
        row = {k.lower(): v for k, v in rows[0].items()}
        if st.get("named", {}).get("police") != str(row["name"]).lower() or "name" in reqs:
            add_act(out, "police", "Inform", [["Name", row["name"]]])
            self._named(st, "police", row["name"])
        self._answer(st, "police", row, [r for r in reqs if r != "name"], out)
        if not out:
            add_act(out, "police", "Inform", [["Name", row["name"]]])

    def _hospital(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """The hospital: the department's phone; address and postcode are the hospital's.

        Reads: ``belief["hospital"]["semi"]["department"]``.
        """
        rows = self.db.tables.get("hospital", [])
        known = st["belief"].get("hospital", {}).get("semi", {})
        dept = known.get("department")
        if not rows:
            add_act(out, "hospital", "NoOffer")
            return
        if dept is None and "phone" in reqs and "department" not in st["asked"].get("hospital", []):
            st["asked"].setdefault("hospital", []).append("department")
            add_act(out, "hospital", "Request", [["Department", "?"]])
            return
        row = next((r for r in rows if dept and _same_name(r["department"], dept)), None)
        if dept not in (None, "dontcare") and row is None:
            add_act(out, "hospital", "NoOffer", [["Department", dept]])
            return
        row = row or rows[0]
        first = st.get("named", {}).get("hospital") != str(row["department"]).lower()
        pairs = [["Department", row["department"]]] if first and ("phone" in reqs or dept) else []
        self._named(st, "hospital", row["department"])
        for slot in reqs:
            if slot in row and slot != "department":
                pairs.append(_pair("hospital", slot, row[slot]))
        add_act(out, "hospital", "Inform", pairs or [["Department", row["department"]]])
