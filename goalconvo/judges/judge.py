"""The judge: rule filters, the sense check, the goal check, then the LLM judge; any failed mark rejects.

The LLM call is the expensive part, so it is made only when every cheap check
passed. The judge version names what judged (rules version, and ``+llm`` when
the LLM judge is on), so verdicts of a changed judge live beside the old ones.
"""

from __future__ import annotations

import asyncio

from goalconvo.core.records import CheckResult, Dialogue, JudgedDialogue, Verdict
from goalconvo.core.settings import Settings, llm_judge_enabled
from goalconvo.core.venues import VenueDB
from goalconvo.judges.goal_check import check_goal
from goalconvo.judges.llm_judge import LLMJudge
from goalconvo.judges.pack_judge import check_pack_form, check_pack_goal, check_pack_roles
from goalconvo.packs.model import Pack
from goalconvo.judges.rules import run_rules
from goalconvo.judges.sense import check_sense
from goalconvo.llm import LLMBackend

#: rules-4: the sense check (judges/sense.py) joined the rule filters; rules-3 verdicts stay as they were.
#: rules-5: the sense check also reads a desk turn that only restates the request, a postcode, phone,
#: reference or train id said twice in a turn, a booking "at" a postcode, a slot's name as a thing a
#: place has, a User telling the desk what to expect, offering what it may need, inviting questions or
#: talking about its search, and a desk asking the User to phone or to find.
#: rules-6: also a User saying what the desk may be after ("if you're looking for one") or thanking it
#: for kind words, either side glad the other "helped", and a venue said to hold a count of places.
#: rules-7: also a turn the readers' model (nlu/garble.py) scores as garbled ("-nogarble" when it is off).
RULES_VERSION = "rules-7"
#: A pack dialogue's checks (judges/pack_judge.py), named beside the rules version. Before pack2 the
#: pack dialogues were stamped with MultiWOZ's version though the LLM judge passed them unread and the
#: form and role checks lacked the phrasing prompt's echo and a model speaking as one. pack3: the goal
#: check also refuses a transaction read back with another value than the goal's (nothing offered instead).
PACK_CHECKS_VERSION = "pack3"


def default_version(settings: Settings, *, pack: bool = False) -> str:
    """``rules-7`` (``-nosense`` with the sense check off, ``-nogarble`` without its model), ``+pack3`` for a
    pack dialogue's checks, ``+llm`` with the LLM judge."""
    return (RULES_VERSION + ("" if settings.sense_check else "-nosense")
            + ("-nogarble" if settings.sense_check and not settings.sense_garble else "")
            + (f"+{PACK_CHECKS_VERSION}" if pack else "")
            + ("+llm" if llm_judge_enabled(settings) else ""))


class Judge:
    def __init__(self, settings: Settings, venues: VenueDB, llm: LLMBackend | None = None, version: str | None = None,
                 pack: Pack | None = None):
        self.settings = settings
        self.venues = venues
        #: The domain pack a pack dialogue is judged against (its goal names it); None: MultiWOZ only.
        self.pack = pack
        self.llm_judge = (
            LLMJudge(llm, min_score=settings.judge_min_score, retries=settings.judge_retries)
            if llm is not None and llm_judge_enabled(settings)
            else None
        )
        self.judge_model = llm.model_name if self.llm_judge and llm else "rules"
        self.version = version or default_version(settings)
        #: A pack dialogue's verdicts: their checks are the pack's, so they are named apart.
        self.pack_version = version or default_version(settings, pack=True)
        self.skip_reason = (
            "skipped: LLM judge off for this backend (--llm-judge turns it on)"
            if llm is not None
            else "skipped: no LLM judge configured"
        )

    def _pack_checks(self, dialogue: Dialogue) -> tuple[list[CheckResult], CheckResult]:
        if self.pack is None or dialogue.goal.pack != self.pack.ref:
            held = self.pack.ref if self.pack else "no pack"
            return [CheckResult(name="rules", passed=False, reason=f"the goal names pack {dialogue.goal.pack}; this judge holds {held}")], \
                CheckResult(name="goal_check", passed=False, score=0.0, reason="not judged")
        checks = [check_pack_form(dialogue)]
        if self.settings.sense_check:
            checks.append(check_pack_roles(dialogue))
        return checks, check_pack_goal(dialogue, self.pack)

    async def judge(self, dialogue: Dialogue) -> JudgedDialogue:
        if dialogue.goal.names_a_pack:
            checks, goal = await asyncio.to_thread(self._pack_checks, dialogue)
        else:
            checks = run_rules(dialogue, self.settings, self.venues)
            if self.settings.sense_check:
                # ~5 ms of regular expressions a dialogue: off the event loop, as other CPU work is.
                checks.append(await asyncio.to_thread(check_sense, dialogue, self.settings, self.venues))
            goal, _ = check_goal(dialogue, self.venues)
        checks.append(goal)
        scores = {"goal_completion": goal.score or 0.0}
        judge_error = False
        if self.llm_judge is not None and all(c.passed for c in checks):
            # A pack dialogue passed its checks only against this judge's pack: its desk is the prompt's.
            result = await self.llm_judge.judge(dialogue, self.pack if dialogue.goal.names_a_pack else None)
            checks.append(result.check)
            scores.update(result.scores)
            judge_error = result.error
        elif self.llm_judge is None:
            # Said, not invented: no score exists where no model judged.
            checks.append(CheckResult(name="llm_judge", passed=True, reason=self.skip_reason))
        verdict = Verdict(
            dialogue_id=dialogue.dialogue_id,
            accepted=all(c.passed for c in checks),
            checks=checks,
            scores=scores,
            judge_model=self.judge_model,
            judge_version=self.pack_version if dialogue.goal.names_a_pack else self.version,
            judge_error=judge_error,
        )
        return JudgedDialogue(dialogue=dialogue, verdict=verdict)
