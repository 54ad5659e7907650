"""The near-duplicate filter: the pure check, and through the pipeline on the real broker."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from goalconvo.core.goals import builtin_goals
from goalconvo.core.records import Dialogue, Goal
from goalconvo.judges import near_duplicate as nd

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "near_duplicates.py"
_spec = importlib.util.spec_from_file_location("near_duplicates_bench", _BENCH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


def _guided(goals: list[Goal], run_id: str) -> list[Dialogue]:
    return asyncio.run(bench.guided_dialogues(goals, run_id))


def _distinct(n: int) -> list[Goal]:
    seen, out = set(), []
    for g in builtin_goals():
        k = nd.goal_key(g)
        if k not in seen:
            seen.add(k)
            out.append(g)
    return out[:n]


def _index(dialogues: list[Dialogue], threshold: float = 0.4, same_goal: bool = True) -> nd.NearDuplicateIndex:
    index = nd.NearDuplicateIndex(threshold, same_goal=same_goal)
    for d in dialogues:
        index.add(d.dialogue_id, nd.dialogue_signature(d), nd.goal_key(d.goal))
    return index


def test_an_identical_dialogue_is_flagged_naming_the_original_and_not_itself():
    [d] = _guided(_distinct(1), "run-a")
    index = _index([d])
    sig = nd.dialogue_signature(d)
    match = index.query(sig, goal=nd.goal_key(d.goal))
    assert match == nd.Match(d.dialogue_id, 1.0, "text")
    check = nd.check(match, 0.4)
    assert check.name == "near_duplicate" and not check.passed and d.dialogue_id in check.reason
    # A replayed event of the dialogue itself is not its own duplicate.
    assert index.query(sig, exclude=d.dialogue_id, goal=nd.goal_key(d.goal)) is None
    assert nd.check(None, 0.4).passed


def test_a_paraphrase_is_flagged_by_its_words_alone():
    """Reordered sentences, swapped synonyms, other persona wording: >= 90% flagged (the benchmark's bar)."""
    dialogues = _guided(_distinct(20), "run-a")
    index = _index(dialogues, same_goal=False)
    found = 0
    for d in dialogues:
        texts = bench.paraphrase(bench.turns_of(d), d.dialogue_id)
        assert texts != [t.text for t in d.turns]
        match = index.query(nd.text_signature(texts))
        assert match is None or match.dialogue_id == d.dialogue_id
        found += match is not None
    assert found >= 0.9 * len(dialogues), found


def test_dialogues_of_different_goals_are_not_flagged():
    dialogues = _guided(_distinct(20), "run-a")
    index = nd.NearDuplicateIndex(0.4)
    for d in dialogues:
        sig, goal = nd.dialogue_signature(d), nd.goal_key(d.goal)
        assert index.query(sig, goal=goal) is None, d.dialogue_id
        index.add(d.dialogue_id, sig, goal)


def test_the_same_goal_under_a_new_run_id_is_flagged_though_its_words_differ():
    goals = _distinct(10)
    first, again = _guided(goals, "run-a"), _guided(goals, "run-b")
    index = _index(first)
    for a, b in zip(first, again):
        assert a.dialogue_id != b.dialogue_id
        match = index.query(nd.dialogue_signature(b), goal=nd.goal_key(b.goal))
        assert match is not None and match.dialogue_id == a.dialogue_id
    # Goal content, not ids: a renamed goal is the same goal.
    renamed = goals[0].model_copy(update={"goal_id": "other-id", "run_id": "x", "message": ["m"]})
    assert nd.goal_key(renamed) == nd.goal_key(goals[0]) != nd.goal_key(goals[1])


def test_signatures_round_trip_and_words_are_normalised():
    sig = nd.text_signature(["I need a CHEAP hotel. In the north!"])
    assert sig.dtype == np.uint32 and len(sig) == nd.NUM_PERM
    assert np.array_equal(nd.decode_signature(nd.encode_signature(sig)), sig)
    assert np.array_equal(nd.text_signature(["in the NORTH", "i need a cheap hotel"]), sig)  # sentence order
    assert nd.similarity(sig, nd.text_signature(["Something else entirely, thanks."])) < 0.2
    bands, rows = nd.lsh_params(0.4)
    assert bands * rows <= nd.NUM_PERM and 1 - (1 - 0.4**rows) ** bands >= 0.995
    with pytest.raises(ValueError):
        nd.NearDuplicateIndex(0.0)

