"""Domain packs: the shipped ones load, every fault of a bad pack is refused with its message,
and SGD's own files (the shared services, and one written here with names seen nowhere else)
import into a pack that loads. ``goalconvo packs`` is driven as a user would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from goalconvo.packs import PackError, find_pack, load_pack, shipped_names
from goalconvo.packs.scaffold import new_pack
from goalconvo.packs.sgd_import import goal_of, import_sgd

SGD = Path(os.environ.get("GOALCONVO_TEST_SGD", Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd"))
needs_sgd = pytest.mark.skipif(not (SGD / "Services_3" / "schema.json").is_file(), reason=f"SGD data not at {SGD}")


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(PackError) as e:
        load_pack(folder)
    return e.value.problems


def one_problem(folder: Path, *needles: str) -> str:
    """The pack is refused with exactly one problem, which says every one of ``needles``."""
    found = problems_of(folder)
    assert len(found) == 1, found
    for n in needles:
        assert n in found[0], found[0]
    return found[0]


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A scaffold pack (loads as written), for a test to break one piece of."""
    return new_pack(tmp_path / "desk")


def edit_schema(folder: Path, change) -> None:
    schema = json.loads((folder / "schema.json").read_text())
    change(schema[0])
    (folder / "schema.json").write_text(json.dumps(schema))


# -- what ships -------------------------------------------------------------------------------


def test_the_shipped_example_packs_load_with_their_special_parts():
    assert {"clinic", "home-internet", "bank"} <= set(shipped_names())
    clinic, internet, bank = find_pack("clinic"), find_pack("home-internet"), find_pack("bank")
    assert clinic.entities["Clinicians"] and clinic.user_states[0].intents == ("ListVisits", "MoveVisit", "CancelVisit")
    assert internet.diagnoses[0].asks == ("device", "symptom", "tried") and internet.diagnoses[0].fallback_intent == "OpenTicket"
    assert any(not r.fixes for r in internet.diagnoses[0].rows)
    assert bank.user_states[0].amount_column == "balance" and bank.meta.licence == "MIT"
    # A pack names itself with a content hash: a changed file is another pack.
    assert clinic.ref.startswith("clinic@1.0#") and len({clinic.ref, internet.ref, bank.ref}) == 3


def test_the_scaffold_loads_and_its_hash_follows_its_content(pack: Path):
    first = load_pack(pack)
    assert first.meta.name == "desk" and first.rule("Venues", "people").maximum == 20
    (pack / "entities" / "venues.csv").write_text((pack / "entities" / "venues.csv").read_text() + "Fourth,north,0123 456 7893\n")
    assert load_pack(pack).content_hash != first.content_hash


# -- bad packs: each refused with its message (file, service, field) --------------------------


def test_an_intent_naming_an_undefined_slot(pack: Path):
    edit_schema(pack, lambda s: s["intents"][1]["required_slots"].append("table_colour"))
    one_problem(pack, "schema.json", "service 'Venues'", "intent 'BookVenue'", "required_slots", "'table_colour'")


def test_a_categorical_value_outside_its_possible_values(pack: Path):
    rows = (pack / "entities" / "venues.csv").read_text().replace("Northside Hall,north", "Northside Hall,uptown")
    (pack / "entities" / "venues.csv").write_text(rows)
    one_problem(pack, "service 'Venues'", "row 2", "slot 'district'", "'uptown'", "possible_values")


def test_a_categorical_default_outside_its_possible_values(pack: Path):
    edit_schema(pack, lambda s: s["intents"][1]["optional_slots"].update({"district": "east"}))
    one_problem(pack, "intent 'BookVenue'", "optional_slots", "'east'", "'district'")


def test_an_empty_entity_table_for_a_searched_service(pack: Path):
    (pack / "entities" / "venues.csv").write_text("name,district,phone\n")
    one_problem(pack, "service 'Venues'", "intent 'FindVenue' searches the service", "entity table")


def test_duplicate_names(pack: Path):
    edit_schema(pack, lambda s: s["slots"].append(dict(s["slots"][0])))
    one_problem(pack, "service 'Venues'", "slot 'district' defined twice")
    schema = json.loads((pack / "schema.json").read_text())
    schema[0]["slots"].pop()
    schema.append(dict(schema[0]))
    (pack / "schema.json").write_text(json.dumps(schema))
    one_problem(pack, "service 'Venues'", "service_name used twice")


def test_a_result_slot_nothing_fills(pack: Path):
    def add(s):
        s["slots"].append({"name": "rating", "description": "", "is_categorical": False, "possible_values": []})
        s["intents"][0]["result_slots"].append("rating")
    edit_schema(pack, add)
    one_problem(pack, "intent 'FindVenue'", "result slot 'rating' is filled by nothing", 'generated = true')


def test_a_malformed_csv_row_names_its_line(pack: Path):
    path = pack / "entities" / "venues.csv"
    path.write_text(path.read_text() + "Broken Row,centre\n")
    one_problem(pack, "venues.csv:5", "2 field(s), the header has 3")


def test_a_value_that_breaks_its_bounds_and_a_bad_rule(pack: Path):
    toml = (pack / "pack.toml").read_text()
    (pack / "pack.toml").write_text(toml.replace("min = 1\nmax = 20", "min = 30\nmax = 20")
                                    .replace('compare = "at_or_after"', 'compare = "sometime"'))
    found = problems_of(pack)
    assert any("min 30 is above max 20" in p and 'slots."Venues.people"' in p for p in found), found
    assert any("compare 'sometime'" in p for p in found), found


def test_an_unknown_clock_is_refused(pack: Path):
    toml = (pack / "pack.toml").read_text().replace('clock = "24h"', 'clock = "13h"')
    (pack / "pack.toml").write_text(toml)
    one_problem(pack, "pack.toml: [locale] clock '13h' is not one of 24h, 12h")


def test_a_pack_file_naming_what_the_schema_lacks(pack: Path):
    toml = (pack / "pack.toml").read_text().replace('[services.Venues]', '[services.Venus]')
    (pack / "pack.toml").write_text(toml)
    found = problems_of(pack)
    assert any("[services.Venus]" in p and "no service 'Venus'" in p for p in found), found


def test_a_card_file_replaces_what_it_names_and_a_bad_one_is_refused(pack: Path):
    """``[files] card``: the parts of the training exports' card a pack words itself (MultiWOZ's says all)."""
    from goalconvo.sinks.export_source import pack_source, source_of

    derived = pack_source(load_pack(pack))
    (pack / "pack.toml").write_text((pack / "pack.toml").read_text() + '\n[files]\ncard = "card.toml"\n')
    (pack / "card.toml").write_text('pretty_name = "Venue bookings"\ntags = ["dialogue", "venues"]\n')
    card = pack_source(load_pack(pack))
    assert (card.pretty_name, card.tags) == ("Venue bookings", ("dialogue", "venues"))
    assert (card.system_prompt, card.license_text) == (derived.system_prompt, derived.license_text)  # (about names the new hash)
    assert "Cambridge" in source_of(None).system_prompt  # the shipped MultiWOZ pack's card.toml
    (pack / "card.toml").write_text('pretty_name = ""\ntags = "dialogue"\nlicence = "MIT"\n')
    found = problems_of(pack)
    assert any("card.toml: pretty_name must be non-empty text" in p for p in found), found
    assert any("card.toml: tags must be a list of texts" in p for p in found), found
    assert any("card.toml: unknown key 'licence'" in p for p in found), found


def test_a_shapes_file_with_a_bad_regular_expression_is_refused(pack: Path):
    (pack / "pack.toml").write_text((pack / "pack.toml").read_text() + '\n[files]\nshapes = "shapes.toml"\n')
    (pack / "shapes.toml").write_text("[understanding]\nphone = '0[0-9'\nprice = '[0-9]+ pounds'\n")
    found = problems_of(pack)
    assert len(found) == 1 and "shapes.toml: [understanding] phone: not a regular expression" in found[0], found


def test_a_toml_role_is_parsed_whatever_its_file_is_called(pack: Path):
    """A card or template file named ``.txt`` is still read as TOML at run time, so its errors are refused at load."""
    (pack / "pack.toml").write_text((pack / "pack.toml").read_text() + '\n[files]\ncard = "card.txt"\n')
    (pack / "card.txt").write_text("title = [unclosed\n")
    found = problems_of(pack)
    assert len(found) == 1 and "card.txt: not valid TOML" in found[0], found


def test_every_problem_is_reported_at_once(pack: Path):
    edit_schema(pack, lambda s: s["intents"][1]["required_slots"].append("nope"))
    (pack / "entities" / "venues.csv").write_text("name,district,phone\nA,centre\n")
    found = problems_of(pack)
    assert len(found) >= 3, found  # the undefined slot, the short row, and the now-empty table


def test_a_missing_pack_file_and_an_unknown_name():
    with pytest.raises(PackError, match="no pack named 'dentistry'"):
        find_pack("dentistry")


def test_free_mode_with_a_pack_is_refused_not_ignored():
    """The paper's role-play has MultiWOZ's desk prompts only; a pack run asked for it is told, not run planned."""
    from goalconvo.core.settings import Settings

    # Settings hold both (a command reading a corpus with them in the environment is fine); run refuses.
    assert Settings(mode="free", pack="clinic").pack == "clinic"
    assert Settings(mode="free", pack="multiwoz").pack is None  # the shipped default: MultiWOZ's role-play
    done = subprocess.run([sys.executable, "-m", "goalconvo.commands", "run", "--pack", "clinic", "--mode", "free", "--goals", "1"],
                          capture_output=True, text=True, timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "runs MultiWOZ's goals only" in said and "GOALCONVO_MODE" in said
    bad = subprocess.run([sys.executable, "-m", "goalconvo.commands", "run", "--goals", "1"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "GOALCONVO_PARTITIONS": "many"})
    said = bad.stdout + bad.stderr
    assert bad.returncode == 2 and "partitions (GOALCONVO_PARTITIONS): Input should be a valid integer" \
        in " ".join(said.split()) and "errors.pydantic.dev" not in said


def test_the_shipped_pack_by_name_or_folder_is_the_same_as_no_pack():
    from goalconvo.core.settings import Settings
    from goalconvo.packs.registry import SHIPPED, is_shipped_default

    folder = SHIPPED / "multiwoz"
    assert is_shipped_default("multiwoz") and is_shipped_default(str(folder)) and is_shipped_default(str(folder / "pack.toml"))
    assert not is_shipped_default("clinic") and not is_shipped_default(str(SHIPPED / "clinic"))
    assert Settings(pack=str(folder)).pack is None and Settings(pack="clinic").pack == "clinic"


# -- SGD's files ----------------------------------------------------------------------------


def _write_unseen_sgd(folder: Path) -> None:
    """An SGD-layout service with names seen nowhere else: a boat hire desk with two search results a call."""
    schema = [{
        "service_name": "Ferryman_9", "description": "Hire a rowing boat on the lake",
        "slots": [
            {"name": "lake", "description": "", "is_categorical": True, "possible_values": ["Wenmere", "Oxlow"]},
            {"name": "boat_label", "description": "", "is_categorical": False, "possible_values": []},
            {"name": "oars", "description": "", "is_categorical": False, "possible_values": []},
            {"name": "start_hour", "description": "", "is_categorical": False, "possible_values": []},
            {"name": "hire_code", "description": "", "is_categorical": False, "possible_values": []},
        ],
        "intents": [
            {"name": "SeekBoat", "description": "", "is_transactional": False, "required_slots": ["lake"],
             "optional_slots": {"oars": "dontcare"}, "result_slots": ["boat_label", "lake", "oars"]},
            {"name": "HireBoat", "description": "", "is_transactional": True,
             "required_slots": ["boat_label", "start_hour"], "optional_slots": {},
             "result_slots": ["boat_label", "start_hour", "hire_code"]},
        ],
    }]

    def user(acts, state):
        return {"speaker": "USER", "utterance": "...", "frames": [{"service": "Ferryman_9", "slots": [], "actions": acts,
                                                                      "state": state}]}

    def system(acts, call=None, results=None):
        frame = {"service": "Ferryman_9", "slots": [], "actions": acts}
        if call:
            frame["service_call"], frame["service_results"] = call, results
        return {"speaker": "SYSTEM", "utterance": "...", "frames": [frame]}

    boats = [{"boat_label": "Kestrel", "lake": "Wenmere", "oars": "2"},
             {"boat_label": "Heron", "lake": "Wenmere", "oars": "4"}]
    dialogue = {"dialogue_id": "9_00001", "services": ["Ferryman_9"], "turns": [
        user([{"act": "INFORM", "slot": "lake", "values": ["Wenmere"], "canonical_values": ["Wenmere"]}],
             {"active_intent": "SeekBoat", "requested_slots": [], "slot_values": {"lake": ["Wenmere"]}}),
        system([{"act": "OFFER", "slot": "boat_label", "values": ["Kestrel"], "canonical_values": ["Kestrel"]}],
               {"method": "SeekBoat", "parameters": {"lake": "Wenmere"}}, boats),
        user([{"act": "INFORM", "slot": "start_hour", "values": ["10:30"], "canonical_values": ["10:30"]}],
             {"active_intent": "HireBoat", "requested_slots": [],
              "slot_values": {"boat_label": ["Kestrel"], "start_hour": ["10:30"]}}),
        system([{"act": "NOTIFY_FAILURE", "slot": "", "values": [], "canonical_values": []}],
               {"method": "HireBoat", "parameters": {"boat_label": "Kestrel", "start_hour": "10:30"}}, []),
        user([{"act": "INFORM", "slot": "boat_label", "values": ["Heron"], "canonical_values": ["Heron"]}],
             {"active_intent": "HireBoat", "requested_slots": ["hire_code"],
              "slot_values": {"boat_label": ["Heron"], "start_hour": ["10:30"]}}),
        system([{"act": "NOTIFY_SUCCESS", "slot": "", "values": [], "canonical_values": []},
                {"act": "INFORM", "slot": "hire_code", "values": ["HX41"], "canonical_values": ["HX41"]}],
               {"method": "HireBoat", "parameters": {"boat_label": "Heron", "start_hour": "10:30"}},
               [{"boat_label": "Heron", "start_hour": "10:30", "hire_code": "HX41"}]),
    ]}
    folder.mkdir(parents=True)
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / "dialogues_001.json").write_text(json.dumps([dialogue]))


def test_an_unseen_sgd_service_imports_into_a_pack_that_loads(tmp_path: Path):
    _write_unseen_sgd(tmp_path / "sgd")
    report = import_sgd(tmp_path / "sgd", tmp_path / "boats", "boats")
    pack = load_pack(tmp_path / "boats")
    assert report.goals == 1 and report.entity_rows == {"Ferryman_9": 2} and report.per_call == []
    assert {r["boat_label"] for r in pack.entities["Ferryman_9"]} == {"Kestrel", "Heron"}
    assert pack.rule("Ferryman_9", "hire_code").generated and pack.rule("Ferryman_9", "start_hour").format == "time"
    assert pack.locale.clock == "24h"  # its people said "10:30"
    assert pack.meta.licence == "CC BY-SA 4.0" and "Schema-Guided Dialogue" in pack.meta.attribution
    [failure] = pack.failures
    assert (failure.service, failure.intent, failure.kind, failure.rate) == ("Ferryman_9", "HireBoat", "notify_failure", 1.0)
    goal = json.loads((tmp_path / "boats" / "goals.jsonl").read_text())
    seek, hire = goal["tasks"]
    assert seek["inform"] == {"lake": "Wenmere"} and hire["inform"] == {"boat_label": "Heron", "start_hour": "10:30"}
    assert hire["request"] == ["hire_code"] and hire["outcome"] == "success" and hire["failed_first"] is True


def test_an_import_keeps_what_the_real_desk_told_and_drops_requests_it_never_answered(tmp_path: Path):
    _write_unseen_sgd(tmp_path / "sgd")
    path = tmp_path / "sgd" / "dialogues_001.json"
    [dialogue] = json.loads(path.read_text())
    seek_results = dialogue["turns"][1]["frames"][0]["service_results"]
    seek_results[1].pop("oars")  # the search never said Heron's oars ...
    done = dialogue["turns"][-1]["frames"][0]["actions"]
    done[1] = {"act": "INFORM", "slot": "oars", "values": ["four"], "canonical_values": ["4"]}  # ... the desk told them
    path.write_text(json.dumps([dialogue]))
    import_sgd(tmp_path / "sgd", tmp_path / "boats", "boats")
    pack = load_pack(tmp_path / "boats")
    assert next(r for r in pack.entities["Ferryman_9"] if r["boat_label"] == "Heron")["oars"] == "4"
    goal = json.loads((tmp_path / "boats" / "goals.jsonl").read_text())
    assert goal["tasks"][1]["request"] == []  # hire_code asked for, never told: nothing to tell it from


@needs_sgd
@pytest.mark.parametrize("service", ["Services_3", "Services_2", "Banks_1"])
def test_each_shared_sgd_service_imports(tmp_path: Path, service: str):
    report = import_sgd(SGD / service, tmp_path / service, service.lower())
    pack = load_pack(tmp_path / service)
    dialogues = json.loads((SGD / service / "dialogues.json").read_text())
    # Every dialogue gives a goal; one pursued by an earlier dialogue already is written once.
    assert report.goals + report.merged == len(dialogues) and report.skipped == 0 and report.merged < len(dialogues) / 5
    if service == "Banks_1":  # balances and confirmations are per-call records, not entities
        assert pack.per_call == {"Banks_1"} and not pack.entities and pack.rule("Banks_1", "balance").generated
    else:
        names = {r.get("doctor_name") or r.get("dentist_name") for r in pack.entities[service]}
        assert len(names) > 100 and "BookAppointment" in {f.intent for f in pack.failures}
        # Its people say "March 8th" and "3:30 pm" for the calls' 2019-03-08 and 15:30: so will the pack's turns.
        assert pack.rule(service, "appointment_date").format == "date" and pack.locale.clock == "12h"
    # Goals drawn from the pack open, and go on, as its real dialogues do (values drawn afresh): a Banks_1
    # dialogue reads a balance and transfers, in either order; drawn goals did only one half in most.
    from collections import Counter

    from goalconvo.core.pack_goals import generate_pack_goals, read_pack_goals

    def shape(goals):
        c = Counter(tuple(t.intent for t in g.tasks) for g in goals)
        return {k: v / len(goals) for k, v in c.items()}

    real, drawn = shape(read_pack_goals(pack)), shape(generate_pack_goals(pack, 100, seed=4))
    assert all(abs(drawn.get(k, 0.0) - v) < 0.2 for k, v in real.items() if v >= 0.2), (real, drawn)
    # A goal's informed slots are the last state of each intent the user activated.
    first = goal_of(dialogues[0], {service})
    last_user = [t for t in dialogues[0]["turns"] if t["speaker"] == "USER"][-1]
    state = last_user["frames"][0]["state"]
    if state["active_intent"] != "NONE":
        task = next(t for t in first["tasks"] if t["intent"] == state["active_intent"])
        assert set(task["inform"]) == set(state["slot_values"])
        # Each value as SGD's canonical form of what the user said ("San Fran" -> "San Francisco").
        canonical = {c for t in dialogues[0]["turns"] for f in t["frames"] for a in f["actions"] for c in a.get("canonical_values", [])}
        for k, v in state["slot_values"].items():
            assert task["inform"][k] == v[0] or task["inform"][k] in canonical


# -- the commands -----------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "goalconvo.commands", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_packs_commands_as_a_user_runs_them(tmp_path: Path):
    listed = cli("packs", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert {"clinic", "home-internet", "bank"} <= {r["name"] for r in json.loads(listed.stdout)}
    shown = cli("packs", "show", "home-internet", cwd=tmp_path)
    assert shown.returncode == 0 and "diagnosis: Support asks device, symptom, tried" in shown.stdout, shown.stderr
    made = cli("packs", "new", "my-desk", cwd=tmp_path)
    assert made.returncode == 0 and (tmp_path / "my-desk" / "pack.toml").is_file(), made.stderr
    ok = cli("packs", "validate", "my-desk", cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: my-desk@0.1#"), ok.stdout + ok.stderr
    rows = tmp_path / "my-desk" / "entities" / "venues.csv"
    rows.write_text(rows.read_text() + "Short,north\n")
    edit_schema(tmp_path / "my-desk", lambda s: s["intents"][1]["required_slots"].append("table_colour"))
    bad = cli("packs", "validate", "my-desk", cwd=tmp_path)
    assert bad.returncode == 1 and "2 problem(s)" in bad.stderr, bad.stderr
    assert "venues.csv:5" in bad.stderr and "'table_colour'" in bad.stderr
    _write_unseen_sgd(tmp_path / "sgd")
    imported = cli("packs", "import-sgd", "sgd", "--out", "boats", cwd=tmp_path)
    assert imported.returncode == 0 and "1 goals from 1 dialogues" in imported.stdout, imported.stderr
    again = cli("packs", "import-sgd", "sgd", "--out", "boats", cwd=tmp_path)
    assert again.returncode == 1 and "is not empty" in again.stderr


def test_a_copy_of_the_shipped_multiwoz_pack_is_refused_as_a_pack_to_run_with_what_to_do(tmp_path: Path):
    """Its goals were drawn as a pack's tasks under MultiWOZ's name and refused with pydantic's banner."""
    import shutil

    from goalconvo.packs.registry import SHIPPED, find_pack_to_run

    copy = tmp_path / "mywoz"
    shutil.copytree(SHIPPED / "multiwoz", copy)
    assert find_pack(str(copy)).meta.name == "multiwoz"  # it loads: import multiwoz --pack takes it
    with pytest.raises(PackError, match="named 'multiwoz', the shipped pack's name.*--multiwoz-db.*another name"):
        find_pack_to_run(str(copy))
    done = subprocess.run([sys.executable, "-m", "goalconvo.commands", "run", "--pack", str(copy), "--goals", "1"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and "the shipped pack's name" in done.stdout + done.stderr
    assert find_pack_to_run("clinic").meta.name == "clinic"
