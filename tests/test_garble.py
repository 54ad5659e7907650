"""The readers' model of garbled turns (nlu/garble.py), in the sense check, and its trainer."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

from goalconvo.core.records import Dialogue, Goal, Persona, Scenario, Turn
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge
from goalconvo.judges.sense import check_sense
from goalconvo.nlu import dialogue_faults, lexicon_for
from goalconvo.nlu.garble import GarbleModel, features, load_garble_model
from goalconvo.nlu.garble_train import main as train

DB = VenueDB.load()
#: A User line the issue quotes from the 0.5B model's dialogues: a desk's line in the User's mouth.
OUT_OF_ROLE = "I can get you a train from London Kings on Monday leaving at 08:45."


def _dialogue(texts: list[str]) -> Dialogue:
    goal = Goal.model_validate({"goal_id": "g", "domains": {"train": {"info": {"departure": "london kings cross",
                                                                              "destination": "cambridge", "day": "monday"}}}})
    return Dialogue(dialogue_id="d", run_id="r", goal=goal, model="m", prompt_version="p", stop_reason="goal_done",
                    scenario=Scenario(persona=Persona(name="A", style="s", patience="p", verbosity="v"), objective="o",
                                      first_utterance=texts[0]),
                    turns=[Turn(index=i, speaker="user" if i % 2 == 0 else "bot", text=t) for i, t in enumerate(texts)])


def test_the_shipped_model_reads_the_speaker_as_well_as_the_words():
    m = load_garble_model()
    assert m.score("user", OUT_OF_ROLE) >= m.threshold > m.score("bot", OUT_OF_ROLE)
    assert m.score("user", "I need a train to Ely on Monday, please.") < m.threshold
    assert m.score("bot", "What time would you like to leave?") < m.threshold


def test_the_sense_check_names_a_garbled_turn_and_the_setting_turns_it_off():
    texts = ["Hello, I need a train to Cambridge on Monday.", "Where will you be leaving from?", OUT_OF_ROLE,
             "TR1234 leaves London Kings Cross at 08:45. Shall I book it?", "No thanks, that's all.", "Goodbye."]
    faults = dialogue_faults([(t.speaker, t.text) for t in _dialogue(texts).turns], lexicon_for(DB), garble=True)
    assert not [f for f in dialogue_faults([(t.speaker, t.text) for t in _dialogue(texts).turns], lexicon_for(DB))
                if f.category == "garble"]  # off unless asked: the generation-time check does not use it
    assert any(f.category == "garble" and f.turn == 2 and "no customer would say it" in f.message for f in faults)
    only_garble = [f for f in faults if f.category != "garble"]
    off = check_sense(_dialogue(texts), Settings(sense_garble=False), DB)
    assert off.score == float(len(only_garble))
    on = check_sense(_dialogue(texts), Settings(), DB)
    assert not on.passed and "turn 2 (User, garble)" in on.reason
    judge = Judge(Settings(llm="scripted", judge_llm=False, sense_garble=False), DB)
    assert asyncio.run(judge.judge(_dialogue(texts))).verdict.judge_version.endswith("-nogarble")


def test_the_trainer_learns_marked_turns_and_sets_the_threshold_on_held_out_human_dialogues(tmp_path: Path):
    # A reading folder as the kit writes it: a key, the runs' export, one reader's ratings marking turns.
    sheet = tmp_path / "reading" / "agreement-x"
    (sheet / "ratings").mkdir(parents=True)
    bad = ["You can book a table at the rose for me.", "Which day?", "The table is booked, thank you for calling me.", "Bye."]
    good = ["I need a table at the rose on friday.", "Booked: your reference is AB12CD34.", "Thanks, bye.", "Goodbye."]
    export, items, ratings = {}, [], [{"reader": "r1"}]
    for k in range(12):
        for kind, texts, by in (("bad", bad, "llm"), ("good", good, "template")):
            did = f"{kind}{k}"
            export[did] = {"log": [{"text": t.replace("rose", f"rose{k}"), "goalconvo_phrased_by": by} for t in texts]}
            items.append({"item": len(items) + 1, "source": "generated", "dialogue_id": did})
            ratings.append({"item": len(items), "keep": "no" if kind == "bad" else "yes",
                            "roles_turns": [1, 3] if kind == "bad" else [], "facts_turns": []})
    (sheet / "key.json").write_text(json.dumps({"items": items}))
    (sheet / "runs-export.json").write_text(json.dumps(export))
    (sheet / "ratings" / "r1.jsonl").write_text("\n".join(json.dumps(r) for r in ratings))
    human = {f"H{k}": {"log": [{"text": f"I would like a hotel in the north for {k} nights ."}, {"text": "Sure , which day ?"}]}
             for k in range(40)}
    with zipfile.ZipFile(tmp_path / "val.json.zip", "w") as z:
        z.writestr("val.json", json.dumps(human))
    out = tmp_path / "garble.json"
    train(["--reading", str(tmp_path / "reading"), "--multiwoz", str(tmp_path / "val.json.zip"), "--out", str(out)])
    m = GarbleModel.from_json(out.read_bytes())
    assert m.score("user", "You can book a table at the rose99 for me.") > m.score("user", "I need a table at the rose99 on friday.")
    held_out = sum(1 for k in range(40) if m.score("user", f"I would like a hotel in the north for {k} nights .") >= m.threshold)
    assert held_out <= 2  # at most the --human-reject share (2%) of held-out dialogues, plus ties at the threshold
    assert features("user", "Hello there")[1] == ["u_hello", "u_there", "u_hello u_there"]
