"""The corpus in the Schema-Guided Dialogue layout (``export --format sgd``), so SGD tooling reads it.

A list of dialogues, each ``dialogue_id``, ``services`` and ``turns``; a turn is ``speaker``
(USER / SYSTEM), ``utterance`` and ``frames``, one per service the turn is about, each with
``service``, ``slots`` (spans: where an action's value is found in the utterance, case aside) and ``actions``
(``act``, ``slot``, ``values``, ``canonical_values``); a USER frame also has SGD's ``state``
(``active_intent``, ``requested_slots``, ``slot_values``): the belief the desk held after that
turn, as MultiWOZ stores it on the next system turn. Services are the dialogue's domains; a
domain's intents are ``find_<domain>`` and ``book_<domain>`` (MultiWOZ 2.2's names), the
active one ``book_`` once a booking slot is filled.

Acts map to SGD's (MultiWOZ intent -> SGD act): Inform -> INFORM, Request -> REQUEST,
Recommend and Select -> OFFER, OfferBook -> OFFER_INTENT, Book and OfferBooked ->
NOTIFY_SUCCESS, NoBook and NoOffer -> NOTIFY_FAILURE, reqmore -> REQ_MORE, thank -> THANK_YOU,
bye -> GOODBYE; greet and welcome, which SGD has no act for, are left out. ``Booking-*`` acts
go to the frame of the domain being booked. Slot names are the belief's (``food``, ``leaveAt``).
Free-mode dialogues have no acts: their frames hold the state alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from goalconvo.core.act_slots import ACT_SLOT
from goalconvo.core.records import KNOWN_DOMAINS
from goalconvo.sinks.store import CorpusStore
from goalconvo.core.roles import TRAVEL_TIME
from goalconvo.packs.builtin import DEFAULT_PACK
from goalconvo.packs.values import date_wordings, time_wordings

#: MultiWOZ act slot name -> the belief's slot name (``Time`` is a booking time; a train's duration is ``duration``).
_SLOT = {v: k for k, v in ACT_SLOT.items() if k != TRAVEL_TIME}
_ACT = {
    "Inform": "INFORM", "Request": "REQUEST", "Recommend": "OFFER", "Select": "OFFER", "OfferBook": "OFFER_INTENT",
    "Book": "NOTIFY_SUCCESS", "OfferBooked": "NOTIFY_SUCCESS", "NoBook": "NOTIFY_FAILURE", "NoOffer": "NOTIFY_FAILURE",
    "reqmore": "REQ_MORE", "thank": "THANK_YOU", "bye": "GOODBYE",
}
_UNSET = ("", "not mentioned", "none")


def _state(belief: dict[str, Any], domain: str, requested: list[str]) -> dict[str, Any]:
    """SGD's dialogue state of one service from a MultiWOZ-style belief."""
    part = belief.get(domain) or {}
    semi = {k: v for k, v in (part.get("semi") or {}).items() if isinstance(v, str) and v not in _UNSET}
    book = {k: v for k, v in (part.get("book") or {}).items() if k != "booked" and isinstance(v, str) and v not in _UNSET}
    return {"active_intent": f"{'book' if book else 'find'}_{domain}", "requested_slots": requested,
            "slot_values": {k: [v] for k, v in {**semi, **book}.items()}}


def _actions(acts: dict[str, list[list[str]]], fallback: str) -> dict[str, list[dict[str, Any]]]:
    """Acts grouped by the service (domain) they belong to, in SGD's action layout."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, pairs in acts.items():
        domain, _, intent = key.partition("-")
        domain = domain.lower()
        act = _ACT.get(intent)
        if act is None:
            continue
        service = domain if domain in KNOWN_DOMAINS else fallback
        for slot, value in pairs or [["none", "none"]]:
            name = "" if slot == "none" else _SLOT.get(slot, slot.lower())
            if intent == "OfferBook":
                name, value = "intent", f"book_{service}"
            if act == "INFORM" and name == "":
                continue  # "Booking-Inform: none" (shall I book?) says nothing SGD's INFORM can hold
            values = [] if value in ("?", "none", "") or act == "REQUEST" else [value]
            out.setdefault(service, []).append({"act": act, "slot": name, "values": values, "canonical_values": values})
    return out


def _spans(utterance: str, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SGD's slot spans: each action value found in the utterance (first place, case aside), once per slot."""
    low = utterance.lower()
    out, seen = [], set()
    for a in actions:
        for v in a["values"]:
            # A canonical date or time is said in words ("March 8th", "3:30 pm"): its span is where the words are.
            said = next((w for w in [v, *date_wordings(v), *reversed(time_wordings(v, "12h"))] if w and w.lower() in low), "") \
                if v else ""
            at = low.find(said.lower()) if said else -1
            if at >= 0 and a["slot"] and (a["slot"], at) not in seen:
                seen.add((a["slot"], at))
                out.append({"exclusive_end": at + len(said), "slot": a["slot"], "start": at})
    return out


def sgd_dialogue(dialogue_id: str, domains: list[str], turns: list[dict[str, Any]]) -> dict[str, Any]:
    """One stored dialogue (turns with speaker, text, acts, belief) in SGD's layout."""
    services = [d for d in domains if d in KNOWN_DOMAINS] or ["general"]
    current = services[0]
    out_turns = []
    for i, t in enumerate(turns):
        acts = json.loads(t["a"]) if t["a"] else {}
        named = [k.partition("-")[0].lower() for k in acts]
        current = next((d for d in named if d in services), current)
        grouped = _actions(acts, current)
        frames = []
        if t["s"] == "user":
            nxt = turns[i + 1] if i + 1 < len(turns) else None
            belief = json.loads(nxt["b"]) if nxt and nxt["b"] else {}
            for service in grouped or {current: []}:
                requested = [a["slot"] for a in grouped.get(service, []) if a["act"] == "REQUEST"]
                actions = grouped.get(service, [])
                frames.append({"actions": actions, "service": service, "slots": _spans(t["x"], actions),
                               "state": _state(belief, service, requested)})
        else:
            for service in grouped or {current: []}:
                actions = grouped.get(service, [])
                frames.append({"actions": actions, "service": service, "slots": _spans(t["x"], actions)})
        out_turns.append({"frames": frames, "speaker": "USER" if t["s"] == "user" else "SYSTEM", "utterance": t["x"]})
    return {"dialogue_id": dialogue_id, "services": services, "turns": out_turns}


def pack_sgd_dialogue(dialogue_id: str, services: list[str], turns: list[dict[str, Any]]) -> dict[str, Any]:
    """A pack dialogue in SGD's layout: its acts are SGD's already (``Service-ACT``), its belief per service.

    A USER frame's state is the desk's belief after the turn (the next turn's), the intent the user
    last asked for (INFORM_INTENT, or an offered one affirmed), and the slots it requested.
    """
    active: dict[str, str] = {}
    offered: dict[str, str] = {}
    out_turns = []
    for i, t in enumerate(turns):
        acts = json.loads(t["a"]) if t["a"] else {}
        grouped: dict[str, list[dict[str, Any]]] = {}
        for key, pairs in acts.items():
            service, _, act = key.rpartition("-")
            for slot, value in pairs or [["none", "none"]]:
                name = "" if slot == "none" else slot
                values = [] if value in ("none", "") or act == "REQUEST" else [value]
                if act == "INFORM_INTENT":
                    active[service] = value
                elif act == "OFFER_INTENT":
                    offered[service] = value
                elif act == "AFFIRM_INTENT" and service in offered:
                    active[service] = offered.pop(service)
                grouped.setdefault(service, []).append({"act": act, "slot": name, "values": values, "canonical_values": values})
        frames = []
        for service in grouped or {services[0] if services else "general": []}:
            actions = grouped.get(service, [])
            frame: dict[str, Any] = {"actions": actions, "service": service, "slots": _spans(t["x"], actions)}
            if t["s"] == "user":
                nxt = turns[i + 1] if i + 1 < len(turns) else None
                belief = (json.loads(nxt["b"]) if nxt and nxt["b"] else {}).get(service) or {}
                frame["state"] = {"active_intent": active.get(service, "NONE"),
                                  "requested_slots": [a["slot"] for a in actions if a["act"] == "REQUEST"],
                                  "slot_values": {k: [v] for k, v in belief.items() if isinstance(v, str) and v not in _UNSET}}
            frames.append(frame)
        out_turns.append({"frames": frames, "speaker": "USER" if t["s"] == "user" else "SYSTEM", "utterance": t["x"]})
    return {"dialogue_id": dialogue_id, "services": services, "turns": out_turns}


def sgd_dialogues(store: CorpusStore, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """Stored dialogues (filtered by ``where`` on ``d``/``v``) in SGD's layout."""
    rows = store.query(
        f"""select d.dialogue_id, d.domains, d.goal->>'pack',
                   (select list(struct_pack(s := t.speaker, x := t.text, a := t.acts, b := t.belief) order by t.idx)
                      from turns t where t.dialogue_id = d.dialogue_id)
            from dialogues d join current_verdicts v using (dialogue_id) {where} order by d.dialogue_id""",
        params,
    ).rows
    return [pack_sgd_dialogue(did, list(domains or []), list(turns or [])) if pack and pack.partition("@")[0] != DEFAULT_PACK
            else sgd_dialogue(did, list(domains or []), list(turns or [])) for did, domains, pack, turns in rows]


def write_sgd(dialogues: list[dict[str, Any]], out: Path) -> None:
    """One JSON file (``dialogues_001.json`` is SGD's own name for one), written atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(json.dumps(dialogues, indent=1))
    os.replace(tmp, out)
