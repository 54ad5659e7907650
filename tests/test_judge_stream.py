"""Hand-made dialogues through the real judge stream (dialogues.completed -> judge -> dialogues.judged).

One bad dialogue per rule, a garbled LLM-judge reply and a good dialogue go on
the topic; each verdict must carry the check and the reason expected. The LLM
judge is a real HTTP call to a loopback OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio

import orjson

from goalconvo.commands.bus import publish

from goalconvo.commands.runner import Worker
from goalconvo.core.records import JudgedDialogue
from goalconvo.core.wire import decode, encode
from goalconvo.core.settings import Settings
from goalconvo.devtools.openai_stub import OpenAIStubServer
from goalconvo.judges.judge import RULES_VERSION
from goalconvo.llm.vllm_server import VLLMServerBackend
from goalconvo.streams.topics import Topics

from kafka_helpers import read_topic
from test_judge import GOOD, _dialogue

CASES: dict[str, tuple[list[str], str, str | None, str]] = {
    # id: (lines, stop reason, failing check or None, reason fragment)
    "good": (GOOD, "goal_done", None, ""),
    "too-short": (GOOD[:1] + GOOD[-1:], "goal_done", "exchanges", "1 exchanges, allowed 2..20"),
    "empty": (GOOD[:2] + ["..."] + GOOD[3:], "goal_done", "empty_utterance", "turns [2] have no words"),
    "truncated": (GOOD[:2] + ["Yes, please book it for 2 people and"] + GOOD[3:], "goal_done", "empty_utterance",
                  "turns [2] stop mid-sentence"),
    "repeats": ([GOOD[0], GOOD[1]] * 3, "goal_done", "repetition", "repeats"),
    "echo": (GOOD[:1] + ["I want an italian restaurant in the centre, ok."] + GOOD[2:], "goal_done", "repetition",
             "turns [1] echo the other speaker"),
    "leak": (GOOD[:2] + ["User: yes book it [END]"] + GOOD[3:], "goal_done", "role_confusion", "prompt text in turns [2]"),
    "swapped": (GOOD[:4] + ["Your reference number is XY12AB34. How can I help you?"] + GOOD[5:], "goal_done",
                "role_confusion", "turns [4] speak the other role's lines"),
    "french": (["Je voudrais un restaurant italien au centre.", "Pizza hut city centre est au centre, téléphone 01223323737.",
                "Merci, au revoir.", "Au revoir!"], "goal_done", "language", "does not read as English"),
    "invented": (GOOD[:3] + ["Booked! The reference number is AB12CD34 and the phone is 01223999999."] + GOOD[4:],
                 "goal_done", "grounded_facts", "01223999999"),
    "early-stop": (GOOD[:4], "max_turns", "ended_properly", "stopped by max_turns"),
    "incomplete": (GOOD[:3] + ["Sure, it is a lovely place."] + GOOD[4:], "goal_done", "goal_completion",
                   "phone not answered"),
    "garbled-judge": (GOOD[:4] + ["GARBLE thank you, that is all. Goodbye."] + GOOD[5:], "goal_done", "llm_judge",
                      "judge_error after 2 tries"),
    "low-scores": (GOOD[:4] + ["LOWSCORE thank you, that is all. Goodbye."] + GOOD[5:], "goal_done", "llm_judge",
                   "scores below 3: coherence 2"),
}


def _judge_reply(messages, body) -> str:
    transcript = str(messages[-1]["content"])
    if "GARBLE" in transcript:
        return "Sure! The dialogue looks fine to me, I'd give it a five."
    scores = {"goal_relevance": 5, "coherence": 2 if "LOWSCORE" in transcript else 4, "fluency": 5,
              "task_completion": 5, "rationale": "hand-checked"}
    return orjson.dumps(scores).decode()


def test_each_bad_dialogue_gets_the_verdict_and_reason_expected(settings: Settings, bus: str):
    s = settings.model_copy(update={"judge_retries": 1})
    topics = Topics.for_prefix(s.topic_prefix)
    events = []
    for case_id, (lines, stop, _, _) in CASES.items():
        d = _dialogue(lines, stop)
        d.dialogue_id, d.run_id = case_id, "run-judge"
        events.append((case_id.encode(), encode(d)))

    async def scenario():
        async with OpenAIStubServer(reply=_judge_reply) as srv:
            llm = VLLMServerBackend([srv.base_url], "judge-7b", retries=0)
            async with Worker(s, bus, llm=llm) as w:
                await publish(bus, topics.dialogues_completed, events)
                raw = await read_topic(bus, topics.dialogues_judged, expect=len(CASES), timeout_s=90)
                for _ in range(120):
                    if w.store.query("select count(*) from verdicts").rows[0][0] >= len(CASES):
                        break
                    await asyncio.sleep(0.25)
                stored = w.store.query(
                    "select name, count(*) from verdict_checks where not passed group by name order by name"
                ).rows
            return [decode(JudgedDialogue, r) for r in raw], stored, srv.stats.requests

    judged, stored, judge_calls = asyncio.run(scenario())
    verdicts = {jd.dialogue.dialogue_id: jd.verdict for jd in judged}
    assert set(verdicts) == set(CASES)
    for case_id, (_, _, check, fragment) in CASES.items():
        v = verdicts[case_id]
        failed = {c.name: c.reason for c in v.checks if not c.passed}
        if check is None:
            assert v.accepted and not failed, (case_id, failed)
            assert v.scores["coherence"] == 4.0 and v.judge_model == "vllm:judge-7b"
            assert v.judge_version == RULES_VERSION + "+llm"
            continue
        assert not v.accepted, case_id
        assert check in failed, (case_id, failed)
        assert fragment in failed[check], (case_id, failed[check])
    assert verdicts["garbled-judge"].judge_error and not verdicts["low-scores"].judge_error
    # Cheap rule failures skip the LLM: only good, garbled (2 tries) and low-scores reached it.
    assert judge_calls == 1 + 2 + 1
    # The rejection reasons are queryable by check.
    by_check = dict((name, n) for name, n in stored)
    assert by_check["llm_judge"] == 2 and by_check["empty_utterance"] == 2 and by_check["role_confusion"] == 2
