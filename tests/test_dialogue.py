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


def test_sampling_seeds_are_a_stable_hash_of_the_whole_key():
    """Issue 14 item 13: the seed was sum(map(ord, key)): 564 distinct seeds over 10,000 ids, order-blind."""
    import subprocess
    import sys

    from goalconvo.core.records import dialogue_id_for

    eng = _engine()
    ids = [dialogue_id_for("run-seeds", f"goal-{i}") for i in range(10_000)]
    seeds = {eng._params(f"{did}:0").seed for did in ids}
    assert len(seeds) == 10_000, f"{len(seeds)} distinct seeds over 10,000 dialogue ids"
    assert all(0 <= s < 2**31 for s in seeds)
    # Order matters, and the run's seed setting moves every seed.
    assert eng._params("ab:1").seed != eng._params("ba:1").seed
    assert _engine(seed=1)._params(f"{ids[0]}:0").seed != eng._params(f"{ids[0]}:0").seed
    # Not Python's salted hash(): another process with another hash seed agrees.
    code = "from goalconvo.agents.dialogue import sampling_seed; print(sampling_seed(0, 'abc:3'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout.strip()
    assert int(other) == eng._params("abc:3").seed
