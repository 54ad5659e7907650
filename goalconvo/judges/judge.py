"""The judge: rule filters, then the goal check; any failed mark rejects."""

from __future__ import annotations

from goalconvo.agents.venues import VenueDB
from goalconvo.judges.goal_check import check_goal
from goalconvo.judges.rules import run_rules
from goalconvo.settings import Settings
from goalconvo.streams.schemas import Dialogue, JudgedDialogue, Verdict

JUDGE_VERSION = "rules-1"


class Judge:
    def __init__(self, settings: Settings, venues: VenueDB, version: str = JUDGE_VERSION):
        self.settings = settings
        self.venues = venues
        self.version = version

    async def judge(self, dialogue: Dialogue) -> JudgedDialogue:
        checks = run_rules(dialogue, self.settings, self.venues)
        goal, _ = check_goal(dialogue, self.venues)
        checks.append(goal)
        verdict = Verdict(
            dialogue_id=dialogue.dialogue_id,
            accepted=all(c.passed for c in checks),
            checks=checks,
            scores={"goal_completion": goal.score or 0.0},
            judge_model="rules",
            judge_version=self.version,
        )
        return JudgedDialogue(dialogue=dialogue, verdict=verdict)
