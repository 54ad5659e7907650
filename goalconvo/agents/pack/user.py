"""The User of a pack dialogue: works through its goal's tasks in order, answering the desk.

Knows the goal (tasks with the values it gives and asks for), never the pack's rows. Says an
intent with the values the intent takes, answers what the desk asks, asks for what it wants
to know, accepts an offer, confirms, takes an alternative after a refusal when its goal says
the task succeeds, and says goodbye when no task is left.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from goalconvo.agents.pack import acts as A
from goalconvo.agents.pack.acts import Act
from goalconvo.core.records import Goal, PackTask
from goalconvo.packs.model import Pack


@dataclass
class UserSide:
    goal: Goal
    pack: Pack
    task_index: int = 0
    #: Per task: the requests already answered.
    answered: list[str] = field(default_factory=list)
    #: Per service: what the desk has heard of each slot (from the User, or an alternative it took).
    said: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Per service: what the desk has told (an offer, a ticket number): the User may say it back.
    heard: dict[str, dict[str, str]] = field(default_factory=dict)
    done: bool = False
    #: The outcome each task reached, by index: success, failure, none.
    outcomes: dict[int, str] = field(default_factory=dict)
    seed: str = ""
    #: Tasks whose search the user asked to see another option of.
    asked_alts: list[int] = field(default_factory=list)
    turn: int = 0
    #: The current task's outcome once the desk has made or refused it (its requests may still follow).
    ended: str = ""
    #: The entities the desk offered, in order (the first OFFER of each offering turn).
    offers: list[Act] = field(default_factory=list)

    def _rng(self) -> random.Random:
        return random.Random(f"{self.seed}:{self.task_index}:{self.turn}")

    @property
    def task(self) -> PackTask | None:
        return self.goal.tasks[self.task_index] if self.task_index < len(self.goal.tasks) else None

    def _spoken_slots(self, task: PackTask) -> list[str]:
        """What the user volunteers when it asks for the intent: its required and optional slots."""
        intent = self.pack.service(task.service).intent(task.intent)  # type: ignore[union-attr]
        wanted = [*intent.required_slots, *intent.optional_slots] if intent else []
        known = self.said.get(task.service, {})
        return [s for s in wanted if s in task.inform and known.get(s) != task.inform[s]]

    def _say(self, task: PackTask, slots: list[str]) -> list[Act]:
        intent = self.pack.service(task.service).intent(task.intent)  # type: ignore[union-attr]
        defaults = intent.optional_slots if intent else {}
        out = []
        for s in slots:
            value = (task.inform.get(s) or self.said.get(task.service, {}).get(s) or self.heard.get(task.service, {}).get(s)
                     or defaults.get(s) or "dontcare")
            self.said.setdefault(task.service, {})[s] = value
            out.append(Act(A.INFORM, task.service, s, value))
        return out

    def _open_task(self, first: bool) -> list[Act]:
        task = self.task
        if task is None:
            self.done = True
            return [Act(A.THANK_YOU, self.goal.tasks[-1].service), Act(A.GOODBYE, self.goal.tasks[-1].service)]
        self.answered = []
        slots = self._spoken_slots(task)
        # A value that changes one said before is always said; as SGD's users do, some name only what
        # they want done, some give a value or two with it.
        known = self.said.get(task.service, {})
        changed = [s for s in slots if s in known]
        new = [s for s in slots if s not in known]
        n = self._rng().choices((0, 1, 2), weights=(3, 4, 3) if first else (5, 5, 0))[0]
        return [Act(A.INFORM_INTENT, task.service, "intent", task.intent), *self._say(task, changed + new[:n])]

    def _unsaid(self, task: PackTask) -> list[str]:
        """Values of the task the desk has not heard yet (an optional one nobody asked for)."""
        known = self.said.get(task.service, {})
        return [s for s in self._spoken_slots(task) if known.get(s) != task.inform[s]]

    def _next_task(self, outcome: str) -> list[Act]:
        self.outcomes[self.task_index] = outcome
        self.task_index += 1
        self.ended = ""
        return self._open_task(False)

    def _ask_or_move_on(self, task: PackTask, outcome: str) -> list[Act]:
        asks = [r for r in task.request if r not in self.answered]
        if asks:
            self.answered += asks[:2]
            return [Act(A.REQUEST, task.service, r) for r in asks[:2]]
        return self._next_task(outcome)

    def _wanted_instead(self, task: PackTask, offer: Act) -> str:
        """The entity a later task of this service names for the offer's slot, where the desk offered another.

        A goal that books "Contreras Claudio S, MD" after a search must not take the first doctor
        the desk offers and then name Contreras at the booking, which the desk then booked as the
        first (read blind: 11 of 20 imported-doctor dialogues).
        """
        intent = self.pack.service(task.service).intent(task.intent)  # type: ignore[union-attr]
        if intent is None or intent.is_transactional or not offer.value:
            return ""
        for later in self.goal.tasks[self.task_index + 1:]:
            if later.service == task.service and offer.slot in later.inform:
                wanted = later.inform[offer.slot]
                return wanted if wanted.strip().lower() != offer.value.strip().lower() else ""
        return ""

    def _select(self, task: PackTask) -> Act:
        """Taking the desk's offer, named when the desk has told its name (the User may say it back)."""
        offered = next((a for a in reversed(self.offers) if a.service == task.service), None)
        return Act(A.SELECT, task.service, offered.slot, offered.value) if offered else Act(A.SELECT, task.service)

    def respond(self, desk: list[Act] | None) -> tuple[list[Act], bool]:
        """The User's acts answering the desk's last acts, and whether it has said goodbye."""
        self.turn += 1
        if desk is None:
            return self._open_task(True), self.done
        task = self.task
        if task is None or A.has(desk, A.GOODBYE):
            self.done = True
            return [Act(A.GOODBYE, self.goal.tasks[-1].service)], True
        offers = A.named(desk, A.OFFER)
        if offers and not A.has(desk, A.NOTIFY_FAILURE):
            self.offers.append(offers[0])
        for a in A.named(desk, A.OFFER) + A.named(desk, A.INFORM):
            if a.value:
                self.heard.setdefault(a.service, {})[a.slot] = a.value
            if a.slot in task.request and a.slot not in self.answered:
                self.answered.append(a.slot)
        offered_intent = next((a.value for a in A.named(desk, A.OFFER_INTENT)), "")
        if offered_intent and A.has(desk, A.NOTIFY_SUCCESS):
            # The desk made a task at once (a ticket when no step fixed the fault). Where the goal has it
            # later, the tasks before it ended unfixed; where it has not, only the current one ended.
            later = next((i for i in range(self.task_index, len(self.goal.tasks))
                          if self.goal.tasks[i].intent == offered_intent), None)
            if later is None:
                self.ended = ""
                return self._next_task("failure"), self.done
            for i in range(self.task_index, later):
                self.outcomes[i] = "failure"
            self.task_index = later
            task = self.task  # type: ignore[assignment]
        if A.has(desk, A.REQUEST):
            asked = [a.slot for a in A.named(desk, A.REQUEST)]
            intent = self.pack.service(task.service).intent(task.intent)  # type: ignore[union-attr]
            optional = [s for s in (intent.optional_slots if intent else {}) if s in task.inform and s not in asked
                        and self.said.get(task.service, {}).get(s) != task.inform[s]]
            return self._say(task, asked + optional), False
        if offered_intent and not A.has(desk, A.NOTIFY_SUCCESS):
            nxt = self.goal.tasks[self.task_index + 1] if self.task_index + 1 < len(self.goal.tasks) else None
            self.outcomes[self.task_index] = "none"
            self.task_index += 1
            if nxt is not None and nxt.intent == offered_intent:
                self.answered = []
                return [Act(A.AFFIRM_INTENT, nxt.service), *self._say(nxt, self._spoken_slots(nxt)[:1])], False
            return [Act(A.NEGATE_INTENT, task.service), *self._open_task(False)], self.done
        first_offer = offers[0] if offers and not A.has(desk, A.NOTIFY_FAILURE) else None
        wanted = self._wanted_instead(task, first_offer) if first_offer else ""
        if wanted and self.said.get(task.service, {}).get(first_offer.slot) != wanted:  # type: ignore[union-attr]
            # Not the one the goal books: another option once, then the one it wants by name.
            if self.task_index not in self.asked_alts and self._rng().random() < 0.5:
                self.asked_alts.append(self.task_index)
                return [Act(A.REQUEST_ALTS, task.service)], False
            self.said.setdefault(task.service, {})[first_offer.slot] = wanted  # type: ignore[union-attr]
            return [Act(A.INFORM, task.service, first_offer.slot, wanted)], False  # type: ignore[union-attr]
        unsaid = self._unsaid(task)
        if unsaid and (A.has(desk, A.CONFIRM) or A.has(desk, A.OFFER)) and not A.has(desk, A.NOTIFY_FAILURE):
            return self._say(task, unsaid), False
        if A.has(desk, A.CONFIRM):
            return [Act(A.AFFIRM, task.service)], False
        if A.has(desk, A.NOTIFY_FAILURE):
            offered = A.named(desk, A.OFFER)
            if offered and task.outcome != "failure":
                for a in offered:
                    self.said.setdefault(task.service, {})[a.slot] = a.value
                return [Act(A.AFFIRM, task.service)], False
            asks = [r for r in task.request if r not in self.answered]
            if asks:
                # Refused for good: the User still wants what it asked about (a phone number to call).
                self.ended = "failure"
                self.answered += asks[:2]
                return [Act(A.NEGATE, task.service), *(Act(A.REQUEST, task.service, r) for r in asks[:2])], False
            return [Act(A.NEGATE, task.service), *self._next_task("failure")], self.done
        if A.has(desk, A.NOTIFY_SUCCESS):
            self.ended = "success"
            return self._ask_or_move_on(task, "success"), self.done
        if self.ended and A.has(desk, A.INFORM):
            return self._ask_or_move_on(task, self.ended), self.done
        steps = [a for a in A.named(desk, A.INFORM) if a.slot == _step_slot(self.pack, task.service)]
        if steps:
            if task.outcome == "success":
                return [Act(A.AFFIRM, task.service, "fixed", "yes"), *self._next_task("success")], self.done
            self.outcomes[self.task_index] = "failure"
            self.task_index += 1
            return [Act(A.NEGATE, task.service, "fixed", "no")], False
        if A.has(desk, A.OFFER) and not [r for r in task.request if r not in self.answered]:
            if self.task_index not in self.asked_alts and self._rng().random() < 0.3:
                self.asked_alts.append(self.task_index)
                return [Act(A.REQUEST_ALTS, task.service)], False
            return [self._select(task)], False
        if A.has(desk, A.INFORM) and not A.has(desk, A.OFFER) and not _reads(self.pack, task) \
                and not [r for r in task.request if r not in self.answered]:
            return [self._select(task)], False
        if A.has(desk, A.OFFER) or A.has(desk, A.INFORM) or A.has(desk, A.REQ_MORE):
            return self._ask_or_move_on(task, "success" if A.has(desk, A.INFORM) and not A.has(desk, A.OFFER)
                                        and _reads(self.pack, task) else "none"), self.done
        return self._next_task("none"), self.done


def _step_slot(pack: Pack, service: str) -> str:
    table = next((d for d in pack.diagnoses if d.service == service), None)
    return table.step_slot if table else "\0"


def _reads(pack: Pack, task: PackTask) -> bool:
    """A task that only reads (a balance, a list of visits) succeeds when the desk tells its results."""
    intent = pack.service(task.service).intent(task.intent)  # type: ignore[union-attr]
    searched = task.service in pack.entities and task.service not in pack.per_call
    return intent is not None and not intent.is_transactional and not searched
