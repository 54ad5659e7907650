"""The few-shot pool (logic, and the Faust table surviving a restart) and the goal-sampling knobs."""

from __future__ import annotations

import asyncio
import random

import pytest

from goalconvo.agents import fewshot
from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker
from goalconvo.core.goals import builtin_goals, parse_domain_mix, sample_goals, with_failing_request
from goalconvo.core.records import FewShotExample
from goalconvo.core.settings import Settings
from goalconvo.streams.topics import Topics


def _ex(i: int, domain: str = "hotel") -> FewShotExample:
    return FewShotExample(example_id=f"d{i}", domain=domain, opening=f"opening {i}")


def test_pool_keeps_the_newest_up_to_capacity_and_ignores_replays():
    entries: list[dict] = []
    for i in range(5):
        entries = fewshot.add_example(entries, _ex(i), capacity=3)
    assert [e["example_id"] for e in entries] == ["d2", "d3", "d4"]
    assert fewshot.add_example(entries, _ex(4), capacity=3) == entries


def test_sampling_is_reproducible_and_stays_in_the_goals_domains():
    pool = {"hotel": [_ex(i).model_dump() for i in range(6)], "train": [_ex(9, "train").model_dump()]}
    a = fewshot.sample(pool, ["hotel"], 2, "seed:1")
    assert [e.example_id for e in a] == [e.example_id for e in fewshot.sample(pool, ["hotel"], 2, "seed:1")]
    assert all(e.domain == "hotel" for e in a) and len(a) == 2
    picks = {tuple(e.example_id for e in fewshot.sample(pool, ["hotel"], 2, f"seed:{i}")) for i in range(20)}
    assert len(picks) > 3, "different dialogues see different examples"
    assert fewshot.sample(pool, ["police"], 2, "x") == []
    assert {e.domain for e in fewshot.sample(pool, ["hotel", "train"], 7, "x")} == {"hotel", "train"}


def test_a_pool_entry_of_an_older_prompt_version_is_never_sampled():
    """Phrasings (and openings) accepted under another prompt never reach a prompt of this one."""
    from goalconvo.agents.guided.engine import GUIDED_PROMPT_VERSION

    def phrasing(i: int, version: str) -> dict:
        return FewShotExample(example_id=f"p{i}", domain="hotel", opening=f"old {i}", kind="phrasing", speaker="user",
                              acts={"Hotel-Inform": [["Area", "north"]]}, prompt_version=version).model_dump()

    entries = [phrasing(0, "g1+r3"), phrasing(1, ""), phrasing(2, GUIDED_PROMPT_VERSION)]
    assert [e.example_id for e in fewshot.phrasing_examples(entries, GUIDED_PROMPT_VERSION)] == ["p2"]
    openings = [_ex(0).model_copy(update={"prompt_version": "p1"}).model_dump(), _ex(1).model_copy(update={"prompt_version": "p2"}).model_dump(),
                FewShotExample(example_id="b", domain="hotel", opening="built in", source="builtin").model_dump()]
    kept = fewshot.openings(openings, "p2")
    assert [e["example_id"] for e in kept] == ["d1", "b"]
    for i in range(30):
        assert {e.example_id for e in fewshot.sample({"hotel": kept}, ["hotel"], 2, f"s{i}")} <= {"d1", "b"}


def test_an_accepted_dialogue_gives_the_pool_entries_of_its_own_prompt_version():
    from goalconvo.core.records import Dialogue, Goal, Persona, Scenario, Turn

    goal = Goal(goal_id="g", domains={"hotel": {"info": {"area": "north"}}})
    d = Dialogue(dialogue_id="x", run_id="r", goal=goal, model="m", prompt_version="g9+r9", mode="guided",
                 scenario=Scenario(persona=Persona(name="a", style="b", patience="c", verbosity="d"), objective="", first_utterance=""),
                 turns=[Turn(index=0, speaker="user", text="Hi.", acts={"Hotel-Inform": [["Area", "north"]]}, phrased_by="llm")],
                 started_at=0, ended_at=1, stop_reason="goal_done")
    assert [e.prompt_version for e in fewshot.examples_from(d)] == ["g9+r9"]


def test_builtin_examples_cover_every_domain():
    assert {e.domain for e in fewshot.builtin_examples()} == {
        "attraction", "hospital", "hotel", "police", "restaurant", "taxi", "train"}


def test_accepted_dialogues_feed_the_pool_table_which_survives_a_worker_restart(settings: Settings, bus: str):
    """Free mode's opening pool (guided mode's phrasing pool: tests/test_guided.py)."""
    settings = settings.model_copy(update={"mode": "free"})
    topics = Topics.for_prefix(settings.topic_prefix)

    async def first_worker():
        async with Worker(settings, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(6, "run-pool", None)))
            for _ in range(240):
                accepted = w.store.query("select count(*) from current_verdicts where accepted").rows[0][0]
                table = {d: list(w.pipeline.fewshot.get(d) or []) for d in ("hotel", "restaurant", "train", "attraction", "taxi", "police", "hospital")}
                if accepted and sum(map(len, table.values())) >= accepted:
                    return accepted, table
                await asyncio.sleep(0.25)
            raise AssertionError("accepted dialogues never reached the pool")

    async def second_worker():
        async with Worker(settings, bus) as w:
            for _ in range(120):
                table = {d: list(w.pipeline.fewshot.get(d) or []) for d in ("hotel", "restaurant", "train", "attraction", "taxi", "police", "hospital")}
                if sum(map(len, table.values())):
                    return table, w.pipeline.few_shot_pool()
                await asyncio.sleep(0.25)
            return {}, {}

    accepted, before = asyncio.run(first_worker())
    after, pool = asyncio.run(second_worker())
    assert after == before, "the pool was not recovered from its changelog"
    ids = {e["example_id"] for es in before.values() for e in es}
    assert all(e["source"] == "accepted" for es in before.values() for e in es)
    # The pool the experience stage samples from holds the built-ins and the recovered examples.
    assert ids <= {e["example_id"] for es in pool.values() for e in es}
    assert any(e["source"] == "builtin" for e in pool["hotel"])


def test_sample_goals_knobs():
    pool = builtin_goals()
    a = sample_goals(10, "r1", pool, seed=3)
    assert [g.goal_id for g in a] == [g.goal_id for g in sample_goals(10, "r1", pool, seed=3)], "reproducible"
    assert len({g.goal_id for g in a}) == 10 and all(g.run_id == "r1" for g in a)
    many = sample_goals(100, "r1", pool)
    assert len({g.goal_id for g in many}) == 100, "repeats get their own ids"
    multi = sample_goals(20, "r", pool, min_domains=2)
    assert all(len(g.domains) >= 2 for g in multi)
    single = sample_goals(20, "r", pool, max_domains=1)
    assert all(len(g.domains) == 1 for g in single)
    mix = sample_goals(200, "r", pool, domain_mix=parse_domain_mix("restaurant=3,hotel=1"))
    assert all(set(g.domains) <= {"restaurant", "hotel"} for g in mix)
    only_restaurant = sum(set(g.domains) == {"restaurant"} for g in mix)
    only_hotel = sum(set(g.domains) == {"hotel"} for g in mix)
    assert only_restaurant > only_hotel, "heavier domains are drawn more often"
    failing = sample_goals(40, "r", pool, fail_first_rate=1.0, seed=1)
    assert sum(bool(dg.fail_info) for g in failing for dg in g.domains.values()) >= 20
    with pytest.raises(ValueError, match="unknown domain"):
        parse_domain_mix("spaceship=1")
    with pytest.raises(ValueError, match="no goal fits"):
        sample_goals(3, "r", pool, min_domains=7)


def test_a_failing_first_request_asks_for_a_value_no_venue_has():
    from goalconvo.core.venues import VenueDB

    db = VenueDB.load()
    goal = next(g for g in builtin_goals() if "restaurant" in g.domains and "food" in g.domains["restaurant"].info)
    failing = with_failing_request(goal, random.Random(0))
    fi = failing.domains["restaurant"].fail_info
    assert fi and fi != failing.domains["restaurant"].info
    assert db.search("restaurant", fi) == []
    assert goal.domains["restaurant"].fail_info == {}, "the original goal is not changed"
