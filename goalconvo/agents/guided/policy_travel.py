"""The desk's policy for the MultiWOZ domains that are not venue searches: trains, taxis, police, hospital.

A mixin of :class:`policy.BotPolicy` (split out to keep each file one job): it uses the policy's
database, belief helpers and answer step (``_semi``, ``_row``, ``_rng``, ``_named``, ``_answer``,
``_reference``), and keeps to the same state keys.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from goalconvo.agents.guided import belief as bs
from goalconvo.agents.guided.acts import DialogueActs, add_act
from goalconvo.agents.guided.policy_helpers import ALL_ROWS, act_pair, hhmm, same_name
from goalconvo.core.roles import (
    ARRIVE_BY, CAR_TYPE, DEPARTMENT, DEPARTMENT_DESK, DESTINATION, LEAVE_AT, OFFICE, ORIGIN, RIDE,
    TIMETABLE, TIMETABLE_ID,
)

if TYPE_CHECKING:
    from goalconvo.core.venues import VenueDB


class TravelPolicy:
    """Trains (route, day, time; a ticket total), taxis (a car booked), the police station and the hospital."""

    db: "VenueDB"
    dialogue_id: str

    # -- trains ----------------------------------------------------------------------
    def _train(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """Ask route and day, then a time if many trains; offer one; answer; book with a reference.

        Reads: ``belief["train"]``, ``venue["train"]``. Adds: ``venue["train"]``, ``booked["train"]``.
        """
        known = st["belief"].get(TIMETABLE, {}).get("semi", {})
        semi = self._semi(st, TIMETABLE)
        train = self._row(TIMETABLE, st["venue"].get(TIMETABLE))
        missing = [s for s in (ORIGIN, DESTINATION, "day") if s not in known]
        if missing and train is None:
            n = 2 if self._rng(st, "train-ask").random() < 0.3 else 1
            add_act(out, TIMETABLE, "Request", [act_pair(TIMETABLE, s, "?") for s in missing[:n]])
            return
        route = {k: semi[k] for k in (ORIGIN, DESTINATION, "day") if k in semi}
        if train is not None and changed & set(bs.SEMI[TIMETABLE]):
            if not self._train_fits(train, semi) or any(train.get(k) != v for k, v in route.items()):
                train = None
        if train is None:
            cands = self.db.search(TIMETABLE, route, limit=ALL_ROWS)
            if not cands:
                add_act(out, TIMETABLE, "NoOffer", [act_pair(TIMETABLE, k, v) for k, v in route.items()])
                if "day" in route:
                    add_act(out, TIMETABLE, "Request", [["Day", "?"]])
                return
            timed = LEAVE_AT in known or ARRIVE_BY in known
            if not timed and LEAVE_AT not in st["asked"].get(TIMETABLE, []) and len(cands) > 1 and not reqs:
                st["asked"].setdefault(TIMETABLE, []).append(LEAVE_AT)
                add_act(out, TIMETABLE, "Inform", [["Choice", str(len(cands))]])
                slot = ARRIVE_BY if self._rng(st, "time").random() < 0.3 else LEAVE_AT
                add_act(out, TIMETABLE, "Request", [act_pair(TIMETABLE, slot, "?")])
                return
            fits = [t for t in cands if self._train_fits(t, semi)]
            if fits:
                train = self._pick_train(fits, semi)
            else:
                self._train_no_offer(semi, out)
                train = max(cands, key=lambda t: t[LEAVE_AT]) if LEAVE_AT in semi else min(cands, key=lambda t: t[ARRIVE_BY])
            st["venue"][TIMETABLE] = train[TIMETABLE_ID]
            if len(fits) > 1:
                add_act(out, TIMETABLE, "Inform", [["Choice", str(len(fits))]])
            add_act(out, TIMETABLE, "Inform", [["Id", train[TIMETABLE_ID]], ["Leave", train[LEAVE_AT]], ["Arrive", train[ARRIVE_BY]]])
            self._named(st, TIMETABLE, train[TIMETABLE_ID])
            if "people" not in st["belief"].get(TIMETABLE, {}).get("book", {}):
                add_act(out, TIMETABLE, "OfferBook")
        self._answer(st, TIMETABLE, train, reqs, out)
        book = st["belief"].get(TIMETABLE, {}).get("book", {})
        if book.get("people") and book != st["book_done"].get(TIMETABLE):
            ref = self._reference(st, TIMETABLE)
            st["booked"].setdefault(TIMETABLE, []).append({TIMETABLE_ID: train[TIMETABLE_ID], "reference": ref})
            st["book_done"][TIMETABLE] = dict(book)
            add_act(out, TIMETABLE, "OfferBooked", [["Id", train[TIMETABLE_ID]], ["Ref", ref], ["Ticket", self._total(train, book["people"])]])

    @staticmethod
    def _train_fits(t: dict[str, Any], semi: dict[str, str]) -> bool:
        leave, arrive = semi.get(LEAVE_AT), semi.get(ARRIVE_BY)
        return (not leave or t[LEAVE_AT] >= hhmm(leave)) and (not arrive or t[ARRIVE_BY] <= hhmm(arrive))

    @staticmethod
    def _pick_train(fits: list[dict[str, Any]], semi: dict[str, str]) -> dict[str, Any]:
        if LEAVE_AT in semi:
            return min(fits, key=lambda t: t[LEAVE_AT])
        if ARRIVE_BY in semi:
            return max(fits, key=lambda t: t[ARRIVE_BY])
        return min(fits, key=lambda t: t[LEAVE_AT])

    @staticmethod
    def _train_no_offer(semi: dict[str, str], out: DialogueActs) -> None:
        pairs = [act_pair(TIMETABLE, s, semi[s]) for s in (LEAVE_AT, ARRIVE_BY) if s in semi]
        add_act(out, TIMETABLE, "NoOffer", pairs)

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
        known = st["belief"].get(RIDE, {}).get("semi", {})
        missing = [s for s in (ORIGIN, DESTINATION) if s not in known]
        if LEAVE_AT not in known and ARRIVE_BY not in known:
            missing.append(LEAVE_AT)
        if missing:
            add_act(out, RIDE, "Request", [act_pair(RIDE, s, "?") for s in missing[:1]])
            return
        semi = {s: known[s] for s in bs.SEMI[RIDE] if s in known}
        if not st["booked"].get(RIDE) or st["book_done"].get(RIDE) != semi:
            car = self.db.taxi_for(f"{self.dialogue_id}:taxi:{len(st['booked'].get(RIDE, []))}")
            st["booked"].setdefault(RIDE, []).append({"type": car[CAR_TYPE], "phone": car["phone"]})
            st["book_done"][RIDE] = semi
            add_act(out, RIDE, "Inform", [["Car", car[CAR_TYPE]], ["Phone", car["phone"]]])
        elif reqs:
            car = st["booked"][RIDE][-1]
            pairs = [["Car", car["type"]]] if CAR_TYPE in reqs else []
            pairs += [["Phone", car["phone"]]] if "phone" in reqs else []
            add_act(out, RIDE, "Inform", pairs or None)

    def _police(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """The police station: its name, and what was asked (address, phone, postcode)."""
        rows = self.db.tables.get(OFFICE, [])
        if not rows:
            add_act(out, OFFICE, "NoOffer")
            return
        row = {k.lower(): v for k, v in rows[0].items()}
        if st.get("named", {}).get(OFFICE) != str(row["name"]).lower() or "name" in reqs:
            add_act(out, OFFICE, "Inform", [["Name", row["name"]]])
            self._named(st, OFFICE, row["name"])
        self._answer(st, OFFICE, row, [r for r in reqs if r != "name"], out)
        if not out:
            add_act(out, OFFICE, "Inform", [["Name", row["name"]]])

    def _hospital(self, st: dict[str, Any], domain: str, changed: set[str], reqs: list[str], out: DialogueActs) -> None:
        """The hospital: the department's phone; address and postcode are the hospital's.

        Reads: ``belief["hospital"]["semi"]["department"]``.
        """
        rows = self.db.tables.get(DEPARTMENT_DESK, [])
        known = st["belief"].get(DEPARTMENT_DESK, {}).get("semi", {})
        dept = known.get(DEPARTMENT)
        if not rows:
            add_act(out, DEPARTMENT_DESK, "NoOffer")
            return
        if dept is None and "phone" in reqs and DEPARTMENT not in st["asked"].get(DEPARTMENT_DESK, []):
            st["asked"].setdefault(DEPARTMENT_DESK, []).append(DEPARTMENT)
            add_act(out, DEPARTMENT_DESK, "Request", [["Department", "?"]])
            return
        row = next((r for r in rows if dept and same_name(r[DEPARTMENT], dept)), None)
        if dept not in (None, "dontcare") and row is None:
            add_act(out, DEPARTMENT_DESK, "NoOffer", [["Department", dept]])
            return
        row = row or rows[0]
        first = st.get("named", {}).get(DEPARTMENT_DESK) != str(row[DEPARTMENT]).lower()
        pairs = [["Department", row[DEPARTMENT]]] if first and ("phone" in reqs or dept) else []
        self._named(st, DEPARTMENT_DESK, row[DEPARTMENT])
        for slot in reqs:
            if slot in row and slot != DEPARTMENT:
                pairs.append(act_pair(DEPARTMENT_DESK, slot, row[slot]))
        add_act(out, DEPARTMENT_DESK, "Inform", pairs or [["Department", row[DEPARTMENT]]])
