"""Real MultiWOZ dialogues as :class:`Dialogue` records, so they are judged and measured like generated ones.

``goalconvo import multiwoz PATH --set NAME`` stores them as a dialogue set; the
judge's calibration check (the acceptance rate on real dialogues) runs the same
conversion.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from goalconvo.core.goals import describe_goal, load_multiwoz_dialogues, multiwoz_goal
from goalconvo.core.records import Dialogue, Persona, Scenario, Turn

HUMAN_MODEL = "human:multiwoz"
HUMAN_PERSONA = Persona(name="crowd worker", style="human", patience="human", verbosity="human")


def multiwoz_dialogue(dialogue_id: str, raw: dict[str, Any], set_name: str) -> Dialogue:
    """One MultiWOZ dialogue: turns alternate user/system from the first; ids are ``SET:ID``."""
    goal = multiwoz_goal(dialogue_id, raw["goal"])
    goal.run_id = set_name
    log = raw.get("log") or []
    turns = [
        Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=str(t.get("text", "")).strip())
        for i, t in enumerate(log)
    ]
    return Dialogue(
        dialogue_id=f"{set_name}:{dialogue_id}",
        run_id=set_name,
        goal=goal,
        scenario=Scenario(
            persona=HUMAN_PERSONA, objective=describe_goal(goal), first_utterance=turns[0].text if turns else ""
        ),
        turns=turns,
        model=HUMAN_MODEL,
        prompt_version="human",
        started_at=0.0,
        ended_at=0.0,
        stop_reason="goal_done",
    )


def iter_multiwoz_dialogues(path: Path, set_name: str) -> Iterator[Dialogue]:
    for did, raw in load_multiwoz_dialogues(path).items():
        if not isinstance(raw, dict) or "goal" not in raw:
            raise ValueError(f"{path}: dialogue {did} has no goal")
        yield multiwoz_dialogue(did, raw, set_name)
