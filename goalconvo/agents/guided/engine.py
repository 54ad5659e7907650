"""Guided generation one turn at a time: the planner decides the acts, the realizer phrases them.

Same interface as :class:`~goalconvo.agents.dialogue.DialogueEngine` (``start``,
``user_turn``, ``bot_turn``), so the stream stages do not care which mode runs.
The planner's state travels in ``DialogueState.plan`` (``user``: the agenda,
``bot``: the policy's state), so any worker can take the next turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from goalconvo.agents.dialogue import DialogueEngine, StepResult
from goalconvo.agents.guided import templates
from goalconvo.agents.guided.agenda import UserAgenda
from goalconvo.agents.guided.policy import BotPolicy, unavailable_from_goal
from goalconvo.agents.guided.realizer import PHRASING_PROMPT_VERSION, Phrasing, PhrasingExample, RealizerConfig, realize
from goalconvo.agents.guided.validator import known_names
from goalconvo.core.goals import describe_goal
from goalconvo.nlu import check_phrasing, lexicon_for
from goalconvo.core.records import (
    Dialogue,
    DialogueActs,
    DialogueState,
    FewShotExample,
    Goal,
    Scenario,
    Speaker,
    Turn,
    dialogue_id_for,
)
from goalconvo.core.settings import Settings, phrasing_tries_for, turn_cap
from goalconvo.core.venues import VenueDB
from goalconvo.llm import LLMBackend
from goalconvo.core.roles import CAR_TYPE, RIDE

#: Stored with every guided dialogue: the planner/templates version and the phrasing prompt's.
#: g2: templates worded for the dialogue before the turn (``templates/``), planner that names a venue once.
GUIDED_PROMPT_VERSION = f"g2+{PHRASING_PROMPT_VERSION}"

#: The phrasing examples a stage can offer for a set of domains (built-ins plus accepted ones).
ExamplePool = Callable[[Sequence[str]], Sequence[PhrasingExample]]


class GuidedEngine(DialogueEngine):
    """Goal -> agenda and bot policy -> turns of planned acts, each phrased and validated."""

    prompt_version = GUIDED_PROMPT_VERSION

    def __init__(self, llm: LLMBackend | None, venues: VenueDB, settings: Settings, pool: ExamplePool | None = None):
        super().__init__(llm, venues, settings)  # type: ignore[arg-type]
        self.pool = pool
        self.known = known_names(venues.tables)
        self.lexicon = lexicon_for(venues)
        self.config = RealizerConfig(tries=phrasing_tries_for(settings), temperature=min(settings.temperature, 0.7))

    # -- the Experience Generator ---------------------------------------------
    async def start(self, goal: Goal, run_id: str, examples: Sequence[FewShotExample] = ()) -> DialogueState:
        """Persona, the User's agenda, the bot's booking calendar, and the phrased first utterance."""
        persona = self.persona_for(goal, run_id)
        dialogue_id = dialogue_id_for(run_id, goal.goal_id)
        agenda = UserAgenda.from_goal(goal, f"{self.settings.seed}:{dialogue_id}", persona, self.venues.place_names())
        acts, done = agenda.next_acts(None)
        state = DialogueState(
            dialogue_id=dialogue_id,
            run_id=run_id,
            goal=goal,
            scenario=Scenario(persona=persona, objective=describe_goal(goal), first_utterance=""),
            model=self.model_label,
            prompt_version=self.prompt_version,
            mode="guided",
            plan={"user": agenda.to_dict(), "bot": BotPolicy.new_state(unavailable_from_goal(goal))},
        )
        phrasing = await self._phrase(state, "user", acts)
        state.scenario.first_utterance = phrasing.text
        state.plan["opening"] = {"acts": acts, "done": done, **_phrasing_fields(phrasing)}
        _count(state, phrasing)
        return state

    @property
    def model_label(self) -> str:
        return self.llm.model_name if self.llm is not None and self.config.tries > 0 else "template"

    # -- the simulator ---------------------------------------------------------
    async def user_turn(self, state: DialogueState) -> DialogueState:
        """The User's next acts from the agenda (answering the bot's last acts), phrased."""
        if not state.turns:
            opening = state.plan["opening"]
            new = self._add(state, "user", opening["text"], opening["acts"], None, opening)
            new.user_done = bool(opening["done"])
            return new
        agenda = UserAgenda.from_dict(state.plan["user"])
        acts, done = agenda.next_acts(state.turns[-1].acts)
        phrasing = await self._phrase(state, "user", acts)
        new = self._add(state, "user", phrasing.text, acts, None, _phrasing_fields(phrasing))
        new.plan["user"] = agenda.to_dict()
        new.user_done = done
        _count(new, phrasing)
        return new

    async def bot_turn(self, state: DialogueState) -> StepResult:
        """The SupportBot's acts from its policy over the database (never the goal), phrased."""
        policy = BotPolicy(self.venues, state.dialogue_id)
        acts, bot_state, metadata = policy.respond(state.plan["bot"], state.turns[-1].acts)
        phrasing = await self._phrase(state, "bot", acts)
        new = self._add(state, "bot", phrasing.text, acts, metadata, _phrasing_fields(phrasing))
        new.plan["bot"] = bot_state
        new.turns[-1].meta = _grounding(bot_state)
        _count(new, phrasing)
        reason = self.stop_reason(new)
        if reason is None:
            return StepResult(new)
        return StepResult(new, Dialogue(**new.model_dump(), stop_reason=reason))

    def stop_reason(self, state: DialogueState) -> str | None:
        """The User said goodbye and the bot answered it, or the dialogue ran too long."""
        if state.user_done:
            return "goal_done"
        if state.exchanges >= turn_cap(self.settings):
            return "max_turns"
        return None

    # -- helpers -----------------------------------------------------------------
    async def _phrase(self, state: DialogueState, speaker: Speaker, acts: DialogueActs) -> Phrasing:
        previous = state.turns[-1].text if state.turns else ""
        own = [t.text for t in state.turns if t.speaker == speaker]
        # The User's manner only: given the persona's name, small models address someone by it.
        persona = self._persona_manner(state.scenario.persona) if speaker == "user" else ""
        examples = list(self.pool(state.goal.domain_names)) if self.pool is not None else None
        history = [(t.speaker, t.text) for t in state.turns]

        def sense(text: str) -> list[str]:
            return check_phrasing(text, speaker, lexicon=self.lexicon, planned_acts=acts, history=history)

        return await realize(
            self.llm, speaker, acts, persona, previous, examples, f"{self.settings.seed}:{state.dialogue_id}:{len(state.turns)}",
            known_values=self.known, own_earlier=own, config=self.config,
            context=templates.TurnContext.from_turns(state.turns, speaker), sense=sense,
        )

    @staticmethod
    def _add(state: DialogueState, speaker: Speaker, text: str, acts: DialogueActs, belief: dict | None, how: dict) -> DialogueState:
        new = state.model_copy(deep=True)
        new.turns.append(
            Turn(
                index=len(state.turns), speaker=speaker, text=text, acts=acts, belief=belief,
                phrased_by=how["phrased_by"], refusals=how["refusals"],
            )
        )
        return new


def _phrasing_fields(p: Phrasing) -> dict:
    return {"text": p.text, "phrased_by": p.phrased_by, "refusals": list(p.refusals)}


def _count(state: DialogueState, p: Phrasing) -> None:
    state.llm_calls += p.llm_calls
    state.prompt_tokens += p.prompt_tokens
    state.completion_tokens += p.completion_tokens


def _grounding(bot_state: dict) -> dict:
    """What the bot has booked so far, in the form free mode records (the judge reads it for grounding)."""
    booked = bot_state.get("booked", {})
    refs = {d: rows[-1]["reference"] for d, rows in booked.items() if rows and "reference" in rows[-1]}
    meta: dict = {"booking_refs": refs} if refs else {}
    if booked.get(RIDE):
        meta[RIDE] = {CAR_TYPE: booked[RIDE][-1]["type"], "phone": booked[RIDE][-1]["phone"]}
    return meta
