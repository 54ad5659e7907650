"""Both sides of a guided dialogue run to the end: acts only, no phrasing.

For tests, benchmarks and a template-only run. The stream workers do the same one
turn at a time, carrying ``UserAgenda.to_dict()`` and the bot state in each event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from goalconvo.agents.guided.acts import DialogueActs
from goalconvo.agents.guided.agenda import UserAgenda
from goalconvo.agents.guided.policy import BotPolicy, unavailable_from_goal
from goalconvo.core.records import Goal, Persona
from goalconvo.core.venues import VenueDB

#: MultiWOZ val's longest dialogues run to about 20 exchanges.
MAX_EXCHANGES = 24


@dataclass
class PlannedTurn:
    """One planned turn: who speaks, their acts, and (bot turns) the belief state after it."""

    speaker: Literal["user", "bot"]
    acts: DialogueActs
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """A planned dialogue and how it ended (``outcome`` per domain, from the User's side)."""

    turns: list[PlannedTurn]
    finished: bool
    outcome: dict[str, dict[str, Any]]
    bot_state: dict[str, Any]

    @property
    def exchanges(self) -> int:
        return sum(1 for t in self.turns if t.speaker == "bot")


def plan_dialogue(
    goal: Goal,
    db: VenueDB,
    seed: str,
    dialogue_id: str,
    persona: Persona | dict[str, str] | None = None,
    max_exchanges: int = MAX_EXCHANGES,
) -> Plan:
    """Run the User's agenda against the bot's policy until the User says goodbye.

    Reads: the goal (through :class:`UserAgenda` and, for the booking calendar,
    :func:`unavailable_from_goal`). Adds: the turns with acts, each bot turn's metadata.
    """
    agenda = UserAgenda.from_goal(goal, seed, persona)
    policy = BotPolicy(db, dialogue_id)
    bot_state = BotPolicy.new_state(unavailable_from_goal(goal))
    turns: list[PlannedTurn] = []
    bot_acts: DialogueActs | None = None
    finished = False
    for _ in range(max_exchanges):
        user_acts, done = agenda.next_acts(bot_acts)
        turns.append(PlannedTurn("user", user_acts))
        bot_acts, bot_state, meta = policy.respond(bot_state, user_acts)
        turns.append(PlannedTurn("bot", bot_acts, meta))
        if done:
            finished = True
            break
    return Plan(turns, finished, agenda.outcome(), bot_state)
