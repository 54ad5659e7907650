"""Scoring readers' ratings: hand-made files of three readers, every figure worked out by hand below.

The sheet (a hand-made key): items 1-3 generated (set run-a), 4-6 human (reference.json).

keep         1 2 3 | 4 5 6        coherence   1 2 3 | 4 5 6
  ann        n y n | y y n          ann       2 4 1 | 5 4 3
  bo         n y n | y y y          bo        3 3 1 | 5 5 4
  cy         y y y | y y y          cy        2 5 2 | 4 5 5   (cy keeps everything)

fluency 4 and natural 3 throughout. roles broken: ann on 1 (turn 1) and 2 (no turn named), bo on 1
(turns 1 and 3); facts broken: cy on 3 (turn 2); goal no: ann on 3. The judge accepted 1 and 2, not 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from goalconvo.assess.reading.ratings_file import RatingsError, read_ratings
from goalconvo.assess.reading.scoring import cohen_kappa, score
from goalconvo.assess.reading.sheet import KeyItem, KeyTurn, ReadingKey
from goalconvo.commands import app

from test_reading_sheet import corpus

KEEP = {"ann": "nynyyn", "bo": "nynyyy", "cy": "yyyyyy"}
COHERENCE = {"ann": [2, 4, 1, 5, 4, 3], "bo": [3, 3, 1, 5, 5, 4], "cy": [2, 5, 2, 4, 5, 5]}
TURNS = {1: ["llm:user", "template:bot", "template:user", "llm:bot"], 2: ["llm:user", "llm:bot"], 3: ["llm:user", "llm:bot"]}


def hand_key() -> ReadingKey:
    ids = {1: "gen-hotel-1", 2: "gen-train-3", 3: "gen-police-2", 4: "SNG0002", 5: "SNG0003", 6: "SNG0004"}
    items = []
    for i in range(1, 7):
        marks = TURNS.get(i, ["human:user", "human:bot"])
        items.append(KeyItem(
            item=i, source="generated" if i <= 3 else "human", dialogue_id=ids[i],
            set_name="run-a" if i <= 3 else "reference.json", domain_set="hotel", exchanges=len(marks) // 2,
            partner=i + 3 if i <= 3 else i - 3, matched_by="domain set", matched_domain_set="hotel",
            judge_accepted={1: True, 2: True, 3: False}.get(i),
            turns=[KeyTurn(turn=n, speaker=m.split(":")[1], phrased_by=m.split(":")[0], source_idx=[n - 1])
                   for n, m in enumerate(marks, start=1)]))
    return ReadingKey(sheet_id="abc123", created_at=0.0, seed=0, corpus="", sets=["run-a"], reference="reference.json",
                      reference_sha256="", items=items)


def rating(who: str, i: int) -> dict:
    r = {"item": i, "coherence": COHERENCE[who][i - 1], "fluency": 4, "natural": 3, "roles": "ok", "roles_turns": [],
         "facts": "ok", "facts_turns": [], "goal": "yes", "keep": "yes" if KEEP[who][i - 1] == "y" else "no", "why": ""}
    if who == "ann" and i == 1:
        r.update(roles="broken", roles_turns=[1])
    if who == "ann" and i == 2:
        r.update(roles="broken")
    if who == "ann" and i == 3:
        r.update(goal="no", why="never gives the phone")
    if who == "bo" and i == 1:
        r.update(roles="broken", roles_turns=[1, 3])
    if who == "cy" and i == 3:
        r.update(facts="broken", facts_turns=[2])
    return r


def write_files(tmp: Path) -> dict[str, Path]:
    """ann: JSON lines naming herself; bo: the HTML form's CSV; cy: JSON lines, named by the file."""
    tmp.mkdir(parents=True, exist_ok=True)
    ann = tmp / "ann.jsonl"
    ann.write_text(json.dumps({"reader": "ann", "sheet": "abc123"}) + "\n\n"
                   + "\n".join(json.dumps(rating("ann", i)) for i in range(1, 7)) + "\n")
    bo = tmp / "bo-ratings.csv"
    cols = ["sheet", "reader", "item", "coherence", "fluency", "natural", "roles", "roles_turns", "facts", "facts_turns",
            "goal", "keep", "why"]
    lines = [",".join(cols)]
    for i in range(1, 7):
        r = rating("bo", i)
        r.update(sheet="abc123", reader="bo", roles_turns=" ".join(map(str, r["roles_turns"])),
                 facts_turns=" ".join(map(str, r["facts_turns"])))
        lines.append(",".join(str(r[c]) for c in cols))
    bo.write_text("\r\n".join(lines) + "\r\n")
    cy = tmp / "ratings-cy.jsonl"
    cy.write_text("\n".join(json.dumps(rating("cy", i)) for i in range(1, 7)) + "\n")
    return {"ann": ann, "bo": bo, "cy": cy}


def test_cohen_kappa_by_hand():
    # p_o = 3/4; yes shares 1/2 and 1/4: p_e = 1/8 + 3/8 = 1/2; kappa = (3/4 - 1/2) / (1/2) = 1/2.
    assert cohen_kappa([True, True, False, False], [True, False, False, False]) == pytest.approx(0.5)
    assert cohen_kappa([True, True], [True, True]) is None  # p_e = 1: undefined
    assert cohen_kappa([False, False], [False, False]) is None
    assert cohen_kappa([True, True, True], [True, False, True]) == 0  # one reader keeps all: 0
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)


def test_scoring_hand_made_ratings_gives_the_hand_computed_figures(tmp_path: Path):
    key = hand_key()
    paths = write_files(tmp_path)
    files = [read_ratings(paths[w], key) for w in ("ann", "bo", "cy")]
    assert [f.reader for f in files] == ["ann", "bo", "cy"]
    rep = score(key, files)
    gen, hum = rep["groups"]
    assert (gen["group"], hum["group"]) == ("generated run-a", "human reference.json")
    # Generated: 9 ratings; keep 1 + 1 + 3 = 5 of 9; coherence (7 + 7 + 9) / 9; roles broken ann 1, ann 2, bo 1.
    assert gen["ratings"] == 9 and gen["keep"] == pytest.approx(5 / 9, abs=1e-4)
    assert gen["coherence"] == pytest.approx(23 / 9, abs=1e-4) and gen["fluency"] == 4 and gen["natural"] == 3
    assert gen["roles_broken"] == pytest.approx(3 / 9, abs=1e-4) and gen["facts_broken"] == pytest.approx(1 / 9, abs=1e-4)
    assert gen["goal"] == pytest.approx(8 / 9, abs=1e-4)
    assert {w: (r["kept"], r["rated"]) for w, r in gen["per_reader"].items()} == {"ann": (1, 3), "bo": (1, 3), "cy": (3, 3)}
    # Human: keep 2 + 3 + 3 = 8 of 9; coherence (12 + 14 + 14) / 9.
    assert hum["keep"] == pytest.approx(8 / 9, abs=1e-4) and hum["coherence"] == pytest.approx(40 / 9, abs=1e-4)

    # Kappa on keep, generated: ann/bo agree on all three (p_o 1, yes 1/3 each: p_e 5/9, kappa 1);
    # with cy (keeps all) 0 each: mean 1/3. Coherence differences: ann/bo 2/3, ann/cy 2/3, bo/cy 4/3: mean 8/9.
    ga = gen["agreement"]
    assert [p["kappa"] for p in ga["keep_kappa_pairs"]] == [1.0, 0.0, 0.0]
    assert ga["keep_kappa"] == pytest.approx(1 / 3, abs=1e-4)
    assert "cy kept every one" in ga["keep_kappa_pairs"][1]["note"]
    assert ga["score_mad"] == {"coherence": pytest.approx(8 / 9, abs=1e-4), "fluency": 0.0, "natural": 0.0}
    # Human: ann/bo 0 (bo keeps all three), ann/cy 0, bo/cy undefined (both keep all): mean 0 over 2 pairs.
    ha = hum["agreement"]
    assert [p["kappa"] for p in ha["keep_kappa_pairs"]] == [0.0, 0.0, None]
    assert ha["keep_kappa"] == 0.0 and "undefined for 1" in ha["keep_kappa_note"]
    assert "undefined" in ha["keep_kappa_pairs"][2]["note"]
    assert ha["score_mad"]["coherence"] == pytest.approx(8 / 9, abs=1e-4)
    # The whole sheet: ann/bo disagree on item 6 only: p_o 5/6, yes 1/2 and 2/3, p_e 1/2, kappa 2/3; mean (2/3+0+0)/3.
    sa = rep["agreement"]
    assert sa["keep_kappa_pairs"][0]["kappa"] == pytest.approx(2 / 3, abs=1e-4)
    assert sa["keep_kappa"] == pytest.approx(2 / 9, abs=1e-4)

    # Per turn (turn ratings = turns x 3 readers): llm/user turns of items 1-3: 9, roles marked 2 (ann, bo on item 1
    # turn 1); template/user (item 1 turn 3): 3, roles 1 (bo); llm/bot: 9, facts 1 (cy, item 3 turn 2).
    turns = {(r["phrased_by"], r["speaker"]): r for r in rep["turns"]["rows"]}
    assert {k: (r["turn_ratings"], r["roles_marked"], r["facts_marked"]) for k, r in turns.items()} == {
        ("llm", "user"): (9, 2, 0), ("llm", "bot"): (9, 0, 1), ("template", "bot"): (3, 0, 0),
        ("template", "user"): (3, 1, 0), ("human", "user"): (9, 0, 0), ("human", "bot"): (9, 0, 0)}
    assert turns[("llm", "user")]["roles_share"] == pytest.approx(2 / 9, abs=1e-4)
    assert rep["turns"]["broken_without_turns"] == {"roles": 1, "facts": 0}
    # The judge: with cy, only item 2 is kept by all (the judge accepted it); none is rejected by all.
    assert rep["judge"] == {"judged_and_rated": 3, "all_readers_kept": 1, "judge_accepted_of_those": 1,
                            "judge_accept_share": 1.0, "all_readers_rejected": 0, "judge_rejected_of_those": 0,
                            "judge_reject_share": None, "judge_accepted_overall": 2}
    # ann and bo alone: item 2 kept by both (accepted: 1.0); items 1 and 3 rejected by both, the judge rejected 3: 0.5.
    two = score(key, files[:2])["judge"]
    assert (two["judge_accept_share"], two["all_readers_rejected"], two["judge_reject_share"]) == (1.0, 2, 0.5)


def test_kappa_undefined_for_a_whole_source_is_said(tmp_path: Path):
    """bo and cy keep every human dialogue: kappa there is undefined, and the report says why."""
    key = hand_key()
    paths = write_files(tmp_path)
    rep = score(key, [read_ratings(paths["bo"], key), read_ratings(paths["cy"], key)])
    gen, hum = rep["groups"]
    assert hum["agreement"]["keep_kappa"] is None
    assert hum["agreement"]["keep_kappa_note"].startswith("undefined for every pair")
    assert gen["agreement"]["keep_kappa"] == 0.0 and "cy kept every one" in gen["agreement"]["keep_kappa_pairs"][0]["note"]
    from goalconvo.assess.reading.report import report_text

    text = report_text(rep)
    assert "undefined" in text and "kept by cy" in text


@pytest.mark.parametrize(("line", "error"), [
    ('{"item": 2, "coherence": 7}', "line 2: item 2: no answer for fluency, natural, roles, facts, goal, keep"),
    ({"coherence": 7}, "line 2: coherence must be a whole number 1-5, got 7"),
    ({"coherence": 3.5}, "line 2: coherence must be a whole number 1-5, got 3.5"),
    ({"roles": "maybe"}, "line 2: roles must be 'ok' or 'broken', got \"maybe\""),
    ({"roles": "broken", "roles_turns": [9]}, "line 2: roles_turns names turn 9, but this dialogue has turns 1-2"),
    ({"roles": "ok", "roles_turns": [1]}, "line 2: item 2: roles is ok but roles_turns names turns [1]"),
    ({"item": 99}, "line 2: item 99 is not on sheet abc123 (items 1-6)"),
    ({"item": 1}, "line 2: item 1 is rated twice (also on line 1)"),
    ({"keep": "maybe"}, "line 2: keep must be 'yes' or 'no', got \"maybe\""),
    ("{not json", "line 2: not a JSON object"),
    ('["a list"]', "line 2: not a JSON object"),
])
def test_a_malformed_rating_is_named_by_its_line(tmp_path: Path, line, error):
    key = hand_key()
    bad = line if isinstance(line, str) else json.dumps({**rating("ann", 2), **line})
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(rating("ann", 1)) + "\n" + bad + "\n")
    with pytest.raises(RatingsError) as exc:
        read_ratings(path, key)
    assert str(exc.value).startswith(f"{path}, {error}"), str(exc.value)


def test_csv_problems_are_named_by_line_and_blank_rows_are_skipped(tmp_path: Path):
    key = hand_key()
    paths = write_files(tmp_path)
    rows = paths["bo"].read_text().splitlines()
    blank = tmp_path / "blank.csv"
    blank.write_text("\n".join([rows[0], rows[1], "abc123,bo,2,,,,,,,,,,", *rows[3:]]) + "\n")
    got = read_ratings(blank, key)
    assert [r.item for r in got.ratings] == [1, 3, 4, 5, 6] and any("item 2 not rated (line 3)" in w for w in got.warnings)
    partial = tmp_path / "partial.csv"
    partial.write_text("\n".join([rows[0], rows[1], "abc123,bo,2,4,,,,,,,,,", *rows[3:]]) + "\n")
    with pytest.raises(RatingsError, match=r"partial.csv, line 3: item 2: no answer for fluency"):
        read_ratings(partial, key)
    header = tmp_path / "header.csv"
    header.write_text("item,coherence\n1,4\n")
    with pytest.raises(RatingsError, match=r"line 1: the CSV header lacks fluency, natural"):
        read_ratings(header, key)
    semi = tmp_path / "semi.csv"  # a spreadsheet saved with semicolons
    semi.write_text(paths["bo"].read_text().replace(",", ";"))
    assert [r.keep for r in read_ratings(semi, key).ratings] == [r.keep for r in read_ratings(paths["bo"], key).ratings]
    array = tmp_path / "array.json"  # one JSON array, as a model may answer
    array.write_text(json.dumps([rating("cy", i) for i in range(1, 7)], indent=1))
    assert len(read_ratings(array, key).ratings) == 6
    array.write_text("[\n" + json.dumps(rating("cy", 1)) + ",\n" + json.dumps({**rating("cy", 2), "goal": "partly"}) + "\n]")
    with pytest.raises(RatingsError, match=r"line 3: goal must be 'yes' or 'no', got \"partly\""):
        read_ratings(array, key)
    other = tmp_path / "other.csv"
    other.write_text(paths["bo"].read_text().replace("abc123", "zzz999"))
    with pytest.raises(RatingsError, match="rates sheet zzz999, but the key is of sheet abc123"):
        read_ratings(other, key)


def test_ratings_are_stored_shown_by_metrics_and_deleted_with_their_set(tmp_path: Path):
    db = corpus(tmp_path)  # set run-a: gen-hotel-1 and gen-train-3 accepted, gen-police-2 rejected
    key_path = tmp_path / "sheet.key.json"
    key_path.write_text(hand_key().model_dump_json())
    paths = write_files(tmp_path / "r")
    runner = CliRunner()
    res = runner.invoke(app, ["assess", "score", str(key_path), str(paths["ann"]), f"bo={paths['bo']}", str(paths["cy"]),
                              "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["stored"]["ratings"] == 18 and rep["groups"][0]["keep"] == pytest.approx(5 / 9, abs=1e-4)

    def metrics(*args: str) -> dict:
        out = runner.invoke(app, ["metrics", "--db", str(db), "--json", *args])
        assert out.exit_code == 0, out.output
        return {r["set_name"]: r for r in json.loads(out.output)}

    m = metrics()
    a, ref = m["run-a"], m["reference.json"]
    assert a["dialogues"] == 3 and a["reader_ratings"] == 9 and a["readers"] == 3 and a["reader_dialogues"] == 3
    assert a["reader_keep"] == pytest.approx(5 / 9, abs=1e-4) and a["reader_coherence"] == pytest.approx(23 / 9, abs=1e-4)
    assert a["reader_roles_broken"] == pytest.approx(1 / 3, abs=1e-4) and a["reader_facts_broken"] == pytest.approx(1 / 9, abs=1e-4)
    assert a["reader_fluency"] == 4 and a["reader_natural"] == 3
    assert ref["dialogues"] is None and ref["reader_keep"] == pytest.approx(8 / 9, abs=1e-4) and ref["readers"] == 3
    # Accepted only: gen-police-2 (item 3) is rejected; items 1 and 2 keep: ann n y, bo n y, cy y y -> 4 of 6.
    acc = metrics("--accepted-only")
    assert acc["run-a"]["reader_ratings"] == 6 and acc["run-a"]["reader_keep"] == pytest.approx(4 / 6, abs=1e-4)
    out = runner.invoke(app, ["metrics", "--db", str(db), "--json", "--by", "domain_set"])
    by_domain = {(r["set_name"], r["domain_set"]): r for r in json.loads(out.output)}
    assert by_domain[("run-a", "hotel")]["reader_ratings"] == 9 and by_domain[("run-a", "train")]["reader_ratings"] is None
    assert by_domain[("reference.json", "hotel")]["reader_keep"] == pytest.approx(8 / 9, abs=1e-4)
    # The text table shows them too.
    out = runner.invoke(app, ["metrics", "--db", str(db)])
    assert "reader_keep" in out.output and "reference.json" in out.output

    # A reader's corrected file replaces their ratings of the sheet (not added to them).
    paths["ann"].write_text(paths["ann"].read_text().replace('"keep": "no"', '"keep": "yes"'))
    res = runner.invoke(app, ["assess", "score", str(key_path), str(paths["ann"]), "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    assert metrics()["run-a"]["reader_ratings"] == 9 and metrics()["run-a"]["reader_keep"] == pytest.approx(7 / 9, abs=1e-4)

    res = runner.invoke(app, ["sets", "delete", "run-a", "--db", str(db), "--json"])
    assert res.exit_code == 0 and json.loads(res.output) == {"set": "run-a", "deleted": 3, "ratings_deleted": 9}
    res = runner.invoke(app, ["sets", "delete", "reference.json", "--db", str(db), "--json"])
    assert res.exit_code == 0 and json.loads(res.output) == {"set": "reference.json", "deleted": 0, "ratings_deleted": 9}
    out = runner.invoke(app, ["metrics", "--db", str(db), "--json"])
    assert out.exit_code == 0 and json.loads(out.output) == []


def test_score_errors_are_plain(tmp_path: Path):
    key_path = tmp_path / "k.json"
    key_path.write_text(hand_key().model_dump_json())
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**rating("ann", 1), "fluency": 0}) + "\n")
    res = CliRunner().invoke(app, ["assess", "score", str(key_path), str(bad), "--no-store"])
    assert res.exit_code == 1 and "bad.jsonl, line 1: fluency must be a whole number 1-5, got 0" in " ".join(res.output.split())
    assert "Traceback" not in res.output
    res = CliRunner().invoke(app, ["assess", "score", str(tmp_path / "nope.json"), str(bad)])
    assert res.exit_code == 1 and "no key file" in res.output
    res = CliRunner().invoke(app, ["assess", "score", str(key_path), str(bad).replace("bad", "missing")])
    assert res.exit_code == 1 and "cannot read" in res.output
    good = write_files(tmp_path / "r")["cy"]
    res = CliRunner().invoke(app, ["assess", "score", str(key_path), str(good)])  # the key names no corpus
    assert res.exit_code == 1 and "--no-store" in res.output
    res = CliRunner().invoke(app, ["assess", "score", str(key_path), str(good), f"cy={good}", "--no-store"])
    assert res.exit_code == 1 and "more than one ratings file" in res.output
