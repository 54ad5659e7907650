"""Pack dialogues: the planner over a pack, the judge's pack checks, and runs end to end.

The end-to-end tests run ``goalconvo run --pack`` as a user does: the embedded broker over a real
socket, a real DuckDB file, the judge; the SGD-layout service is written here with names seen
nowhere else, imported with ``packs import-sgd``, then run.
"""

from __future__ import annotations

import json
import re
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
from goalconvo.agents.pack.phrases import PackPhrases
from goalconvo.packs.registry import find_pack
from goalconvo.packs.scaffold import new_pack


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
                        {"service": "Support", "intent": "OpenTicket", "outcome": "success"},
                        {"service": "Support", "intent": "BookEngineer", "outcome": "success",
                         "inform": {"visit_day": "thursday", "visit_slot": "morning"}}])
    plan = plan_pack_dialogue(stuck, net, "seed")
    desk = _acts(plan, "bot")
    assert (A.OFFER_INTENT, "intent", "OpenTicket") in desk and any(s == "ticket_id" for a, s, _ in desk if a == A.INFORM)
    ticket = next(v for a, s, v in desk if a == A.INFORM and s == "ticket_id")
    # The engineer is booked for the ticket the desk just opened: it never asks the User for it.
    assert (A.REQUEST, "ticket_id", "") not in desk and (A.CONFIRM, "ticket_id", ticket) in desk
    assert plan.finished and plan.outcomes[2] == "success"


def test_drawn_goals_read_only_the_pack_and_never_repeat():
    for name in ("clinic", "home-internet", "bank"):
        pack = find_pack(name)
        goals = generate_pack_goals(pack, 20, seed=5)
        assert len({json.dumps([g.user, [t.model_dump() for t in g.tasks]]) for g in goals}) == 20
        assert all(goal_problem(g, pack) is None for g in goals)
        for g in goals:
            plan = plan_pack_dialogue(g, pack, g.goal_id)
            assert plan.finished, (name, g.tasks)
        for table in pack.diagnoses:
            # A row that leaves a fact open (any symptom) still gives the User one: never "the symptom doesn't matter".
            asked = [t for g in goals for t in g.tasks if t.service == table.service and t.intent != table.fallback_intent
                     and not pack.service(t.service).intent(t.intent).is_transactional]
            assert asked and all(set(table.asks) - {"tried"} <= set(t.inform) for t in asked)


def test_a_second_search_and_booking_on_one_service_books_the_second_offer_not_the_first():
    clinic = find_pack("clinic")
    goal = _goal(clinic, [
        {"service": "Clinicians", "intent": "FindClinician", "inform": {"speciality": "dermatology"}, "outcome": "none"},
        {"service": "Clinicians", "intent": "BookVisit", "inform": {"visit_day": "monday", "visit_time": "9:15"}, "outcome": "success"},
        {"service": "Clinicians", "intent": "FindClinician", "inform": {"speciality": "general practice"}, "outcome": "none"},
        {"service": "Clinicians", "intent": "BookVisit", "inform": {"visit_day": "friday", "visit_time": "11:00"}, "outcome": "success"},
    ])
    plan = plan_pack_dialogue(goal, clinic, "seed")
    desk = _acts(plan, "bot")
    offers = [v for a, s, v in desk if a == A.OFFER and s == "clinician_name"]
    booked = [v for a, s, v in desk if a == A.CONFIRM and s == "clinician_name"]
    times = [v for a, s, v in desk if a == A.CONFIRM and s == "visit_time"]
    specialities = {r["clinician_name"]: r["speciality"] for r in clinic.entities["Clinicians"]}
    assert specialities[booked[0]] == "dermatology" and specialities[booked[-1]] == "general practice"
    assert booked[-1] == offers[-1] and times == ["9:15", "11:00"]
    assert plan.finished and plan.outcomes == {0: "none", 1: "success", 2: "none", 3: "success"}
    # The belief the desk shows after the second booking holds none of the first one's values.
    last = next(t for t in reversed(plan.turns) if t.speaker == "bot" and t.belief.get("Clinicians"))
    assert last.belief["Clinicians"].get("visit_day") == "friday"


def test_a_refused_alternative_turned_down_never_enters_the_belief():
    clinic = find_pack("clinic")
    goal = _goal(clinic, [{"service": "Clinicians", "intent": "BookVisit", "outcome": "failure",
                           "inform": {"clinician_name": "Dr Ravi Chandran", "visit_day": "monday", "visit_time": "9:15"}}])
    plan = plan_pack_dialogue(goal, clinic, "seed")
    desk = _acts(plan, "bot")
    assert (A.NOTIFY_FAILURE, "reason", "refused") in desk and (A.OFFER, "visit_time", "9:45") in desk
    assert (A.NEGATE, "", "") in _acts(plan, "user") and plan.outcomes == {0: "failure"}
    assert all(t.belief.get("Clinicians", {}).get("visit_time") != "9:45" for t in plan.turns if t.speaker == "bot")
    taken = _goal(clinic, [{**goal.tasks[0].model_dump(), "outcome": "success", "failed_first": True}])
    plan = plan_pack_dialogue(taken, clinic, "seed")
    held = [t.belief.get("Clinicians", {}).get("visit_time") for t in plan.turns if t.speaker == "bot"]
    assert held[-1] == "9:45" and "9:45" in held and held.index("9:45") > held.index("9:15")


def test_the_desk_never_makes_up_an_entitys_fact_it_lacks():
    clinic = find_pack("clinic")
    row = dict(clinic.entities["Clinicians"][0])
    clinic.entities["Clinicians"][0].pop("phone")
    try:
        goal = _goal(clinic, [{"service": "Clinicians", "intent": "BookVisit", "request": ["phone"], "outcome": "success",
                               "inform": {"clinician_name": row["clinician_name"], "visit_day": "monday", "visit_time": "10:00"}}])
        plan = plan_pack_dialogue(goal, clinic, "seed")
    finally:
        clinic.entities["Clinicians"][0].update(row)
    told = [v for a, s, v in _acts(plan, "bot") if a == A.INFORM and s == "phone"]
    assert told == [""]  # said as not known ("I don't have the phone for that"), never another clinician's number
    text = PackPhrases.for_pack(clinic).say("bot", [A.Act(A.INFORM, "Clinicians", "phone", "")], "s", {})
    assert "phone" in text and "don't" in text or "isn't" in text or "can't" in text


def test_a_booking_that_takes_no_slot_is_made_at_once(tmp_path: Path):
    folder = new_pack(tmp_path / "callback")

    def add(service):
        service["intents"].append({"name": "RequestCallback", "description": "Ask the venue to call back",
                                   "is_transactional": True, "required_slots": [], "optional_slots": {},
                                   "result_slots": ["reference"]})
    schema = json.loads((folder / "schema.json").read_text())
    add(schema[0])
    (folder / "schema.json").write_text(json.dumps(schema))
    pack = find_pack(str(folder))
    plan = plan_pack_dialogue(_goal(pack, [{"service": "Venues", "intent": "RequestCallback", "outcome": "success"}]), pack, "s")
    assert all(t.acts for t in plan.turns)  # no empty desk turn
    assert any(a == A.NOTIFY_SUCCESS for a, _, _ in _acts(plan, "bot")) and plan.outcomes == {0: "success"}


def test_a_ticket_the_goal_does_not_have_ends_only_the_current_task():
    net = find_pack("home-internet")
    clinic_like = _goal(net, [
        {"service": "Support", "intent": "DiagnoseFault", "outcome": "failure",
         "inform": {"device": "router", "symptom": "no connection", "tried": "checked the cables"}},
        {"service": "Support", "intent": "DiagnoseFault", "outcome": "success",
         "inform": {"device": "router", "symptom": "no connection", "tried": "nothing"}},
    ])
    plan = plan_pack_dialogue(clinic_like, net, "seed")
    assert (A.OFFER_INTENT, "intent", "OpenTicket") in _acts(plan, "bot")
    intents = [v for a, _, v in _acts(plan, "user") if a == A.INFORM_INTENT]
    assert intents == ["DiagnoseFault", "DiagnoseFault"]  # the second task is still worked on
    assert plan.outcomes[0] == "failure" and 1 in plan.outcomes


def test_drawn_transfers_of_a_balance_written_with_a_currency_read_it():
    bank = find_pack("bank")
    rows = [r for u in bank.user_states for r in u.rows]
    saved = [dict(r) for r in rows]
    for r in rows:
        if r.get("balance"):
            r["balance"] = "£" + f"{float(r['balance']):,.2f}"
    try:
        goals = generate_pack_goals(bank, 20, seed=3)
    finally:
        for r, old in zip(rows, saved):
            r.clear()
            r.update(old)
    amounts = [t.inform["amount"] for g in goals for t in g.tasks if "amount" in t.inform]
    assert amounts and all(a.startswith("£") for a in amounts)


def test_another_option_where_only_one_fits_is_said_to_be_the_only_one():
    from goalconvo.agents.pack.desk import Desk
    from goalconvo.agents.pack.world import World

    clinic = find_pack("clinic")
    desk = Desk(clinic, World(clinic, "s", None, set()))
    first = desk.respond([A.Act(A.INFORM_INTENT, "Clinicians", "intent", "FindClinician"),
                          A.Act(A.INFORM, "Clinicians", "speciality", "physiotherapy"), A.Act(A.INFORM, "Clinicians", "site", "Riverside")])
    [offer] = [a for a in first if a.act == A.OFFER and a.slot == "clinician_name"]
    again = desk.respond([A.Act(A.REQUEST_ALTS, "Clinicians")])
    assert again[0] == A.Act(A.INFORM_COUNT, "Clinicians", "count", "1") and again[1].value == offer.value
    text = PackPhrases.for_pack(clinic).say("bot", again, "s", {"Clinicians": "FindClinician"})
    assert "only" in text and text.count(offer.value) == 1


# -- the judge's pack checks ---------------------------------------------------------------------------


def test_the_objective_words_each_task_from_its_intents_description_not_its_identifier():
    from goalconvo.agents.pack.engine import describe_pack_goal

    pack = find_pack("clinic")
    goal = _goal(pack, [{"service": "Clinicians", "intent": "FindClinician", "inform": {"speciality": "dermatology"},
                         "request": ["phone"]}])
    text = describe_pack_goal(goal, pack)
    assert text == "Find a clinician (Clinicians), with speciality: dermatology; asking for phone.", text
    assert "FindClinician" not in text


def _dialogue(goal: Goal, texts: list[str], acts: list[dict] | None = None) -> Dialogue:
    turns = [Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=t, acts=(acts or [{}] * len(texts))[i])
             for i, t in enumerate(texts)]
    return Dialogue(dialogue_id="d1", run_id="r1", goal=goal, turns=turns, model="template", prompt_version="pack-1",
                    scenario=Scenario(persona={"name": "A", "style": "s", "patience": "p", "verbosity": "v"},
                                      objective="", first_utterance=texts[0]), stop_reason="goal_done")


def test_a_yes_to_an_alternative_time_is_not_worded_as_a_confirmation():
    phrases = PackPhrases.for_pack(find_pack("clinic"))
    yes = [A.Act(A.AFFIRM, "Clinicians")]
    offered = [A.Act(A.NOTIFY_FAILURE, "Clinicians", "visit_time"), A.Act(A.OFFER, "Clinicians", "visit_time", "17:00")]
    confirm = [A.Act(A.CONFIRM, "Clinicians", "visit_time", "16:30")]
    to_offer = {phrases.say("user", yes, f"s{i}", {"Clinicians": "BookVisit"}, after=offered) for i in range(60)}
    to_confirm = {phrases.say("user", yes, f"s{i}", {"Clinicians": "BookVisit"}, after=confirm) for i in range(60)}
    assert not any("correct" in t or "right" in t for t in to_offer), to_offer
    assert "That's correct." in to_confirm


def test_a_turn_repeating_the_phrasing_prompt_fails_the_form_check():
    from goalconvo.judges.pack_judge import check_pack_form

    goal = _goal(find_pack("clinic"), [{"service": "Clinicians", "intent": "FindClinician", "inform": {"speciality": "dermatology"}}])
    texts = ["I need a dermatologist.", 'The customer said: "I need a dermatologist."', "Thanks, bye.", "Goodbye!"]
    result = check_pack_form(_dialogue(goal, texts))
    assert not result.passed and "turn 1: repeats the phrasing prompt ('The customer said')" in result.reason
    assert check_pack_form(_dialogue(goal, [texts[0], "Dr Okafor sees dermatology.", *texts[2:]])).passed
    ai = _dialogue(goal, [*texts[:3], "Thank you! As an AI language model, my primary function is to help."])
    roles = check_pack_roles(ai)
    assert not roles.passed and "turn 3 (desk, role): speaks as a language model" in roles.reason, roles.reason


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


def test_the_pack_goal_check_counts_only_answers_of_the_task_at_its_place():
    clinic = find_pack("clinic")
    goal = _goal(clinic, [{"service": "Clinicians", "intent": "FindClinician", "inform": {"speciality": "dermatology"},
                           "request": ["phone"], "outcome": "none"},
                          {"service": "Clinicians", "intent": "BookVisit", "outcome": "success",
                           "inform": {"clinician_name": "Dr Ravi Chandran", "visit_day": "monday", "visit_time": "9:15"}}])
    opened = {"Clinicians-INFORM_INTENT": [["intent", "FindClinician"]]}
    book = {"Clinicians-INFORM_INTENT": [["intent", "BookVisit"]]}
    texts = ["I need someone in dermatology.", "Dr Ravi Chandran is one. What phone would you like?", "Book Dr Ravi Chandran monday at 19:15.",
             "Booked.", "Thanks.", "Bye."]
    # The desk asking for the phone is no answer; another clinician's number is none; "19:15" does not say "9:15";
    # a success before the booking was asked for is not the booking's.
    wrong = _dialogue(goal, texts, [opened, {"Clinicians-NOTIFY_SUCCESS": [["none", "none"]], "Clinicians-REQUEST": [["phone", "none"]]},
                                    book, {}, {}, {}])
    reason = check_pack_goal(wrong, clinic).reason
    assert "phone asked for, never answered" in reason and "visit_time '9:15' never said" in reason and "BookVisit: never made" in reason
    other = next(r["phone"] for r in clinic.entities["Clinicians"] if r["speciality"] != "dermatology")
    texts2 = [texts[0], f"Dr Ravi Chandran is one, on {other}.", "Book him monday at 9:15.", "Booked.", "Thanks.", "Bye."]
    assert "phone asked for" in check_pack_goal(_dialogue(goal, texts2, [opened, {}, book, {}, {}, {}]), clinic).reason
    own = next(r["phone"] for r in clinic.entities["Clinicians"] if r["clinician_name"] == "Dr Ravi Chandran")
    right = _dialogue(goal, [texts[0], f"Dr Ravi Chandran is one, on {own}.", "Book him monday at 9:15.", "Booked.", "Thanks.", "Bye."],
                      [opened, {}, book, {"Clinicians-NOTIFY_SUCCESS": [["none", "none"]]}, {}, {}])
    assert check_pack_goal(right, clinic).passed


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
    # Exported for training, the chats and the card speak of the pack, under its licence, not the travel desk's.
    refused = _cli("export", "--db", "c.duckdb", "--format", "hf", "--out", "hf", cwd=tmp_path)
    assert refused.returncode != 0 and "dialogues of pack(s) boats@1.0#" in refused.stdout + refused.stderr
    card = _cli("export", "--db", "c.duckdb", "--format", "hf", "--out", "hf", "--pack", "boats", "--include-rejected",
                cwd=tmp_path)
    assert card.returncode == 0, card.stdout + card.stderr
    readme = (tmp_path / "hf" / "README.md").read_text()
    assert "license: cc-by-sa-4.0" in readme and "Schema-Guided Dialogue" in readme and "Hire a rowing boat" in readme
    assert "Cambridge" not in readme and "MultiWOZ's domains" not in readme
    chats = _cli("export", "--db", "c.duckdb", "--format", "openai-chat", "--split", "train", "--out", "t.jsonl",
                 "--pack", "boats", "--include-rejected", cwd=tmp_path)
    assert chats.returncode == 0, chats.stderr
    system = json.loads((tmp_path / "t.jsonl").read_text().splitlines()[0])["messages"][0]["content"]
    assert "Ferryman_9" in system and "Cambridge" not in system
    other = _cli("export", "--db", "c.duckdb", "--format", "jsonl", "--out", "x.jsonl", "--pack", "clinic", cwd=tmp_path)
    assert other.returncode != 0 and "no dialogues of pack clinic@" in other.stdout + other.stderr


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
    # Judged again without the pack (or with another), every verdict would be a rejection: refused, nothing written.
    for extra in ([], ["--pack", "bank"]):
        refused = _cli("rejudge", "--db", "c.duckdb", "--judge-version", "again", *extra, cwd=tmp_path)
        assert refused.returncode != 0 and "name pack(s) clinic@" in refused.stdout + refused.stderr
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from verdicts where judge_version = 'again'").fetchone()[0] == 0
    finally:
        con.close()
    again = _cli("rejudge", "--db", "c.duckdb", "--judge-version", "again", "--pack", "clinic", "--json", cwd=tmp_path)
    # The run's own near-duplicate filter may have rejected one; rejudged, every pack dialogue gets its pack's checks.
    assert again.returncode == 0 and json.loads(again.stdout)["judged"] == 8
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    try:
        failed = [r[0] for r in con.execute("select reason from verdict_checks where judge_version = 'again' and not passed "
                                            "and name <> 'near_duplicate'").fetchall()]
    finally:
        con.close()
    assert failed == []  # every one judged by its pack's checks, none refused for naming another pack


def test_a_task_no_turn_opens_shares_the_previous_ones_turns():
    from goalconvo.judges.pack_judge import task_spans

    bank = find_pack("bank")
    goal = _goal(bank, [{"service": "Accounts", "intent": "MoveMoney", "outcome": "success",
                         "inform": {"account": "current", "to_account": "savings", "amount": "20"}},
                        {"service": "Accounts", "intent": "CheckBalance", "inform": {"account": "current"}}], user="u01")
    acts = [{"Accounts-INFORM_INTENT": [["intent", "MoveMoney"]]}, {"Accounts-CONFIRM": [["amount", "20"]]}, {},
            {"Accounts-NOTIFY_SUCCESS": [["none", "none"]]}, {"Accounts-REQUEST": [["balance", "none"]]},
            {"Accounts-INFORM": [["balance", "1220.50"]]}]
    d = _dialogue(goal, ["Move 20 from current to savings.", "20 to savings?", "Yes.", "Done.", "And the balance of current?",
                         "It's 1220.50."], acts)
    assert task_spans(d, goal.tasks) == [(0, 6), (0, 6)]
    assert "never made" not in check_pack_goal(d, bank).reason


def test_the_llm_judge_judges_a_pack_dialogue_at_the_packs_desk():
    """With an LLM judge on, a pack dialogue is judged by it, the prompt naming the pack's desk and what
    it hands over (not MultiWOZ's); a low score rejects it as it rejects a MultiWOZ one."""
    import asyncio

    from goalconvo.agents.pack.engine import PackEngine
    from goalconvo.core.settings import Settings
    from goalconvo.core.venues import VenueDB
    from goalconvo.judges.judge import Judge
    from goalconvo.llm.base import Completion
    from goalconvo.llm.scripted import ScriptedBackend

    class Scoring(ScriptedBackend):
        def __init__(self, score: int) -> None:
            super().__init__()
            self.score, self.systems = score, []

        async def complete(self, messages, params, context=None) -> Completion:
            self.systems.append(messages[0].content)
            comp = await super().complete(messages, params, context)
            comp.text = comp.text.replace('"coherence": 5', f'"coherence": {self.score}')
            return comp

    pack = find_pack("clinic")
    settings = Settings(llm="scripted")
    goal = generate_pack_goals(pack, 1, seed=3)[0]

    async def talk():
        eng = PackEngine(pack, settings)
        st = await eng.start(goal, "judged")
        while True:
            st = await eng.user_turn(st)
            step = await eng.bot_turn(st)
            st = step.state
            if step.finished:
                return step.finished

    dialogue = asyncio.run(talk())
    verdicts = {}
    for score in (5, 2):
        llm = Scoring(score)
        verdict = asyncio.run(Judge(settings, VenueDB.load(), llm=llm, pack=pack).judge(dialogue)).verdict
        verdicts[score] = verdict
        [system] = llm.systems
        assert pack.meta.setting in system and pack.meta.delivers in system and "Cambridge" not in system, system
    llm_check = {s: next(c for c in v.checks if c.name == "llm_judge") for s, v in verdicts.items()}
    assert verdicts[5].accepted and llm_check[5].passed and verdicts[5].scores["coherence"] == 5.0
    assert not verdicts[2].accepted and "coherence 2" in llm_check[2].reason
    # named apart from MultiWOZ's verdicts: the pack's checks judged it
    assert verdicts[5].judge_version.startswith("rules-7+pack3"), verdicts[5].judge_version


# -- LLM phrasing of pack turns (a stand-in model: these test the loop and the check, not wording) ----


def _rewriting(rewrite):
    """A scripted backend whose phrasing reply is ``rewrite(template)``; it keeps the prompts it is sent."""
    from goalconvo.llm.base import Completion
    from goalconvo.llm.scripted import ScriptedBackend

    class Rewriting(ScriptedBackend):
        model_name = "rewriting"

        def __init__(self):
            super().__init__()
            self.prompts = []

        async def complete(self, messages, params, context=None):
            if context is not None and context.task == "phrase":
                self.prompts.append([m.content for m in messages])
                return Completion(rewrite(context.data["template"]), 10, 10, self.model_name)
            return await super().complete(messages, params, context)

    return Rewriting()


def test_the_phrasing_check_refuses_what_the_template_does_not_say():
    from goalconvo.agents.pack.phrasing import PackChecker, kept_values

    pack = find_pack("clinic")
    checker = PackChecker.for_pack(pack)
    row = pack.entities["Clinicians"][0]
    name = row["clinician_name"]
    other = next(r["clinician_name"] for r in pack.entities["Clinicians"] if r["clinician_name"] != name)
    acts = [A.Act(A.OFFER, "Clinicians", "clinician_name", name), A.Act(A.INFORM_COUNT, "Clinicians", "count", "3")]
    template = f"I have 3 who fit. How about {name}?"
    keep = kept_values(acts, template)
    assert keep == [name, "3"]
    assert checker.problems("bot", f"There are 3 options. Would {name} suit you?", template, keep, "") == []
    assert "tells where the template asks" in checker.problems("bot", f"There are 3 options; {name} is one.", template, keep, "")
    leaked = checker.problems("bot", f'The customer said: "3 fit. How about {name}?"', template, keep, "")
    assert any("prompt's words ('customer')" in p for p in leaked), leaked
    assert any("words for a" in p for p in checker.problems("bot", f"{name}?", f"{template} They are all near you, on the ground floor.", [name], ""))
    assert any(p.startswith("drops") for p in checker.problems("bot", "There are 3 options.", template, keep, ""))
    assert any("adds '4'" in p for p in checker.problems("bot", f"4 fit, or 3. {name}?", template, keep, ""))
    named = checker.problems("bot", f"3 fit: {name} or {other}.", template, keep, "")
    assert any(p.startswith("names") and other.lower() in p for p in named), named
    assert any("out of role" in p for p in checker.problems("user", "How can I help you today?", "I need a doctor.", [], ""))
    assert "echoes the line before" in checker.problems("user", "Anything else?", "No, thanks.", [], "Anything else?")
    # Seen with the bundled model: the desk saying the User's line before its own question.
    echoed = checker.problems("bot", "Could it be on Thursday? What time would suit you?", "And what time would you like?", [],
                              "Could it be on Thursday?")
    assert any(p.startswith("repeats the line before") for p in echoed), echoed
    # Rewrites that turn the sense over or add a day (review helper-74's cases): each refused.
    offer = f"How about {name}? They have openings on Monday."
    for flipped in (f"How about {name}? They have no openings on Monday.", f"Sorry, {name} is not available. Any other?",
                    f"How about {name}? They have openings on Tuesday.", f"{name} is retired, sorry."):
        assert checker.problems("bot", flipped, offer, [name], ""), flipped
    assert "drops the template's no" in checker.problems("bot", f"{name} fits.", f"Sorry, {name} is not free.", [name], "")
    assert checker.problems("bot", f"What about {name}? They can see you on Monday.", offer, [name], "") == []
    # The bundled model's goodbye, seen in a clinic run: out of the dialogue, and far longer than "Thank you. Bye!".
    ai = "I'm sorry, but as an AI language model, I cannot engage in discussions regarding political matters."
    refused = checker.problems("user", ai, "Thank you. Bye!", [], "")
    assert any("speaks as a language model" in p for p in refused) and any("words for a 3-word line" in p for p in refused), refused


def test_pack_turns_phrased_by_the_llm_are_kept_when_the_check_passes_and_the_template_stays_when_not():
    import asyncio

    from goalconvo.agents.pack.engine import PackEngine
    from goalconvo.core.settings import Settings

    pack = find_pack("clinic")
    settings = Settings(llm="scripted", phrasing_tries=2)
    goal = generate_pack_goals(pack, 1, seed=5)[0]

    async def talk(llm):
        eng = PackEngine(pack, settings, llm)
        st = await eng.start(goal, "phrased")
        while True:
            st = await eng.user_turn(st)
            step = await eng.bot_turn(st)
            st = step.state
            if step.finished:
                return step.finished

    good = _rewriting(lambda t: "Well, " + t[0].lower() + t[1:])
    d = asyncio.run(talk(good))
    assert d.prompt_version == "pack-1+pr1" and d.model == "rewriting"
    assert all(t.phrased_by == "llm" and t.text.startswith("Well, ") for t in d.turns), [(t.phrased_by, t.refusals) for t in d.turns]
    assert d.scenario.first_utterance == d.turns[0].text
    system, ask = good.prompts[0]
    assert pack.meta.the_setting in system and "Cambridge" not in system and "Rewrite this customer line" in ask
    template = [t.text for t in asyncio.run(talk(None)).turns]
    assert [t.text[len("Well, "):] for t in d.turns] == [x[0].lower() + x[1:] for x in template]
    # A model that adds a number to every line: each refused twice, with the reason; the template said.
    bad = _rewriting(lambda t: t + " That's 99 of them.")
    d = asyncio.run(talk(bad))
    assert [t.text for t in d.turns] == template and all(t.phrased_by == "template" for t in d.turns)
    assert all(len(t.refusals) == 2 and "adds '99'" in t.refusals[0] for t in d.turns)
    # One that copies the draft: the template's wording, recorded as the template's.
    d = asyncio.run(talk(_rewriting(lambda t: t)))
    assert [t.text for t in d.turns] == template and all(t.phrased_by == "template" for t in d.turns)
    assert d.model == "template" and d.prompt_version == "pack-1"  # no turn phrased: not stamped as phrased


def test_an_intent_without_a_description_is_said_in_words_not_as_its_identifier(tmp_path: Path):
    """An intent said from its identifier (where there is no description, and in some turns beside one) had the
    User of a MultiWOZ copy run as a pack "calling to find_train"."""
    from goalconvo.agents.pack.phrases import identifier_words, intent_words

    assert identifier_words("FindProvider") == identifier_words("find_provider") == identifier_words("find-provider") \
        == ["find", "provider"]
    _write_unseen_sgd(tmp_path / "sgd")
    schema = json.loads((tmp_path / "sgd" / "schema.json").read_text())
    for intent in schema[0]["intents"]:
        intent["description"] = ""
    schema[0]["intents"][0]["name"] = "seek_boat"
    (tmp_path / "sgd" / "schema.json").write_text(json.dumps(schema))
    for d in (tmp_path / "sgd").glob("dialogues_*.json"):
        d.write_text(d.read_text().replace('"SeekBoat"', '"seek_boat"'))
    assert _cli("packs", "import-sgd", "sgd", "--out", "boats", cwd=tmp_path).returncode == 0
    pack = find_pack(str(tmp_path / "boats"))
    assert intent_words(pack, "Ferryman_9", "seek_boat") == "seek a boat"
    phrases = PackPhrases.for_pack(pack)
    said = {phrases.say("user", [A.Act(A.INFORM_INTENT, "Ferryman_9", "intent", "seek_boat")], f"s{i}", {}, first=True)
            for i in range(40)}
    assert not any("_" in s for s in said), said


def test_a_value_the_desk_tells_unasked_names_its_slot(tmp_path: Path):
    """Beside an offer, "We have 4." leaves a reader guessing; asked for, "It's 4." answers.

    Read in imported SGD packs (no wordings of their own): "Would Nina R. Birnbaum, M.D. suit
    you? I have 510-524-0861 here."
    """
    phrases = PackPhrases.for_pack(_boats(tmp_path))
    offer = [A.Act(A.OFFER, "Ferryman_9", "boat_label", "Kestrel"), A.Act(A.INFORM, "Ferryman_9", "oars", "4")]
    told = [phrases.say("bot", offer, f"s{i}", {"Ferryman_9": "SeekBoat"}) for i in range(40)]
    assert all("oars" in t for t in told), told
    asked = [A.Act(A.REQUEST, "Ferryman_9", "oars", "")]
    answered = {phrases.say("bot", offer[1:], f"s{i}", {"Ferryman_9": "SeekBoat"}, after=asked) for i in range(40)}
    assert any("oars" not in t and "4" in t for t in answered), answered


def _boats(tmp_path: Path):
    _write_unseen_sgd(tmp_path / "sgd")
    assert _cli("packs", "import-sgd", "sgd", "--out", "boats", cwd=tmp_path).returncode == 0
    return find_pack(str(tmp_path / "boats"))


def test_a_goal_booking_a_named_entity_asks_for_it_instead_of_taking_another(tmp_path: Path):
    """Read blind in imported doctors: the User took the first doctor offered, named the goal's at the
    booking, and the desk read back and booked the first (11 of 20 dialogues of one sheet)."""
    boats = _boats(tmp_path)
    goal = _goal(boats, [
        {"service": "Ferryman_9", "intent": "SeekBoat", "inform": {"lake": "Wenmere"}, "outcome": "none"},
        {"service": "Ferryman_9", "intent": "HireBoat", "inform": {"boat_label": "Heron", "start_hour": "10:30"},
         "outcome": "success"},
    ])
    kestrel_first = 0
    for i in range(12):
        plan = plan_pack_dialogue(goal, boats, f"seed{i}")
        desk, user = _acts(plan, "bot"), _acts(plan, "user")
        offers = [v for a, s, v in desk if a == A.OFFER and s == "boat_label"]
        kestrel_first += offers[0] == "Kestrel"
        assert (A.CONFIRM, "boat_label", "Heron") in desk and (A.CONFIRM, "boat_label", "Kestrel") not in desk
        assert not any(a == A.SELECT and v == "Kestrel" for a, _, v in user)
        assert plan.finished and plan.outcomes[1] == "success"
    assert 0 < kestrel_first < 12  # the desk opened with the other boat in some plans: the case was met


def test_a_value_left_open_is_not_read_back():
    clinic = find_pack("clinic")
    phrases = PackPhrases.for_pack(clinic)
    from goalconvo.agents.pack.desk import Desk
    from goalconvo.agents.pack.world import World

    desk = Desk(clinic, World(clinic, "s", None, set()))
    desk.respond([A.Act(A.INFORM_INTENT, "Clinicians", "intent", "BookVisit"),
                  A.Act(A.INFORM, "Clinicians", "clinician_name", clinic.entities["Clinicians"][0]["clinician_name"]),
                  A.Act(A.INFORM, "Clinicians", "visit_day", "monday"), A.Act(A.INFORM, "Clinicians", "visit_time", "dontcare")])
    confirms = [a for a in desk.respond([A.Act(A.INFORM, "Clinicians", "visit_time", "dontcare")]) if a.act == A.CONFIRM]
    assert confirms and all(a.value != "dontcare" for a in confirms)
    assert "dontcare" not in phrases.say("bot", confirms, "s", {"Clinicians": "BookVisit"})


def test_a_balance_made_per_call_is_above_what_the_dialogue_moves(tmp_path: Path):
    """Read blind in imported Banks_1: 1710 moved out of a savings balance of 1,638.45."""
    from goalconvo.agents.pack.world import World

    boats = _boats(tmp_path)
    low = [float(World(boats, f"s{i}", None, set()).generate("Ferryman_9", "balance").replace(",", "")) for i in range(30)]
    high = [float(World(boats, f"s{i}", None, set(), money_floor={"Ferryman_9": 8800.0}).generate("Ferryman_9", "balance")
                  .replace(",", "")) for i in range(30)]
    assert min(low) < 8800 and min(high) > 8800


def test_a_value_ending_in_a_full_stop_takes_no_second_one():
    """Read blind: "I'm thinking Aaron Tward, M.D.." in imported doctors."""
    phrases = PackPhrases.for_pack(find_pack("clinic"))
    texts = {phrases.say("user", [A.Act(A.INFORM, "Clinicians", "clinician_name", "Aaron Tward, M.D.")], f"s{i}",
                         {"Clinicians": "BookVisit"}) for i in range(40)}
    assert any("M.D." in t for t in texts) and not any(".." in t for t in texts), texts


def test_the_goal_check_refuses_a_booking_read_back_with_another_entity_than_the_goals():
    """Read blind: the desk offered Bindi, the User named Contreras at the booking, the desk read back and booked
    Bindi; every value was said somewhere, so the check had passed (the judge accepted all 20 of that sheet)."""
    clinic = find_pack("clinic")
    goal = _goal(clinic, [{"service": "Clinicians", "intent": "BookVisit", "outcome": "success",
                           "inform": {"clinician_name": "Dr Ravi Chandran", "visit_day": "monday", "visit_time": "9:15"}}])
    book = {"Clinicians-INFORM_INTENT": [["intent", "BookVisit"]]}
    texts = ["Book Dr Ravi Chandran on monday at 9:15, please.", "So: Dr Sofia Lindqvist, monday, 9:15?", "Yes.",
             "Booked.", "Thanks, bye.", "Goodbye."]
    read_back = {"Clinicians-CONFIRM": [["clinician_name", "Dr Sofia Lindqvist"], ["visit_day", "monday"],
                                        ["visit_time", "9:15"]]}
    made = {"Clinicians-NOTIFY_SUCCESS": [["none", "none"]]}
    wrong = check_pack_goal(_dialogue(goal, texts, [book, read_back, {}, made, {}, {}]), clinic)
    assert not wrong.passed and "clinician_name read back as 'dr sofia lindqvist'" in wrong.reason
    right_back = {"Clinicians-CONFIRM": [["clinician_name", "Dr Ravi Chandran"], ["visit_day", "monday"], ["visit_time", "9:15"]]}
    texts[1] = "So: Dr Ravi Chandran, monday, 9:15?"
    assert check_pack_goal(_dialogue(goal, texts, [book, right_back, {}, made, {}, {}]), clinic).passed
    # An alternative the desk offered after a refusal may replace the goal's value (9:45 for 9:15).
    alt = ["Book Dr Ravi Chandran on monday at 9:15, please.", "So: Dr Ravi Chandran, monday, 9:15?", "Yes.",
           "Sorry, 9:15 is gone; 9:45?", "Yes.", "So: Dr Ravi Chandran, monday, 9:45?", "Yes.", "Booked.", "Bye.", "Goodbye."]
    acts = [book, right_back, {}, {"Clinicians-NOTIFY_FAILURE": [["none", "none"]], "Clinicians-OFFER": [["visit_time", "9:45"]]},
            {}, {"Clinicians-CONFIRM": [["clinician_name", "Dr Ravi Chandran"], ["visit_day", "monday"], ["visit_time", "9:45"]]},
            {}, made, {}, {}]
    assert check_pack_goal(_dialogue(goal, alt, acts), clinic).passed


def test_a_canonical_date_and_a_12_hour_time_are_said_in_words_and_their_acts_and_spans_keep_them(tmp_path: Path):
    """Read in imported doctors: "Put down 2019-03-11 for the appointment date." SGD's calls carry
    canonical dates, its people say "March 11th"; so do ours, the acts keeping the canonical value."""
    from goalconvo.packs.values import date_wordings, time_wordings
    from goalconvo.sinks.export_sgd import _spans

    assert date_wordings("2019-03-01") == ["March 1st", "Friday, March 1st", "the 1st of March"]
    assert date_wordings("2019-03-12")[0] == "March 12th" and date_wordings("2019-03-22")[0] == "March 22nd"
    assert date_wordings("monday") == date_wordings("2019-02-30") == date_wordings("tomorrow") == []
    _write_unseen_sgd(tmp_path / "sgd")
    schema = json.loads((tmp_path / "sgd" / "schema.json").read_text())
    schema[0]["slots"].append({"name": "hire_day", "description": "", "is_categorical": False, "possible_values": []})
    hire = schema[0]["intents"][1]
    hire["required_slots"].append("hire_day")
    hire["result_slots"].append("hire_day")
    (tmp_path / "sgd" / "schema.json").write_text(json.dumps(schema))
    path = tmp_path / "sgd" / "dialogues_001.json"
    [dialogue] = json.loads(path.read_text())
    dialogue["turns"][2]["frames"][0]["actions"][0]["values"] = ["10:30 am"]  # said so, called 10:30
    dialogue["turns"][2]["frames"][0]["actions"].append(
        {"act": "INFORM", "slot": "hire_day", "values": ["the 8th"], "canonical_values": ["2019-03-08"]})
    for turn in dialogue["turns"][2:]:
        frame = turn["frames"][0]
        if "state" in frame:
            frame["state"]["slot_values"]["hire_day"] = ["the 8th"]
        if "service_call" in frame:
            frame["service_call"]["parameters"]["hire_day"] = "2019-03-08"
            for row in frame["service_results"]:
                row["hire_day"] = "2019-03-08"
    path.write_text(json.dumps([dialogue]))
    assert _cli("packs", "import-sgd", "sgd", "--out", "boats", cwd=tmp_path).returncode == 0
    pack = find_pack(str(tmp_path / "boats"))
    assert pack.rule("Ferryman_9", "hire_day").format == "date" and pack.locale.clock == "12h"
    [goal] = read_pack_goals(pack)
    assert goal.tasks[1].inform["hire_day"] == "2019-03-08"
    phrases = PackPhrases.for_pack(pack)
    told = [A.Act(A.INFORM, "Ferryman_9", "hire_day", "2019-03-08")]
    said = {phrases.say("user", told, f"s{i}", {"Ferryman_9": "HireBoat"}) for i in range(30)}
    assert not any("2019" in s for s in said) and all(any(w in s for w in date_wordings("2019-03-08")) for s in said), said
    assert len({w for s in said for w in date_wordings("2019-03-08") if w in s}) >= 2  # more than one way of saying it
    plan = plan_pack_dialogue(goal, pack, "seed")
    assert (A.CONFIRM, "hire_day", "2019-03-08") in _acts(plan, "bot")  # the act keeps the canonical value
    utterance = next(iter(said))
    [span] = _spans(utterance, [{"slot": "hire_day", "values": ["2019-03-08"]}])
    assert utterance[span["start"]:span["exclusive_end"]] in date_wordings("2019-03-08")
    # A time on the pack's 12-hour clock: "3 pm" or "3:00 pm" for 15:00, "12:45 am" past midnight.
    assert time_wordings("15:00", "12h") == ["3 pm", "3:00 pm"] and time_wordings("0:45", "12h") == ["12:45 am"]
    assert time_wordings("12:30", "12h") == ["12:30 pm"] and time_wordings("15:00", "24h") == time_wordings("noon", "12h") == []
    at = {phrases.say("user", [A.Act(A.INFORM, "Ferryman_9", "start_hour", "15:00")], f"s{i}", {"Ferryman_9": "HireBoat"})
          for i in range(30)}
    assert not any("15:00" in s for s in at) and all("3 pm" in s or "3:00 pm" in s for s in at), at
    utterance = next(iter(at))
    [span] = _spans(utterance, [{"slot": "start_hour", "values": ["15:00"]}])
    assert utterance[span["start"]:span["exclusive_end"]] in time_wordings("15:00", "12h")


def test_the_desk_says_youre_welcome_only_to_a_thanks():
    """Read: "Brilliant, nothing more. Bye!" answered "My pleasure. Bye now."."""
    phrases = PackPhrases.for_pack(find_pack("clinic"))
    thanks = [A.Act(A.THANK_YOU, "", "", ""), A.Act(A.GOODBYE, "", "", "")]
    for i in range(60):
        user = phrases.say("user", thanks, f"s{i}", {}, after=[A.Act(A.REQ_MORE, "", "", "")])
        assert re.search(r"thank|cheers|appreciate", user, re.I), user
        bare = phrases.say("bot", [A.Act(A.GOODBYE, "", "", "")], f"s{i}", {}, after=[A.Act(A.GOODBYE, "", "", "")])
        assert not re.search(r"welcome|pleasure", bare, re.I), bare
    welcomed = {phrases.say("bot", [A.Act(A.GOODBYE, "", "", "")], f"s{i}", {}, after=thanks) for i in range(60)}
    assert any("welcome" in t for t in welcomed)
