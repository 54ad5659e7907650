"""The templates read like people and copy nothing from MultiWOZ val.

What "copy nothing" means here: no 6 consecutive words of a template's own wording occur in
MultiWOZ val. A template's own wording is every word except the act's values (in any of the
forms the validator accepts) and the words that name what the acts carry (slot nouns such as
"phone number", domain nouns such as "place to stay", "free wifi", "a table": see
``templates.words.content_phrases``), which any phrasing of the same acts shares with MultiWOZ.
Windows run across sentence boundaries, so an acknowledgement followed by a question counts too.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache

import pytest

from goalconvo.agents.guided import templates
from goalconvo.agents.guided.normalize import norm, value_forms
from goalconvo.agents.guided.simulate import plan_dialogue
from goalconvo.agents.guided.templates import phrases
from goalconvo.agents.guided.templates.words import content_phrases
from goalconvo.core.goal_generator import iter_generated_goals
from goalconvo.core.goals import builtin_goals, multiwoz_goals
from goalconvo.core.venues import VenueDB

from conftest import MULTIWOZ, needs_multiwoz

_WORD = re.compile(r"[a-z0-9'{}_]+")
_CLITICS = ("n't", "'s", "'m", "'ll", "'re", "'ve", "'d")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


@lru_cache(maxsize=1)
def _val_6grams() -> frozenset[tuple[str, ...]]:
    with zipfile.ZipFile(MULTIWOZ / "val.json.zip") as z:
        data = json.loads(z.read(z.namelist()[0]))
    out: set[tuple[str, ...]] = set()
    for d in data.values():
        for turn in d["log"]:
            text = turn["text"]
            for c in _CLITICS:  # MultiWOZ writes "do n't", "it 's"
                text = text.replace(" " + c, c)
            w = _tokens(text)
            out |= {tuple(w[i : i + 6]) for i in range(len(w) - 5)}
    return frozenset(out)


@lru_cache(maxsize=1)
def _content() -> list[tuple[str, ...]]:
    words = "north south east west centre central cheap expensive moderate moderately".split()
    return sorted({tuple(_tokens(c)) for c in content_phrases()} | {(w,) for w in words}, key=len, reverse=True)


def _own_windows(text: str, acts: dict) -> list[tuple[str, ...]]:
    """The 6-word windows of ``text`` made only of template wording (values, numbers, placeholders
    and content words masked)."""
    w = _tokens(text)
    masked = [("{" in t) or any(ch.isdigit() for ch in t) for t in w]
    phrases_ = list(_content())
    for pairs in acts.values():
        for slot, value in pairs:
            if slot != "none" and value not in ("?", "none", ""):
                phrases_ += [tuple(_tokens(f)) for f in value_forms(slot, value)]
                phrases_.append(tuple(_tokens(norm(value).replace("guesthouse", "guest house"))))
    for p in phrases_:
        n = len(p)
        if not n:
            continue
        for i in range(len(w) - n + 1):
            if tuple(w[i : i + n]) == p:
                masked[i : i + n] = [True] * n
    return [tuple(w[i : i + 6]) for i in range(len(w) - 5) if not any(masked[i : i + 6])]


def _shared(text: str, acts: dict) -> list[str]:
    val = _val_6grams()
    return [" ".join(g) for g in _own_windows(text, acts) if g in val]


@dataclass
class _Turn:
    speaker: str
    acts: dict
    text: str = field(default="")


def _render_dialogues(goals, seeds: int) -> list[list[_Turn]]:
    db = VenueDB.load()
    out = []
    for s in range(seeds):
        for g in goals:
            did = f"{g.goal_id}#{s}"
            plan = plan_dialogue(g, db, f"{s}:{did}", did)
            done: list[_Turn] = []
            for i, pt in enumerate(plan.turns):
                ctx = templates.TurnContext.from_turns(done, pt.speaker)
                done.append(_Turn(pt.speaker, pt.acts, templates.render(pt.speaker, pt.acts, random.Random(f"{did}:{i}"), ctx)))
            out.append(done)
    return out


def _frames(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            yield from _frames(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _frames(x)


@needs_multiwoz()
def test_no_frame_shares_six_words_with_multiwoz_val():
    found = []
    for name in dir(phrases):
        if name.isupper():
            for frame in _frames(getattr(phrases, name)):
                found += [(name, frame, g) for g in _shared(re.sub(r"\{[^}]*\}", "{x}", frame), {})]
    assert not found, found[:10]


@needs_multiwoz()
def test_rendered_dialogues_share_no_template_wording_with_multiwoz_val():
    """Dialogues planned for MultiWOZ val goals, the built-in goals and generated ones, two seeds each."""
    db = VenueDB.load()
    goals = multiwoz_goals(MULTIWOZ / "val.json.zip")[:400] + builtin_goals()
    goals += list(itertools.islice(iter_generated_goals(db, seed=3, fail_first_rate=0.2), 150))
    found = {}
    turns = 0
    for dialogue in _render_dialogues(goals, seeds=2):
        for t in dialogue:
            turns += 1
            for g in _shared(t.text, t.acts):
                found.setdefault(g, t.text)
    assert turns > 8000
    assert not found, list(found.items())[:10]


@needs_multiwoz()
def test_builtin_examples_share_no_six_words_with_multiwoz_val():
    import importlib.resources

    data = importlib.resources.files("goalconvo.data")
    found = []
    for name in ("phrasing_examples.json", "fewshot_builtin.json"):
        for e in json.loads(data.joinpath(name).read_text())["examples"]:
            for key in ("text", "opening", "reply"):
                if e.get(key):
                    found += [(name, e["example_id"], g) for g in _shared(e[key], e.get("acts") or {})]
    assert not found, found


def test_the_check_itself_finds_a_copied_phrase():
    """A MultiWOZ-like desk line is caught; the same line's values alone are not."""
    if not (MULTIWOZ / "val.json.zip").exists():
        pytest.skip("MultiWOZ data absent")
    assert _shared("Is there anything else I can help you with today?", {})
    assert not _shared("Golden Wok", {"Restaurant-Inform": [["Name", "golden wok"]]})


# --- wording that follows the dialogue ---------------------------------------------------


def _ctx(*turns: tuple[str, dict]) -> templates.TurnContext:
    done = [_Turn(s, a) for s, a in turns]
    return templates.TurnContext.from_turns(done, "user" if not done or done[-1].speaker == "bot" else "bot")


def test_an_answer_to_the_desks_question_is_short():
    ctx = _ctx(("user", {"Hotel-Inform": [["Type", "guesthouse"]]}), ("bot", {"Hotel-Inform": [["Choice", "24"]], "Hotel-Request": [["Area", "?"]]}))
    texts = {templates.render("user", {"Hotel-Inform": [["Area", "north"]]}, seed, ctx) for seed in range(30)}
    assert all(len(t.split()) <= 8 for t in texts), texts
    assert not any("looking for" in t.lower() for t in texts)


def test_a_second_need_is_introduced_as_one():
    ctx = _ctx(("user", {"Hotel-Inform": [["Area", "north"]]}), ("bot", {"Booking-Book": [["Name", "acorn guest house"], ["Ref", "AB12CD34"]], "general-reqmore": [["none", "none"]]}))
    for seed in range(20):
        text = templates.render("user", {"Train-Inform": [["Depart", "cambridge"], ["Dest", "ely"]]}, seed, ctx).lower()
        assert any(w in text for w in ("also", "next", "besides", "now i need", "as well")), text


def test_booking_words_fit_the_domain():
    for seed in range(40):
        hotel = templates.render("bot", {"Booking-Book": [["Name", "acorn guest house"], ["Ref", "AB12CD34"]]}, seed,
                                 templates.TurnContext(topics=("hotel",), previous={"Hotel-Inform": [["People", "2"]]}))
        food = templates.render("bot", {"Booking-Book": [["Name", "golden wok"], ["Ref", "AB12CD34"]]}, seed,
                                templates.TurnContext(topics=("restaurant",), previous={"Restaurant-Inform": [["People", "2"]]}))
        train = templates.render("bot", {"Train-OfferBooked": [["Id", "TR1234"], ["Ref", "AB12CD34"], ["Ticket", "20.20 pounds"]]}, seed)
        assert "table" not in hotel.lower(), hotel
        assert "room" not in food.lower(), food
        assert "table" not in train.lower() and "room" not in train.lower(), train


def test_a_venue_the_desk_named_is_not_named_again_in_the_answer():
    """The planner leaves the name out of an answer about the venue it just offered; the template
    then says "their"/"it", never "I found X." before the facts."""
    ctx = _ctx(("user", {"Restaurant-Inform": [["Food", "thai"]]}), ("bot", {"Restaurant-Recommend": [["Name", "sala thong"]]}),
               ("user", {"Restaurant-Request": [["Phone", "?"]]}))
    for seed in range(20):
        text = templates.render("bot", {"Restaurant-Inform": [["Phone", "01223323178"]]}, seed, ctx)
        assert "sala thong" not in text.lower() and "found" not in text.lower(), text


def test_a_count_said_in_the_last_turn_is_not_said_again():
    ctx = _ctx(("user", {"Attraction-Inform": [["Type", "theatre"]]}),
               ("bot", {"Attraction-Inform": [["Choice", "5"], ["Type", "theatre"]], "Attraction-Request": [["Area", "?"]]}),
               ("user", {"Attraction-Inform": [["Area", "dontcare"]]}))
    for seed in range(20):
        text = templates.render("bot", {"Attraction-Inform": [["Choice", "5"], ["Type", "theatre"]],
                                        "Attraction-Recommend": [["Name", "adc theatre"]]}, seed, ctx)
        assert "5" not in text and not text.startswith("It's a theatre"), text
        assert "adc theatre" in text.lower(), text


def test_answers_come_after_the_place_they_are_about():
    """'Their postcode is X. I'd suggest Y.' gives a postcode for a place not yet named."""
    for seed in range(30):
        text = templates.render("bot", {"Restaurant-Inform": [["Choice", "2"], ["Food", "indian"], ["Post", "cb58pa"]],
                                        "Restaurant-Recommend": [["Name", "pipasha restaurant"]]}, seed,
                                templates.TurnContext(topics=("restaurant",)))
        low = text.lower()
        assert low.index("pipasha") < low.index("cb5"), text


def test_a_train_found_and_booked_in_one_turn_is_said_once():
    acts = {"Train-Inform": [["Choice", "8"], ["Id", "TR7409"], ["Leave", "09:00"], ["Arrive", "09:51"]],
            "Train-OfferBooked": [["Id", "TR7409"], ["People", "2"], ["Ticket", "47.20 pounds"], ["Ref", "AB12CD34"]]}
    for seed in range(30):
        text = templates.render("bot", acts, seed, templates.TurnContext(topics=("train",)))
        assert text.count("TR7409") == 1 and "09:00" in text and "09:51" in text, text
        assert ", which leaves" in text and text.split(", which leaves")[0].endswith("TR7409"), text


def test_after_a_refusal_on_two_constraints_the_desk_asks_about_either():
    acts = {"Restaurant-NoOffer": [["Food", "korean"], ["Area", "south"]], "Restaurant-Request": [["Area", "?"]]}
    for seed in range(20):
        text = templates.render("bot", acts, seed, templates.TurnContext(topics=("restaurant",))).lower()
        assert "area" in text and "food" in text, text


def test_the_desk_does_not_end_two_turns_running_with_the_same_question():
    for topic in ("hotel", "train", "restaurant", "attraction", "taxi"):
        for turn in range(1, 12, 2):
            texts = [templates.render("bot", {"general-reqmore": [["none", "none"]]}, seed,
                                      templates.TurnContext(topics=(topic,), turn=t))
                     for seed, t in ((turn, turn), (turn, turn + 2))]  # the same draw: only the turn differs
            assert texts[0] != texts[1], (topic, turn, texts)


def test_a_user_asks_for_a_trains_travel_time_not_the_time():
    for seed in range(20):
        text = templates.render("user", {"Train-Request": [["Time", "?"], ["Ticket", "?"]]}, seed,
                                templates.TurnContext(topics=("train",))).lower()
        assert "the time" not in text and "their time" not in text, text


def test_a_constraint_added_after_a_place_is_named_is_asked_of_it():
    """'Oh, and it should be expensive.' after the desk named a place read as slot-filling: mostly asked."""
    ctx = _ctx(("user", {"Restaurant-Inform": [["Food", "thai"], ["Area", "west"]]}),
               ("bot", {"Restaurant-Inform": [["Name", "sala thong"], ["Food", "thai"], ["Area", "west"]]}))
    texts = [templates.render("user", {"Restaurant-Inform": [["Price", "expensive"]]}, seed, ctx) for seed in range(40)]
    asked = [t for t in texts if t.endswith("?") or "? " in t]
    assert len(asked) >= 20 and all("is it expensive" in t.lower() for t in asked), texts
    both = templates.render("user", {"Hotel-Inform": [["Stars", "4"], ["Parking", "yes"]]}, 1,
                            _ctx(("user", {"Hotel-Inform": [["Area", "east"]]}), ("bot", {"Hotel-Inform": [["Name", "autumn house"]]})))
    assert "does it have" not in both.lower() or both.lower().count("does it have") == 1, both


def test_the_desk_says_the_named_place_fails_before_offering_another():
    ctx = _ctx(("user", {"Restaurant-Inform": [["Food", "indian"], ["Area", "north"]]}),
               ("bot", {"Restaurant-Recommend": [["Name", "the nirala"]]}),
               ("user", {"Restaurant-Inform": [["Price", "cheap"]]}))
    fails = {"not that one", "doesn't fit", "that one's out"}
    for seed in range(20):
        other = templates.render("bot", {"Restaurant-Inform": [["Name", "royal spice"], ["Price", "cheap"]]}, seed, ctx).lower()
        assert any(f in other for f in fails) and other.index("royal spice") > 0, other
        same = templates.render("bot", {"Restaurant-Inform": [["Name", "the nirala"], ["Price", "moderate"]]}, seed, ctx).lower()
        assert not any(f in same for f in fails), same


def test_closings_vary_across_a_sheet():
    """Twenty dialogues ending on the same four lines read as a machine: many distinct closings."""
    asked = templates.TurnContext(previous={"general-reqmore": [["none", "none"]]}, topics=("hotel",), turn=7)
    user = {templates.render("user", {"general-thank": [["none", "none"]], "general-bye": [["none", "none"]]}, s, asked) for s in range(200)}
    desk = {templates.render("bot", {"general-welcome": [["none", "none"]], "general-bye": [["none", "none"]]}, s,
                             templates.TurnContext(topics=("hotel",), turn=8)) for s in range(200)}
    assert len(user) >= 80 and len(desk) >= 60, (len(user), len(desk))
    assert any(t.startswith(("No, ", "No thanks", "Nope")) for t in user)
