"""Guided phrasing: the validator, the templates over the whole act inventory, the realizer's fallback."""

from __future__ import annotations

import asyncio
import json
import random
import zipfile

import pytest

from goalconvo.agents.guided import templates
from goalconvo.agents.guided.realizer import (
    SYSTEM_PROMPT,
    Phrasing,
    RealizerConfig,
    build_messages,
    builtin_examples,
    pick_examples,
    prefix_examples,
    realize,
)
from goalconvo.agents.guided.validator import known_names, validate
from goalconvo.llm.base import CallContext, ChatMessage, Completion, GenerationParams, LLMBackend

from conftest import MULTIWOZ, needs_multiwoz

NAMES = frozenset({"golden wok", "pizza hut city centre", "acorn guest house", "allenbell", "the place"})

#: A value per slot, for rendering every act of the inventory.
SAMPLE: dict[str, str] = {
    "Addr": "12 market street", "Area": "north", "Arrive": "17:15", "Car": "black toyota", "Choice": "4",
    "Day": "friday", "Depart": "cambridge", "Dest": "ely", "Fee": "5 pounds", "Food": "italian", "Id": "TR1234",
    "Internet": "yes", "Leave": "09:30", "Name": "golden wok", "Open": "from 10:00 to 17:00", "Parking": "yes",
    "People": "3", "Phone": "01223355166", "Post": "cb21ab", "Price": "cheap", "Ref": "AB12CD34", "Stars": "4",
    "Stay": "2", "Ticket": "10.10 pounds", "Time": "45 minutes", "Type": "museum", "Department": "paediatrics",
}


# --- the validator -----------------------------------------------------------------


def test_values_kept_pass():
    acts = {"Restaurant-Inform": [["Name", "golden wok"], ["Phone", "01223355166"], ["Post", "cb21ab"]]}
    assert validate("bot", acts, "Golden Wok's number is 01223 355166 and the postcode is CB2 1AB.", known_values=NAMES) == []


def test_missing_value_is_refused_with_the_slot():
    acts = {"Restaurant-Inform": [["Name", "golden wok"], ["Phone", "01223355166"]]}
    problems = validate("bot", acts, "Golden Wok is a lovely place.", known_values=NAMES)
    assert any("Phone" in p and "01223355166" in p for p in problems)


@pytest.mark.parametrize(
    "text, invented",
    [
        ("Golden wok's phone number is 01223999999.", "phone number 01223999999"),
        ("Golden wok is fine, but allenbell is nicer.", "allenbell"),
        ("Golden wok is booked, your reference number is ZX98YT76.", "reference ZX98YT76"),
        ("Golden wok is at cb58pa.", "postcode cb58pa"),
        ("Golden wok costs £25 a head.", "price 25"),
        ("Golden wok, take train TR9999 there.", "train id TR9999"),
        ("Golden wok opens at 18:30.", "time 18:30"),
    ],
)
def test_invented_facts_are_refused(text, invented):
    problems = validate("bot", {"Restaurant-Inform": [["Name", "golden wok"]]}, text, known_values=NAMES)
    assert any(invented in p for p in problems), problems


@pytest.mark.parametrize(
    "speaker, acts, text, name",
    [  # phrasings the bundled model wrote when the prompt gave the persona's name
        ("user", {"Restaurant-Request": [["Phone", "?"]]}, "What's Mei's phone number?", "Mei"),
        ("user", {"general-thank": [["none", "none"]]}, "Thanks a lot, Sam.", "Sam"),
        ("bot", {"Attraction-Inform": [["Name", "christ 's college"]]},
         "Christ's College is a place where Omar can be comfortable.", "Omar"),
    ],
)
def test_a_person_no_act_carries_is_refused(speaker, acts, text, name):
    assert any(f"names {name!r}" in p for p in validate(speaker, acts, text, known_values=NAMES | {"christ's college"}))


@pytest.mark.parametrize(
    "speaker, text, why",
    [  # the bundled model's, from stored corpora: the prompt's words for the speakers, said
        ("user", "The customer is casual and friendly, patient, terse. I need a portuguese restaurant.", "leaks prompt"),
        ("bot", "The customer found cote, an expensive restaurant.", "leaks prompt"),
        ("user", "I can make a booking for 2 people on Saturday at 18:30.", "User speaks like the desk"),
    ],
)
def test_the_prompt_s_speaker_words_and_desk_offers_are_refused(speaker, text, why):
    assert any(why in p for p in validate(speaker, {"Restaurant-Inform": [["Food", "portuguese"]]}, text))


def test_a_booking_no_act_makes_is_refused():
    acts = {"Hospital-Inform": [["Department", "emergency department"], ["Phone", "01223217118"]]}
    text = "Your table at the emergency department is reserved, reference 01223217118."
    assert any("where no act books anything" in p for p in validate("bot", acts, text))
    assert validate("bot", acts, "The emergency department's number is 01223217118.") == []
    # Asking about a booking is no claim that one was made.
    ask = {"Booking-Request": [["People", "?"]]}
    assert validate("bot", ask, "How many people should the table be reserved for?") == []
    taxi = {"Taxi-Inform": [["Car", "white ford"], ["Phone", "07932418281"]]}
    assert validate("bot", taxi, "A white ford is booked for you, call 07932418281.") == []


def test_a_second_capitalised_word_is_checked_too():
    """'Mr' is allowed but the name after it is not (each capital is looked at, not every other one)."""
    problems = validate("user", {"general-thank": [["none", "none"]]}, "Thank you, Mr Smith.", known_values=NAMES)
    assert any("names 'Smith'" in p for p in problems)


@pytest.mark.parametrize(
    "acts, text",
    [  # capitalised mid-sentence, but carried by the acts or a venue name, or an everyday word
        ({"Restaurant-Inform": [["Food", "french"]]}, "I'd like a French restaurant, please."),
        ({"Restaurant-Inform": [["Name", "golden wok"]]}, "Yes, Golden Wok sounds good."),
        ({"Restaurant-Inform": [["Area", "centre"]]}, "Somewhere in the City Centre of Cambridge."),
        ({"Train-Inform": [["Day", "friday"]]}, "I travel on Friday."),
        ({"general-thank": [["none", "none"]]}, "Great, Thanks!"),
        ({"general-bye": [["none", "none"]]}, "Okay, Goodbye!"),
    ],
)
def test_capitalised_words_the_acts_carry_are_not_names(acts, text):
    assert validate("user", acts, text, known_values=NAMES) == []


@pytest.mark.parametrize(
    "slot, value, said",
    [
        ("Leave", "17:15", "It leaves at 5:15 pm."),
        ("Leave", "17:15", "It leaves at 5:15pm."),
        ("Leave", "09:05", "It leaves at 9:05."),
        ("People", "3", "The room is for three people."),
        ("People", "three", "The room is for 3 people."),
        ("Ticket", "10.10 pounds", "A ticket costs £10.10."),
        ("Ticket", "10 pounds", "A ticket costs ten pounds."),
        ("Post", "cb21ab", "The postcode is CB2 1AB."),
        ("Type", "guesthouse", "It is a guest house."),
        ("Price", "moderate", "It is moderately priced."),
        ("Area", "centre", "It is in the center."),
        ("Name", "christ 's college", "Christ's College is lovely."),
    ],
)
def test_normalised_forms_are_accepted(slot, value, said):
    assert validate("bot", {"Hotel-Inform": [[slot, value]]}, said) == []


def test_yes_no_slots_and_dontcare():
    assert validate("user", {"Hotel-Inform": [["Internet", "yes"], ["Area", "dontcare"]]}, "It must have wifi.") == []
    problems = validate("user", {"Hotel-Inform": [["Parking", "yes"]]}, "A hotel in town, please.")
    assert any("parking" in p for p in problems)


def test_requests_must_ask():
    acts = {"Hotel-Request": [["Phone", "?"], ["Post", "?"]]}
    assert validate("user", acts, "Could I have their phone number and postcode?") == []
    assert any("Post" in p for p in validate("user", acts, "Could I have their phone number?"))


def test_wrong_speaker_is_refused():
    problems = validate("user", {"Hotel-Inform": [["Area", "north"]]}, "How can I help you? Something in the north.")
    assert any("User speaks like the desk" in p for p in problems)
    problems = validate("bot", {"Hotel-Request": [["Area", "?"]]}, "I am looking for a hotel. Which area would you like?")
    assert any("SupportBot speaks like a customer" in p for p in problems)


@pytest.mark.parametrize(
    "text, why",
    [
        ("User: I need a hotel in the north.", "speaker tag"),
        ("I need a hotel in the north.\nSupportBot: sure", "more than one line"),
        ("I need a hotel in the north and", "mid-sentence"),
        ("I need a hotel in the north " + "really " * 70 + "now.", "too long"),
        ("", "empty"),
    ],
)
def test_form_problems(text, why):
    assert any(why in p for p in validate("user", {"Hotel-Inform": [["Area", "north"]]}, text))


def test_echo_of_the_previous_utterance_is_refused():
    prev = "I need a cheap hotel in the north with free parking please."
    problems = validate("bot", {"Hotel-Inform": [["Price", "cheap"], ["Area", "north"]]}, prev, previous_utterance=prev)
    assert any("echoes" in p for p in problems)


# --- the templates -------------------------------------------------------------------


def _inventory_acts():
    for (speaker, key), slots in templates.ACT_INVENTORY.items():
        for slot in slots:
            value = "?" if key.endswith("-Request") else SAMPLE.get(slot, "none")
            yield speaker, {key: [[slot, value if slot != "none" else "none"]]}
        if len(slots) > 1 and "none" not in slots[:2]:
            pairs = [[s, "?" if key.endswith("-Request") else SAMPLE[s]] for s in slots if s != "none" and s != "Name"][:4]
            yield speaker, {key: pairs}


@pytest.mark.parametrize("seed", range(5))
def test_templates_cover_the_inventory_and_pass_the_validator(seed):
    failures = []
    for speaker, acts in _inventory_acts():
        text = templates.render(speaker, acts, random.Random(seed))
        problems = validate(speaker, acts, text, known_values=NAMES)
        if problems:
            failures.append((speaker, acts, text, problems))
    assert not failures, failures[:5]


def test_templates_combine_acts_into_one_utterance_and_vary_by_seed():
    acts = {
        "general-welcome": [["none", "none"]],
        "Restaurant-Inform": [["Choice", "4"], ["Food", "italian"]],
        "Restaurant-Request": [["Area", "?"]],
    }
    texts = {templates.render("bot", acts, seed) for seed in range(20)}
    assert len(texts) >= 5
    for text in texts:
        assert "\n" not in text and validate("bot", acts, text) == []


def test_builtin_examples_pass_the_validator_and_prefix_is_constant():
    for ex in builtin_examples():
        assert validate(ex.speaker, ex.acts, ex.text) == [], ex
    assert 2 <= len(prefix_examples()) <= 6
    acts = {"Hotel-Inform": [["Area", "north"]]}
    user = build_messages("user", acts, "chatty", "Hello.", [], "I need a hotel in the north.", 1, prefix_examples())
    bot = build_messages("bot", {"Hotel-Request": [["Area", "?"]]}, "", "Hi.", [], "Which area?", 2, prefix_examples())
    n = 1 + 2 * len(prefix_examples())
    assert user[0].content == SYSTEM_PROMPT and user[:n] == bot[:n]
    assert "customer line" in user[-1].content and "Keep: north." in user[-1].content and "chatty" in user[-1].content
    assert "clerk line" in bot[-1].content and 'The customer said: "Hi."' in bot[-1].content


def test_examples_are_picked_by_matching_acts():
    acts = {"Train-Inform": [["Leave", "10:00"]]}
    picked = pick_examples(builtin_examples(), "user", acts, 2, seed=3)
    assert picked and all(ex.speaker == "user" for ex in picked)
    assert "Train-Inform" in picked[-1].acts


@pytest.mark.slow
@needs_multiwoz()
def test_templates_phrase_multiwoz_val_acts():
    """Real act sets of MultiWOZ val (both speakers), rendered and validated: nearly all pass."""
    with zipfile.ZipFile(MULTIWOZ / "val.json.zip") as z:
        data = json.loads(z.read(z.namelist()[0]))
    names = known_names({"restaurant": json.loads((MULTIWOZ / "db" / "restaurant_db.json").read_text())})
    n = bad = 0
    for did in sorted(data)[:300]:
        for i, turn in enumerate(data[did]["log"]):
            if not turn["dialog_act"]:
                continue
            speaker = "user" if i % 2 == 0 else "bot"
            n += 1
            bad += bool(validate(speaker, turn["dialog_act"], templates.render(speaker, turn["dialog_act"], i), known_values=names))
    assert bad / n < 0.005, (bad, n)


# --- the realizer -------------------------------------------------------------------


class FakeLLM(LLMBackend):
    """Answers from a list, one reply per call; records the calls."""

    model_name = "fake"

    def __init__(self, replies: list[str]):
        self.replies = list(replies)
        self.calls: list[tuple[list[ChatMessage], GenerationParams, CallContext | None]] = []

    async def complete(self, messages, params, context=None):
        self.calls.append((messages, params, context))
        return Completion(self.replies[min(len(self.calls) - 1, len(self.replies) - 1)], 100, 10, self.model_name)


ACTS = {"Restaurant-Inform": [["Name", "golden wok"], ["Phone", "01223355166"]], "general-reqmore": [["none", "none"]]}


def _realize(llm, **kw) -> Phrasing:
    return asyncio.run(realize(llm, "bot", ACTS, persona="", previous_utterance="What is their number?", seed=5, known_values=NAMES, **kw))


def test_realizer_falls_back_to_the_template_after_n_refusals():
    llm = FakeLLM(["The place is great.", "Allenbell, 01223999999.", "Sure thing!"])
    out = _realize(llm, config=RealizerConfig(tries=3))
    assert out.phrased_by == "template" and out.llm_calls == 3 and len(llm.calls) == 3
    assert len(out.refusals) == 3 and "misses Name" in out.refusals[0] and "invents phone number" in out.refusals[1]
    assert out.text == templates.render("bot", ACTS, random.Random("template:5"))
    assert validate("bot", ACTS, out.text, known_values=NAMES) == []
    temps = [params.temperature for _, params, _ in llm.calls]
    assert temps == sorted(temps, reverse=True) and temps[0] > temps[-1]
    assert out.prompt_tokens == 300 and out.completion_tokens == 30


def test_a_passing_llm_phrasing_is_kept():
    llm = FakeLLM(["SupportBot: Sure, golden wok can be reached on 01223355166. Anything else?"])
    out = _realize(llm, config=RealizerConfig(tries=3))
    assert out.phrased_by == "llm" and out.llm_calls == 1 and out.refusals == []
    assert out.text == "Sure, golden wok can be reached on 01223355166. Anything else?"
    messages, params, context = llm.calls[0]
    assert messages[0].content == SYSTEM_PROMPT and "Keep: golden wok, 01223355166." in messages[-1].content
    assert "\n" in params.stop and params.max_tokens <= 120
    assert context is not None and context.task == "phrase" and context.data["template"] and context.data["acts"] == ACTS


def test_a_refusal_then_a_pass_records_both():
    llm = FakeLLM(["Golden wok.", "Golden wok's number is 01223355166. Anything else?"])
    out = _realize(llm, config=RealizerConfig(tries=3))
    assert out.phrased_by == "llm" and out.llm_calls == 2 and len(out.refusals) == 1


def test_a_copied_draft_is_retried_warmer_then_recorded_as_the_template():
    template = templates.render("bot", ACTS, random.Random("template:5"))
    llm = FakeLLM([template])
    out = _realize(llm, config=RealizerConfig(tries=3, copy_retries=1))
    assert out.phrased_by == "template" and out.text == template and out.llm_calls == 2
    assert all("copies the draft" in r for r in out.refusals)
    assert llm.calls[1][1].temperature > llm.calls[0][1].temperature
    llm = FakeLLM([template, "Golden wok: call 01223355166. Anything else?"])
    assert _realize(llm, config=RealizerConfig(tries=3)).phrased_by == "llm"


def test_the_draft_s_first_token_is_barred_except_for_closings():
    llm = FakeLLM(["Golden wok's number is 01223355166. Anything else?"])
    _realize(llm, config=RealizerConfig(tries=3))
    assert llm.calls[0][1].avoid_start == llm.calls[0][2].data["template"]
    llm = FakeLLM(["Thanks a lot."])
    asyncio.run(realize(llm, "user", {"general-thank": [["none", "none"]]}, seed=1))
    assert llm.calls[0][1].avoid_start is None, "closings have few wordings: they may start like the draft"
    llm = FakeLLM(["Golden wok's number is 01223355166. Anything else?"])
    _realize(llm, config=RealizerConfig(tries=3, bar_draft_start=False))
    assert llm.calls[0][1].avoid_start is None


def test_no_llm_means_template():
    out = asyncio.run(realize(None, "user", {"general-thank": [["none", "none"]]}, seed=1))
    assert out.phrased_by == "template" and out.llm_calls == 0 and "thank" in out.text.lower()


# --- the sense check at generation time --------------------------------------------------


def _sensed(speaker: str, acts: dict, previous: str, replies: list[str]) -> Phrasing:
    from goalconvo.core.venues import VenueDB
    from goalconvo.nlu import check_phrasing, lexicon_for

    lex = lexicon_for(VenueDB.load())
    sense = lambda text: check_phrasing(text, speaker, previous, lexicon=lex, planned_acts=acts)  # noqa: E731
    return asyncio.run(realize(FakeLLM(replies), speaker, acts, previous_utterance=previous, seed=3,
                               config=RealizerConfig(tries=len(replies)), sense=sense))


@pytest.mark.parametrize(
    ("speaker", "acts", "previous", "bad", "why"),
    [
        ("user", {"Train-Inform": [["Depart", "cambridge"]]}, "Where are you starting from?",
         "You can find a train from Cambridge.", "role:"),
        ("bot", {"Restaurant-Inform": [["Phone", "01223355166"]], "Booking-Inform": [["none", "none"]]}, "What is their number?",
         "Their number is 01223355166.", "acts: drops"),
        ("bot", {"Restaurant-Inform": [["Phone", "01223355166"]]}, "What is their number?",
         "Their number is 01223355166. Shall I book a table?", "acts: adds"),
        ("user", {"Hotel-Inform": [["Area", "north"]]}, "What part of town would you like?",
         "What area would you like? North.", "coherence:"),
    ],
)
def test_a_phrasing_the_sense_check_refuses_is_not_used(speaker, acts, previous, bad, why):
    """Out of role, an act dropped or added, a reply that asks the desk's question back: the values
    are all there (the validator passes it), the judge's reading refuses it, the template is used."""
    assert validate(speaker, acts, bad, previous_utterance=previous) == []
    out = _sensed(speaker, acts, previous, [bad])
    assert out.phrased_by == "template" and out.text != bad
    assert any(why in r for r in out.refusals), out.refusals


def test_a_phrasing_the_sense_check_passes_is_used():
    acts = {"Restaurant-Inform": [["People", "4"]]}
    out = _sensed("user", acts, "How many people is the table for?", ["There will be 4 of us."])
    assert out.phrased_by == "llm" and out.text == "There will be 4 of us."
