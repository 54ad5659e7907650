"""The prompts MultiWOZ's runs send are byte-identical to those recorded before MultiWOZ became a pack.

The free mode's prompts (the opening line, the User, the desk), the LLM judge's and the guided
engine's phrasing requests are rendered through the code that sends them, for a fixed set of
built-in goals with the scripted backend answering, and compared with ``data/prompts_golden.json``
(recorded at d6d1234's prompts). A changed prompt is a changed corpus: bump ``PROMPT_VERSION`` /
``PHRASING_PROMPT_VERSION`` / the judge's version and record again with
``GOALCONVO_WRITE_GOLDEN=1 pytest tests/test_prompts_golden.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from goalconvo.agents import prompts
from goalconvo.agents.dialogue import DialogueEngine
from goalconvo.agents.guided.realizer import PHRASING_PROMPT_VERSION, build_messages, prefix_examples
from goalconvo.agents.guided.simulate import plan_dialogue
from goalconvo.core.goals import builtin_goals
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.llm_judge import LLMJudge
from goalconvo.llm.base import Completion
from goalconvo.llm.scripted import ScriptedBackend

GOLDEN = Path(__file__).parent / "data" / "prompts_golden.json"
GOALS = (0, 5, 11, 23)


class Recording(ScriptedBackend):
    """The scripted backend, keeping every system prompt it is sent (in order)."""

    def __init__(self) -> None:
        super().__init__()
        self.systems: list[str] = []

    async def complete(self, messages, params, context=None) -> Completion:
        self.systems.append(messages[0].content)
        return await super().complete(messages, params, context)


def _free_mode_and_judge() -> list[str]:
    llm = Recording()
    db = VenueDB.load()
    eng = DialogueEngine(llm, db, Settings(llm="scripted"))
    goals = builtin_goals()

    async def talk() -> None:
        for i in GOALS:
            st = await eng.start(goals[i], "golden")
            for _ in range(12):
                st = await eng.user_turn(st)
                step = await eng.bot_turn(st)
                st = step.state
                if step.finished:
                    judge = Recording()
                    await LLMJudge(judge).judge(step.finished)
                    llm.systems.extend(judge.systems[:1])
                    break

    asyncio.run(talk())
    return llm.systems


def _phrasing() -> list[list[str]]:
    db = VenueDB.load()
    out = []
    for i in GOALS:
        plan = plan_dialogue(builtin_goals()[i], db, "s", f"golden{i}")
        for k, turn in enumerate(plan.turns[:4]):
            msgs = build_messages(turn.speaker, turn.acts, "polite", "", [], "draft text", seed=k,
                                  prefix=prefix_examples())
            out.append([m.content for m in msgs])
    return out


def rendered() -> dict:
    return {"prompt_version": prompts.PROMPT_VERSION, "phrasing_prompt_version": PHRASING_PROMPT_VERSION,
            "free_and_judge": _free_mode_and_judge(), "phrasing": _phrasing()}


def test_multiwoz_prompts_are_byte_identical_to_the_recorded_ones():
    now = rendered()
    if os.environ.get("GOALCONVO_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(now, indent=1, ensure_ascii=False) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert now["prompt_version"] == golden["prompt_version"] == "p2"
    assert now["phrasing_prompt_version"] == golden["phrasing_prompt_version"]
    assert len(now["free_and_judge"]) == len(golden["free_and_judge"]) > 8
    for got, want in zip(now["free_and_judge"], golden["free_and_judge"]):
        assert got == want
    assert now["phrasing"] == golden["phrasing"]
