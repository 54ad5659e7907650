"""The guided planner (User agenda + SupportBot policy) on hand-made goals, over MultiWOZ's venues."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest
from conftest import MULTIWOZ, needs_multiwoz

from goalconvo.agents.guided.acts import ACT_SLOT, split_key
from goalconvo.agents.guided.agenda import UserAgenda
from goalconvo.agents.guided.belief import DOMAINS
from goalconvo.agents.guided.policy import BotPolicy, unavailable_from_goal
from goalconvo.agents.guided.simulate import plan_dialogue
from goalconvo.core.records import Goal
from goalconvo.core.venues import VenueDB


PERSONAS = [
    {"style": "brief and to the point", "patience": "in a hurry", "verbosity": "terse"},
    {"style": "chatty", "patience": "patient", "verbosity": "talkative"},
    {"style": "polite and formal", "patience": "a little impatient", "verbosity": "average"},
]


@pytest.fixture(scope="module")
def db() -> VenueDB:
    return VenueDB.load(Path(str(importlib.resources.files("goalconvo.data") / "packs" / "multiwoz" / "db")))


def goal(**domains: dict) -> Goal:
    return Goal.model_validate({"goal_id": "hand", "domains": domains})


def bot_pairs(plan, domain: str, intent: str | None = None) -> list[tuple[str, str, str]]:
    """Every ``(intent, slot, value)`` the bot said about ``domain`` (``Booking-*`` counts for it)."""
    out, cur = [], None
    for t in plan.turns:
        if t.speaker == "user":
            cur = next((split_key(k)[0] for k in t.acts if split_key(k)[0] in DOMAINS), cur)
            continue
        for key, pairs in t.acts.items():
            d, i = split_key(key)
            if (cur if d == "booking" else d) == domain and intent in (None, i):
                out += [(i, s, v) for s, v in pairs]
    return out


def row(db: VenueDB, domain: str, key: str, value: str) -> dict:
    return next(r for r in db.tables[domain] if str(r[key]).lower() == value.lower())


@pytest.mark.parametrize("persona", PERSONAS)
def test_fail_info_gets_no_offer_then_info_succeeds(db, persona):
    g = goal(restaurant={
        "info": {"food": "italian", "area": "centre"}, "fail_info": {"food": "martian", "area": "centre"},
        "reqt": ["phone"],
    })
    plan = plan_dialogue(g, db, seed="s1", dialogue_id="d-fail-info", persona=persona)
    assert plan.finished
    assert any(i == "NoOffer" for i, _, _ in bot_pairs(plan, "restaurant"))
    user_food = [v for t in plan.turns if t.speaker == "user" for s, v in t.acts.get("Restaurant-Inform", []) if s == "Food"]
    assert user_food[0] == "martian" and user_food[-1] == "italian"
    venue = row(db, "restaurant", "name", plan.bot_state["venue"]["restaurant"])
    assert (venue["food"], venue["area"]) == ("italian", "centre")
    assert ("Inform", "Phone", venue["phone"]) in bot_pairs(plan, "restaurant")


@pytest.mark.parametrize("persona", PERSONAS)
def test_fail_book_gets_no_book_then_another_day_is_booked(db, persona):
    g = goal(hotel={
        "info": {"area": "north", "type": "guesthouse"},
        "book": {"day": "monday", "people": "2", "stay": "3"}, "fail_book": {"day": "sunday"},
    })
    plan = plan_dialogue(g, db, seed="s2", dialogue_id="d-fail-book", persona=persona)
    said = bot_pairs(plan, "hotel")
    nobook = next(n for n, (i, _, _) in enumerate(said) if i == "NoBook")
    booked = [(n, v) for n, (i, s, v) in enumerate(said) if i == "Book" and s == "Ref"]
    assert booked and booked[0][0] > nobook
    meta = plan.turns[-1].metadata["hotel"]
    assert meta["book"]["day"] == "monday"
    assert meta["book"]["booked"] == [{"name": plan.bot_state["venue"]["hotel"], "reference": booked[0][1]}]
    assert plan.outcome["hotel"]["ref"] == booked[0][1]


def test_fail_book_on_time_for_a_restaurant(db):
    g = goal(restaurant={
        "info": {"pricerange": "cheap", "area": "centre"},
        "book": {"day": "friday", "people": "4", "time": "19:00"}, "fail_book": {"time": "20:00"},
    })
    plan = plan_dialogue(g, db, seed="s3", dialogue_id="d-time")
    said = bot_pairs(plan, "restaurant")
    assert ("NoBook", "Time", "20:00") in said
    assert any(i == "Book" and s == "Ref" for i, s, _ in said)
    assert plan.turns[-1].metadata["restaurant"]["book"]["time"] == "19:00"


def test_unavailable_comes_from_fail_book_slots_that_differ():
    g = goal(hotel={"book": {"day": "monday", "stay": "2"}, "fail_book": {"day": "sunday", "stay": "2"}},
             restaurant={"book": {"time": "18:00"}, "fail_book": {"time": "18:00"}})
    assert unavailable_from_goal(g) == [{"domain": "hotel", "slots": {"day": "sunday"}}]


@pytest.mark.parametrize("seed", ["a", "b", "c", "d"])
def test_taxi_after_restaurant_goes_between_the_venues(db, seed):
    g = goal(
        attraction={"info": {"type": "museum", "area": "centre"}, "reqt": ["address"]},
        restaurant={"info": {"food": "chinese", "pricerange": "cheap"},
                    "book": {"day": "sunday", "people": "3", "time": "18:15"}},
        taxi={"info": {"arriveBy": "18:15"}, "reqt": ["car type", "phone"]},
    )
    plan = plan_dialogue(g, db, seed=seed, dialogue_id=f"d-taxi-{seed}")
    assert plan.finished
    taxi = plan.turns[-1].metadata["taxi"]
    venues = plan.bot_state["venue"]
    assert taxi["semi"]["destination"] == venues["restaurant"].lower()  # arrive at the table by its time
    assert taxi["semi"]["departure"] == venues["attraction"].lower()
    said = bot_pairs(plan, "taxi")
    car = [v for i, s, v in said if s == "Car"]
    assert car and car[0] == db.taxi_for(f"d-taxi-{seed}:taxi:0")["car type"]
    assert taxi["book"]["booked"][0]["type"] == car[0]


def test_train_gets_id_price_duration_and_a_booking(db):
    g = goal(train={
        "info": {"departure": "cambridge", "destination": "london kings cross", "day": "monday", "leaveAt": "09:00"},
        "reqt": ["trainID", "price", "duration"], "book": {"people": "2"},
    })
    plan = plan_dialogue(g, db, seed="s4", dialogue_id="d-train")
    said = bot_pairs(plan, "train")
    train = row(db, "train", "trainID", plan.bot_state["venue"]["train"])
    assert train["leaveAt"] >= "09:00" and train["day"] == "monday"
    values = {(s, v) for _, s, v in said}
    assert {("Id", train["trainID"]), ("Time", train["duration"])} <= values
    # the price: per ticket when asked, or the total for the two when booked (MultiWOZ's wizards did both)
    assert ("Ticket", train["price"]) in values or ("Ticket", "%.2f pounds" % (2 * float(train["price"].split()[0]))) in values
    booked = [v for i, s, v in said if i == "OfferBooked" and s == "Ref"]
    assert booked and plan.turns[-1].metadata["train"]["book"]["booked"][0]["trainID"] == train["trainID"]


def test_every_reqt_is_answered_in_all_seven_domains(db):
    g = goal(
        police={"reqt": ["address", "phone", "postcode"]},
        hospital={"info": {"department": "paediatric clinic"}, "reqt": ["phone", "address"]},
        hotel={"info": {"area": "east", "stars": "4"}, "reqt": ["phone", "postcode", "parking"]},
        attraction={"info": {"type": "college"}, "reqt": ["entrance fee", "area", "address"]},
        train={"info": {"departure": "ely", "destination": "cambridge", "day": "friday", "arriveBy": "12:00"},
               "reqt": ["leaveAt", "duration"]},
        taxi={"info": {"leaveAt": "14:00"}, "reqt": ["car type", "phone"]},
    )
    for n, persona in enumerate(PERSONAS):
        plan = plan_dialogue(g, db, seed=f"all{n}", dialogue_id=f"d-all{n}", persona=persona)
        assert plan.finished
        for domain, dg in g.domains.items():
            said = {s for i, s, v in bot_pairs(plan, domain) if v not in ("?", "none")}
            for r in dg.reqt:
                assert ("Time" if r == "duration" else ACT_SLOT[r]) in said, (domain, r)
            assert not plan.outcome[domain]["reqt_left"]


def test_no_match_at_all_is_relaxed_not_looped(db):
    g = goal(restaurant={"info": {"food": "martian", "area": "north"}, "reqt": ["phone"]})
    plan = plan_dialogue(g, db, seed="s5", dialogue_id="d-none")
    assert plan.finished and plan.exchanges <= 8
    assert any(v == "dontcare" for t in plan.turns if t.speaker == "user" for _, v in t.acts.get("Restaurant-Inform", []))


def test_same_seed_same_plan_other_seed_other_plan(db):
    g = goal(hotel={"info": {"pricerange": "cheap"}, "book": {"day": "friday", "people": "1", "stay": "2"}},
             train={"info": {"departure": "cambridge", "destination": "ely", "day": "friday"}, "reqt": ["price"]})
    plans = [plan_dialogue(g, db, seed=s, dialogue_id="d-det") for s in ("x", "x", "y", "z")]
    assert [t.__dict__ for t in plans[0].turns] == [t.__dict__ for t in plans[1].turns]
    assert any([t.acts for t in p.turns] != [t.acts for t in plans[0].turns] for p in plans[2:])


def test_json_round_trip_mid_dialogue_continues_the_same(db):
    g = goal(
        restaurant={"info": {"food": "indian", "area": "west"}, "fail_info": {"food": "martian", "area": "west"},
                    "book": {"day": "tuesday", "people": "2", "time": "12:00"}, "fail_book": {"time": "13:00"},
                    "reqt": ["postcode"]},
        taxi={"info": {"leaveAt": "15:00"}, "reqt": ["car type"]},
        attraction={"info": {"area": "west"}, "reqt": ["phone"]},
    )

    def run(cut: int | None) -> list:
        agenda = UserAgenda.from_goal(g, "rt", PERSONAS[1])
        policy, bot_state, bot_acts, log = BotPolicy(db, "d-rt"), BotPolicy.new_state(unavailable_from_goal(g)), None, []
        for n in range(30):
            if n == cut:  # a stateless worker picks the dialogue up from the event's JSON
                agenda = UserAgenda.from_dict(json.loads(json.dumps(agenda.to_dict())))
                bot_state = json.loads(json.dumps(bot_state))
                policy = BotPolicy(db, "d-rt")
            user_acts, done = agenda.next_acts(bot_acts)
            bot_acts, bot_state, meta = policy.respond(bot_state, user_acts)
            log.append((user_acts, bot_acts, meta))
            if done:
                return log
        raise AssertionError("did not finish")

    whole = run(None)
    assert len(whole) > 5
    for cut in (1, 3, 5):
        assert run(cut) == whole


def test_metadata_has_multiwoz_shape(db):
    plan = plan_dialogue(goal(attraction={"info": {"type": "park"}, "reqt": ["postcode"]}), db, "m", "d-meta")
    for t in plan.turns:
        assert bool(t.metadata) == (t.speaker == "bot")
    meta = plan.turns[1].metadata
    assert set(meta) == set(DOMAINS)
    assert meta["attraction"]["semi"] == {"type": "park", "name": "not mentioned", "area": "not mentioned"}
    assert meta["hotel"]["semi"]["area"] == "" and meta["hotel"]["book"]["booked"] == []
    assert meta["train"]["book"] == {"booked": [], "people": ""}


def test_states_are_plain_json(db):
    g = goal(hotel={"info": {"area": "east"}, "book": {"day": "monday", "people": "1", "stay": "1"}})
    agenda = UserAgenda.from_goal(g, "j", None)
    acts, _ = agenda.next_acts(None)
    _, bot_state, meta = BotPolicy(db, "d-j").respond(BotPolicy.new_state(), acts)
    for obj in (agenda.to_dict(), bot_state, meta, acts):
        assert json.loads(json.dumps(obj)) == obj


@pytest.mark.slow
@needs_multiwoz()
def test_every_multiwoz_val_goal_plans_cleanly(db):
    """All 999 val goals: finished, every reqt and booking got, fail_* met, lengths near MultiWOZ's."""
    from collections import defaultdict

    from goalconvo.core.goals import load_multiwoz_dialogues, multiwoz_goal

    raw = load_multiwoz_dialogues(MULTIWOZ / "val.json.zip")
    ours: dict[tuple, list[int]] = defaultdict(list)
    real: dict[tuple, list[int]] = defaultdict(list)
    unclean = []
    for did, d in raw.items():
        g = multiwoz_goal(did, d["goal"])
        plan = plan_dialogue(g, db, seed=did, dialogue_id=did)
        ours[tuple(g.domain_names)].append(plan.exchanges)
        real[tuple(g.domain_names)].append(len(d["log"]) // 2)
        bad = not plan.finished or any(o["reqt_left"] or o["gave_up"] for o in plan.outcome.values())
        for domain, dg in g.domains.items():
            book = {k: v.lower() for k, v in dg.book.items() if k in ("day", "people", "stay", "time")}
            bad = bad or bool(book) and plan.bot_state["book_done"].get(domain) != book
        if bad:
            unclean.append(did)
    assert len(unclean) <= 10, unclean[:10]
    for ds, n in real.items():
        ratio = (sum(ours[ds]) / len(ours[ds])) / (sum(n) / len(n))
        assert 0.7 <= ratio <= 1.3, (ds, ratio)


def test_a_taxi_the_goal_sends_to_another_venue_goes_to_the_one_this_dialogue_found(db):
    """A goal names the taxi's endpoints as its writer's venues (The Spice Route, a place this
    database lacks); the desk found others, and a cab to a restaurant the User never booked reads
    as a broken fact, so the User names the venues found here."""
    g = goal(
        attraction={"info": {"type": "theatre"}, "reqt": ["phone"]},
        restaurant={"info": {"food": "indian", "area": "east", "pricerange": "expensive"},
                    "book": {"day": "thursday", "people": "5", "time": "19:45"}},
        taxi={"info": {"departure": "the junction", "destination": "the spice route", "arriveBy": "19:30"},
              "reqt": ["car type"]},
    )
    for seed in ("a", "b", "c"):
        plan = plan_dialogue(g, db, seed=seed, dialogue_id=f"d-taxi-goal-{seed}")
        assert plan.finished
        taxi, venues = plan.turns[-1].metadata["taxi"]["semi"], plan.bot_state["venue"]
        assert taxi["destination"] == venues["restaurant"].lower()
        assert taxi["departure"] == venues["attraction"].lower()
        said = " ".join(str(t.acts) for t in plan.turns if t.speaker == "user").lower()
        assert "spice route" not in said


def test_constraints_come_before_the_desk_names_a_place_in_most_dialogues():
    """Readers marked constraints drip-fed after a venue was named ('Oh, and it should be expensive.'):
    a User answering the desk's question mostly adds every constraint still unsaid."""
    import itertools

    from goalconvo.agents.guided.acts import split_key
    from goalconvo.agents.guided.simulate import plan_dialogue
    from goalconvo.core.goal_generator import iter_generated_goals
    from goalconvo.core.venues import VenueDB

    db = VenueDB.load()
    search = {"Area", "Price", "Food", "Type", "Stars", "Parking", "Internet"}
    late = 0
    goals = list(itertools.islice(iter_generated_goals(db, seed=5), 300))
    for g in goals:
        named: set[str] = set()
        for t in plan_dialogue(g, db, f"s:{g.goal_id}", g.goal_id).turns:
            for key, pairs in t.acts.items():
                d, intent = split_key(key)
                if t.speaker == "bot" and intent in ("Inform", "Recommend") and any(s == "Name" for s, _ in pairs):
                    named.add(d)
                elif t.speaker == "user" and intent == "Inform" and d in named and any(s in search and v != "dontcare" for s, v in pairs):
                    late += 1
                    break
            else:
                continue
            break
    assert late / len(goals) < 0.19, late  # 0.22 before answers carried the rest
