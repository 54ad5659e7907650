"""The sense check (judges/sense.py) and the understanding under it (goalconvo/nlu): from the text alone.

Every dialogue here is written for this test (none is MultiWOZ text); the human-style
one keeps MultiWOZ's tokenisation ("I 'd", "do n't", "centre .") to show it is read
like the rest. The calibration on all 999 MultiWOZ val dialogues is the slow test at
the end and ``benchmarks/sense.py``.
"""

from __future__ import annotations

import asyncio
import json
import zipfile

import pytest

from goalconvo.core.records import Dialogue, Goal, Persona, Scenario, Turn
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import RULES_VERSION, Judge, default_version
from goalconvo.judges.sense import check_sense
from goalconvo.nlu import check_phrasing, dialogue_faults, lexicon_for, understand, utterance_faults

from conftest import MULTIWOZ, needs_multiwoz

DB = VenueDB.load()
LEX = lexicon_for(DB)
GOAL = Goal.model_validate({"goal_id": "g", "domains": {"train": {"info": {"departure": "cambridge", "destination": "ely"}}}})


def _dialogue(lines: list[str], *, model: str = "human:multiwoz", phrased_by: str = "template") -> Dialogue:
    """Alternating User/desk turns; ``model``, ``phrased_by``, acts and belief set to misleading values."""
    turns = [
        Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=t, phrased_by=phrased_by,  # type: ignore[arg-type]
             acts={"general-thank": [["none", "none"]]}, belief={"train": {"day": "monday"}})
        for i, t in enumerate(lines)
    ]
    return Dialogue(
        dialogue_id="d", run_id="r", goal=GOAL, mode="free",
        scenario=Scenario(persona=Persona(name="A", style="s", patience="p", verbosity="v"), objective="o",
                          first_utterance=lines[0]),
        turns=turns, model=model, prompt_version="human", stop_reason="goal_done",
    )


def _faults(lines: list[str]) -> list[str]:
    turns = [("user" if i % 2 == 0 else "bot", t) for i, t in enumerate(lines)]
    return [f"{f.turn}:{f.category}:{f.message}" for f in dialogue_faults(turns, LEX)]  # type: ignore[arg-type]


#: Written in the manner of MultiWOZ's crowd workers, tokenisation and all.
HUMAN = [
    "Hi , I 'm looking for a train from Cambridge to Ely on Saturday .",
    "There are 10 trains that day . What time would you like to leave ?",
    "I 'd like to leave after 10:30 please .",
    "TR0721 leaves at 11:50 and arrives in Ely at 12:07 . Would you like me to book it ?",
    "Yes , for 4 people please . Could I also get the price ?",
    "I have booked 4 tickets on TR0721 , the total fee is 14.08 GBP . Your reference number is 83BC46B2 .",
    "I also need a place to stay in the north , a cheap guesthouse .",
    "Worth house is a cheap guesthouse in the north . Shall I book a room for you ?",
    "No thanks , I do n't need a booking . What is their phone number and postcode ?",
    "The phone number is 01223316074 and the postcode is cb41da . Anything else ?",
    "No , that 's all . Thanks for your help . Bye .",
    "You 're welcome . Have a great day !",
]


def test_a_human_style_dialogue_passes():
    assert _faults(HUMAN) == []
    check = check_sense(_dialogue(HUMAN), Settings(), DB)
    assert check.name == "sense" and check.passed and check.score == 0.0


# --- the judge reads the text and the speakers, nothing else ----------------------------------------


BROKEN = [
    "I need a train from Cambridge to Ely on Saturday.",
    "TR0721 leaves at 11:50. Shall I book it?",
    "You can find a train from Cambridge. I can get you a ticket for 4 people.",
    "Your table is booked, TR0721. The reference number is 838BC46B.",
    "Thanks, goodbye.",
    "I am glad you received my help.",
]


@pytest.mark.parametrize(("model", "phrased_by"), [("human:multiwoz", "template"), ("scripted", "llm"), ("vllm:x", "role-play")])
def test_the_judge_check_reads_the_text_alone(model, phrased_by):
    """The same text gets the same verdict whatever model, phrased_by, acts or belief say it is."""
    # The rules alone here (the readers' model of garbled turns is tested in test_garble.py).
    rules_only = Settings(sense_garble=False)
    check = check_sense(_dialogue(BROKEN, model=model, phrased_by=phrased_by), rules_only, DB)
    assert not check.passed
    assert "turn 2 (User, role): the User speaks like the desk: offers to find ('you can find')" in check.reason
    assert "turn 3 (desk, fact): books a table for a train" in check.reason
    assert "turn 5 (desk, role): the desk talks about its own help ('received my help')" in check.reason
    assert check.score == 4.0  # two cues in turn 2, one fact in turn 3, one in turn 5
    assert check == check_sense(_dialogue(BROKEN), rules_only, DB)
    with_model = check_sense(_dialogue(BROKEN, model=model, phrased_by=phrased_by), Settings(), DB)
    assert with_model == check_sense(_dialogue(BROKEN), Settings(), DB) and with_model.score >= check.score


def test_the_judge_runs_the_sense_check_after_the_rules_and_names_its_version():
    judge = Judge(Settings(llm="scripted", judge_llm=False), DB)
    v = asyncio.run(judge.judge(_dialogue(BROKEN))).verdict
    names = [c.name for c in v.checks]
    assert names.index("sense") == names.index("ended_properly") + 1 < names.index("goal_completion")
    assert not v.accepted and v.judge_version == RULES_VERSION == "rules-7"
    off = Settings(llm="scripted", judge_llm=False, sense_check=False)
    v_off = asyncio.run(Judge(off, DB).judge(_dialogue(BROKEN))).verdict
    assert "sense" not in [c.name for c in v_off.checks] and v_off.judge_version == "rules-7-nosense"
    assert default_version(Settings(llm="vllm")) == "rules-7+llm"
    assert default_version(Settings(llm="vllm"), pack=True) == "rules-7+pack3+llm"


def test_the_fault_budget_is_a_setting(monkeypatch):
    one_fault = HUMAN[:9] + ["The phone number is 01223316074 and the postcode is cb41da . Is there anything else you can help me with ?"] + HUMAN[10:]
    assert len(_faults(one_fault)) == 1
    assert not check_sense(_dialogue(one_fault), Settings(), DB).passed
    monkeypatch.setenv("GOALCONVO_SENSE_MAX_FAULTS", "1")
    assert check_sense(_dialogue(one_fault), Settings(), DB).passed


# --- roles ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("speaker", "text", "cue"),
    [
        ("user", "You can find a train from Cambridge.", "offers to find"),
        ("user", "I can get you a train from London Kings on Monday leaving at 08:45.", "offers to find"),
        ("user", "I recommend a guesthouse.", "recommends"),
        ("user", "There is a cheap guesthouse on the north side of town.", "reports what it found"),
        ("user", "You want a swimming pool in the east part of town.", "tells the customer what they want"),
        ("user", "What part of town do you prefer?", "asks the customer's preferences"),
        ("user", "Sure, 4 people can make a booking for you.", "offers to book"),
        ("user", "Your reference number is 83BC46B2.", "reports a booking"),
        ("user", "Is there anything else you need?", "offers more help"),
        ("user", "Thanks, I have all the information you need. Goodbye!", "offers more help"),
        ("user", "I can't find a train from norwich to cambridge on Sunday.", "reports finding nothing"),
        ("bot", "I would like to go on a train from London Kings. What day is it?", "states its own travel plans"),
        ("bot", "Is there anything else you can help me with?", "thanks the desk for its help"),
        ("bot", "Could you book me a table for two?", "asks the desk to book or find"),
        # Seen in a baseline-commit run the judge accepted (issue 22's agreement sheet):
        ("user", "You'd like to find a cheap Indian restaurant in the north part of town.", "tells the customer what they want"),
        ("user", "What's the portuguese restaurant you're looking for?", "asks the customer's preferences"),
        ("user", "Thanks, I have all the things you need. Goodbye!", "offers more help"),
        ("bot", "Can you help with gonville hotel? It is located at gonville place.", "asks for help"),
        ("user", "You can try a cheap Indian restaurant on the north side of town.", "offers to find"),
        ("user", "Would you like to book for 2 people on saturday at 18:30?", "offers to book"),
        # Seen in baseline-commit runs the judge accepted on the second agreement sheet (5217cff481):
        ("user", "The train leaving will be at 10:30, you can expect a reservation for four people.",
         "tells the customer what to expect"),
        ("bot", "Can you call Wandlebury country park on 01223243830? Do you need anything else?", "asks the other side to phone"),
        # Seen in the first agreement sheet's baseline run, outside the sheet:
        ("user", "Sure, a swimming pool is available. Do you need the entrance fee?", "asks what the customer needs"),
        ("user", "Sure, a swimming pool is available.", "reports what is available"),
        # Seen on the third agreement sheet (e9e62596b2), the two baseline dialogues the judge let through:
        ("user", "I'll book it for two people. Please let me know if you have any questions or concerns!", "invites questions"),
        ("user", "My search for a cheap Indian restaurant in the north is underway.", "talks about the search it runs"),
        ("bot", "Can you find 2 places to stay on the north side of town?", "asks the desk to book or find"),
        # Seen on the fourth agreement sheet (45aa6f2eee), the two baseline dialogues the judge let through:
        ("user", "Help me find a college in the centre of town, if you're looking for one.", "says what the customer may be after"),
        ("user", "Thank you for your kind words.", "thanks the customer for kind words"),
        ("bot", "Glad you helped, thank you.", "thanks the other side for being helped"),
        ("bot", "Christ's College is in the centre and has 13 attractions.", "counts places inside a place"),
    ],
)
def test_a_turn_out_of_role_is_a_role_fault(speaker, text, cue):
    faults = utterance_faults(understand(text, speaker, LEX), LEX)
    assert any(f.category == "role" and cue in f.message for f in faults), faults


@pytest.mark.parametrize(
    ("speaker", "text"),
    [
        ("user", "There are 3 of us , and we 'd like to arrive by 17:00 ."),
        ("user", "I need the train on the same day that I booked the restaurant ."),
        ("user", "Could you recommend a place to eat ? What would you suggest ?"),
        ("bot", "I 'd recommend the gandhi . Would you like me to book a table ?"),
        ("bot", "There are 4 guesthouses in the north . Do you have a price range in mind ?"),
        ("bot", "You 're welcome . You can find it at 12 hills road ."),
        ("user", "Thank you so much for your help ."),
        ("bot", "There are a lot ! Can you help me narrow it down by telling me where you 'll be departing from ?"),
        ("bot", "Which area are you looking for ?"),
        ("bot", "Thank you for your kind words . Have a nice day ."),
        ("bot", "There are 13 attractions in the centre . Is there a type you are looking for ?"),
        ("user", "I am glad you could help ."),
    ],
)
def test_a_turn_in_its_role_has_no_role_fault(speaker, text):
    assert [f for f in utterance_faults(understand(text, speaker, LEX), LEX) if f.category == "role"] == []


@pytest.mark.parametrize(
    ("speaker", "text"),
    [
        ("user", "You have been very helpful, thanks."),
        ("user", "We have a reservation already."),
        ("user", "Is there anything else I need to know?"),
        ("user", "Actually, I will need a table for 5 instead."),
        ("bot", "I need to know how many people will be dining."),
        ("bot", "I want to make sure I have this right: you need a train on Friday?"),
        ("bot", "Your train tickets are booked, and your table at the gandhi too."),
        ("bot", "I have booked a table for you at hotel du vin and bistro."),
        ("bot", "Your booking was successful. The table will be reserved for 15 minutes. Reference number is : WQ8HG3DC ."),
        ("bot", "TR1234 leaves Cambridge at 05:00 and arrives in London Kings Cross at 05:51. It is 23.60 pounds a ticket."),
        ("bot", "The phone number of the gandhi is 01223353942 and its postcode is cb21dp."),
        ("bot", "There is no charge, it's free. Anything else?"),
    ],
)
def test_an_ordinary_line_has_no_fault(speaker, text):
    assert utterance_faults(understand(text, speaker, LEX), LEX) == []


# --- facts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (["The postcode is gonville place. I'll need the address.", "It is at gonville place."],
         "the postcode is 'gonville place' (an address)"),
        (["I need a guesthouse.", "Your table at allenbell is booked. Your reference is B5F958E3."], "books a table for a hotel"),
        (["I want a cheap restaurant.", "I have reserved a room at the gandhi for you, reference AB12CD34."],
         "books a room for a restaurant"),
        (["I want a restaurant.", "Your tickets for the gandhi are booked, reference AB12CD34."], "books a tickets for a restaurant"),
        (["I want a restaurant.", "Their address is broughton house gallery."], "the address is 'broughton house gallery' (a venue)"),
        (["I need a train.", "I have TR8860 or TR8860 leaving at 05:50."], "stacks the same train id twice"),
        (["I need a train.", "I've booked TR7409. The total comes to 47.20 pounds. There is TR7409, is available."],
         "offers 'tr7409' again after booking it"),
        (["I need a hospital.", "That is the emergency department department."], "says 'department' twice in a row"),
        # Seen in baseline-commit runs the judge accepted on the agreement sheets:
        (["I want an Indian restaurant.", "I booked pipasha restaurant at cb58pa. Is there something else you need?"],
         "books at a postcode"),
        (["I want an Indian restaurant.", "I booked pipasha restaurant. It is at cb58pa. The post code is cb58pa."],
         "says the postcode 'cb58pa' twice in one turn"),
        (["I need a train to Ely.", "Train TR0721 leaves at 11:50. You're all set, TR0721 is booked."],
         "says the train id 'tr0721' twice in one turn"),
        (["Could you recommend a cardiology hospital with a department?", "The address is hills rd."],
         "names the department as a thing a place has"),
    ],
)
def test_a_garbled_fact_in_one_turn_is_a_fact_fault(lines, fragment):
    assert any(":fact:" in f and fragment in f for f in _faults(lines)), _faults(lines)


def test_a_value_contradicting_an_earlier_one_is_a_fact_fault():
    train = ["I need a train from Cambridge to Ely on Saturday.",
             "TR0721 leaves London Kings Cross at 11:50 and arrives at 12:07. Shall I book it?"]
    assert any("the desk's train goes from london kings cross; the User asked for cambridge" in f for f in _faults(train))
    user_flips = ["I need a train from Cambridge to Ely.", "What day?", "Saturday, leaving from London Kings Cross."]
    assert any("the User now leaves from london kings cross, having said cambridge" in f for f in _faults(user_flips))
    changed = ["I need a train from Cambridge to Ely.", "What day?", "Actually, I will be leaving from Norwich on Saturday."]
    assert _faults(changed) == []
    people = ["I need a table for 3 people at the gandhi on friday at 18:00.",
              "I have booked a table for 5 people at the gandhi. Your reference number is AB12CD34."]
    assert any("the desk books for 5 people; the User said 3 people" in f for f in _faults(people))
    refs = ["Please book the gandhi for 3 people on friday at 18:00.", "Booked the gandhi, reference AB12CD34.",
            "Thanks. What is the address?", "The gandhi's reference number is ZZ99YY88, at 72 regent street city centre."]
    assert any("a second reference ZZ99YY88 for the same booking after AB12CD34 in turn 1" in f for f in _faults(refs))
    rebooked = refs[:2] + ["Can you change it to 4 people instead?", "Done, the gandhi is rebooked, reference ZZ99YY88."]
    assert not any("second reference" in f for f in _faults(rebooked))
    reoffer = ["Book the gandhi for 3 on friday at 18:00.", "Booked the gandhi, reference AB12CD34.", "Thanks, anything nice nearby?",
               "How about the gandhi? Shall I book it?"]
    assert any("offers 'the gandhi' again, booked in turn 1" in f for f in _faults(reoffer))


# --- coherence ---------------------------------------------------------------------------------------


def test_a_turn_that_does_not_follow_the_one_before_is_a_coherence_fault():
    ignored = ["I need the phone number of the gandhi.", "Have a lovely day!"]
    assert any(":coherence:the User asked for the phone" in f for f in _faults(ignored))
    cannot = ["I need the phone number of the gandhi.", "I'm sorry, I don't have a phone number for it."]
    assert _faults(cannot) == []
    mirrored = ["I need a train to Ely.", "What day would you like to travel?", "What day would you like?"]
    assert any("the desk asked for the day; the User asks the same back" in f for f in _faults(mirrored))
    off_topic = ["I need a hotel in the north.", "How many people will be staying?", "Hmm."]
    assert any("the desk asked for the people; the User's reply says nothing of it" in f for f in _faults(off_topic))
    unknown_place = ["I need a cab departing from Botanic Garden.", "Where are you going?", "I need to get to Golden Dragon."]
    assert _faults(unknown_place) == []
    fits = ["I need a hotel in the north.", "How many people will be staying?", "Just me , for two nights ."]
    assert _faults(fits) == []
    detail_first = ["I want a college. Can I have the address, please?",
                    "I have 18 attractions. The address is storey's way. I'd recommend churchill college, a college."]
    assert any("1:coherence:the desk gives the address before naming the place" in f for f in _faults(detail_first))
    named_first = ["I want a college.", "I'd recommend churchill college. The address is storey's way."]
    assert _faults(named_first) == []
    driver = ["I need a taxi to the gandhi at 18:00.", "Your taxi is a blue bmw, contact number 07123456789, to the gandhi."]
    assert not [f for f in _faults(driver) if "before naming" in f]
    echo = ["I need help finding a hospital with a paediatric clinic department.",
            "The paediatric clinic is the department you need. Is there anything else?"]
    assert any("1:coherence:the desk only says back what the User asked" in f for f in _faults(echo))
    echo2 = ["I need a cheap hotel in the north.", "You're looking for a cheap hotel in the north. What else do you need?"]
    assert any("1:coherence:the desk only says back" in f for f in _faults(echo2))
    # A restatement that says something new, or asks, answers: not a fault.
    adds = ["Can you help me find the paediatric clinic?", "You want the paediatric clinic at Addenbrookes Hospital. Anything else?"]
    assert not [f for f in _faults(adds) if "says back" in f]
    confirms = ["I need a cheap hotel in the north.", "You're looking for a cheap hotel in the north. How many nights?"]
    assert not [f for f in _faults(confirms) if "says back" in f]
    asks = ["I need a hotel.", "You need to tell me how many people are staying."]
    assert not [f for f in _faults(asks) if "says back" in f]
    opening = ["What's their phone number, and where exactly are they?", "Parkside police station is on 01223358966."]
    assert any(f.startswith("0:coherence:the User opens by asking for the phone") for f in _faults(opening))


@pytest.mark.parametrize("answer", ["Mid-priced would be ideal.", "Something mid range, please.",
                                    "Reasonably priced, if you can.", "I'd like somewhere low cost."])
def test_a_price_range_said_in_other_words_answers_the_desk(answer):
    # the guided templates on main say "mid-priced" (seen rejected as not answering the desk's question)
    assert _faults(["I need a guesthouse in the east.", "What's your price range?", answer]) == []
    assert any("says nothing of it" in f for f in _faults(["I need a guesthouse in the east.", "What's your price range?",
                                                           "Hmm, hard to say."]))


# --- the generation-time API -------------------------------------------------------------------------


def test_check_phrasing_refuses_a_phrasing_out_of_role():
    problems = check_phrasing("You can find a train from Cambridge.", "user", "Where will you be leaving from?", lexicon=LEX)
    assert problems and problems[0].startswith("role: the User speaks like the desk")
    assert check_phrasing("I'll be leaving from Cambridge.", "user", "Where will you be leaving from?", lexicon=LEX) == []


def test_check_phrasing_refuses_a_phrasing_that_drops_or_adds_an_act():
    offer = {"Train-Inform": [["Id", "TR0721"], ["Leave", "11:50"]], "Train-OfferBook": [["none", "none"]]}
    good = "TR0721 leaves at 11:50. Would you like me to book it?"
    assert check_phrasing(good, "bot", "I need a train to Ely on Saturday.", lexicon=LEX, planned_acts=offer) == []
    dropped = check_phrasing("TR0721 leaves at 11:50.", "bot", "I need a train to Ely on Saturday.", lexicon=LEX,
                             planned_acts=offer)
    assert "acts: drops the planned offer-book act" in dropped
    inform = {"Train-Inform": [["Id", "TR0721"], ["Leave", "11:50"]]}
    added = check_phrasing("I have booked TR0721, leaving at 11:50.", "bot", "I need a train to Ely.", lexicon=LEX,
                           planned_acts=inform)
    assert "acts: adds a booked act the plan does not make" in added
    request = {"Train-Request": [["Day", "?"]]}
    assert check_phrasing("What day would you like to travel?", "bot", "I need a train to Ely.", lexicon=LEX,
                          planned_acts=request) == []
    wrong_question = check_phrasing("How many people will be travelling?", "bot", "I need a train to Ely.", lexicon=LEX,
                                    planned_acts=request)
    assert "acts: does not ask for the planned day" in wrong_question
    assert any(p.startswith("acts: asks for the people") for p in wrong_question)
    bye = check_phrasing("Thanks, goodbye!", "user", "Your reference is AB12CD34.", lexicon=LEX,
                         planned_acts={"Restaurant-Request": [["Phone", "?"]]})
    assert "acts: drops the planned request act" in bye and "acts: adds a bye act the plan does not make" in bye


def test_check_phrasing_refuses_a_phrasing_incoherent_with_the_previous_turn():
    problems = check_phrasing("Is there anything else I can help with?", "bot", "What is the phone number of the gandhi?",
                              lexicon=LEX)
    assert problems == ["coherence: the User asked for the phone; the desk's answer gives none of it and no reason"]
    assert check_phrasing("Their phone number is 01223353942.", "bot", "What is the phone number of the gandhi?", lexicon=LEX) == []
    mirrored = check_phrasing("What day would you prefer?", "user", "What day would you like to travel?", lexicon=LEX)
    assert any(p.startswith("coherence: the desk asked for the day; the User asks the same back") for p in mirrored)


def test_check_phrasing_with_history_sees_a_contradiction_of_an_earlier_turn():
    history = [("user", "I need a train from Cambridge to Ely on Saturday."), ("bot", "When would you like to leave?"),
               ("user", "After 10:30, please.")]
    problems = check_phrasing("TR0721 leaves London Kings Cross at 11:50.", "bot", lexicon=LEX, history=history)
    assert problems == ["fact: the desk's train goes from london kings cross; the User asked for cambridge"]


# --- calibration on MultiWOZ val ---------------------------------------------------------------------


@pytest.mark.slow
@needs_multiwoz()
def test_the_sense_check_rejects_at_most_five_percent_of_multiwoz_val():
    with zipfile.ZipFile(MULTIWOZ / "val.json.zip") as z:
        data = json.loads(z.read(z.namelist()[0]))
    db = VenueDB.load(MULTIWOZ / "db")
    lex = lexicon_for(db)
    rejected = [
        did for did, d in data.items()
        if dialogue_faults([("user" if i % 2 == 0 else "bot", t["text"]) for i, t in enumerate(d["log"])], lex)
    ]
    assert len(data) == 999
    assert len(rejected) / len(data) <= 0.05, (len(rejected), rejected[:20])
