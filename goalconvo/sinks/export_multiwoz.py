"""The corpus in MultiWOZ's own file layout, so code written for MultiWOZ reads it.

One JSON object keyed by dialogue id; each value has ``goal`` (MultiWOZ's goal:
every domain, ``info``/``reqt``/``book``/``fail_*``, ``message``) and ``log``
(turns alternating user/system, each with ``text``, ``dialog_act``,
``span_info``, ``metadata`` — the belief state on system turns, ``{}`` on user
turns, as MultiWOZ stores them). GoalConvo's own fields (set, model, mode,
verdict, who phrased each turn) sit under ``goalconvo`` keys, which MultiWOZ
readers ignore. Free-mode dialogues have no acts: their ``dialog_act`` is ``{}``.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from goalconvo.core.records import KNOWN_DOMAINS
from goalconvo.sinks.store import CorpusStore

_GOAL_PARTS = ("info", "reqt", "book", "fail_info", "fail_book")


def multiwoz_goal(goal: dict[str, Any]) -> dict[str, Any]:
    """Our goal record as MultiWOZ writes a goal: all seven domains, empty ones ``{}``."""
    domains = goal.get("domains", {})
    out: dict[str, Any] = {}
    for d in KNOWN_DOMAINS:
        g = domains.get(d)
        out[d] = {k: g[k] for k in _GOAL_PARTS if g.get(k)} if g else {}
    out["message"] = list(goal.get("message") or [])
    out["topic"] = {d: False for d in (*KNOWN_DOMAINS, "general", "booking")}
    return out


def multiwoz_dialogues(store: CorpusStore, where: str, params: list[Any]) -> dict[str, Any]:
    """Stored dialogues (filtered by ``where`` on ``d``/``v``) in MultiWOZ's layout, keyed by id."""
    rows = store.query(
        f"""select d.dialogue_id, d.goal, d.set_name, d.model, coalesce(d.mode, 'free'), v.accepted, v.judge_version,
                   (select list(struct_pack(s := t.speaker, x := t.text, a := t.acts, b := t.belief, p := t.phrased_by)
                                order by t.idx) from turns t where t.dialogue_id = d.dialogue_id)
            from dialogues d join current_verdicts v using (dialogue_id) {where} order by d.dialogue_id""",
        params,
    ).rows
    out: dict[str, Any] = {}
    for did, goal, set_name, model, mode, accepted, judge_version, turns in rows:
        log = []
        for t in turns or []:
            log.append({
                "text": t["x"],
                "dialog_act": json.loads(t["a"]) if t["a"] else {},
                "span_info": [],
                "metadata": (json.loads(t["b"]) if t["b"] else {}) if t["s"] == "bot" else {},
                "goalconvo_phrased_by": t["p"],
            })
        out[did] = {
            "goal": multiwoz_goal(json.loads(goal)),
            "log": log,
            "goalconvo": {"set": set_name, "model": model, "mode": mode, "accepted": accepted, "judge_version": judge_version},
        }
    return out


def write_multiwoz(dialogues: dict[str, Any], out: Path) -> None:
    """``out.json``, or ``out.zip`` holding one ``data.json`` (as MultiWOZ ships ``val.json.zip``); atomic."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    data = json.dumps(dialogues)
    if out.suffix == ".zip":
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(out.stem if out.stem.endswith(".json") else "data.json", data)
    else:
        tmp.write_text(data)
    os.replace(tmp, out)
