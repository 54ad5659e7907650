"""The dialogue engine without a broker: stop rules and grounding."""

import asyncio

from goalconvo.agents.dialogue import DialogueEngine, clean_utterance
from goalconvo.core.goals import builtin_goals
from goalconvo.core.records import Turn
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.llm.scripted import ScriptedBackend


def _engine(**kw) -> DialogueEngine:
    return DialogueEngine(ScriptedBackend(), VenueDB.load(), Settings(llm="scripted", **kw))


def test_scripted_dialogue_reaches_goal_and_books_with_a_reference():
    eng = _engine()
    goal = next(g for g in builtin_goals() if "train" in g.domains and g.domains["train"].book)

    async def talk():
        st = await eng.start(goal, "r1")
        while True:
            st = await eng.user_turn(st)
            step = await eng.bot_turn(st)
            st = step.state
            if step.finished:
                return step.finished

    d = asyncio.run(talk())
    assert d.stop_reason == "goal_done"
    assert [t.speaker for t in d.turns] == ["user", "bot"] * (len(d.turns) // 2)
    assert any("reference number" in t.text for t in d.turns if t.speaker == "bot")
    assert d.model == "scripted"


def test_loop_is_detected_with_small_variations():
    eng = _engine()
    st = asyncio.run(eng.start(builtin_goals()[0], "r1"))
    texts = [
        ("user", "I am so happy to be part of your family"),
        ("bot", "I am so glad you are happy to be part of the family"),
        ("user", "I am so happy to be a part of your family"),
        ("bot", "I am so glad you are happy to be part of the family!"),
    ]
    st.turns = [Turn(index=i, speaker=s, text=t) for i, (s, t) in enumerate(texts)]
    assert eng.stop_reason(st) == "loop"


def test_max_turns_stops_the_dialogue():
    eng = _engine(max_turns=2)
    st = asyncio.run(eng.start(builtin_goals()[0], "r1"))
    st.turns = [Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=f"utterance number {i} " * (i + 1)) for i in range(4)]
    assert eng.stop_reason(st) == "max_turns"


def test_clean_utterance_strips_speaker_tags_and_extra_paragraphs():
    assert clean_utterance("User: Hello there.\n\nAssistant: hi") == "Hello there."
