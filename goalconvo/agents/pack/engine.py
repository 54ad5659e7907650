"""Pack dialogues turn by turn, behind the same interface as the guided MultiWOZ engine.

``start`` plans the whole dialogue (``planner.py``: the User over the goal, the desk over the
pack) and phrases every turn with the pack's templates (``phrases.py``); the plan travels in
``DialogueState.plan["pack"]``, so any worker can emit the next turn. The LLM does not phrase
pack turns: the bundled model's rewording is written and checked for MultiWOZ's domains, and
readers keep the templates (see the README).
"""

from __future__ import annotations

from collections.abc import Sequence

from goalconvo.agents.dialogue import DialogueEngine, StepResult
from goalconvo.agents.pack.acts import to_wire
from goalconvo.agents.pack.phrases import PackPhrases, slot_words
from goalconvo.agents.pack.planner import plan_pack_dialogue
from goalconvo.core.records import Dialogue, DialogueState, FewShotExample, Goal, Scenario, Turn, dialogue_id_for
from goalconvo.core.settings import Settings
from goalconvo.packs.model import Pack

#: Stored with every pack dialogue: the planner and templates' version.
PACK_PROMPT_VERSION = "pack-1"


def describe_pack_goal(goal: Goal) -> str:
    """The goal in words, for the scenario's objective."""
    parts = []
    for t in goal.tasks:
        given = ", ".join(f"{slot_words(k)} {v}" for k, v in t.inform.items())
        asks = ", ".join(slot_words(r) for r in t.request)
        parts.append(f"{t.intent} ({t.service})" + (f" with {given}" if given else "") + (f"; ask for {asks}" if asks else ""))
    return "; then ".join(parts)


class PackEngine(DialogueEngine):
    """Goal of a pack -> planned acts -> turns phrased from the pack's templates."""

    prompt_version = PACK_PROMPT_VERSION

    def __init__(self, pack: Pack, settings: Settings):
        super().__init__(None, None, settings)  # type: ignore[arg-type]
        self.pack = pack
        self.phrases = PackPhrases.for_pack(pack)

    async def start(self, goal: Goal, run_id: str, examples: Sequence[FewShotExample] = ()) -> DialogueState:
        persona = self.persona_for(goal, run_id)
        dialogue_id = dialogue_id_for(run_id, goal.goal_id)
        seed = f"{self.settings.seed}:{dialogue_id}"
        plan = plan_pack_dialogue(goal, self.pack, seed)
        turns: list[dict] = []
        for i, t in enumerate(plan.turns):
            own = {x["text"] for x in turns if x["speaker"] == t.speaker}
            # Another wording where a side would say a line of its own again ("Yes, that's right." twice).
            for attempt in range(6):
                text = self.phrases.say(t.speaker, t.acts, f"{seed}:{i}" + (f":{attempt}" if attempt else ""), t.intents,
                                        first=i == 0, after=plan.turns[i - 1].acts if i else None)
                if text not in own:
                    break
            turns.append({"speaker": t.speaker, "text": text, "acts": to_wire(t.acts), "belief": t.belief or None})
        return DialogueState(
            dialogue_id=dialogue_id, run_id=run_id, goal=goal,
            scenario=Scenario(persona=persona, objective=describe_pack_goal(goal), first_utterance=turns[0]["text"]),
            model="template", prompt_version=self.prompt_version, mode="guided",
            plan={"pack": {"ref": self.pack.ref, "turns": turns, "finished": plan.finished,
                           "outcomes": {str(k): v for k, v in plan.outcomes.items()}}},
        )

    def _emit(self, state: DialogueState) -> DialogueState:
        planned = state.plan["pack"]["turns"][len(state.turns)]
        new = state.model_copy(deep=True)
        new.turns.append(Turn(index=len(state.turns), speaker=planned["speaker"], text=planned["text"],
                              acts=planned["acts"], belief=planned["belief"], phrased_by="template"))
        return new

    async def user_turn(self, state: DialogueState) -> DialogueState:
        new = self._emit(state)
        new.user_done = len(new.turns) + 1 >= len(state.plan["pack"]["turns"])
        return new

    async def bot_turn(self, state: DialogueState) -> StepResult:
        new = self._emit(state)
        if len(new.turns) < len(state.plan["pack"]["turns"]):
            return StepResult(new)
        reason = "goal_done" if state.plan["pack"]["finished"] else "max_turns"
        return StepResult(new, Dialogue(**new.model_dump(), stop_reason=reason))
