"""The desk of a pack dialogue: a policy over the pack's schema and services, never the goal.

It tracks what the User said per service (its belief state), asks for an intent's missing
required slots, searches and offers, confirms a transaction before making it, reports what a
call did (SGD's NOTIFY_SUCCESS / NOTIFY_FAILURE with an alternative), answers requests, walks a
diagnosis table one question at a time, and opens the table's fallback (a ticket) when no step
fixes the fault.
"""

from __future__ import annotations

from typing import Any

from goalconvo.agents.pack import acts as A
from goalconvo.agents.pack.acts import Act
from goalconvo.agents.pack.world import DONTCARE, World
from goalconvo.packs.model import Intent, Pack, Service


def offer_slot(pack: Pack, service: Service, intent: Intent) -> str:
    """The slot that names what a search found: the one a later booking takes, else the first name-like column."""
    columns = {c for r in pack.entities.get(service.name, ()) for c in r}
    booked = {s for i in service.intents if i.is_transactional for s in i.required_slots}
    candidates = [s for s in intent.result_slots if s in columns and not (service.slot(s) and service.slot(s).is_categorical)]  # type: ignore[union-attr]
    for s in candidates:
        if s in booked:
            return s
    return candidates[0] if candidates else (intent.result_slots[0] if intent.result_slots else "")


class Desk:
    def __init__(self, pack: Pack, world: World, state: dict[str, Any] | None = None):
        self.pack = pack
        self.world = world
        s = state or {}
        self.service: str = s.get("service", "")
        self.intent: str = s.get("intent", "")
        self.belief: dict[str, dict[str, str]] = s.get("belief", {})
        self.offered: dict[str, dict[str, str]] = s.get("offered", {})
        self.results: dict[str, dict[str, str]] = s.get("results", {})
        self.awaiting: str = s.get("awaiting", "")
        self.shown: dict[str, int] = s.get("shown", {})
        #: A refused call's alternative, heard by the User but not yet taken (not the User's belief until it says yes).
        self.alternative: dict[str, str] = s.get("alternative", {})
        #: Services whose transaction is made: the next intent on one starts from a clean belief.
        self.closed: list[str] = s.get("closed", [])

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "intent": self.intent, "belief": self.belief, "offered": self.offered,
                "results": self.results, "awaiting": self.awaiting, "shown": self.shown, "alternative": self.alternative,
                "closed": self.closed, "world": self.world.to_dict()}

    # -- reading the User ---------------------------------------------------------------------
    def _hear(self, user: list[Act]) -> None:
        if self.awaiting == "alternative" and not A.has(user, A.AFFIRM):
            # The User turned the alternative down: it never becomes what the User asked for.
            self.alternative, self.awaiting = {}, ""
        for a in user:
            if a.act == A.INFORM_INTENT:
                if a.service in self.closed:
                    # A new task on a service whose last one is made: nothing the User said or was offered
                    # carries over (a second transfer is not the first one's amount, a second visit not its
                    # time); what the service made does (the ticket an engineer is then booked for).
                    self.closed.remove(a.service)
                    self.belief.pop(a.service, None)
                    self.offered.pop(a.service, None)
                    self.shown = {k: v for k, v in self.shown.items() if not k.startswith(f"{a.service}:")}
                    made = {k: v for k, v in self.results.pop(a.service, {}).items() if self.pack.rule(a.service, k).generated}
                    if made:
                        self.results[a.service] = made
                self.service, self.intent, self.awaiting = a.service, a.value, ""
                self._carry_offer()
            elif a.act == A.INFORM and a.slot != "fixed":
                self.belief.setdefault(a.service, {})[a.slot] = a.value

    def _carry_offer(self, said: frozenset[str] = frozenset()) -> None:
        """Booking after a search: the offered entity's values fill the booking's slots, but for the
        ``said`` ones: what the User says with its yes is what it means, over the entity offered before."""
        row = {**self.offered.get(self.service, {}), **self.results.get(self.service, {})}
        svc, intent = self._current()
        if row and svc and intent:
            for slot in intent.required_slots:
                if slot in row and slot not in said:
                    # The entity just offered is the one meant, over any named before it.
                    self.belief.setdefault(self.service, {})[slot] = row[slot]

    def _current(self) -> tuple[Service | None, Intent | None]:
        svc = self.pack.service(self.service)
        return svc, svc.intent(self.intent) if svc else None

    # -- answering ------------------------------------------------------------------------------
    def respond(self, user: list[Act]) -> list[Act]:
        """The desk's acts answering the User's last acts."""
        self._hear(user)
        if A.has(user, A.GOODBYE) or A.has(user, A.THANK_YOU) and not A.has(user, A.INFORM_INTENT):
            return [Act(A.GOODBYE, user[0].service)]
        svc, intent = self._current()
        if svc is None or intent is None:
            return [Act(A.REQ_MORE, user[0].service if user else "")]
        if A.has(user, A.SELECT):
            book = next((i for i in svc.intents if i.is_transactional and self.offered.get(svc.name)
                         and any(s in self.offered[svc.name] for s in i.required_slots)), None)
            if book is not None and not intent.is_transactional:
                self.awaiting = "intent:" + book.name
                return [Act(A.OFFER_INTENT, svc.name, "intent", book.name)]
            return [Act(A.REQ_MORE, svc.name)]
        if self.awaiting.startswith("intent:") and A.has(user, A.AFFIRM_INTENT):
            self.intent, self.awaiting = self.awaiting[len("intent:"):], ""
            self._carry_offer(frozenset(a.slot for a in A.named(user, A.INFORM) if a.service == svc.name and a.value))
            svc, intent = self._current()
            return self._next(svc, intent)  # type: ignore[arg-type]
        if A.has(user, A.REQUEST_ALTS):
            return self._search(svc, intent, {**{k: v for k, v in intent.optional_slots.items() if v != DONTCARE}, **self._belief(svc)})
        requests = A.named(user, A.REQUEST)
        if requests:
            return self._answer(svc, [a.slot for a in requests])
        if self.awaiting == "confirm" and A.has(user, A.AFFIRM):
            return self._call(svc, intent)
        if self.awaiting == "alternative" and A.has(user, A.AFFIRM):
            self._belief(svc).update(self.alternative)
            self.alternative = {}
            return self._call(svc, intent)
        if self.awaiting == "step" and A.has(user, A.NEGATE):
            return self._fallback(svc)
        if A.has(user, A.NEGATE) and not A.has(user, A.INFORM_INTENT):
            self.awaiting = ""
            return [Act(A.REQ_MORE, svc.name)]
        return self._next(svc, intent)

    def _belief(self, svc: Service) -> dict[str, str]:
        return self.belief.setdefault(svc.name, {})

    def _next(self, svc: Service, intent: Intent) -> list[Act]:
        belief = self._belief(svc)
        table = self.world.diagnosis(svc.name)
        if table is not None and intent.name not in (table.fallback_intent,) and not intent.is_transactional:
            return self._diagnose(svc, table.asks)
        missing = [s for s in intent.required_slots if s not in belief]
        if missing:
            return [Act(A.REQUEST, svc.name, missing[0])]
        values = {**{k: v for k, v in intent.optional_slots.items() if v != DONTCARE}, **belief}
        if intent.is_transactional:
            said = [*intent.required_slots, *(s for s in intent.optional_slots if s in belief)]
            # A value the User left open ("dontcare") is not read back as if it were one.
            confirms = [Act(A.CONFIRM, svc.name, s, values[s]) for s in said if s in values and values[s] != DONTCARE]
            if not confirms:
                # Nothing to read back (an intent that takes no slot): made at once.
                return self._call(svc, intent)
            self.awaiting = "confirm"
            return confirms
        if svc.name in self.pack.entities and svc.name not in self.pack.per_call:
            return self._search(svc, intent, values)
        return self._call(svc, intent)

    def _search(self, svc: Service, intent: Intent, values: dict[str, str]) -> list[Act]:
        wanted = {k: v for k, v in values.items() if k in svc.slot_names}
        rows = self.world.search(svc.name, wanted)
        if not rows:
            self.awaiting = ""
            return [Act(A.NOTIFY_FAILURE, svc.name), Act(A.REQUEST_ALTS, svc.name)]
        key = f"{svc.name}:{sorted(wanted.items())}"
        if key in self.shown and len(rows) == 1:
            # Asked for another where only one fits: said so, not offered again as if new.
            self.offered[svc.name] = rows[0]
            name = offer_slot(self.pack, svc, intent)
            return [Act(A.INFORM_COUNT, svc.name, "count", "1"), Act(A.OFFER, svc.name, name, rows[0].get(name, ""))]
        again = key in self.shown
        if not again:
            # Where to start among the matches: seeded per dialogue, so one query does not always get one answer.
            self.shown[key] = self.world.rng.randrange(len(rows))
        shown = self.shown[key]
        row = rows[shown % len(rows)]
        self.shown[key] = shown + 1
        self.offered[svc.name] = row
        name = offer_slot(self.pack, svc, intent)
        # The count once: another option is not told "There are 10 options" again (read blind).
        out = [Act(A.INFORM_COUNT, svc.name, "count", str(len(rows)))] if len(rows) > 1 and not again else []
        out.append(Act(A.OFFER, svc.name, name, row.get(name, "")))
        extra = next((s for s in intent.result_slots if s in row and s != name and s not in wanted), "")
        if extra:
            out.append(Act(A.OFFER, svc.name, extra, row[extra]))
        return out

    def _call(self, svc: Service, intent: Intent) -> list[Act]:
        values = {**{k: v for k, v in intent.optional_slots.items() if v != DONTCARE}, **self._belief(svc)}
        result = self.world.call(svc, intent, values)
        if not result.ok:
            self.awaiting = "alternative" if result.alternative else ""
            self.alternative = dict(result.alternative)
            return [Act(A.NOTIFY_FAILURE, svc.name, "reason", result.reason),
                    *(Act(A.OFFER, svc.name, k, v) for k, v in result.alternative.items())]
        self.awaiting = ""
        self.results[svc.name] = result.values
        if intent.is_transactional and svc.name not in self.closed:
            self.closed.append(svc.name)
        columns = {c for r in self.pack.entities.get(svc.name, ()) for c in r}
        shown = [s for s in intent.result_slots if s not in intent.required_slots and s not in intent.optional_slots
                 and (self.pack.rule(svc.name, s).generated or s not in columns) and s not in self._belief(svc)]
        if intent.is_transactional:
            return [Act(A.NOTIFY_SUCCESS, svc.name), *(Act(A.INFORM, svc.name, s, result.values[s]) for s in shown if s in result.values),
                    Act(A.REQ_MORE, svc.name)]
        said = [s for s in intent.result_slots if s in result.values and self._belief(svc).get(s) != result.values[s]]
        return [Act(A.INFORM, svc.name, s, result.values[s]) for s in said] or [Act(A.NOTIFY_SUCCESS, svc.name)]

    def _answer(self, svc: Service, slots: list[str]) -> list[Act]:
        # What the desk knows of the entity: the one it offered, else the one the User named (a booking
        # asked for by name), and what its calls returned.
        named = self.world.entity_for(svc.name, self._belief(svc)) or {}
        source = {**named, **self.offered.get(svc.name, {}), **self.results.get(svc.name, {})}
        columns = {c for r in self.pack.entities.get(svc.name, ()) for c in r}
        out = []
        for s in slots:
            value = source.get(s, "")
            if not value and (self.pack.rule(svc.name, s).generated or s not in columns):
                # A value the service makes (a reference): made now. An entity's fact is never made up.
                value = self.world.generate(svc.name, s)
                source[s] = value
                self.results.setdefault(svc.name, {})[s] = value
            # An empty value: the desk does not know it (said as such).
            out.append(Act(A.INFORM, svc.name, s, value))
        return out

    def _diagnose(self, svc: Service, asks: tuple[str, ...]) -> list[Act]:
        belief = self._belief(svc)
        verdict, row = self.world.diagnose(svc.name, belief)
        if verdict == "ask":
            return [Act(A.REQUEST, svc.name, next(s for s in asks if s not in belief))]
        table = self.world.diagnosis(svc.name)
        if verdict == "step" and row is not None and table is not None:
            self.awaiting = "step"
            return [Act(A.INFORM, svc.name, table.step_slot, row["step"])]
        return self._fallback(svc)

    def _fallback(self, svc: Service) -> list[Act]:
        """No step fixes it: the diagnosis table's fallback intent (opening a ticket), made at once."""
        table = self.world.diagnosis(svc.name)
        intent = svc.intent(table.fallback_intent) if table else None
        self.awaiting = ""
        if intent is None:
            return [Act(A.NOTIFY_FAILURE, svc.name, "reason", "no fix")]
        self.intent = intent.name
        return [Act(A.OFFER_INTENT, svc.name, "intent", intent.name), *self._call(svc, intent)]
