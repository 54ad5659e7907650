"""The belief tracker (``assess dst``): normalisation, scores by hand, a slot learned from a tiny corpus,
the refusal of sets without belief states, and both commands end to end on real DuckDB files."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from goalconvo.assess.dst.evaluate import score, slot_reports
from goalconvo.assess.dst.examples import NoBeliefStates, examples, load_file, load_set, reference_id, split_sorted
from goalconvo.assess.dst.experiment import ALL, GENERATED, MIXED, REAL, Experiment, as_pool, draw, ratios
from goalconvo.assess.dst.model import BeliefTracker, changes
from goalconvo.assess.dst.normalize import flatten_state, normalize_value, tokens
from goalconvo.commands import app
from goalconvo.commands.runner import run_goals
from goalconvo.core.goals import multiwoz_goal
from goalconvo.core.records import CheckResult, Dialogue, Goal, JudgedDialogue, Persona, Scenario, Turn, Verdict
from goalconvo.core.settings import Settings
from goalconvo.sinks.store import CorpusStore

from conftest import MULTIWOZ, needs_multiwoz

VAL = MULTIWOZ / "val.json.zip"


# -- hand-made dialogues in MultiWOZ's layout --------------------------------------------------------
def state(**semi: str) -> dict:
    """A MultiWOZ ``metadata``: the restaurant touched when a slot is given (unset ones 'not mentioned')."""
    touched = bool(semi)
    slots = {k: semi.get(k, "not mentioned" if touched else "") for k in ("food", "pricerange", "name", "area")}
    return {"restaurant": {"book": {"booked": [], "people": "", "day": "", "time": ""}, "semi": slots},
            "hotel": {"book": {"booked": [], "stay": ""}, "semi": {"area": ""}}}


def dialogue(*turns: tuple[str, str, dict]) -> dict:
    log = []
    for user, system, st in turns:
        log += [{"text": user, "metadata": {}}, {"text": system, "metadata": st}]
    return {"log": log}


TRAIN = {
    "t1": dialogue(("I would like italian food .", "There are 5 . Any area ?", state(food="italian")),
                   ("what is the phone number ?", "It is 01223 .", state(food="italian"))),
    "t2": dialogue(("hello , I need a place to eat .", "What food would you like ?", state()),
                   ("chinese please .", "Golden house serves chinese .", state(food="chinese"))),
    "t3": dialogue(("Can you find me some indian food ?", "We have indian and chinese places .", state(food="indian")),
                   ("the address please .", "It is on main street .", state(food="indian"))),
    "t4": dialogue(("I want a place to eat in the centre .", "Italian or chinese ?", state(area="centre")),
                   ("italian , thanks .", "Pizza place is italian .", state(area="centre", food="italian"))),
}
TEST = {
    # chinese said as italian was in training, then carried over: both right.
    "d1": dialogue(("I would like chinese food .", "Sure .", state(food="chinese")),
                   ("what is the phone number ?", "It is 01223 .", state(food="chinese"))),
    # nothing said: right (empty); thai was never a training value, so it cannot be predicted: wrong.
    "d2": dialogue(("hello , I need a place to eat .", "What food would you like ?", state()),
                   ("thai food please .", "Sorry .", state(food="thai"))),
}


def test_label_values_are_normalised_the_usual_way():
    assert normalize_value(" Not Mentioned ") is None and normalize_value("") is None and normalize_value("none") is None
    for v in ("dont care", "don't care", "do n't care", "DontCare", "dontcare"):
        assert normalize_value(v) == "dontcare"
    assert normalize_value("  Acorn  Guest House ") == "acorn guest house"
    # Conventions stay apart: the figures show what they cost.
    assert normalize_value("guesthouse") != normalize_value("guest house") and normalize_value("9:15") == "9:15"
    meta = {"hotel": {"semi": {"area": "East", "type": "not mentioned", "parking": "dont care"},
                      "book": {"booked": [{"name": "x", "reference": "R"}], "people": "2", "day": ""}},
            "police": {"semi": {}, "book": {"booked": []}}}
    assert flatten_state(meta) == {"hotel-area": "east", "hotel-parking": "dontcare", "hotel-book people": "2"}


def test_text_reads_alike_from_multiwoz_and_from_generated_turns():
    assert tokens("I do n't need it , thanks .") == tokens("I don't need it, thanks.") == ["i", "do", "not", "need", "it", "thanks"]
    assert tokens("Leave after 9:15 , for two people .") == ["leave", "after", "09:15", "for", "2", "people"]
    assert tokens("postcode cb41da .") == ["postcode", "cb41da"]


def test_jga_and_slot_accuracy_by_hand():
    gold = [{"a": "1"}, {"a": "1", "b": "x"}, {}, {"b": "y"}]
    pred = [{"a": "1"}, {"a": "1"}, {"c": "z"}, {"b": "y"}]
    s = score(gold, pred)
    # Joint: turns 1 and 4 exact -> 2/4. Slots of the test: a, b. Per (turn, slot): (a,b) right,right |
    # right,wrong | right,right | right,right -> 7 of 8 (c is not a test slot: it costs the joint only).
    assert (s.turns, s.jga, s.slot_accuracy) == (4, 0.5, 7 / 8)
    reports = {r.slot: r for r in slot_reports(gold, pred)}
    assert sorted(reports) == ["a", "b", "c"]
    assert reports["b"].missed == {"x": 1} and reports["b"].gold_set == 2 and reports["b"].accuracy == 3 / 4
    assert reports["c"].invented == {"z": 1}


def test_the_tracker_learns_a_slot_from_a_tiny_corpus_and_its_jga_is_exact():
    tracker = BeliefTracker(seed=0).fit(examples(TRAIN))
    # The slots come from the training states: the hotel's area is in every metadata but never set.
    assert tracker.slots == ["restaurant-area", "restaurant-food"]
    assert tracker.values["restaurant-food"] == ["chinese", "indian", "italian"]
    test = examples(TEST)
    assert [(e.dialogue_id, e.turn) for e in test] == [("d1", 0), ("d1", 2), ("d2", 0), ("d2", 2)]
    predicted = tracker.predict(test)
    assert predicted[:3] == [{"restaurant-food": "chinese"}, {"restaurant-food": "chinese"}, {}]
    assert predicted[3] != {"restaurant-food": "thai"}
    s = score([e.state for e in test], predicted)
    # 3 of 4 turns exact; the one slot of the test (restaurant-food) right in the same 3.
    assert (s.jga, s.slot_accuracy) == (0.75, 0.75)


def test_changes_are_what_a_turn_adds_to_the_state_before_it():
    ex = examples(TRAIN, ["t4"])
    assert changes(ex) == [{"restaurant-area": "centre"}, {"restaurant-food": "italian"}]


def test_draws_are_seeded_and_paired_on_the_same_goals():
    keys = [f"k{i:02d}" for i in range(20)]
    assert draw(keys, 5, 1) == draw(keys, 5, 1) != draw(keys, 5, 2)
    assert draw(keys, None, 0) == draw(keys, 50, 0) == keys
    real = as_pool(REAL, {"r1": TRAIN["t1"], "r2": TRAIN["t2"], "r3": TRAIN["t3"], "r4": TRAIN["t4"]})
    gen = as_pool(GENERATED, {"g1": TRAIN["t1"], "g2": TRAIN["t2"], "g3": TRAIN["t3"], "gx": TRAIN["t4"]},
                  {"g1": "r1", "g2": "r2", "g3": "r3", "gx": "elsewhere"})
    exp = Experiment(examples(TEST), generated=gen, real=real, sizes=(2, None), draws=2, augment=1)
    assert exp.paired_keys == ["r1", "r2", "r3"]
    for n, k in ((2, 0), (2, 1), (None, 0)):
        assert [gen.keys[g] for g in exp._ids(gen, n, k)] == exp._ids(real, n, k)
    runs = exp.run()
    assert [(r.condition, r.size, r.draw) for r in runs][:5] == [
        (GENERATED, 2, 0), (REAL, 2, 0), (GENERATED, ALL, 0), (REAL, ALL, 0), (REAL, 1, 0)]
    assert {(r.condition, r.dialogues) for r in runs if r.size == ALL} == {(GENERATED, 3), (REAL, 3)}
    # Mixed: 1 real and the generated dialogues of the paired goals (gx's goal is no training goal).
    assert next(r for r in runs if r.condition == MIXED).dialogues == 1 + 3
    # The same pools trained twice give the same figures.
    assert [r.jga for r in runs] == [r.jga for r in exp.run()]
    by = {(r["what"], r["size"]): r for r in ratios(runs)}
    assert set(by) == {("generated / real", 2), ("generated / real", ALL), ("real+generated / real", 1)}


def test_reference_ids_of_goals():
    assert reference_id("multiwoz:PMUL1650") == "PMUL1650" and reference_id("multiwoz:SNG01#2") == "SNG01"
    assert reference_id("builtin:hotel-1") is None


# -- sets in a real corpus file -----------------------------------------------------------------------
def said(result) -> str:
    """What a command printed, line wraps undone (rich wraps at the terminal's width)."""
    return " ".join(result.output.split())


PERSONA = Persona(name="A", style="s", patience="p", verbosity="v")


def _judged(did: str, set_name: str, mode: str, belief: bool) -> JudgedDialogue:
    texts = ["I would like italian food .", "There are 5 .", "thanks , bye .", "Goodbye ."]
    turns = [Turn(index=k, speaker="user" if k % 2 == 0 else "bot", text=t,
                  belief=(state(food="italian") if belief and k % 2 else None),
                  phrased_by="template" if mode == "guided" else "role-play")
             for k, t in enumerate(texts)]
    goal = Goal.model_validate({"goal_id": f"multiwoz:{did}", "domains": {"restaurant": {"info": {"food": "italian"}}}})
    d = Dialogue(dialogue_id=did, run_id=set_name, goal=goal, scenario=Scenario(persona=PERSONA, objective="o", first_utterance=texts[0]),
                 turns=turns, model="m", prompt_version="p", mode=mode, stop_reason="goal_done", started_at=1.0, ended_at=2.0)
    v = Verdict(dialogue_id=did, accepted=True, judge_model="rules", judge_version="j", judged_at=1.0,
                checks=[CheckResult(name="x", passed=True)])
    return JudgedDialogue(dialogue=d, verdict=v)


def test_sets_without_belief_states_are_refused_with_the_reason(tmp_path: Path):
    db = tmp_path / "c.duckdb"
    store = CorpusStore(db)
    store.write_batch([_judged("f1", "run-free", "free", False), _judged("f2", "run-free", "free", False)])
    store.write_batch([_judged("g1", "run-guided", "guided", True)])
    store.import_set([_judged("i1", "imported", "free", False)], "imported", "x.json")
    try:
        got = load_set(store, "run-guided")
        assert list(got.dialogues) == ["g1"] and got.goal_ids == {"g1": "multiwoz:g1"}
        assert examples(got.dialogues)[0].state == {"restaurant-food": "italian"}
        with pytest.raises(NoBeliefStates, match="free mode"):
            load_set(store, "run-free")
        with pytest.raises(NoBeliefStates, match="import.*--real"):
            load_set(store, "imported")
        with pytest.raises(KeyError, match="no dialogue set 'nope'"):
            load_set(store, "nope")
    finally:
        store.close()
    test = tmp_path / "test.json"
    test.write_text(json.dumps(TEST))
    res = CliRunner().invoke(app, ["assess", "dst", "evaluate", "--set", "run-free", "--test", str(test), "--db", str(db)])
    assert res.exit_code == 1 and "generated in free mode" in said(res) and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["assess", "dst", "evaluate", "--test", str(test)])
    assert res.exit_code == 1 and "nothing to train on" in said(res)


def test_a_file_without_belief_states_is_refused(tmp_path: Path):
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"x": {"log": [{"text": "hi", "metadata": {}}, {"text": "hello", "metadata": {}}]}}))
    with pytest.raises(NoBeliefStates, match="no system turn carries a belief state"):
        load_file(bare)
    res = CliRunner().invoke(app, ["assess", "dst", "evaluate", "--real", str(bare), "--test", str(bare)])
    assert res.exit_code == 1 and "carries a belief state" in said(res) and "Traceback" not in res.output


# -- end to end on val's dialogues ------------------------------------------------------------------
def _val_slice(tmp_path: Path, n: int) -> tuple[Path, dict]:
    """The first ``n`` val dialogues by id, as a MultiWOZ zip."""
    with zipfile.ZipFile(VAL) as zf:
        data = json.loads(zf.read(zf.namelist()[0]))
    part = {k: data[k] for k in sorted(data)[:n]}
    path = tmp_path / "slice.json.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data.json", json.dumps(part))
    return path, part


@needs_multiwoz()
def test_evaluate_trains_on_a_generated_set_and_on_the_same_goals_real_dialogues(tmp_path: Path, settings: Settings):
    path, part = _val_slice(tmp_path, 24)
    first, _ = split_sorted(part, 12)
    goals = [multiwoz_goal(d, part[d]["goal"]) for d in first]
    summary = asyncio.run(run_goals(settings, len(goals), goals=goals, timeout_s=120))
    assert summary.finished and summary.accepted >= 10
    out = tmp_path / "dst.json"
    res = CliRunner().invoke(app, [
        "assess", "dst", "evaluate", "--set", summary.run_id, "--db", str(settings.db), "--test", str(path),
        "--real", str(path), "--sizes", "5,all", "--draws", "2", "--augment", "5", "--out", str(out), "--details"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["test"]["dialogues"] == 12 and doc["test"]["split"] == 12 and doc["test"]["first_test_id"] == sorted(part)[12]
    assert doc["training"]["paired_goals"] == summary.accepted
    rows = {(r["condition"], r["size"]): r for r in doc["summary"]}
    assert set(rows) == {(GENERATED, 5), (REAL, 5), (MIXED, 5), (GENERATED, ALL), (REAL, ALL)}
    assert rows[(GENERATED, ALL)]["dialogues"] == rows[(REAL, ALL)]["dialogues"] == summary.accepted
    assert rows[(MIXED, 5)]["dialogues"] == 5 + summary.accepted and rows[(REAL, 5)]["draws"] == 2
    for r in doc["runs"]:
        assert 0.0 <= r["jga"] <= r["slot_accuracy"] <= 1.0 and r["slots"]
    assert doc["slot_gap"]["size"] == ALL and doc["label_agreement"]
    assert "generated / real" in said(res) and "where the set-trained tracker loses" in said(res)


@needs_multiwoz()
def test_ratio_generates_the_first_halfs_goals_once_each_and_prints_the_ratio(tmp_path: Path, monkeypatch):
    path, part = _val_slice(tmp_path, 16)
    db = tmp_path / "ratio.duckdb"
    monkeypatch.setenv("GOALCONVO_SESSION_TIMEOUT_S", "2")
    out = tmp_path / "ratio.json"
    res = CliRunner().invoke(app, ["assess", "dst", "ratio", str(path), "--db", str(db), "--sizes", "4,all", "--draws", "1",
                                   "--augment", "4", "--concurrency", "8", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    gen = doc["training"]["generation"]
    assert gen["goals"] == 8 and gen["llm"] == "scripted" and gen["mode"] == "guided"
    store = CorpusStore(db)
    try:
        goal_ids = [r[0] for r in store.query("select goal_id from dialogues where set_name = ? order by 1", [gen["set"]]).rows]
    finally:
        store.close()
    # Each goal of the first half once, none of the second.
    assert sorted(reference_id(g) for g in goal_ids) == sorted(part)[:8] == sorted(set(reference_id(g) for g in goal_ids))
    assert {r["what"] for r in doc["ratios"]} == {"generated / real", "real+generated / real"}
    assert "ratio of JGA" in said(res)
    # Again on the stored set: no generation, the same figures.
    again = CliRunner().invoke(app, ["assess", "dst", "ratio", str(path), "--db", str(db), "--set", gen["set"],
                                     "--sizes", "4,all", "--draws", "1", "--augment", "4", "--json"])
    assert again.exit_code == 0, again.output
    def figures(summary: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in summary]

    assert figures(json.loads(again.stdout)["summary"]) == figures(doc["summary"])


@pytest.mark.slow
@needs_multiwoz()
def test_on_vals_halves_the_tracker_is_far_above_the_empty_state():
    data = load_file(VAL)
    first, rest = split_sorted(data, 499)
    test = examples(data, rest)
    gold = [e.state for e in test]
    empty = sum(not g for g in gold) / len(gold)
    predicted = BeliefTracker(seed=0).fit(examples(data, first)).predict(test)
    s = score(gold, predicted)
    assert empty == pytest.approx(0.0195, abs=0.001)
    assert s.jga >= 10 * empty and s.slot_accuracy > 0.9
