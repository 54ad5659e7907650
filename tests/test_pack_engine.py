"""Pack dialogues: the planner over a pack, the judge's pack checks, and runs end to end.

The end-to-end tests run ``goalconvo run --pack`` as a user does: the embedded broker over a real
socket, a real DuckDB file, the judge; the SGD-layout service is written here with names seen
nowhere else, imported with ``packs import-sgd``, then run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from test_packs import _write_unseen_sgd

from goalconvo.agents.pack import acts as A
from goalconvo.agents.pack.planner import plan_pack_dialogue
from goalconvo.core.pack_goals import generate_pack_goals, goal_problem, read_pack_goals
from goalconvo.core.records import Dialogue, Goal, Scenario, Turn
from goalconvo.judges.pack_judge import check_pack_goal, check_pack_roles
from goalconvo.packs.registry import find_pack


def _goal(pack, tasks, user=None, goal_id="g1") -> Goal:
    return Goal.model_validate({"goal_id": goal_id, "pack": pack.ref, "tasks": tasks, "user": user})


def _acts(plan, speaker: str) -> list[tuple[str, str, str]]:
    return [(a.act, a.slot, a.value) for t in plan.turns if t.speaker == speaker for a in t.acts]


# -- the goal record -----------------------------------------------------------------------------


def test_a_goal_with_tasks_names_its_pack_and_a_multiwoz_goal_of_another_domain_is_told_so():
    with pytest.raises(ValueError, match="a goal with tasks names its pack"):
        Goal.model_validate({"goal_id": "x", "domains": {"taxi": {}}, "tasks": [{"service": "taxi", "intent": "Go"}]})
    with pytest.raises(ValueError, match="a goal of another domain names its pack"):
        Goal.model_validate({"goal_id": "x", "domains": {"dentist": {}}})
    g = Goal.model_validate({"goal_id": "x", "pack": "clinic@1.0#abc", "tasks": [{"service": "Visits", "intent": "CancelVisit"}]})
    assert g.domain_names == ["Visits"]


def test_a_goal_of_another_pack_version_or_a_missing_service_is_refused_with_the_reason():
    clinic = find_pack("clinic")
    other = Goal.model_validate({"goal_id": "x", "pack": "clinic@0.9#000000000000",
                                 "tasks": [{"service": "Visits", "intent": "CancelVisit"}]})
    assert "names pack clinic@0.9#000000000000, this worker holds clinic@1.0#" in goal_problem(other, clinic)
    lacking = _goal(clinic, [{"service": "Dentists", "intent": "Book"}])
    assert "pack clinic has no service 'Dentists'" in goal_problem(lacking, clinic)
    bad_slot = _goal(clinic, [{"service": "Visits", "intent": "CancelVisit", "inform": {"colour": "red"}}])
    assert "service 'Visits' has no slot 'colour'" in goal_problem(bad_slot, clinic)


# -- the planner: what each kind of pack behaviour does ------------------------------------------------


def test_a_search_then_a_booking_refused_once_takes_the_alternative():
    clinic = find_pack("clinic")
    goal = _goal(clinic, [
        {"service": "Clinicians", "intent": "FindClinician", "inform": {"speciality": "dermatology"}, "request": ["phone"],
         "outcome": "none"},
        {"service": "Clinicians", "intent": "BookVisit", "inform": {"visit_day": "monday", "visit_time": "9:15"},
         "outcome": "success", "failed_first": True},
    ])
    plan = plan_pack_dialogue(goal, clinic, "seed")
    desk = _acts(plan, "bot")
    offered = next(v for a, s, v in desk if a == A.OFFER and s == "clinician_name")
    row = next(r for r in clinic.entities["Clinicians"] if r["clinician_name"] == offered)
    assert row["speciality"] == "dermatology"  # the desk offers only what fits
    assert (A.INFORM, "phone", row["phone"]) in desk  # and answers the request from that row
    acts = [a for a, _, _ in desk]
    assert acts.index(A.NOTIFY_FAILURE) < acts.index(A.NOTIFY_SUCCESS)
    assert (A.OFFER, "visit_time", "9:45") in desk  # the alternative: half an hour later
    assert (A.CONFIRM, "clinician_name", offered) in desk  # the booking is with the offered clinician
    assert plan.finished and plan.outcomes == {0: "none", 1: "success"}


def test_a_transfer_over_the_balance_is_refused_and_the_balance_read_after_it_agrees():
    bank = find_pack("bank")
    # u01: current 1240.50, savings 5300.00.
    goal = _goal(bank, [
        {"service": "Accounts", "intent": "MoveMoney", "inform": {"account": "current", "to_account": "savings", "amount": "2000"},
         "outcome": "success", "failed_first": True, "record": "a01"},
        {"service": "Accounts", "intent": "CheckBalance", "inform": {"account": "current"}, "outcome": "none", "record": "a01"},
    ], user="u01")
    plan = plan_pack_dialogue(goal, bank, "seed")
    desk = _acts(plan, "bot")
    assert (A.NOTIFY_FAILURE, "reason", "not enough money") in desk
    alternative = next(v for a, s, v in desk if a == A.OFFER and s == "amount")
    assert float(alternative) < 1240.50
    balance = next(v for a, s, v in desk if a == A.INFORM and s == "balance")
    assert float(balance) == pytest.approx(1240.50 - float(alternative))


def test_moving_a_visit_changes_the_users_record():
    clinic = find_pack("clinic")
    goal = _goal(clinic, [{"service": "Visits", "intent": "MoveVisit", "record": "v01",
                           "inform": {"clinician_name": "Dr Amara Okafor", "new_day": "friday", "new_time": "10:00"}}], user="u01")
    plan = plan_pack_dialogue(goal, clinic, "seed")
    assert plan.finished and plan.outcomes == {0: "success"}
    record = next(r for r in plan.desk["world"]["records"]["Visits"] if r["visit_id"] == "v01")
    assert (record["visit_day"], record["visit_time"]) == ("friday", "10:00")


def test_a_diagnosis_asks_until_a_row_decides_and_opens_a_ticket_when_no_step_fixes_it():
    net = find_pack("home-internet")
    fixed = _goal(net, [{"service": "Support", "intent": "DiagnoseFault",
                         "inform": {"device": "router", "symptom": "no connection", "tried": "nothing"}}])
    plan = plan_pack_dialogue(fixed, net, "seed")
    desk = _acts(plan, "bot")
    asked = [s for a, s, _ in desk if a == A.REQUEST]
    told = [s for a, s, _ in _acts(plan, "user") if a == A.INFORM]
    assert set(asked) <= {"device", "symptom", "tried"} and len(asked) == len(set(asked))  # one question at a time, none twice
    assert set(told) == {"device", "symptom", "tried"}
    assert any(a == A.INFORM and s == "step" and v.startswith("Switch the router off") for a, s, v in desk)
    assert not any(a == A.OFFER_INTENT for a, _, _ in desk)
    stuck = _goal(net, [{"service": "Support", "intent": "DiagnoseFault", "outcome": "failure",
                         "inform": {"device": "router", "symptom": "no connection", "tried": "checked the cables"}},
                        {"service": "Support", "intent": "OpenTicket", "outcome": "success"}])
    plan = plan_pack_dialogue(stuck, net, "seed")
    desk = _acts(plan, "bot")
    assert (A.OFFER_INTENT, "intent", "OpenTicket") in desk and any(s == "ticket_id" for a, s, _ in desk if a == A.INFORM)
    assert plan.finished


def test_drawn_goals_read_only_the_pack_and_never_repeat():
    for name in ("clinic", "home-internet", "bank"):
        pack = find_pack(name)
        goals = generate_pack_goals(pack, 20, seed=5)
        assert len({json.dumps([g.user, [t.model_dump() for t in g.tasks]]) for g in goals}) == 20
        assert all(goal_problem(g, pack) is None for g in goals)
        for g in goals:
            plan = plan_pack_dialogue(g, pack, g.goal_id)
            assert plan.finished, (name, g.tasks)


# -- the judge's pack checks ---------------------------------------------------------------------------


def _dialogue(goal: Goal, texts: list[str], acts: list[dict] | None = None) -> Dialogue:
    turns = [Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=t, acts=(acts or [{}] * len(texts))[i])
             for i, t in enumerate(texts)]
    return Dialogue(dialogue_id="d1", run_id="r1", goal=goal, turns=turns, model="template", prompt_version="pack-1",
                    scenario=Scenario(persona={"name": "A", "style": "s", "patience": "p", "verbosity": "v"},
                                      objective="", first_utterance=texts[0]), stop_reason="goal_done")


def test_the_pack_goal_check_reads_the_values_said_and_the_roles_check_reads_the_text():
    clinic = find_pack("clinic")
    goal = _goal(clinic, [{"service": "Visits", "intent": "CancelVisit", "inform": {"clinician_name": "Owen Pritchard",
                                                                                     "visit_day": "monday"}}], user="u02")
    done = _dialogue(goal, ["I need to cancel my visit with Owen Pritchard on monday.", "Shall I cancel it?", "Yes.",
                            "That's cancelled.", "Thanks, bye.", "Goodbye."],
                     [{}, {"Visits-CONFIRM": [["visit_day", "monday"]]}, {}, {"Visits-NOTIFY_SUCCESS": [["none", "none"]]}, {}, {}])
    assert check_pack_goal(done, clinic).passed
    never = _dialogue(goal, ["I need to cancel a visit.", "Which one?", "The Monday one.", "Okay.", "Bye.", "Goodbye."])
    check = check_pack_goal(never, clinic)
    assert not check.passed and "clinician_name 'Owen Pritchard' never said" in check.reason and "never made" in check.reason
    out_of_role = _dialogue(goal, ["Shall I book it for you? Is there anything else you need?", "Thank you for your help.",
                                   "Bye.", "Goodbye."])
    roles = check_pack_roles(out_of_role)
    assert not roles.passed and "turn 0 (User, role)" in roles.reason and "turn 1 (desk, role)" in roles.reason


# -- end to end, as a user runs it ------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "goalconvo.commands", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_an_unseen_sgd_service_imports_and_runs_end_to_end(tmp_path: Path):
    _write_unseen_sgd(tmp_path / "sgd")
    made = _cli("packs", "import-sgd", "sgd", "--out", "boats", "--name", "boats", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    every = _cli("run", "--pack", "boats", "--all-goals", "--db", "c.duckdb", cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    assert ": 1 goals -> accepted 1, rejected 0, dead-lettered 0" in every.stdout
    drawn = _cli("run", "--pack", "./boats", "--goals", "4", "--goal-source", "generate", "--db", "c.duckdb", cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert ": 4 goals ->" in drawn.stdout and "dead-lettered 0" in drawn.stdout
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    try:
        goals = [json.loads(r[0]) for r in con.execute("select goal from dialogues").fetchall()]
        texts = [r[0] for r in con.execute("select text from turns").fetchall()]
    finally:
        con.close()
    assert len(goals) == 5 and all(g["pack"].startswith("boats@1.0#") for g in goals)
    assert {t["service"] for g in goals for t in g["tasks"]} == {"Ferryman_9"}
    assert any("Wenmere" in t or "Oxlow" in t for t in texts)


def test_a_goal_of_another_pack_is_dead_lettered_with_the_reason(tmp_path: Path):
    bank = find_pack("bank")
    foreign = _goal(bank, [{"service": "Accounts", "intent": "CheckBalance", "inform": {"account": "current"}}], user="u01",
                    goal_id="foreign-1")
    lines = [foreign.model_dump_json(), foreign.model_copy(update={"goal_id": "foreign-2"}).model_dump_json()]
    (tmp_path / "goals.jsonl").write_text("\n".join(lines) + "\n")
    done = _cli("run", "--pack", "clinic", "--all-goals", "--goal-source", "goals.jsonl", "--db", "c.duckdb", cwd=tmp_path)
    assert done.returncode == 1 and "names pack bank@1.0#" in done.stderr and "line 1" in done.stderr
    # The pack's goal file refuses them before the run; the worker refuses them on the bus (a MultiWOZ worker here).
    ran = _cli("run", "--goal-source", "goals.jsonl", "--all-goals", "--llm", "scripted", "--db", "d.duckdb", cwd=tmp_path)
    assert ": 2 goals -> accepted 0, rejected 0, dead-lettered 2" in ran.stdout, ran.stdout + ran.stderr
    con = duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True)
    try:
        reasons = [r[0] for r in con.execute("select reason from dead_letters").fetchall()]
    finally:
        con.close()
    assert len(reasons) == 2 and all("names pack bank@1.0#" in r and "start it with --pack" in r for r in reasons)


def test_the_shipped_packs_goal_files_and_imported_goals_read_back(tmp_path: Path):
    _write_unseen_sgd(tmp_path / "sgd")
    assert _cli("packs", "import-sgd", "sgd", "--out", "boats", "--name", "boats", cwd=tmp_path).returncode == 0
    pack = find_pack(str(tmp_path / "boats"))
    [goal] = read_pack_goals(pack)
    assert goal.pack == pack.ref and [t.intent for t in goal.tasks] == ["SeekBoat", "HireBoat"]


SGD = Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd"


@pytest.mark.skipif(not (SGD / "Services_3" / "dialogues.json").is_file(), reason=f"SGD data not at {SGD}")
def test_pack_dialogues_export_as_sgd_with_its_keys_and_read_back(tmp_path: Path):
    from test_export_sgd import _shape

    from goalconvo.packs.sgd_import import goal_of

    done = _cli("run", "--pack", "clinic", "--goals", "8", "--db", "c.duckdb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = _cli("export", "--db", "c.duckdb", "--format", "sgd", "--out", "dialogues_001.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ours = json.loads((tmp_path / "dialogues_001.json").read_text())
    theirs: set = set()
    for service in ("Services_3", "Services_2", "Banks_1"):
        _shape(json.loads((SGD / service / "dialogues.json").read_text()), out=theirs)
    assert _shape(ours) - theirs == set()
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    try:
        goals = {r[0]: json.loads(r[1]) for r in con.execute(
            "select d.dialogue_id, d.goal from dialogues d join current_verdicts v using (dialogue_id) where v.accepted").fetchall()}
    finally:
        con.close()
    assert len(ours) == len(goals) >= 6
    for d in ours:
        # Read back by SGD's own reading (the importer's): the goal's intents and values, as the states say.
        back = goal_of(d, set(d["services"]))
        want = goals[d["dialogue_id"]]["tasks"]
        assert [t["intent"] for t in back["tasks"]] == [t["intent"] for t in want if t["intent"] in
                                                         {b["intent"] for b in back["tasks"]}]
        for t in want:
            got = next((b for b in back["tasks"] if b["intent"] == t["intent"]), None)
            assert got is not None, (d["dialogue_id"], t["intent"])
            # A task refused first ends with the alternative the desk offered in place of one value.
            differ = {k for k, v in t["inform"].items() if got["inform"].get(k) != v}
            assert not differ or (t["failed_first"] and len(differ) == 1), (d["dialogue_id"], t, got)
