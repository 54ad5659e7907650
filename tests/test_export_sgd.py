"""``export --format sgd``: a run's dialogues in the Schema-Guided Dialogue layout, with the same keys and
nesting as SGD's own files, read back with their acts and user states intact (also by the SGD importer)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import pytest

from goalconvo.core.goals import builtin_goals
from goalconvo.core.settings import Settings
from goalconvo.packs.sgd_import import goal_of
from goalconvo.sinks.export import export_corpus
from goalconvo.sinks.store import CorpusStore

from conftest import TEST_SESSION_TIMEOUT_S

SGD = Path(os.environ.get("GOALCONVO_TEST_SGD", Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """8 built-in goals run through the real pipeline (embedded broker, scripted phrasing), exported as SGD."""
    from goalconvo.commands.runner import run_goals

    tmp = tmp_path_factory.mktemp("sgd")
    tag = uuid.uuid4().hex[:8]
    s = Settings(db=tmp / "corpus.duckdb", app_id=f"gc-test-{tag}", topic_prefix=f"t{tag}.", llm="scripted",
                 partitions=4, session_timeout_s=TEST_SESSION_TIMEOUT_S, concurrency=4)
    result = asyncio.run(run_goals(s, 8, goals=builtin_goals()[:8], timeout_s=240))
    assert result.finished and result.accepted >= 6, result
    store = CorpusStore(s.db)
    try:
        n = export_corpus(store, tmp / "dialogues_001.json", "sgd", sets=None, include_rejected=False)
        stored = store.query(
            """select d.dialogue_id, list(struct_pack(s := t.speaker, x := t.text, a := t.acts, b := t.belief) order by t.idx)
               from dialogues d join current_verdicts v using (dialogue_id) join turns t using (dialogue_id)
               where v.accepted group by d.dialogue_id""").rows
    finally:
        store.close()
    assert n == result.accepted
    return tmp / "dialogues_001.json", stored


def _shape(value, path: str = "", out: set | None = None) -> set[tuple[str, str]]:
    """Every (key path, JSON type) in ``value``; list items share their list's path."""
    out = set() if out is None else out
    kind = type(value).__name__
    out.add((path, kind))
    if isinstance(value, dict):
        dynamic = path.endswith(("slot_values", "parameters", "service_results[]"))  # keys are slot names
        for k, v in value.items():
            _shape(v, f"{path}.{'*' if dynamic else k}", out)
    elif isinstance(value, list):
        for v in value:
            _shape(v, path + "[]", out)
    return out


@pytest.mark.skipif(not (SGD / "Services_3" / "dialogues.json").is_file(), reason=f"SGD data not at {SGD}")
def test_the_export_has_sgd_keys_and_nesting(exported):
    path, _ = exported
    ours = _shape(json.loads(path.read_text()))
    theirs: set[tuple[str, str]] = set()
    for service in ("Services_3", "Services_2", "Banks_1"):
        _shape(json.loads((SGD / service / "dialogues.json").read_text()), out=theirs)
    assert ours - theirs == set(), f"keys or types SGD's files do not have: {sorted(ours - theirs)}"
    # Everything SGD always has is there (service calls and their results are optional in SGD too).
    optional = ("service_call", "service_results")
    missing = {p for p in theirs - ours if not any(o in p[0] for o in optional)}
    assert missing == set(), f"SGD keys the export lacks: {sorted(missing)}"


def test_the_export_reads_back_with_acts_and_states_intact(exported):
    path, stored = exported
    dialogues = {d["dialogue_id"]: d for d in json.loads(path.read_text())}
    assert set(dialogues) == {r[0] for r in stored}
    for did, turns in stored:
        d = dialogues[did]
        assert [(t["speaker"], t["utterance"]) for t in d["turns"]] == \
            [("USER" if t["s"] == "user" else "SYSTEM", t["x"]) for t in turns]
        for i, (ours, t) in enumerate(zip(d["turns"], turns)):
            acts = json.loads(t["a"]) if t["a"] else {}
            said = {(a["act"], v) for f in ours["frames"] for a in f["actions"] for v in a["values"]}
            for key, pairs in acts.items():
                if key.endswith("-Inform"):  # every value the planner's acts said is an INFORM value
                    for slot, value in pairs:
                        if slot != "none":
                            assert ("INFORM", value) in said, (did, i, key, slot, value)
            if t["s"] == "user" and i + 1 < len(turns) and turns[i + 1]["b"]:
                belief = json.loads(turns[i + 1]["b"])
                for f in ours["frames"]:
                    part = belief[f["service"]]
                    expected = {k: [v] for k, v in {**part["semi"], **part["book"]}.items()
                                if k != "booked" and isinstance(v, str) and v not in ("", "not mentioned", "none")}
                    assert f["state"]["slot_values"] == expected, (did, i)
        # The SGD importer reads the export back: a task per service, informed as the last state says.
        goal = goal_of(d, set(d["services"]))
        assert goal is not None and {t["service"] for t in goal["tasks"]} <= set(d["services"])


def test_spans_point_at_the_values_in_the_utterance(exported):
    path, _ = exported
    spans = 0
    for d in json.loads(path.read_text()):
        for t in d["turns"]:
            for f in t["frames"]:
                values = {v.lower() for a in f["actions"] for v in a["values"]}
                for sp in f["slots"]:
                    assert t["utterance"][sp["start"]:sp["exclusive_end"]].lower() in values
                    spans += 1
    assert spans > 20
