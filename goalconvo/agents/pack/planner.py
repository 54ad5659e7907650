"""A pack dialogue planned to its end: the User's acts against the desk's, turn by turn.

The User (``user.py``) reads the goal; the desk (``desk.py``) reads the pack and the world
(``world.py``); the only thing the goal tells the world is which calls are refused once
(a task with ``failed_first``), as MultiWOZ goals' ``fail_book`` tell the guided planner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from goalconvo.agents.pack.acts import Act
from goalconvo.agents.pack.desk import Desk
from goalconvo.agents.pack.user import UserSide
from goalconvo.agents.pack.world import World, is_money_slot
from goalconvo.core.records import Goal
from goalconvo.packs.model import Pack
from goalconvo.packs.values import amount_of

#: SGD's dialogues run to about 12 exchanges; a plan stops well past that.
MAX_EXCHANGES = 20


@dataclass
class PackTurn:
    speaker: Literal["user", "bot"]
    acts: list[Act]
    #: After a desk turn: the desk's belief per service (what the User has said).
    belief: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Service -> the intent being worked on at this turn (the phrasing names it).
    intents: dict[str, str] = field(default_factory=dict)


@dataclass
class PackPlan:
    turns: list[PackTurn]
    finished: bool
    #: Task index -> success, failure or none, as the User saw it end.
    outcomes: dict[int, str]
    desk: dict[str, Any]


def refusals_of(goal: Goal) -> set[tuple[str, str]]:
    """The calls the world refuses once: the goal's tasks that fail, or fail first."""
    return {(t.service, t.intent) for t in goal.tasks if t.failed_first or t.outcome == "failure"}


def money_floor_of(goal: Goal, pack: Pack) -> dict[str, float]:
    """Per service, the largest sum the goal's tasks name in a money slot (a transfer's amount) and
    make at once; a task refused first or for good is refused by the goal, whatever the balance."""
    floor: dict[str, float] = {}
    for t in goal.tasks:
        if t.failed_first or t.outcome == "failure":
            continue
        for slot, value in t.inform.items():
            amount = amount_of(value) if is_money_slot(pack, t.service, slot) else None
            if amount is not None:
                floor[t.service] = max(floor.get(t.service, 0.0), amount)
    return floor


def plan_pack_dialogue(goal: Goal, pack: Pack, seed: str, max_exchanges: int = MAX_EXCHANGES) -> PackPlan:
    """Run the User against the desk until the User says goodbye (or the plan runs too long)."""
    user = UserSide(goal, pack, seed=seed)
    desk = Desk(pack, World(pack, seed, goal.user, refusals_of(goal), money_floor=money_floor_of(goal, pack)))
    turns: list[PackTurn] = []
    desk_acts: list[Act] | None = None
    finished = False
    while sum(1 for t in turns if t.speaker == "bot") < max_exchanges:
        user_acts, done = user.respond(desk_acts)
        turns.append(PackTurn("user", user_acts, intents={desk.service: desk.intent} if desk.service else {}))
        desk_acts = desk.respond(user_acts)
        turns.append(PackTurn("bot", desk_acts, {k: dict(v) for k, v in desk.belief.items()}, {desk.service: desk.intent}))
        if done:
            finished = True
            break
    return PackPlan(turns, finished, dict(user.outcomes), desk.to_dict())
