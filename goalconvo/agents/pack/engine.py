"""Pack dialogues turn by turn, behind the same interface as the guided MultiWOZ engine.

``start`` plans the whole dialogue (``planner.py``: the User over the goal, the desk over the
pack) and words every turn with the pack's templates (``phrases.py``); the plan travels in
``DialogueState.plan["pack"]``, so any worker can emit the next turn. Where phrasing is on
(``phrasing_tries_for``: off with the bundled CPU model, whose rewordings readers rejected), each
turn's template is rewritten by the LLM as it is emitted and checked against the pack
(``phrasing.py``); a refused rewrite leaves the template.
"""

from __future__ import annotations

from collections.abc import Sequence

from goalconvo.agents.dialogue import DialogueEngine, StepResult
from goalconvo.agents.pack.acts import from_wire, to_wire
from goalconvo.agents.pack.phrases import PackPhrases, intent_words, slot_words
from goalconvo.agents.pack.phrasing import PACK_PHRASING_VERSION, PackChecker, phrase_turn
from goalconvo.agents.pack.planner import plan_pack_dialogue
from goalconvo.core.records import Dialogue, DialogueState, FewShotExample, Goal, Scenario, Turn, dialogue_id_for
from goalconvo.core.settings import Settings, phrasing_tries_for
from goalconvo.llm import LLMBackend
from goalconvo.packs.model import Pack

#: Stored with every pack dialogue: the planner and templates' version.
PACK_PROMPT_VERSION = "pack-1"


def describe_pack_goal(goal: Goal, pack: Pack) -> str:
    """The goal in words, for the scenario's objective (the LLM judge reads it).

    Each task is worded from its intent's description in the pack ("find a clinician by
    (Clinicians), with speciality: dermatology; asking for phone"), not its
    identifier, so the judge weighs the dialogue against what the user wanted.
    """
    parts = []
    for t in goal.tasks:
        given = ", ".join(f"{slot_words(k)}: {v}" for k, v in t.inform.items())
        asks = ", ".join(slot_words(r) for r in t.request)
        parts.append(f"{intent_words(pack, t.service, t.intent)} ({t.service})"
                     + (f", with {given}" if given else "") + (f"; asking for {asks}" if asks else ""))
    text = "; then ".join(parts)
    return text[:1].upper() + text[1:] + "."


class PackEngine(DialogueEngine):
    """Goal of a pack -> planned acts -> turns phrased from the pack's templates."""

    prompt_version = PACK_PROMPT_VERSION

    def __init__(self, pack: Pack, settings: Settings, llm: LLMBackend | None = None):
        super().__init__(llm, None, settings)  # type: ignore[arg-type]
        self.pack = pack
        self.phrases = PackPhrases.for_pack(pack)
        #: LLM rewrites tried per turn (0: the templates' text, as readers kept it).
        self.tries = phrasing_tries_for(settings) if llm is not None else 0
        if self.tries:
            self.prompt_version = f"{PACK_PROMPT_VERSION}+{PACK_PHRASING_VERSION}"
            self.checker = PackChecker.for_pack(pack)

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
            scenario=Scenario(persona=persona, objective=describe_pack_goal(goal, self.pack), first_utterance=turns[0]["text"]),
            model=self.llm.model_name if self.tries else "template", prompt_version=self.prompt_version, mode="guided",
            plan={"pack": {"ref": self.pack.ref, "turns": turns, "finished": plan.finished,
                           "outcomes": {str(k): v for k, v in plan.outcomes.items()}}},
        )

    async def _emit(self, state: DialogueState) -> DialogueState:
        index = len(state.turns)
        planned = state.plan["pack"]["turns"][index]
        text, phrased_by, refusals = planned["text"], "template", []
        if self.tries:
            persona = state.scenario.persona
            said = await phrase_turn(
                self.llm, self.pack, self.checker, planned["speaker"], from_wire(planned["acts"]), planned["text"],
                persona=persona.style if planned["speaker"] == "user" else "", previous=state.turns[-1].text if state.turns else "",
                seed=f"{self.settings.seed}:{state.dialogue_id}:{index}", tries=self.tries,
                temperature=min(self.settings.temperature, 0.7))
            text, phrased_by, refusals = said.text, said.phrased_by, said.refusals
        new = state.model_copy(deep=True)
        if index == 0:
            new.scenario.first_utterance = text  # the opening as said, phrased or not
        new.turns.append(Turn(index=index, speaker=planned["speaker"], text=text, acts=planned["acts"],
                              belief=planned["belief"], phrased_by=phrased_by, refusals=refusals))
        return new

    async def user_turn(self, state: DialogueState) -> DialogueState:
        new = await self._emit(state)
        new.user_done = len(new.turns) + 1 >= len(state.plan["pack"]["turns"])
        return new

    async def bot_turn(self, state: DialogueState) -> StepResult:
        new = await self._emit(state)
        if len(new.turns) < len(state.plan["pack"]["turns"]):
            return StepResult(new)
        reason = "goal_done" if state.plan["pack"]["finished"] else "max_turns"
        done = Dialogue(**new.model_dump(), stop_reason=reason)
        if self.tries and not any(t.phrased_by == "llm" for t in done.turns):
            # Every rewrite refused (or a model that copies, as --llm scripted does): template text, stamped so.
            done = done.model_copy(update={"model": "template", "prompt_version": PACK_PROMPT_VERSION})
        return StepResult(new, done)
