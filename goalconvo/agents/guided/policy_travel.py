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
        known = st["belief"].get("train", {}).get("semi", {})
        semi = self._semi(st, "train")
        train = self._row("train", st["venue"].get("train"))
        missing = [s for s in ("departure", "destination", "day") if s not in known]
        if missing and train is None:
            n = 2 if self._rng(st, "train-ask").random() < 0.3 else 1
            add_act(out, "train", "Request", [act_pair("train", s, "?") for s in missing[:n]])
            return
        route = {k: semi[k] for k in ("departure", "destination", "day") if k in semi}
        if train is not None and changed & set(bs.SEMI["train"]):
            if not self._train_fits(train, semi) or any(train.get(k) != v for k, v in route.items()):
                train = None
        if train is None:
            cands = self.db.search("train", route, limit=ALL_ROWS)
            if not cands:
                add_act(out, "train", "NoOffer", [act_pair("train", k, v) for k, v in route.items()])
                if "day" in route:
                    add_act(out, "train", "Request", [["Day", "?"]])
                return
            timed = "leaveAt" in known or "arriveBy" in known
            if not timed and "leaveAt" not in st["asked"].get("train", []) and len(cands) > 1 and not reqs:
                st["asked"].setdefault("train", []).append("leaveAt")
                add_act(out, "train", "Inform", [["Choice", str(len(cands))]])
                slot = "arriveBy" if self._rng(st, "time").random() < 0.3 else "leaveAt"
                add_act(out, "train", "Request", [act_pair("train", slot, "?")])
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
        return (not leave or t["leaveAt"] >= hhmm(leave)) and (not arrive or t["arriveBy"] <= hhmm(arrive))

    @staticmethod
    def _pick_train(fits: list[dict[str, Any]], semi: dict[str, str]) -> dict[str, Any]:
        if "leaveAt" in semi:
            return min(fits, key=lambda t: t["leaveAt"])
        if "arriveBy" in semi:
            return max(fits, key=lambda t: t["arriveBy"])
        return min(fits, key=lambda t: t["leaveAt"])

    @staticmethod
    def _train_no_offer(semi: dict[str, str], out: DialogueActs) -> None:
        pairs = [act_pair("train", s, semi[s]) for s in ("leaveAt", "arriveBy") if s in semi]
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
            add_act(out, "taxi", "Request", [act_pair("taxi", s, "?") for s in missing[:1]])
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
        row = next((r for r in rows if dept and same_name(r["department"], dept)), None)
        if dept not in (None, "dontcare") and row is None:
            add_act(out, "hospital", "NoOffer", [["Department", dept]])
            return
        row = row or rows[0]
        first = st.get("named", {}).get("hospital") != str(row["department"]).lower()
        pairs = [["Department", row["department"]]] if first and ("phone" in reqs or dept) else []
        self._named(st, "hospital", row["department"])
        for slot in reqs:
            if slot in row and slot != "department":
                pairs.append(act_pair("hospital", slot, row[slot]))
        add_act(out, "hospital", "Inform", pairs or [["Department", row["department"]]])
