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
from goalconvo.core.roles import LODGING, RIDE, SIGHT, STAY, TABLE, TIMETABLE, TIMETABLE_ID

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
    agenda = UserAgenda.from_goal(goal, seed, persona, db.place_names())
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


def plan_problems(goal: Goal, plan: Plan, db: VenueDB) -> list[str]:
    """Why ``plan`` does not fulfil ``goal`` (empty: a clean plan).

    Clean: the User said goodbye; no domain given up; every ``reqt`` answered; every
    ``book`` booked with the goal's values (after any ``fail_book``); the venue the bot
    settled on meets ``info`` (and, for a goal pinned by name, is that venue); a taxi booked.
    """
    out: list[str] = []
    if not plan.finished:
        out.append("not finished")
    for domain, g in goal.domains.items():
        o = plan.outcome.get(domain, {})
        if o.get("gave_up"):
            out.append(f"{domain}: gave up")
        if o.get("reqt_left"):
            out.append(f"{domain}: reqt {o['reqt_left']} unanswered")
        book = {k: v.lower() for k, v in g.book.items() if k in ("day", "people", STAY, "time")}
        if book and plan.bot_state["book_done"].get(domain) != book:
            out.append(f"{domain}: booked {plan.bot_state['book_done'].get(domain)}, goal {book}")
        if domain == RIDE and not plan.bot_state["booked"].get(RIDE):
            out.append("taxi: no car booked")
        venue = plan.bot_state["venue"].get(domain)
        if domain in (TABLE, LODGING, SIGHT, TIMETABLE) and g.info:
            key = TIMETABLE_ID if domain == TIMETABLE else "name"
            rows = [r for r in db.tables.get(domain, []) if str(r.get(key, "")).lower() == str(venue).lower()]
            fits = db.search(domain, {k: v for k, v in g.info.items() if k != "name"}, limit=10**6)
            if not rows:
                out.append(f"{domain}: no venue settled on")
            elif "name" in g.info and str(rows[0]["name"]).lower() != g.info["name"].lower():
                out.append(f"{domain}: settled on {rows[0]['name']}, goal names {g.info['name']}")
            elif not any(r is x for r in rows for x in fits):
                out.append(f"{domain}: {venue} does not meet {g.info}")
    return out
