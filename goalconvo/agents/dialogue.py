"""The paper's Experience Generator and Multi-Agent Simulator, one turn at a time.

Each method takes a state and returns the next one; the Faust stages in
``streams/app.py`` only move states between topics. Nothing here touches Kafka,
so tests drive a dialogue with a backend and no broker.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from goalconvo.agents import prompts
from goalconvo.agents.tracker import track
from goalconvo.core.goals import describe_goal
from goalconvo.core.records import (
    Dialogue,
    DialogueState,
    FewShotExample,
    Goal,
    Persona,
    Scenario,
    Turn,
    dialogue_id_for,
)
from goalconvo.core.settings import Settings, turn_cap
from goalconvo.core.venues import VenueDB
from goalconvo.llm import CallContext, ChatMessage, GenerationParams, LLMBackend
from goalconvo.core.roles import RIDE

_CLOSING = re.compile(
    r"(that'?s all|that is all|nothing else|no,? thank(s| you)|good ?bye|bye\b|have a (nice|good|great) (day|evening))"
)
_SPEAKER_TAG = re.compile(r"^\s*(user|customer|assistant|desk|bot|supportbot|system)\s*:\s*", re.I)


def clean_utterance(text: str) -> str:
    """One utterance: the first paragraph, speaker tags removed, whitespace folded."""
    text = text.strip().split("\n\n")[0]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    text = " ".join(_SPEAKER_TAG.sub("", ln).strip() for ln in lines[:3])
    return re.sub(r"\s+", " ", text).strip()


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _similar(a: str, b: str, threshold: float = 0.8) -> bool:
    """Word-set Jaccard similarity: small models loop with slight variations."""
    wa, wb = set(_normal(a).split()), set(_normal(b).split())
    if not wa or not wb:
        return wa == wb
    return len(wa & wb) / len(wa | wb) >= threshold


@dataclass
class StepResult:
    state: DialogueState
    finished: Dialogue | None = None


def sampling_seed(base: int, key: str) -> int:
    """A 31-bit sampling seed for ``key``: a stable hash (same in every process, unlike ``hash()``).

    Summing character codes gave ~560 distinct seeds over 10,000 dialogue ids and
    ignored order; blake2b spreads them over the whole range.
    """
    digest = hashlib.blake2b(f"{base}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2**31)


class DialogueEngine:
    """Goal -> scenario -> alternating User / SupportBot turns -> a finished Dialogue."""

    #: Stored with every dialogue this engine makes; the few-shot pool samples only its own version.
    prompt_version: str = prompts.PROMPT_VERSION

    def __init__(self, llm: LLMBackend, venues: VenueDB, settings: Settings):
        self.llm = llm
        self.venues = venues
        self.settings = settings

    def _params(self, seed_key: str, **kw: object) -> GenerationParams:
        s = self.settings
        seed = sampling_seed(s.seed, seed_key)
        base = dict(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens, seed=seed)
        base.update(kw)
        return GenerationParams(**base)  # type: ignore[arg-type]

    def persona_for(self, goal: Goal, run_id: str) -> Persona:
        """A seeded persona; ``persona_variety`` narrows the styles drawn from (1 = everyone alike)."""
        rng = random.Random(f"{self.settings.seed}:{run_id}:{goal.goal_id}")
        v = self.settings.persona_variety
        return Persona(
            name=rng.choice(prompts.PERSONA_NAMES),
            style=rng.choice(prompts.PERSONA_STYLES[:v]),
            patience=rng.choice(prompts.PERSONA_PATIENCE[: max(1, v * len(prompts.PERSONA_PATIENCE) // 5)]),
            verbosity=rng.choice(prompts.PERSONA_VERBOSITY[: max(1, v * len(prompts.PERSONA_VERBOSITY) // 5)]),
        )

    @staticmethod
    def _persona_text(p: Persona) -> str:
        return f"{p.name}, {DialogueEngine._persona_manner(p)}"

    @staticmethod
    def _persona_manner(p: Persona) -> str:
        """The persona without its name: how the User talks."""
        return f"{p.style}, {p.patience}, {p.verbosity}"

    async def start(self, goal: Goal, run_id: str, examples: Sequence[FewShotExample] = ()) -> DialogueState:
        """Experience Generator: persona, objective, few-shot openings and the first user utterance."""
        persona = self.persona_for(goal, run_id)
        objective = describe_goal(goal)
        dialogue_id = dialogue_id_for(run_id, goal.goal_id)
        shots = ""
        if examples:
            shots = prompts.EXPERIENCE_EXAMPLES.format(lines="\n".join(f'- "{e.opening}"' for e in examples))
        system = prompts.EXPERIENCE_SYSTEM.format(desk=prompts.DESK, persona=self._persona_text(persona),
                                                 objective=objective, examples=shots)
        comp = await self.llm.complete(
            [ChatMessage("system", system), ChatMessage("user", "Customer's first sentence:")],
            self._params(dialogue_id + ":x", stop=("\n",)),
            CallContext("experience", {"goal": goal, "end_tag": prompts.END_TAG}),
        )
        first = clean_utterance(comp.text).replace(prompts.END_TAG, "").strip()
        if not first:
            first = "Hello, I need some help planning my trip."
        scenario = Scenario(
            persona=persona, objective=objective, first_utterance=first, few_shot_ids=[e.example_id for e in examples]
        )
        return DialogueState(
            dialogue_id=dialogue_id,
            run_id=run_id,
            goal=goal,
            scenario=scenario,
            model=self.llm.model_name,
            prompt_version=self.prompt_version,
            llm_calls=1,
            prompt_tokens=comp.prompt_tokens,
            completion_tokens=comp.completion_tokens,
        )

    def _history(self, state: DialogueState, me: str) -> list[ChatMessage]:
        return [
            ChatMessage("assistant" if t.speaker == me else "user", t.text) for t in state.turns
        ]

    async def user_turn(self, state: DialogueState) -> DialogueState:
        """The User speaks: the scenario's opener first, then the model."""
        if not state.turns:
            return self._append(state, "user", state.scenario.first_utterance)
        system = prompts.USER_SYSTEM.format(
            desk=prompts.DESK,
            persona=self._persona_text(state.scenario.persona),
            objective=state.scenario.objective,
            end_tag=prompts.END_TAG,
        )
        msgs = [ChatMessage("system", system), *self._history(state, "user")]
        comp = await self.llm.complete(
            msgs,
            self._params(f"{state.dialogue_id}:{len(state.turns)}"),
            CallContext("user", {"state": state, "end_tag": prompts.END_TAG}),
        )
        text = clean_utterance(comp.text)
        done = prompts.END_TAG in text or bool(_CLOSING.search(text.lower()))
        text = text.replace(prompts.END_TAG, "").strip()
        new = self._append(state, "user", text or "Sorry, could you repeat that?", comp)
        new.user_done = done
        return new

    async def bot_turn(self, state: DialogueState) -> StepResult:
        """The SupportBot answers from the database, then the dialogue may end."""
        knowledge = track(state, self.venues)
        system = prompts.BOT_SYSTEM.format(the_desk=prompts.THE_DESK, knowledge=knowledge.render())
        msgs = [ChatMessage("system", system), *self._history(state, "bot")]
        comp = await self.llm.complete(
            msgs,
            self._params(f"{state.dialogue_id}:{len(state.turns)}"),
            CallContext("bot", {"state": state, "knowledge": knowledge}),
        )
        text = clean_utterance(comp.text).replace(prompts.END_TAG, "").strip()
        meta = {"booking_refs": knowledge.booking_refs} if knowledge.booking_refs else {}
        if knowledge.taxi:
            meta[RIDE] = knowledge.taxi
        new = self._append(state, "bot", text or "Sorry, I did not catch that.", comp, meta)
        reason = self.stop_reason(new)
        if reason is None:
            return StepResult(new)
        return StepResult(new, Dialogue(**new.model_dump(), stop_reason=reason))

    def stop_reason(self, state: DialogueState) -> str | None:
        if state.user_done:
            return "goal_done"
        if state.exchanges >= turn_cap(self.settings):
            return "max_turns"
        if self._looping(state):
            return "loop"
        return None

    @staticmethod
    def _looping(state: DialogueState) -> bool:
        """The last user and bot utterances both (nearly) repeat earlier ones of the same speaker."""
        if len(state.turns) < 4:
            return False
        earlier = state.turns[:-2]
        return all(
            any(_similar(last.text, t.text) for t in earlier if t.speaker == last.speaker)
            for last in state.turns[-2:]
        )

    @staticmethod
    def _append(state: DialogueState, speaker: str, text: str, comp=None, meta=None) -> DialogueState:
        new = state.model_copy(deep=True)
        new.turns.append(Turn(index=len(state.turns), speaker=speaker, text=text, meta=meta or {}))  # type: ignore[arg-type]
        if comp is not None:
            new.llm_calls += 1
            new.prompt_tokens += comp.prompt_tokens
            new.completion_tokens += comp.completion_tokens
        return new
