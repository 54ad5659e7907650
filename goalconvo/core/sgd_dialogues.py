"""Real SGD dialogues as :class:`Dialogue` records of a pack, so ``metrics`` sets them beside generated ones.

``goalconvo import sgd FOLDER --pack PACK --set NAME`` stores them as a dialogue set. Each
dialogue's goal is the one ``packs import-sgd`` derives from it (the user's states, the
service's NOTIFY_SUCCESS / NOTIFY_FAILURE), naming the pack; its turns carry SGD's actions in
the ``Service-ACT`` form and, on user turns, SGD's state as the belief.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from goalconvo.core.records import Dialogue, Goal, Persona, Scenario, Turn
from goalconvo.packs.model import Pack
from goalconvo.packs.sgd_import import goal_of, settled_tasks

HUMAN_MODEL = "human:sgd"
HUMAN_PERSONA = Persona(name="crowd worker", style="human", patience="human", verbosity="human")


def _acts(turn: dict[str, Any], services: set[str]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for frame in turn.get("frames", []):
        if frame.get("service") not in services:
            continue
        for a in frame.get("actions", []):
            values = a.get("canonical_values") or a.get("values") or ["none"]
            out.setdefault(f"{frame['service']}-{a.get('act', '')}", []).append([a.get("slot") or "none", str(values[0])])
    return out


def sgd_dialogue(raw: dict[str, Any], pack: Pack, set_name: str) -> Dialogue | None:
    """One SGD dialogue over the pack's services, or None when it uses none of them."""
    services = {s.name for s in pack.services}
    goal_raw = goal_of(raw, services)
    if goal_raw is None:
        return None
    did = str(raw.get("dialogue_id", ""))
    goal = Goal.model_validate({"goal_id": f"sgd:{did}", "pack": pack.ref, "source": "sgd", "run_id": set_name,
                                "tasks": settled_tasks(pack.services, goal_raw["tasks"])})
    turns = []
    for i, t in enumerate(raw.get("turns", [])):
        speaker = "user" if t.get("speaker") == "USER" else "bot"
        state = {f["service"]: f.get("state") for f in t.get("frames", []) if f.get("service") in services and f.get("state")}
        turns.append(Turn(index=i, speaker=speaker, text=str(t.get("utterance", "")).strip(), acts=_acts(t, services),
                          belief=state or None, phrased_by="role-play"))
    return Dialogue(dialogue_id=f"{set_name}:{did}", run_id=set_name, goal=goal, turns=turns, model=HUMAN_MODEL,
                    prompt_version="human", mode="free", started_at=0.0, ended_at=0.0, stop_reason="goal_done",
                    scenario=Scenario(persona=HUMAN_PERSONA, objective="", first_utterance=turns[0].text if turns else ""))


def iter_sgd_dialogues(folder: Path, pack: Pack, set_name: str) -> Iterator[Dialogue]:
    """The dialogues of SGD's ``dialogues*.json`` files in ``folder`` that use the pack's services."""
    files = sorted(Path(folder).glob("dialogues*.json"))
    if not files:
        raise ValueError(f"{folder}: no dialogues*.json files (SGD's layout)")
    for f in files:
        for raw in json.loads(f.read_text(encoding="utf-8")):
            d = sgd_dialogue(raw, pack, set_name)
            if d is not None:
                yield d
