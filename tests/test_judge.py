"""Rule filters and the goal check on hand-made dialogues."""

import asyncio

import pytest

from goalconvo.core.records import Dialogue, Goal, Persona, Scenario, Turn
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge

from conftest import MULTIWOZ, needs_multiwoz

GOAL = Goal.model_validate(
    {"goal_id": "g", "domains": {"restaurant": {"info": {"food": "italian", "area": "centre"}, "reqt": ["phone"], "book": {"people": "2"}}}}
)


def _dialogue(lines, stop="goal_done"):
    turns = [Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=t) for i, t in enumerate(lines)]
    return Dialogue(
        dialogue_id="d", run_id="r", goal=GOAL,
        scenario=Scenario(persona=Persona(name="A", style="s", patience="p", verbosity="v"), objective="o", first_utterance=lines[0]),
        turns=turns, model="hand", prompt_version="p1", stop_reason=stop,
    )


GOOD = [
    "I want an italian restaurant in the centre.",
    "Pizza hut city centre is an italian place in the centre. Shall I book it?",
    "Yes, please book it for 2 people, and what is the phone number?",
    "Booked! The reference number is AB12CD34 and the phone is 01223323737.",
    "Thank you, that is all. Goodbye.",
    "You are welcome, goodbye!",
]


def _verdict(lines, stop="goal_done"):
    return asyncio.run(Judge(Settings(llm="scripted"), VenueDB.load()).judge(_dialogue(lines, stop))).verdict


def _failed(v):
    return {c.name: c.reason for c in v.checks if not c.passed}


def test_good_dialogue_is_accepted():
    v = _verdict(GOOD)
    assert v.accepted, _failed(v)
    assert v.scores["goal_completion"] == 1.0


def test_invented_phone_number_is_rejected():
    lines = GOOD[:3] + ["Booked! The reference number is AB12CD34 and the phone is 01223999999."] + GOOD[4:]
    assert "01223999999" in _failed(_verdict(lines))["grounded_facts"]


def test_missing_reference_and_unanswered_request_fail_the_goal_check():
    lines = GOOD[:3] + ["Sure, it is a lovely place."] + GOOD[4:]
    reason = _failed(_verdict(lines))["goal_completion"]
    assert "phone not answered" in reason and "booking without a reference" in reason


def test_contradicted_constraint_fails_the_goal_check():
    lines = ["I want an italian restaurant in the centre.", "Charlie chan is great. Its phone is 01223361763, reference number ZZ12CD34."] + GOOD[4:]
    assert "food is chinese, goal wants italian" in _failed(_verdict(lines))["goal_completion"]


def _goal_check(goal: dict, bot_lines: list[str]):
    from goalconvo.judges.goal_check import check_goal

    d = _dialogue([x for b in bot_lines for x in ("Hello.", b)])
    d.goal = Goal.model_validate({"goal_id": "g", "domains": goal})
    return check_goal(d, VenueDB.load())[0]


def test_a_hospital_address_said_with_other_punctuation_answers_the_request():
    """The database's 'hills rd , cambridge', said 'Hills Rd, Cambridge' (the bundled model's rewording)."""
    goal = {"hospital": {"info": {"department": "cardiology"}, "reqt": ["address"]}}
    assert _goal_check(goal, ["The cardiology department is in Hills Rd, Cambridge. Anything else?"]).passed
    check = _goal_check(goal, ["The cardiology department is in town. Anything else?"])
    assert not check.passed and "address not answered" in check.reason


def test_saying_an_unknown_value_is_unknown_answers_the_request():
    """Mumford theatre's entrance fee is '?' in the database: 'unknown' answers; a stray '?' does not."""
    goal = {"attraction": {"info": {"name": "mumford theatre"}, "reqt": ["entrance fee"]}}
    # No slot word in either line: only 'not listed' can answer the request.
    assert _goal_check(goal, ["Mumford theatre is in the centre. I'm afraid that's not listed."]).passed
    assert not _goal_check(goal, ["Mumford theatre is in the centre. Anything else?"]).passed


def test_a_venue_is_named_by_whole_words_only():
    """'Worth house' is not named by 'warkworth house' (MultiWOZ MUL0107's two guesthouses)."""
    from goalconvo.judges.goal_check import _loose, _named_venues

    db = VenueDB.load()
    names = {r["name"] for r in _named_venues("hotel", _loose("warkworth house is in the east."), db)}
    assert "warkworth house" in names and "worth house" not in names
    assert {r["name"] for r in _named_venues("hotel", _loose("Try Worth House, in the north."), db)} == {"worth house"}


def test_the_longer_of_two_nested_names_is_the_one_named():
    from goalconvo.judges.goal_check import _loose, _named_venues

    named = _named_venues("hospital", _loose("the colorectal surgery department is on hills rd."), VenueDB.load())
    assert named and named[-1]["department"] == "colorectal surgery"


def test_prompt_leak_repetition_and_early_stop_are_rejected():
    leak = GOOD[:2] + ["User: yes book it [END]"] + GOOD[3:]
    assert "role_confusion" in _failed(_verdict(leak))
    rep = [GOOD[0], GOOD[1]] * 3
    assert "repetition" in _failed(_verdict(rep, stop="loop"))
    assert "ended_properly" in _failed(_verdict(rep, stop="loop"))


def test_non_english_dialogue_is_rejected():
    lines = ["Je voudrais un restaurant italien au centre.", "Pizza hut city centre est au centre, téléphone 01223323737.", "Merci, au revoir.", "Au revoir!"]
    assert "language" in _failed(_verdict(lines))


@pytest.mark.slow
@needs_multiwoz()
def test_rules_and_goal_check_accept_most_real_multiwoz_dialogues():
    """Calibration: a judge that rejects real human dialogues is miscalibrated (measured: 879/999 under rules-4,
    891 under rules-3; the sense check alone rejects 15, tests/test_sense.py)."""
    from collections import Counter

    from goalconvo.core.multiwoz import iter_multiwoz_dialogues

    judge = Judge(Settings(judge_llm=False), VenueDB.load(MULTIWOZ / "db"))
    reasons: Counter = Counter()
    accepted = total = 0
    for d in iter_multiwoz_dialogues(MULTIWOZ / "val.json.zip", "mwoz"):
        v = asyncio.run(judge.judge(d)).verdict
        total += 1
        accepted += v.accepted
        reasons.update(c.name for c in v.checks if not c.passed)
    assert total == 999
    assert accepted / total >= 0.85, (accepted, reasons.most_common())
    assert reasons["ended_properly"] == 0 and reasons["language"] == 0


class _JudgeBackend:
    """A judge model that is down (``LLMError``), or answers ``reply``."""

    model_name = "judge-under-test"

    def __init__(self, reply: str | None = None):
        self.reply = reply
        self.calls = 0

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def complete(self, messages, params, context=None):
        from goalconvo.llm import Completion, LLMError

        self.calls += 1
        if self.reply is None:
            raise LLMError("LLM call failed after 4 attempts; last: connection refused")
        return Completion(self.reply, 1, 1, self.model_name)


def test_an_llm_outage_in_the_judge_is_raised_never_a_verdict():
    """Issue 14, item 10: an LLMError used to become a judge_error rejection of a good dialogue."""
    import pytest

    from goalconvo.llm import LLMError

    down = _JudgeBackend()
    judge = Judge(Settings(llm="scripted", judge_llm=True, judge_retries=2), VenueDB.load(), down)
    with pytest.raises(LLMError, match="connection refused"):
        asyncio.run(judge.judge(_dialogue(GOOD)))
    assert down.calls == 1, "the backend already retried and waited; the judge does not call a dead model again"
    # A reply that is not a verdict still is one (the model's fault, not the dialogue's): judge_error, rejected.
    garbled = _JudgeBackend("I'd give it a five.")
    v = asyncio.run(Judge(Settings(llm="scripted", judge_llm=True, judge_retries=1), VenueDB.load(), garbled)
                    .judge(_dialogue(GOOD))).verdict
    assert not v.accepted and v.judge_error and garbled.calls == 2
