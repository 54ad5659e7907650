"""``--llm vllm`` against a real OpenAI-compatible server: llama.cpp's, serving the bundled model on loopback.

Servers differ in structured output: vLLM takes ``response_format`` of type
``json_schema``, llama.cpp's server only ``json_object`` with a ``schema`` (it
answers ``json_schema`` with HTTP 500). The client's ``auto`` mode falls back once
and remembers; the judge's scores must come back schema-valid either way.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request

import pytest

from goalconvo.agents.guided.engine import GuidedEngine
from goalconvo.commands.runner import run_goals
from goalconvo.core.goals import builtin_goals
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.llm_judge import JudgeScores, LLMJudge
from goalconvo.llm import bundled, create_backend
from goalconvo.streams.broker import free_port

from polling import wait_for

pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is in the test extra")

#: ``python -m llama_cpp.server`` with the weight-repack choice our local backend makes (a CPU that
#: advertises AMX crashed llama.cpp's first decode on this project's CI machine; see llm/local.py).
SERVE = (
    "import runpy, sys\n"
    "from goalconvo.core.settings import Settings\n"
    "from goalconvo.llm.local import extra_buffers, weight_repack_on\n"
    "sys.argv[0] = 'llama_cpp.server'\n"
    "with extra_buffers(weight_repack_on(Settings().llama_weight_repack)):\n"
    "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)

#: A real GGUF model served by llama.cpp: slow.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w")
    proc = subprocess.Popen(  # its chatty log goes to a file: a pipe nobody reads would block it
        [sys.executable, "-c", SERVE, "--model", str(bundled.bundled_model_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2", "--n_ctx", "4096"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        assert wait_for(up, timeout_s=120, interval_s=0.5), "llama.cpp's server did not come up"
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


async def _guided_dialogue(settings: Settings):
    engine = GuidedEngine(None, VenueDB.load(), settings)
    state = await engine.start(builtin_goals()[0], "r")
    while True:
        state = await engine.user_turn(state)
        step = await engine.bot_turn(state)
        if step.finished is not None:
            return step.finished
        state = step.state


def test_the_judge_gets_schema_valid_scores_from_llama_cpps_server(llama_server: str):
    s = Settings(llm="vllm", llm_urls=llama_server, llm_json_mode="auto", llm_timeout_s=120)
    backend = create_backend(s)
    dialogue = asyncio.run(_guided_dialogue(s))

    async def go():
        try:
            return await LLMJudge(backend, min_score=1, retries=2).judge(dialogue)
        finally:
            await backend.close()

    result = asyncio.run(go())
    assert not result.error, result.check.reason
    marks = set(JudgeScores.model_fields) - {"rationale"}
    assert set(result.scores) == marks and all(1 <= v <= 5 for v in result.scores.values()), result.scores
    assert backend.json_form == "json_object", "the server refuses json_schema; the client must have moved over"


def test_run_with_llm_vllm_against_llama_cpps_server_phrases_and_judges(llama_server: str, settings: Settings, tmp_path):
    goal = {"goal_id": "police-1", "domains": {"police": {"reqt": ["phone", "postcode"]}}}
    source = tmp_path / "goal.jsonl"
    source.write_text(json.dumps(goal) + "\n")
    s = settings.model_copy(update={
        "llm": "vllm", "llm_urls": llama_server, "concurrency": 1, "max_in_flight": 1, "llm_timeout_s": 120,
        "goal_source": source, "phrasing_tries": 2,
    })
    summary = asyncio.run(run_goals(s, 1, timeout_s=600))
    assert summary.finished and summary.dead_lettered == 0, summary
    from goalconvo.sinks.query_server import run_query

    phrased = dict(run_query(s.db, "select phrased_by, count(*) from turns group by 1").rows)
    assert phrased.get("llm", 0) >= 1, phrased
    checks = run_query(s.db, "select name, passed, reason from verdict_checks").rows
    llm_check = [c for c in checks if c[0] == "llm_judge"]
    rules_passed = all(c[1] for c in checks if c[0] != "llm_judge")
    if rules_passed:  # the LLM judge runs only after the rules pass: then it really judged
        assert llm_check and not llm_check[0][2].startswith("skipped"), llm_check
        scores = json.loads(run_query(s.db, "select scores from verdicts").rows[0][0])
        assert {"goal_relevance", "coherence", "fluency", "task_completion"} <= set(scores)
