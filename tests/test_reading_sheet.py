"""The blind reading sheet: no mark of origin, MultiWOZ detokenised, goals rendered alike, matching, the key.

A real corpus file (generated dialogues with their verdicts) and a hand-made reference file in
MultiWOZ's layout; the sheet is made through the command, as a user makes it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from goalconvo.assess.reading.cleaning import Cleaner, detokenise
from goalconvo.assess.reading.goal_text import goal_text
from goalconvo.assess.reading.html_sheet import csv_writer_js
from goalconvo.assess.reading.ratings_file import read_ratings
from goalconvo.assess.reading.sheet import ReadingKey
from goalconvo.commands import app
from goalconvo.core.goals import multiwoz_goal
from goalconvo.core.records import CheckResult, Dialogue, Goal, JudgedDialogue, Persona, Scenario, Turn, Verdict
from goalconvo.sinks.store import CorpusStore

from conftest import MULTIWOZ, needs_multiwoz

PERSONA = Persona(name="Mei", style="s", patience="p", verbosity="v")
HOTEL = {"info": {"area": "south", "pricerange": "cheap", "type": "guesthouse"}, "reqt": ["postcode"],
         "book": {"people": "2", "day": "friday", "stay": "3"}}
TRAIN = {"info": {"departure": "cambridge", "destination": "ely", "day": "sunday", "leaveAt": "10:00"}, "reqt": ["price"]}

#: A tokenised MultiWOZ user line and what the sheet must show for it.
TOKENISED = "i 'm looking for a guesthouse in the south , do n't need parking . is rosa 's bed and breakfast cheap ?"
DETOKENISED = "I'm looking for a guesthouse in the south, don't need parking. Is Rosa's Bed and Breakfast cheap?"


def _log(lines: list[str]) -> list[dict]:
    return [{"text": t, "metadata": {}, "dialog_act": {}, "span_info": []} for t in lines]


def _message(text: str) -> list[str]:
    return [f"HUMAN-MESSAGE <span class='emphasis'>{text}</span>"]


def reference_file(tmp_path: Path) -> Path:
    """MultiWOZ's layout: no police dialogue (like val), two trains of different lengths, tokenised text."""
    data = {
        "MUL0001": {"goal": {"hotel": HOTEL, "message": _message("hotel")}, "log": _log([
            "a cheap guesthouse in the south please .", "yes , it is cheap . shall i book it ?", "book it for 2 people , 3 nights from friday .",
            "booked ! reference number is : k2lq9zz1 . the postcode is cb22ha ."])},
        "SNG0002": {"goal": {"hotel": {**HOTEL, "book": {}, "invalid": False}, "message": _message("hotel")}, "log": _log([
            TOKENISED, "there are 2 . any preference ?", "no .",
            "rosa 's bed and breakfast is nice . the price is 10.1 GBP .", "what is the postcode ?",
            "it is cb22ha . your booking reference is : 7gaw2prz .", "thanks", "anything else ?", "no , bye", "goodbye ."])},
        "SNG0003": {"goal": {"attraction": {"info": {"type": "museum"}, "reqt": ["phone"]}, "message": _message("a museum")},
                    "log": _log(["i want a museum .", "try the fitzwilliam museum .", "phone please ?", "01223332900 ."])},
        "SNG0004": {"goal": {"train": {**TRAIN, "reqt": ["price", "trainID"]}, "message": _message("train")}, "log": _log([
            "a train from cambridge to ely on sunday after 10:00 please .", "tr1234 leaves at 10:50 .",
            "how much is it ?", "it is 4.40 pounds .", "thanks , bye .", "bye ."])},
        "SNG0006": {"goal": {"train": {**TRAIN, "info": {**TRAIN["info"], "leaveAt": "12:00"}}, "message": _message("train")},
                    "log": _log(["train please ."] + ["ok ."] * 13)},
    }
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(data))
    return path


def _dialogue(did: str, goal: dict, lines: list[tuple[str, str]], message: str | None = None) -> Dialogue:
    g = Goal.model_validate({"goal_id": f"gid-{did}", "domains": goal, "message": [message] if message else []})
    return Dialogue(
        dialogue_id=did, run_id="run-a", goal=g, scenario=Scenario(persona=PERSONA, objective="o", first_utterance=lines[0][1]),
        turns=[Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=t, phrased_by=by) for i, (by, t) in enumerate(lines)],
        model="scripted", prompt_version="g1", mode="guided", stop_reason="goal_done", started_at=1.0, ended_at=2.0,
    )


def corpus(tmp_path: Path) -> Path:
    """Set run-a: a hotel dialogue whose goal is MUL0001's, a police one (the reference has none), a train one."""
    hotel = _dialogue("gen-hotel-1", {"hotel": HOTEL}, [
        ("llm", "Hi, I want a cheap guesthouse in the south."),
        ("template", "Rosa's bed and breakfast is a cheap guesthouse in the south."),
        ("llm", "Book it for 2 people for 3 nights from friday. What is the postcode?"),
        ("llm", "Booked, reference 9A8B7C6D. The postcode is cb22ha and it costs 10.10 pounds."),
    ], message="GENERATED-MESSAGE about a guesthouse")
    hotel.goal.goal_id = "multiwoz:MUL0001"  # made from the reference's own goal: MUL0001 must not be its match
    police = _dialogue("gen-police-2", {"police": {"reqt": ["phone"]}}, [
        ("llm", "I need the police."), ("template", "Parkside police station, phone 01223358966."),
        ("template", "Thanks, bye."), ("template", "Goodbye."),
    ])
    train = _dialogue("gen-train-3", {"train": TRAIN}, [
        ("template", "A train from cambridge to ely on sunday after 10:00."), ("llm", "TR1234 leaves at 10:50."),
        ("llm", "How much?"), ("template", "4.40 pounds."), ("llm", "Bye."), ("template", "Goodbye."),
    ])
    store = CorpusStore(tmp_path / "corpus.duckdb")
    verdicts = {"gen-hotel-1": True, "gen-police-2": False, "gen-train-3": True}
    store.write([
        JudgedDialogue(dialogue=d, verdict=Verdict(
            dialogue_id=d.dialogue_id, accepted=verdicts[d.dialogue_id],
            checks=[CheckResult(name="goal_completion", passed=verdicts[d.dialogue_id])],
            judge_model="rules", judge_version="rules-3"))
        for d in (hotel, police, train)
    ])
    store.close()
    return tmp_path / "corpus.duckdb"


def make(tmp_path: Path, *extra: str, out: str = "sheet") -> tuple[dict, Path]:
    db, ref = corpus(tmp_path), reference_file(tmp_path)
    res = CliRunner().invoke(app, ["assess", "sheet", "--db", str(db), "--set", "run-a", "--reference", str(ref),
                                   "-n", "3", "--out", str(tmp_path / out), "--json", *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.output), ref


def test_a_sheet_leaks_no_origin(tmp_path: Path):
    summary, _ = make(tmp_path)
    text = (tmp_path / "sheet" / "sheet.txt").read_text()
    page = (tmp_path / "sheet" / "sheet.html").read_text()
    key = ReadingKey.load(Path(summary["key"]))
    assert summary["dialogues"] == 6 and len(key.items) == 6
    assert Path(summary["key"]).parent == tmp_path, "the key sits beside the readers' folder, not in it"
    # What readers read of the dialogues: the text sheet after its rubric; the page's goals and turns, tags removed.
    shown = re.findall(r'<p class="goal">.*?</p>|<ol class="turns">.*?</ol>', page, flags=re.S)
    page_dialogues = html.unescape(re.sub(r"<[^>]+>", " ", " ".join(shown)))
    assert "Customer:" in page_dialogues
    for whole in (text, page):
        for mark in ("gen-hotel-1", "gen-police-2", "gen-train-3", "run-a", "MUL0001", "SNG000", "reference.json",
                     "multiwoz", "scripted", "gid-", "rules-3", "llm", "template", "human", "generated", "emphasis",
                     "HUMAN-MESSAGE", "GENERATED-MESSAGE", "Mei", "User:", "SupportBot", "corpus.duckdb"):
            assert mark.lower() not in whole.lower(), mark
    for sheet in (" ".join(text.split("DIALOGUE 1 of", 1)[1].split()), " ".join(page_dialogues.split())):
        assert DETOKENISED in sheet, "the tokenised MultiWOZ line comes out as people write it"
        for tokenised in (" .", " ,", " ?", " n't", " 's", " 'm", "cb22ha", "7gaw2prz", "GBP", "pounds", "tr1234"):
            assert tokenised not in sheet, tokenised
        # Both sources' values are written one way: the generated postcode and price as the human ones.
        assert sheet.count("CB2 2HA") >= 2 and "£10.10" in sheet and "7GAW2PRZ" in sheet
    speakers = set(re.findall(r"^\s*\d+  (\w+):", text, flags=re.M))
    assert speakers == {"Customer", "Desk"}
    # Goals rendered alike: every goal line comes from the goal record, the same words for a human and a generated one.
    goals = re.findall(r"^Goal: (.*(?:\n      .*)*)", text, flags=re.M)
    assert len(goals) == 6 and all(g.startswith("The customer wants ") for g in goals)
    goal_of = {k.dialogue_id: " ".join(goals[k.item - 1].split()) for k in key.items}
    assert goal_of["gen-hotel-1"] == ("The customer wants a cheap guesthouse in the south, booked for 2 people, "
                                      "3 nights from Friday; they need the reference number and the postcode.")
    assert goal_of["SNG0002"] == "The customer wants a cheap guesthouse in the south; they need the postcode."
    assert goal_of["gen-train-3"] == (
        "The customer wants a train from Cambridge to Ely on Sunday, leaving after 10:00; they need the price.")
    assert goal_of["SNG0004"] == (
        "The customer wants a train from Cambridge to Ely on Sunday, leaving after 10:00; they need the price "
        "and the train ID.")


def test_goals_of_both_sources_are_rendered_alike():
    """A MultiWOZ goal (with its HTML message and flags) and a generated goal of the same content: the same words."""
    human = multiwoz_goal("MUL0001", {"hotel": {**HOTEL, "book": {**HOTEL["book"], "invalid": False, "pre_invalid": True},
                                                "fail_info": {}}, "message": _message("a hotel")})
    generated = Goal.model_validate({"goal_id": "gen:1", "domains": {"hotel": HOTEL}, "message": ["GENERATED-MESSAGE"]})
    assert goal_text(human) == goal_text(generated) == (
        "The customer wants a cheap guesthouse in the south, booked for 2 people, 3 nights from Friday; "
        "they need the reference number and the postcode.")
    # MultiWOZ's fail_info repeats every constraint; the generator's holds only the changed one: told alike.
    full = Goal.model_validate({"goal_id": "a", "domains": {"restaurant": {
        "info": {"food": "indian", "area": "centre"}, "fail_info": {"food": "christmas", "area": "centre"}}}})
    short = Goal.model_validate({"goal_id": "b", "domains": {"restaurant": {
        "info": {"food": "indian", "area": "centre"}, "fail_info": {"food": "christmas"}}}})
    assert goal_text(full) == goal_text(short) == (
        "The customer wants an Indian restaurant in the centre, first asking for Christmas food, which may not be found.")
    # A stale fail_info (MultiWOZ keeps some its crowd workers were never told about) is not told; one the message
    # asks for is, as the guided agenda decides. A failing first booking is told with its slot.
    raw = {"restaurant": {"info": {"food": "indian", "area": "centre"}, "fail_info": {"food": "christmas", "area": "centre"},
                          "book": {"people": "2", "day": "monday", "time": "19:45", "invalid": False},
                          "fail_book": {"time": "18:45"}}}
    stale = multiwoz_goal("A", {**raw, "message": ["The restaurant should serve <span>indian</span> food"]})
    asked = multiwoz_goal("B", {**raw, "message": ["Christmas food. If there is no such restaurant, how about indian"]})
    assert goal_text(stale) == ("The customer wants an Indian restaurant in the centre, a table booked for 2 at 19:45 "
                                "on Monday (a first try at 18:45 cannot be booked); they need the reference number.")
    assert "first asking for Christmas food" in goal_text(asked)


@pytest.mark.parametrize(("tokenised", "clean"), [
    (TOKENISED, DETOKENISED),
    ("Booking was successful . \n Reference number is : 0m3jw724 .", "Booking was successful. Reference number is: 0M3JW724."),
    ("the postcode is cb41da . the fare is 10.1 GBP , i think", "The postcode is CB4 1DA. The fare is £10.10, I think."),
    ('it is called " whale of a time " ( in the west )', 'It is called "Whale of a Time" (in the west)'),
    ("THANKS AGAIN HAVE A NICE DAY", "Thanks again have a nice day."),
    ("Thank you for contacting the Cambridge TownInfo centre today !",
     "Thank you for contacting the Cambridge tourist information centre today!"),
    ("i 'll take tr5225 at 12:16 ; it 's at 15 - 17 norman way", "I'll take TR5225 at 12:16; it's at 15-17 Norman Way."),
])
def test_multiwoz_text_comes_out_detokenised(tokenised: str, clean: str):
    assert Cleaner.for_venues().clean(tokenised) == clean


def test_generated_conventions_are_written_like_the_human_ones():
    """Our conventions that would stand out: lower-case venue names, 'NN.NN pounds', lower-case postcodes and days."""
    c = Cleaner.for_venues()
    assert c.clean("Your table at city centre north b and b is booked. It costs 49.50 pounds, postcode cb41da, on friday") \
        == "Your table at City Centre North B and B is booked. It costs £49.50, postcode CB4 1DA, on Friday."
    assert detokenise("a  b\n c") == "a b c"


def test_matching_by_domain_set_then_exchanges_and_the_key(tmp_path: Path):
    summary, _ = make(tmp_path)
    key = ReadingKey.load(Path(summary["key"]))
    items = {k.item: k for k in key.items}
    gen = {k.dialogue_id: k for k in key.items if k.source == "generated"}
    partner = {did: items[k.partner] for did, k in gen.items()}
    for k in key.items:
        assert items[k.partner].partner == k.item and items[k.partner].source != k.source
    # The hotel dialogue was made from MUL0001's goal: its match is the other hotel dialogue.
    assert partner["gen-hotel-1"].dialogue_id == "SNG0002" and gen["gen-hotel-1"].matched_by == "domain set"
    # Trains: same domain set, the closest number of exchanges (3, not 7).
    assert partner["gen-train-3"].dialogue_id == "SNG0004"
    # The reference has no police dialogue: the nearest set (one domain, 2 exchanges), recorded in the key.
    assert gen["gen-police-2"].matched_by == "nearest domain set" and gen["gen-police-2"].domain_set == "police"
    assert partner["gen-police-2"].dialogue_id in ("MUL0001", "SNG0003")
    assert gen["gen-police-2"].matched_domain_set == partner["gen-police-2"].domain_set
    assert summary["matched_nearest"] == [{"generated": "police", "human": partner["gen-police-2"].domain_set}]
    # The key: sources, sets, the judge's verdict, who phrased each turn.
    assert {k.set_name for k in key.items if k.source == "human"} == {"reference.json"}
    assert gen["gen-police-2"].judge_accepted is False and gen["gen-train-3"].judge_accepted is True
    assert gen["gen-police-2"].judge_failed == ["goal_completion"] and gen["gen-train-3"].judge_version == "rules-3"
    assert [t.phrased_by for t in gen["gen-train-3"].turns] == ["template", "llm", "llm", "template", "llm", "template"]
    assert {t.phrased_by for t in partner["gen-train-3"].turns} == {"human"}
    assert key.reference_sha256 and key.corpus.endswith("corpus.duckdb") and key.sets == ["run-a"]


def test_the_same_seed_gives_the_same_sheet(tmp_path: Path):
    a, _ = make(tmp_path / "a")
    b, _ = make(tmp_path / "b")
    c, _ = make(tmp_path / "c", "--seed", "7")
    assert a["sheet"] == b["sheet"] != c["sheet"]
    assert (tmp_path / "a" / "sheet" / "sheet.txt").read_text() == (tmp_path / "b" / "sheet" / "sheet.txt").read_text()


def test_a_key_of_another_sheet_is_not_overwritten(tmp_path: Path):
    make(tmp_path)
    res = CliRunner().invoke(app, ["assess", "sheet", "--db", str(tmp_path / "corpus.duckdb"), "--set", "run-a",
                                   "--reference", str(tmp_path / "reference.json"), "-n", "3", "--seed", "9",
                                   "--out", str(tmp_path / "sheet")])
    assert res.exit_code == 1 and "readers may hold that sheet" in res.output
    res = CliRunner().invoke(app, ["assess", "sheet", "--db", str(tmp_path / "corpus.duckdb"), "--set", "nope",
                                   "--reference", str(tmp_path / "reference.json")])
    assert res.exit_code == 1 and "no dialogues in set 'nope'" in res.output and "run-a" in res.output


def test_the_html_page_is_self_contained_and_its_csv_is_read_back(tmp_path: Path):
    """No network, no external script or style; the page's own CSV writer, run by node, gives a file score reads."""
    summary, _ = make(tmp_path)
    page = (tmp_path / "sheet" / "sheet.html").read_text()
    for external in ("http:", "https:", "//cdn", "<link", "src=", "@import", "url("):
        assert external not in page, external
    assert page.count('<form class="rating"') == 6
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the page's CSV writer is not run")
    rows = [
        {"item": 1, "coherence": "4", "fluency": "5", "natural": "3", "roles": "broken", "roles_turns": "1 2",
         "facts": "ok", "facts_turns": "", "goal": "yes", "keep": "no", "why": 'stiff, "odd"\nand long'},
        {"item": 2, "coherence": "5", "fluency": "5", "natural": "5", "roles": "ok", "roles_turns": "",
         "facts": "ok", "facts_turns": "", "goal": "yes", "keep": "yes", "why": ""},
    ]
    script = csv_writer_js(page) + (
        f"process.stdout.write(ratingsCsv({json.dumps(summary['sheet'])}, 'Ann, B.', {json.dumps(rows)}, "
        f"{json.dumps(['sheet', 'reader', 'item', 'coherence', 'fluency', 'natural', 'roles', 'roles_turns', 'facts', 'facts_turns', 'goal', 'keep', 'why'])}));")
    csv_text = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=60).stdout
    (tmp_path / "from-page.csv").write_text(csv_text)
    key = ReadingKey.load(Path(summary["key"]))
    got = read_ratings(tmp_path / "from-page.csv", key)
    assert got.reader == "Ann, B." and got.sheet == key.sheet_id
    assert [(r.item, r.coherence, r.roles_broken, r.roles_turns, r.keep, r.why) for r in got.ratings] == [
        (1, 4, True, (1, 2), False, 'stiff, "odd"\nand long'), (2, 5, False, (), True, "")]
    assert any("4 of 6 items not rated" in w for w in got.warnings)


@needs_multiwoz()
def test_a_sheet_with_multiwoz_val_leaves_no_tokenisation(tmp_path: Path):
    """Against the real val file: 3 generated + 3 val dialogues; no val id and no tokenised spacing on the sheet."""
    db = corpus(tmp_path)
    val = MULTIWOZ / "val.json.zip"
    res = CliRunner().invoke(app, ["assess", "sheet", "--db", str(db), "--set", "run-a", "--reference", str(val),
                                   "--out", str(tmp_path / "s"), "--json"])
    assert res.exit_code == 0, res.output
    key = ReadingKey.load(Path(json.loads(res.output)["key"]))
    text = (tmp_path / "s" / "sheet.txt").read_text()
    for k in key.items:
        assert k.dialogue_id not in text
    said = " ".join(re.sub(r"^\s*(\d+  (Customer|Desk): |Goal: )?", "", line) for line in text.splitlines()
                    if line.startswith(" ") or re.match(r"\d+  |Goal: ", line))
    assert len(said) > 1000
    assert not re.search(r" [.,?!:;]( |$)| n't\b| '(s|m|re|ve|ll|d)\b|  ", said), "tokenised spacing left"
    assert [k.matched_by for k in key.items if k.domain_set == "police"] == ["nearest domain set"]


def test_the_page_script_keeps_answers_and_saves_a_csv_score_reads(tmp_path: Path):
    """The page's whole script on a model of the DOM it uses (tests/reading_page_shim.js): answers given in
    the forms are counted, kept across a reload, and saved as a CSV that `assess score` reads."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the page's script is not run")
    summary, _ = make(tmp_path)
    page = (tmp_path / "sheet" / "sheet.html").read_text()
    from goalconvo.assess.reading.rubric import QUESTIONS

    for q in QUESTIONS:  # the names the script reads are the page's form fields, on every form
        assert page.count(f'name="{q.name}"') == 6 * (len(q.choices) if q.choices else 1), q.name
    script = page[page.index("<script>") + 8: page.index("</script>")]
    (tmp_path / "page.js").write_text(script)
    full = {"coherence": "2", "fluency": "4", "natural": "1", "roles": "broken", "roles_turns": "2, 4", "facts": "ok",
            "facts_turns": "", "goal": "no", "keep": "no", "why": 'says "table" at a hotel, twice'}
    spec = {"items": list(range(1, 7)), "reader": "Dee", "questions": [
        {"name": q.name, "radio": q.kind in ("score", "choice")} for q in QUESTIONS],
        "answers": {"1": full, "4": {**full, "roles": "ok", "roles_turns": "", "keep": "yes", "why": ""},
                    "5": {"coherence": "3"}}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    run = subprocess.run([node, str(Path(__file__).parent / "reading_page_shim.js"), str(tmp_path / "page.js"),
                          str(tmp_path / "spec.json")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["ready"] == "1" and got["refused"] and "name" in got["refused"][0]
    assert got["progress"] == "2 of 6 rated"
    assert got["done"] == [True, False, False, True, False, False] and got["part"][4] is True
    assert got["confirms"] == ["4 dialogues are not fully rated. Save anyway?"]
    assert got["download"] == f"ratings-{summary['sheet']}-Dee.csv" and got["shown"] == got["csv"]
    assert got["restored_reader"] == "Dee" and got["restored"] == ["2", "", "", "2", "3", ""]
    assert got["restored_progress"] == "2 of 6 rated"
    # The saved CSV: items 1 and 4 whole, item 5 half-rated (score names its line), the rest left out.
    key = ReadingKey.load(Path(summary["key"]))
    saved = tmp_path / "saved.csv"
    saved.write_text(got["csv"])
    with pytest.raises(Exception, match=r"saved.csv, line 4: item 5: no answer for fluency"):
        read_ratings(saved, key)
    saved.write_text("".join(line for line in got["csv"].splitlines(keepends=True) if ",5," not in line))
    r = read_ratings(saved, key)
    assert r.reader == "Dee" and [(x.item, x.coherence, x.roles_turns, x.keep, x.why) for x in r.ratings] == [
        (1, 2, (2, 4), False, 'says "table" at a hotel, twice'), (4, 2, (), True, "")]


def test_a_pack_goals_iso_date_is_written_as_its_dialogue_says_it():
    """An imported SGD goal keeps 2019-03-05; its turns say "March 5th", and so does the sheet's goal."""
    goal = Goal.model_validate({"goal_id": "g", "pack": "clinic@1.0#abc", "tasks": [
        {"service": "Clinicians", "intent": "BookVisit", "inform": {"visit_day": "2019-03-05", "visit_time": "9:15"}}]})
    text = goal_text(goal)
    assert "visit day March 5th" in text and "2019" not in text and "visit time 9:15" in text, text
