"""MultiWOZ as a pack: the shipped ``multiwoz`` pack loads and checks like any other, holds the
venue databases, and the tables the guided engine reads (what a search filters on, what a user
may ask, what a booking needs, slot bounds, the words for services and slots) come from it.

The derived tables are read off a loaded pack (``packs.derived``), so a copy of the pack with
its schema changed changes them; nothing here compares the engine with a list written twice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from goalconvo.agents.prompts import BOT_SYSTEM, DESK, EXPERIENCE_SYSTEM, THE_DESK, USER_SYSTEM
from goalconvo.core.settings import Settings
from goalconvo.core.slots import slot_value_problem
from goalconvo.core.venues import VenueDB
from goalconvo.judges.prompts import JUDGE_SYSTEM
from goalconvo.packs import PackError, find_pack, load_pack, shipped_names
from goalconvo.packs.builtin import DEFAULT_PACK, default_pack
from goalconvo.packs.derived import booking_slots, constraint_slots, filter_slots, request_slots, searched_services
from goalconvo.packs.registry import pack_path


def test_the_default_pack_is_shipped_and_holds_the_venue_databases():
    assert DEFAULT_PACK in shipped_names()
    pack = find_pack(DEFAULT_PACK)
    assert pack.ref == default_pack().ref and pack.meta.licence == "MIT"
    db = VenueDB.load()
    assert db.source == "multiwoz (shipped)"
    for service in searched_services(pack):
        assert len(pack.entities[service.name]) == len(db.tables[service.name]) > 0, service.name
    # The desk the prompts describe is the pack's setting, written into no template.
    assert DESK == pack.meta.setting == "a Cambridge (UK) travel information desk"
    assert THE_DESK == "the Cambridge (UK) travel information desk"
    for template in (USER_SYSTEM, BOT_SYSTEM, EXPERIENCE_SYSTEM, JUDGE_SYSTEM):
        assert "Cambridge" not in template and ("{desk}" in template or "{the_desk}" in template)
    # The taxi's car and phone are made per call, not looked up.
    assert "taxi" in pack.per_call and "taxi" not in db.tables


def test_the_engine_reads_the_default_pack_tables():
    pack = default_pack()
    from goalconvo.core.goal_generator import BOOK_SLOTS, REQT_SLOTS
    from goalconvo.core.venues import SEARCHABLE
    from goalconvo.core.vocab import DOMAIN_WORDS, SLOT_WORDS

    assert SEARCHABLE == {s.name: filter_slots(pack, s) for s in searched_services(pack)}
    assert REQT_SLOTS == {s.name: request_slots(s) for s in pack.services}
    assert set(BOOK_SLOTS) == {s.name for s in pack.services if booking_slots(s)}
    assert DOMAIN_WORDS == pack.service_words and SLOT_WORDS == pack.slot_words
    # Slot bounds come from the pack's rules, with the refusal naming what is counted.
    assert slot_value_problem("stay", "31") == "stay: '31' is not a whole number of nights from 1 to 30"
    assert slot_value_problem("people", "20") is None and slot_value_problem("leaveAt", "25:00")


def test_the_derived_tables_follow_a_changed_schema(tmp_path: Path):
    folder = tmp_path / "mw"
    shutil.copytree(pack_path(DEFAULT_PACK), folder)
    schema = json.loads((folder / "schema.json").read_text())
    restaurant = next(s for s in schema if s["service_name"] == "restaurant")
    find = next(i for i in restaurant["intents"] if i["name"] == "find_restaurant")
    find["optional_slots"] = {"area": "dontcare", "food": "dontcare", "name": "dontcare"}
    find["result_slots"] = ["phone", "name"]
    (folder / "schema.json").write_text(json.dumps(schema))
    changed = load_pack(folder)
    service = changed.service("restaurant")
    assert service is not None
    assert filter_slots(changed, service) == ("name", "area", "food")
    assert constraint_slots(service) == ("area", "food") and request_slots(service) == ("phone",)
    assert booking_slots(service) == ("people", "day", "time")
    # A train is searched by time "at or after" / "by": those constraints are not compared for equality.
    train = changed.service("train")
    assert train is not None and "leaveAt" in constraint_slots(train) and "leaveAt" not in filter_slots(changed, train)
    assert changed.content_hash != default_pack().content_hash


def test_a_database_column_that_is_no_slot_must_be_declared(tmp_path: Path):
    folder = tmp_path / "mw"
    shutil.copytree(pack_path(DEFAULT_PACK), folder)
    toml = (folder / "pack.toml").read_text()
    (folder / "pack.toml").write_text(toml.replace('extra_columns = ["id"]\nwords = ["police"]', 'words = ["police"]'))
    with pytest.raises(PackError) as e:
        load_pack(folder)
    assert any("police_db.json" in p and "column 'id' is not a slot of service 'police'" in p for p in e.value.problems)


def test_a_json_list_table_keeps_nested_values_and_names_a_bad_item(tmp_path: Path):
    from goalconvo.packs.tables import read_rows

    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"name": "A", "price": {"single": "50"}, "stars": 4, "open": True}, "not a row"]))
    problems: list[str] = []
    rows = read_rows(path, problems)
    assert rows == [{"name": "A", "price": '{"single":"50"}', "stars": "4", "open": "true"}]
    assert problems == [f"{path}: item 2 of the list is not an object"]
    path.write_text('[{"name": "A"},\n {"name": ]')
    problems = []
    assert read_rows(path, problems) == [] and problems[0].startswith(f"{path}:2: not valid JSON")


def test_naming_the_default_pack_is_the_same_run_as_naming_none():
    assert Settings(pack=DEFAULT_PACK).pack is None and Settings(pack="clinic").pack == "clinic"


def test_the_goal_mix_is_the_packs_and_a_bad_row_is_refused(tmp_path: Path):
    from goalconvo.core.goal_mix import MULTIWOZ_VAL_MIX
    from goalconvo.packs.derived import goal_mix

    assert MULTIWOZ_VAL_MIX == goal_mix(default_pack()) and sum(MULTIWOZ_VAL_MIX.values()) == 999
    folder = tmp_path / "mw"
    shutil.copytree(pack_path(DEFAULT_PACK), folder)
    with (folder / "goal_mix.csv").open("a") as f:
        f.write("hotel+spaceport,3\ntaxi,none\n")
    with pytest.raises(PackError) as e:
        load_pack(folder)
    assert len(e.value.problems) == 2, e.value.problems
    assert "goal_mix.csv: row 15" in e.value.problems[0] and "no service 'spaceport'" in e.value.problems[0]
    assert "row 16: goals 'none' is not a whole number" in e.value.problems[1]


MULTIWOZ_VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "multiwoz" / "val.json.zip"


def test_a_multiwoz_pack_lacking_a_key_the_guided_engine_reads_or_of_the_wrong_kind_is_refused(tmp_path: Path):
    """Caught before a run, not as a bare KeyError at import nor a string read as letters."""
    import subprocess
    import sys

    copy = tmp_path / "multiwoz"
    shutil.copytree(pack_path(DEFAULT_PACK), copy)
    lexicon = copy / "lexicon.toml"
    lexicon.write_text(lexicon.read_text().replace('bye_places = ["cambridge"]', 'bye_places = "cambridge"'))
    shapes = copy / "shapes.toml"
    text = shapes.read_text().replace("postcode_value =", "postcode_shape =").replace("\\b{word} ", "\\b")
    shapes.write_text(text.replace("price = '£\\s?(\\d+(?:\\.\\d+)?)|(", "price = '£\\s?(?:\\d+(?:\\.\\d+)?)|("))
    out = subprocess.run([sys.executable, "-m", "goalconvo.commands", "packs", "validate", str(copy)],
                         capture_output=True, text=True, timeout=120)
    said = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 1, out.stdout + out.stderr
    for fault in ("lexicon.toml: [phrasing_check] bye_places: must be a non-empty list of text",
                  "shapes.toml: [phrasing_check] postcode_value: missing",
                  "shapes.toml: [normaliser] price_in_words: must hold {word}",
                  "shapes.toml: [normaliser] price: needs 2 group(s)"):
        assert fault in said, said
    assert "4 problem(s)" in said, said


def test_import_multiwoz_takes_the_multiwoz_pack_and_refuses_another(tmp_path: Path):
    import subprocess
    import sys
    import zipfile

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "goalconvo.commands", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    refused = cli("import", "multiwoz", "nothing.json", "--db", "c.duckdb", "--pack", "clinic")
    assert refused.returncode == 1 and "has no service attraction" in refused.stdout + refused.stderr
    if not MULTIWOZ_VAL.is_file():
        pytest.skip(f"MultiWOZ val not at {MULTIWOZ_VAL}")
    with zipfile.ZipFile(MULTIWOZ_VAL) as z:
        raw = json.loads(z.read(z.namelist()[0]))
    (tmp_path / "two.json").write_text(json.dumps({k: raw[k] for k in list(raw)[:2]}))
    ok = cli("import", "multiwoz", "two.json", "--db", "c.duckdb", "--pack", "multiwoz", "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout.strip().splitlines()[-1])
    assert out["dialogues"] == 2 and out["venue_db"].endswith("packs/multiwoz/db")


def test_multiwoz_goals_name_the_shipped_pack_and_another_version_is_dead_lettered(tmp_path: Path):
    """A MultiWOZ goal is published naming ``multiwoz@2.1#hash`` (as a pack's goal names its pack): the
    worker generates it with MultiWOZ's engine, keeps ``metrics --by pack`` apart from the old unnamed
    goals, and dead-letters one that names another version of the pack rather than generate it."""
    import subprocess
    import sys

    import duckdb

    from goalconvo.commands.goal_batches import goal_events
    from goalconvo.core.goals import builtin_goals, goal_content_key
    from goalconvo.core.records import Goal

    ref = default_pack().ref
    mw = builtin_goals()[0]
    [(_, value)] = list(goal_events([mw]))
    stamped = Goal.model_validate_json(value)
    assert stamped.pack == ref and not stamped.names_a_pack and mw.pack is None
    assert goal_content_key(stamped) == goal_content_key(mw)  # the goal's identity (near duplicates, replays) is unchanged
    pack_goal = Goal.model_validate({"goal_id": "p", "pack": "clinic@1.0#000000000000", "domains": {},
                                     "tasks": [{"service": "Doctors", "intent": "FindDoctor"}]})
    assert [Goal.model_validate_json(v).pack for _, v in goal_events([pack_goal])] == ["clinic@1.0#000000000000"]

    old = mw.model_copy(update={"goal_id": "old-version", "pack": "multiwoz@0.9#000000000000"})
    (tmp_path / "goals.jsonl").write_text(mw.model_dump_json() + "\n" + old.model_dump_json() + "\n")
    ran = subprocess.run([sys.executable, "-m", "goalconvo.commands", "run", "--goal-source", "goals.jsonl", "--all-goals",
                          "--llm", "scripted", "--db", "c.duckdb", "--json"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    try:
        packs = con.execute("select pack from dialogues").fetchall()
        reasons = [r[0] for r in con.execute("select reason from dead_letters").fetchall()]
    finally:
        con.close()
    assert packs == [(ref,)], packs
    assert len(reasons) == 1 and f"names pack multiwoz@0.9#000000000000; this worker holds {ref}" in reasons[0], reasons
    by = subprocess.run([sys.executable, "-m", "goalconvo.commands", "metrics", "--db", "c.duckdb", "--by", "pack", "--json"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert by.returncode == 0 and ref in by.stdout, by.stdout + by.stderr
    # export --pack multiwoz is the shipped pack's corpus under MultiWOZ's card, as without --pack
    card = subprocess.run([sys.executable, "-m", "goalconvo.commands", "export", "--db", "c.duckdb", "--format", "hf",
                           "--out", "hf", "--pack", "multiwoz", "--include-rejected", "--json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert card.returncode == 0 and '"written": 1' in card.stdout, card.stdout + card.stderr
    readme = (tmp_path / "hf" / "README.md").read_text()
    assert "license: mit" in readme and "GoalConvo synthetic MultiWOZ-style dialogues" in readme, readme[:400]
    # beside a clinic dialogue, --pack multiwoz still exports only MultiWOZ's, in every format
    clinic = subprocess.run([sys.executable, "-m", "goalconvo.commands", "run", "--pack", "clinic", "--goals", "1",
                             "--llm", "scripted", "--db", "c.duckdb", "--json"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert clinic.returncode == 0, clinic.stderr
    for fmt in ("jsonl", "hf"):
        only = subprocess.run([sys.executable, "-m", "goalconvo.commands", "export", "--db", "c.duckdb", "--format", fmt,
                               "--out", f"only-{fmt}", "--pack", "multiwoz", "--include-rejected", "--json"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert only.returncode == 0 and '"written": 1' in only.stdout, fmt + only.stdout + only.stderr


def test_every_publishing_path_names_the_shipped_pack(tmp_path: Path, settings: Settings, bus: str):
    """``goals produce`` at a rate, from raw JSON lines and generated, and ``backfill goals`` stamp a
    MultiWOZ goal with the shipped pack as a run does; a goal that names a pack keeps its own."""
    import asyncio
    import os
    import subprocess
    import sys

    from kafka_helpers import read_topic

    from goalconvo.core.goals import builtin_goals
    from goalconvo.core.records import Goal
    from goalconvo.core.wire import decode
    from goalconvo.streams.topics import Topics

    ref = default_pack().ref
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix}
    mw = builtin_goals()[:2]
    named = mw[1].model_copy(update={"goal_id": "names-its-own", "pack": "multiwoz@0.9#000000000000"})
    lines = tmp_path / "goals.jsonl"
    lines.write_text(mw[0].model_dump_json(exclude={"pack"}) + "\n" + named.model_dump_json() + "\n")

    def cli(*args: str) -> None:
        out = subprocess.run([sys.executable, "-m", "goalconvo.commands", *args, "--bootstrap-servers", bus],
                             env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr

    cli("goals", "produce", "--source", "builtin", "--count", "2", "--rate", "50", "--run-id", "by-rate")
    cli("goals", "produce", "--source", "jsonl", str(lines), "--run-id", "raw")
    cli("goals", "produce", "--source", "generate", "--count", "2", "--seed", "5", "--run-id", "generated")
    cli("backfill", "goals", "--source", "jsonl", str(lines), "--run-id", "backfilled")
    got = [decode(Goal, v) for v in asyncio.run(read_topic(bus, Topics.for_prefix(settings.topic_prefix).goals,
                                                           expect=8, timeout_s=60))]
    packs = sorted((g.run_id or "", g.goal_id == "names-its-own", g.pack or "") for g in got)
    assert len(got) == 8 and {p for _, own, p in packs if not own} == {ref}, packs
    assert {r for r, _, _ in packs} == {"by-rate", "raw", "generated", "backfilled"}, packs  # a null run id is the run's
    assert [p for _, own, p in packs if own] == ["multiwoz@0.9#000000000000"] * 2, packs
