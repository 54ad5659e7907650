"""Dialogue acts of a pack dialogue, in SGD's vocabulary, stored in the ``Service-ACT`` form.

A turn's acts are a list of :class:`Act`; on the wire (``Turn.acts``) they become
``{"Clinicians-INFORM": [["speciality", "dermatology"]]}``, the form guided MultiWOZ turns use,
so exports and the store read both alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from goalconvo.core.records import DialogueActs

#: SGD's acts (user and system).
INFORM_INTENT = "INFORM_INTENT"
INFORM = "INFORM"
REQUEST = "REQUEST"
AFFIRM = "AFFIRM"
NEGATE = "NEGATE"
SELECT = "SELECT"
THANK_YOU = "THANK_YOU"
GOODBYE = "GOODBYE"
REQUEST_ALTS = "REQUEST_ALTS"
CONFIRM = "CONFIRM"
OFFER = "OFFER"
INFORM_COUNT = "INFORM_COUNT"
NOTIFY_SUCCESS = "NOTIFY_SUCCESS"
NOTIFY_FAILURE = "NOTIFY_FAILURE"
REQ_MORE = "REQ_MORE"
OFFER_INTENT = "OFFER_INTENT"
AFFIRM_INTENT = "AFFIRM_INTENT"
NEGATE_INTENT = "NEGATE_INTENT"


@dataclass(frozen=True)
class Act:
    """One act: its name, the service it is about, a slot and a value (either may be empty)."""

    act: str
    service: str
    slot: str = ""
    value: str = ""


def to_wire(acts: list[Act]) -> DialogueActs:
    out: DialogueActs = {}
    for a in acts:
        out.setdefault(f"{a.service}-{a.act}", []).append([a.slot or "none", a.value or "none"])
    return out


def from_wire(acts: DialogueActs) -> list[Act]:
    out = []
    for key, pairs in acts.items():
        service, _, act = key.rpartition("-")
        for slot, value in pairs:
            out.append(Act(act, service, "" if slot == "none" else slot, "" if value == "none" else value))
    return out


def named(acts: list[Act], act: str) -> list[Act]:
    return [a for a in acts if a.act == act]


def has(acts: list[Act], act: str) -> bool:
    return any(a.act == act for a in acts)
