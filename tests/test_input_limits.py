"""Issue 24, item 5: oversized and junk input. Sizes are checked before producing (one clear line naming
the input line, no traceback); an event too large to dead-letter whole is dead-lettered truncated, with
its ids and the reason, never lost; every dead letter carries the goal and run ids it could read; values
are checked against the slot types they fill, with a reason naming the field; control characters are
refused in ids; `query` prints stored text with control characters escaped (bidi marks kept)."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import duckdb
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from goalconvo.commands.bus import publish
from goalconvo.core.goals import multiwoz_goals
from goalconvo.core.dead_letters import DeadLetter
from goalconvo.core.records import Goal
from goalconvo.core.wire import decode
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.topics import Topics

from conftest import MULTIWOZ, needs_multiwoz
from kafka_helpers import read_topic
from live_worker import LiveWorker
from polling import wait_for
from test_store import _judged
from worker_procs import CLI, cli_env


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with LiveWorker(tmp_path_factory.mktemp("limits") / "corpus.duckdb") as lw:
        yield lw


def _goal(goal_id: str, run_id: str, **domains: dict) -> bytes:
    return json.dumps({"goal_id": goal_id, "run_id": run_id, "domains": domains or {"police": {"reqt": ["phone"]}}}).encode()


def _dead(live: LiveWorker, sql: str, params: list, n: int, timeout: float = 60) -> list:
    store = live.worker.store
    got = wait_for(lambda: (rows := store.query(sql, params).rows) and len(rows) >= n and rows, timeout)
    assert got, f"no dead letter for {params}"
    return got


def test_a_goal_too_large_for_an_event_is_refused_before_producing_naming_its_line(live: LiveWorker, tmp_path: Path):
    path = tmp_path / "goals.jsonl"
    ok = json.dumps({"goal_id": "fine", "domains": {"police": {"reqt": ["phone"]}}})
    path.write_text(ok + "\n\n" + json.dumps({"goal_id": "huge", "message": ["x" * 10_000_000], "domains": {"hotel": {}}}) + "\n")
    env = cli_env(live.settings)
    out = subprocess.run(CLI + ["goals", "produce", "--source", "jsonl", str(path), "--bootstrap-servers", live.bus,
                                "--run-id", "too-big"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "line 3" in out.stderr and "limit" in out.stderr and len(out.stderr.strip().splitlines()) <= 3, out.stderr
    # `run --goal-source` reads the same file: the same clear refusal, before any broker starts.
    run = subprocess.run(CLI + ["run", "--goals", "2", "--llm", "scripted", "--goal-source", str(path),
                                "--db", str(tmp_path / "r.duckdb")], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "Traceback" not in run.stderr and "line 3" in run.stderr, run.stderr[-2000:]
    on_topic = live.call(read_topic(live.bus, Topics.for_prefix(live.settings.topic_prefix).goals, expect=10**6, timeout_s=3))
    assert not [v for v in on_topic if b"too-big" in v], "the file was half sent"


def test_a_deeply_nested_line_is_a_clear_error_or_a_dead_letter_never_a_traceback(live: LiveWorker, tmp_path: Path):
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 10_000 + "]" * 10_000 + "\n")
    env = cli_env(live.settings)
    run = subprocess.run(CLI + ["run", "--goals", "1", "--llm", "scripted", "--goal-source", str(path),
                                "--db", str(tmp_path / "r.duckdb")], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "Traceback" not in run.stderr and "line 1" in run.stderr, run.stderr[-2000:]
    produce = subprocess.run(CLI + ["goals", "produce", "--source", "jsonl", str(path), "--bootstrap-servers", live.bus,
                                    "--run-id", "deep"], env=env, capture_output=True, text=True, timeout=120)
    assert produce.returncode == 0 and "Traceback" not in produce.stderr, produce.stderr[-2000:]


def test_an_event_too_large_to_dead_letter_whole_is_dead_lettered_truncated_with_its_ids(live: LiveWorker):
    """A 10 MB goal the broker took: its dead letter (over the producer's 8 MiB) goes truncated, and the stage goes on."""
    topics = Topics.for_prefix(live.settings.topic_prefix)
    tag = uuid.uuid4().hex[:8]
    big = json.dumps({"goal_id": f"big-{tag}", "run_id": f"run-{tag}", "message": ["x" * 10_000_000],
                      "domains": {"hotel": {}}}).encode()

    async def send_big() -> None:
        p = AIOKafkaProducer(bootstrap_servers=live.bus, max_request_size=16 * 1024 * 1024)
        await p.start()
        try:
            await p.send_and_wait(topics.goals, big, key=f"big-{tag}".encode())
        finally:
            await p.stop()

    live.call(send_big())
    live.call(publish(live.bus, topics.goals, [(b"after", _goal(f"after-{tag}", f"run-{tag}"))]))
    rows = _dead(live, "select goal_id, run_id, reason, length(payload) from dead_letters where goal_id = ?", [f"big-{tag}"], 1)
    goal_id, run_id, reason, kept = rows[0]
    assert (goal_id, run_id) == (f"big-{tag}", f"run-{tag}")
    assert "exceeds" in reason and "truncated" in reason and 0 < kept < len(big)
    letters = [decode(DeadLetter, v) for v in live.call(read_topic(live.bus, topics.goals_dead_letter, expect=1, timeout_s=30))]
    mine = [d for d in letters if d.goal_id == f"big-{tag}"]
    assert mine and mine[0].payload_truncated and mine[0].payload_bytes == len(big)
    assert wait_for(lambda: live.worker.store.query("select count(*) from dialogues where goal_id = ?",
                                                    [f"after-{tag}"]).rows[0][0] == 1, 60), "the stage stopped"


def test_a_large_goal_is_dead_lettered_with_its_run_so_a_run_counts_it(live: LiveWorker):
    """A 600 KB message once grew into a 1.2 MB turn event, dead-lettered with no run id: `run` waited forever."""
    topics = Topics.for_prefix(live.settings.topic_prefix)
    tag = uuid.uuid4().hex[:8]
    goal = json.dumps({"goal_id": f"wide-{tag}", "run_id": f"run-{tag}", "message": ["y" * 600_000],
                       "domains": {"police": {"reqt": ["phone"]}}}).encode()
    live.call(publish(live.bus, topics.goals, [(b"wide", goal)]))
    assert wait_for(lambda: live.worker.store.run_progress(f"run-{tag}")["dead_lettered"] == 1, 60), \
        live.worker.store.query("select run_id, reason from dead_letters").rows[-3:]


def test_every_dead_letter_of_an_undecodable_event_carries_the_ids_it_names(live: LiveWorker):
    topics = Topics.for_prefix(live.settings.topic_prefix)
    tag = uuid.uuid4().hex[:8]
    broken = b'{"dialogue_id": "d-' + tag.encode() + b'", "run_id": "run-' + tag.encode() + b'", "goal": {"goal_id": "g-' \
        + tag.encode() + b'"}, "turns": [oops'
    not_a_state = orjson.dumps({"dialogue_id": f"d2-{tag}", "run_id": f"run-{tag}", "goal": {"goal_id": f"g2-{tag}"}})
    live.call(publish(live.bus, topics.turns_user, [(b"k1", broken), (b"k2", not_a_state)]))
    rows = _dead(live, "select dialogue_id, run_id, goal_id from dead_letters where run_id = ? order by 1",
                 [f"run-{tag}"], 2)
    assert rows == [[f"d-{tag}", f"run-{tag}", f"g-{tag}"], [f"d2-{tag}", f"run-{tag}", f"g2-{tag}"]]


@pytest.mark.parametrize("slot,value,domain,part", [
    ("people", "-5", "restaurant", "book"), ("people", 10**18, "hotel", "book"), ("stay", 1e308, "hotel", "book"),
    ("time", "-99:99", "restaurant", "book"), ("leaveAt", "25:00", "train", "info"), ("arriveBy", "noon", "taxi", "info"),
    ("day", "someday", "hotel", "book"), ("people", "0", "train", "book"), ("stay", "2.5", "hotel", "book"),
])
def test_values_outside_their_slot_type_are_refused_naming_the_field(slot, value, domain, part):
    with pytest.raises(Exception) as err:
        decode(Goal, orjson.dumps({"goal_id": "g", "domains": {domain: {part: {slot: value}}}}))
    assert f"{slot}:" in str(err.value) and f"domains.{domain}.{part}" in str(err.value), str(err.value)


@pytest.mark.parametrize("slot,value", [("time", "9:15"), ("time", "17:45"), ("leaveAt", "24:07"), ("people", "8"),
                                        ("stay", "5"), ("day", "Friday")])
def test_values_of_their_type_pass(slot, value):
    decode(Goal, orjson.dumps({"goal_id": "g", "domains": {"hotel": {"book": {slot: value}}}}))


@needs_multiwoz()
def test_every_multiwoz_val_goal_fits_the_slot_types():
    assert len(multiwoz_goals(MULTIWOZ / "val.json.zip")) == 999


def test_junk_values_on_the_topic_are_dead_lettered_naming_the_field(live: LiveWorker):
    topics = Topics.for_prefix(live.settings.topic_prefix)
    tag = uuid.uuid4().hex[:8]
    events = [
        (b"a", _goal(f"p-{tag}", f"run-{tag}", restaurant={"book": {"people": "-5", "day": "monday", "time": "12:00"}})),
        (b"b", _goal(f"t-{tag}", f"run-{tag}", train={"info": {"leaveAt": "-99:99"}})),
        (b"c", _goal(f"n-{tag}", f"run-{tag}", hotel={"book": {"stay": 1e308}})),
    ]
    live.call(publish(live.bus, topics.goals, events))
    rows = dict(map(tuple, _dead(live, "select goal_id, reason from dead_letters where run_id = ?", [f"run-{tag}"], 3)))
    assert "people" in rows[f"p-{tag}"] and "leaveAt" in rows[f"t-{tag}"] and "stay" in rows[f"n-{tag}"], rows
    assert live.worker.store.query("select count(*) from dialogues where run_id = ?", [f"run-{tag}"]).rows == [[0]]


@pytest.mark.parametrize("bad", ["g\x1b[31m", "g\x00", "g\u202eexe", "g\nnext", "g\u200b"])
def test_control_characters_are_refused_in_ids(live: LiveWorker, bad: str):
    with pytest.raises(ValueError, match="control character"):
        Goal(goal_id=bad, domains={"police": {}})
    with pytest.raises(ValueError, match="control character"):
        Goal(goal_id="fine", run_id=bad, domains={"police": {}})
    tag = uuid.uuid4().hex[:8]
    live.call(publish(live.bus, Topics.for_prefix(live.settings.topic_prefix).goals,
                      [(tag.encode(), _goal(bad, f"run-{tag}"))]))
    (reason,) = _dead(live, "select reason from dead_letters where run_id = ?", [f"run-{tag}"], 1)[0]
    assert "control character" in reason
    assert live.worker.store.query("select count(*) from dialogues where run_id = ?", [f"run-{tag}"]).rows == [[0]]


def test_query_prints_stored_control_characters_escaped_and_keeps_bidi_marks(tmp_path: Path):
    db = tmp_path / "c.duckdb"
    jd = _judged()
    jd.dialogue.turns[0].text = "red \x1b[31mALERT\x1b[0m nul\x00 back\x08space \u200fשלום\u200e ok"
    store = CorpusStore(db)
    store.write_batch([jd])
    store.close()
    sql = "select text from turns where idx = 0"
    out = subprocess.run(CLI + ["query", "--db", str(db), sql], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\x00" not in out.stdout and "\x08" not in out.stdout
    assert "\\x1b[31mALERT" in out.stdout and "\u200fשלום\u200e" in out.stdout
    js = subprocess.run(CLI + ["query", "--db", str(db), "--json", sql], capture_output=True, text=True, timeout=60)
    assert "\x1b" not in js.stdout and json.loads(js.stdout)[0]["text"] == jd.dialogue.turns[0].text
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute(sql).fetchone()[0] == jd.dialogue.turns[0].text, "stored as it came; only printing escapes"
    con.close()
