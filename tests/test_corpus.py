"""The corpus as dialogue sets: import, metrics per set and group (worked by hand), rejudge, export, similarity."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from goalconvo.commands.corpus_ops import rejudge
from goalconvo.core.records import Dialogue, Goal, Persona, Scenario, Turn
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import RULES_VERSION, Judge
from goalconvo.sinks.export import export_corpus
from goalconvo.sinks.metrics import compute_metrics
from goalconvo.sinks.store import CorpusStore

from conftest import MULTIWOZ, needs_multiwoz
from polling import until

PERSONA = Persona(name="A", style="s", patience="p", verbosity="v")


def _d(did: str, set_name: str, domains: dict, lines: list[str], model: str = "m1") -> Dialogue:
    goal = Goal.model_validate({"goal_id": did, "domains": domains})
    return Dialogue(
        dialogue_id=did, run_id=set_name, goal=goal,
        scenario=Scenario(persona=PERSONA, objective="o", first_utterance=lines[0]),
        turns=[Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=t) for i, t in enumerate(lines)],
        model=model, prompt_version="p2", stop_reason="goal_done", started_at=100.0, ended_at=110.0,
        prompt_tokens=30, completion_tokens=10,
    )


POLICE = {"police": {"reqt": ["phone"]}}
TAXI = {"taxi": {"info": {"leaveAt": "10:00"}, "reqt": ["car type"]}}


def _hand_store(tmp_path: Path) -> CorpusStore:
    """Set 'a': two dialogues, one accepted; set 'b': one dialogue. Figures below are worked out by hand."""
    store = CorpusStore(tmp_path / "c.duckdb")
    s = Settings(judge_llm=False)
    judge = Judge(s, VenueDB.load())
    a1 = _d("a1", "a", POLICE, ["police phone please", "the phone is 01223358966 .", "thanks goodbye", "goodbye"])
    a2 = _d("a2", "a", TAXI, ["a taxi a taxi", "ok", "bye", "bye"])  # no car type given: goal check fails
    b1 = _d("b1", "b", POLICE, ["police phone please", "it is 01223358966 , it is open now ."], model="m2")  # one exchange: too few
    judged = [asyncio.run(judge.judge(d)) for d in (a1, a2, b1)]
    store.write_batch(judged)
    return store


def test_metrics_per_set_by_hand(tmp_path: Path):
    store = _hand_store(tmp_path)
    rows = {r["set_name"]: r for r in compute_metrics(store.query)}
    a, b = rows["a"], rows["b"]
    assert a["dialogues"] == 2 and b["dialogues"] == 1
    assert a["acceptance"] == 0.5 and b["acceptance"] == 0.0
    assert a["goal_completion"] == 0.5  # a1 complete (1.0), a2 not (0.0)
    assert a["exchanges"] == 2.0 and b["exchanges"] == 1.0
    assert a["tokens_per_dialogue"] == 40 and a["seconds_per_dialogue"] == 10
    # Set b: police phone please | it is 01223358966 it is open now -> 8 unique of 10 words;
    # bigrams (police phone)(phone please) | (it is)(is 0122..)(0122.. it)(it is)(is open)(open now) -> 7 of 8.
    assert b["distinct1_corpus"] == pytest.approx(0.8) and b["distinct2_corpus"] == pytest.approx(7 / 8)
    # a2 alone: "a taxi a taxi" "ok" "bye" "bye" -> words a taxi a taxi ok bye bye: 4 unique of 7.
    by_domain = {r["domain_set"]: r for r in compute_metrics(store.query, by="domain_set", sets=["a"])}
    assert by_domain["taxi"]["distinct1_corpus"] == pytest.approx(4 / 7, abs=1e-4)
    assert by_domain["taxi"]["distinct1_mean"] == pytest.approx(4 / 7, abs=1e-4)
    # Bigrams of a2 within utterances: (a taxi)(taxi a)(a taxi) -> 2 of 3.
    assert by_domain["taxi"]["distinct2_corpus"] == pytest.approx(2 / 3, abs=1e-4)
    accepted = compute_metrics(store.query, accepted_only=True)
    assert [(r["set_name"], r["dialogues"]) for r in accepted] == [("a", 1)]
    by_model = {r["model"] for r in compute_metrics(store.query, by="model")}
    assert by_model == {"m1", "m2"}
    store.close()


def test_rejudge_adds_verdicts_under_a_new_version_and_keeps_the_old(tmp_path: Path):
    store = _hand_store(tmp_path)
    s = Settings(judge_llm=False, min_exchanges=1)  # a looser judge accepts b1 now
    out = asyncio.run(rejudge(store, s, where="set_name = 'b'", version="loose-1", llm=None))
    assert out == {"judged": 1, "accepted": 1, "judge_version": "loose-1"}
    rows = store.query("select judge_version, accepted from verdicts where dialogue_id = 'b1' order by judged_at").rows
    assert rows == [[RULES_VERSION, False], ["loose-1", True]]
    assert store.query("select judge_version from current_verdicts where dialogue_id = 'b1'").rows == [["loose-1"]]
    assert store.query("select count(*) from verdicts where dialogue_id like 'a%'").rows == [[2]], "other sets untouched"
    store.close()


def test_export_writes_the_accepted_corpus_as_jsonl_and_parquet(tmp_path: Path):
    store = _hand_store(tmp_path)
    n = export_corpus(store, tmp_path / "out.jsonl", "jsonl", sets=None, include_rejected=False)
    recs = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert n == 1 and recs[0]["dialogue_id"] == "a1" and recs[0]["verdict"]["accepted"]
    assert recs[0]["log"][1] == {"speaker": "bot", "text": "the phone is 01223358966 ."}
    assert recs[0]["goal"]["domains"]["police"]["reqt"] == ["phone"] and recs[0]["domains"] == ["police"]
    n_all = export_corpus(store, tmp_path / "all.parquet", "parquet", sets=["a"], include_rejected=True)
    con = duckdb.connect()
    got = con.execute(f"select dialogue_id, len(log) from '{tmp_path / 'all.parquet'}' order by 1").fetchall()
    assert n_all == 2 and got == [("a1", 4), ("a2", 4)]
    failed = json.loads(con.execute(f"select verdict from '{tmp_path / 'all.parquet'}' where dialogue_id = 'a2'").fetchone()[0])["failed"]
    assert any(f["name"] == "goal_completion" for f in failed)
    store.close()


@pytest.mark.slow
@needs_multiwoz()
def test_import_multiwoz_cli_reproduces_the_reference_figures(tmp_path: Path):
    db = tmp_path / "m.duckdb"
    cli = [sys.executable, "-m", "goalconvo.commands"]
    imp = subprocess.run(cli + ["import", "multiwoz", str(MULTIWOZ / "val.json.zip"), "--set", "mwoz", "--db", str(db),
                                "--multiwoz-db", str(MULTIWOZ / "db"), "--json"], capture_output=True, text=True, timeout=300)
    assert imp.returncode == 0, imp.stderr
    assert json.loads(imp.stdout)["new"] == 999
    again = subprocess.run(cli + ["import", "multiwoz", str(MULTIWOZ / "val.json.zip"), "--set", "mwoz", "--db", str(db), "--json"],
                           capture_output=True, text=True, timeout=300)
    assert json.loads(again.stdout)["new"] == 0, "re-import adds nothing"
    m = subprocess.run(cli + ["metrics", "--db", str(db), "--json"], capture_output=True, text=True, timeout=120)
    row = json.loads(m.stdout)[0]
    assert row["set_name"] == "mwoz" and row["dialogues"] == 999
    assert row["exchanges"] == pytest.approx(7.37, abs=0.005)
    assert row["distinct1_mean"] == pytest.approx(0.557, abs=0.001)
    assert row["distinct2_corpus"] == pytest.approx(0.147, abs=0.001)
    assert row["acceptance"] >= 0.85


@pytest.mark.slow
def test_bertscore_is_one_for_itself_and_retrieval_picks_the_same_domain_set(tmp_path: Path):
    from goalconvo.sinks.similarity import BertScorer, ReferenceIndex

    ref = {
        "R1": {"goal": {"hotel": {"info": {"area": "north"}}}, "log": [{"text": "i need a hotel in the north"}, {"text": "acorn guest house is in the north"}]},
        "R2": {"goal": {"train": {"info": {"day": "monday"}}}, "log": [{"text": "i need a train on monday"}, {"text": "tr1234 leaves at 09:00"}]},
        "R3": {"goal": {"hotel": {"info": {"area": "south"}}}, "log": [{"text": "any cheap hotel in the south"}, {"text": "there are two"}]},
    }
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    index = ReferenceIndex(path)
    cands = index.candidates("i need a train on monday please", ("hotel",), k=2)
    assert {c.ref_id for c in cands} == {"R1", "R3"}, "same domain set first, whatever the words"
    assert index.candidates("a hotel in the north", ("hotel",), k=1)[0].ref_id == "R1"
    scorer = BertScorer()
    (p, r, f), (_, _, f_other) = scorer.score_pairs(
        ["i need a hotel in the north", "i need a hotel in the north"],
        ["i need a hotel in the north", "tr1234 leaves at 09:00"],
    )
    assert f == pytest.approx(1.0, abs=1e-4) and p == pytest.approx(1.0, abs=1e-4)
    assert f_other < 0.9
    best = scorer.nearest(index, [("g1", ("hotel",), "i need a hotel in the north")], top_k=2)
    assert best[0].reference_id == "R1" and best[0].candidates == 2 and best[0].f1 > f_other


@pytest.mark.slow
def test_the_sink_scores_similarity_and_snapshots_metrics_as_dialogues_arrive(settings, bus, tmp_path: Path):
    from goalconvo.commands.goal_batches import goal_events, goals_for_run
    from goalconvo.commands.bus import publish
    from goalconvo.commands.runner import Worker
    from goalconvo.streams.topics import Topics

    ref = {
        f"R{i}": {"goal": {d: {"info": {"area": "centre"}}}, "log": [{"text": f"i need a {d} in the centre"},
                                                                     {"text": f"there is a {d} in the centre"}]}
        for i, d in enumerate(["hotel", "restaurant", "train", "attraction", "taxi", "police", "hospital"])
    }
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    s = settings.model_copy(update={"similarity_reference": path, "snapshot_interval_s": 1.0})
    n = 3

    async def scenario():
        async with Worker(s, bus) as w:
            await publish(bus, Topics.for_prefix(s.topic_prefix).goals, goal_events(goals_for_run(n, "run-sim", None)))
            snaps_sql = ("select count(*), max(cast(json_extract(metrics, '$.bertscore_n') as int)) from metric_snapshots "
                         "where group_kind = 'set' and set_name = 'run-sim'")
            await until(lambda: w.store.query("select count(*) from similarity").rows[0][0] >= n, 120)
            # A snapshot taken after the last score carries all of them.
            await until(lambda: (w.store.query(snaps_sql).rows[0][1] or 0) >= n, 30)
            sim = w.store.query("select model, layer, rescaled, reference_set, min(f1), max(f1), count(*) from similarity group by all").rows
            return sim, w.store.query(snaps_sql).rows[0]

    sim, snaps = asyncio.run(scenario())
    assert len(sim) == 1
    model, layer, rescaled, ref_set, lo, hi, count = sim[0]
    assert (model, layer, rescaled, ref_set, count) == ("all-MiniLM-L6-v2", 4, False, "ref.json", n)
    assert 0.3 < lo <= hi < 1.0
    assert snaps[0] >= 2 and snaps[1] == n, "snapshots are taken as records arrive and include the scores"
