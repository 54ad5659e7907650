"""Dialogue acts in MultiWOZ's own form, shared by the planner and the realizer.

A turn's acts are a dict ``{"Restaurant-Inform": [["Food", "italian"], ["Area", "centre"]]}``:
the key is ``Domain-Intent`` (``general-*`` for greetings, thanks, bye, reqmore, welcome;
``Booking-*`` for bookings of hotels and restaurants), each value a list of
``[Slot, value]`` pairs; a request's value is ``"?"``; an act with no slot has
``[["none", "none"]]``. This is what MultiWOZ stores per turn as ``dialog_act``,
so an exported corpus reads like MultiWOZ.
"""

from __future__ import annotations

from goalconvo.core.act_slots import ACT_SLOT
from goalconvo.core.records import DialogueActs
from goalconvo.core.roles import TRAVEL_TIME

__all__ = ["DialogueActs", "ACT_SLOT", "GOAL_SLOT", "act_key", "split_key", "add_act", "act_values"]


#: MultiWOZ act slot names -> goal slot names (``Time`` is a train's duration in a
#: Train-Inform answer but a booking time elsewhere: callers decide by domain).
GOAL_SLOT: dict[str, str] = {v: k for k, v in ACT_SLOT.items() if k not in (TRAVEL_TIME,)}

NONE_PAIR = ["none", "none"]


def act_key(domain: str, intent: str) -> str:
    """``("restaurant", "Inform")`` -> ``"Restaurant-Inform"``; ``general`` stays lower-case."""
    return f"general-{intent}" if domain == "general" else f"{domain.capitalize()}-{intent}"


def split_key(key: str) -> tuple[str, str]:
    """``"Restaurant-Inform"`` -> ``("restaurant", "Inform")``."""
    domain, _, intent = key.partition("-")
    return domain.lower(), intent


def add_act(acts: DialogueActs, domain: str, intent: str, pairs: list[list[str]] | None = None) -> DialogueActs:
    """Append ``pairs`` (or the none pair) under ``Domain-Intent``; returns ``acts``."""
    acts.setdefault(act_key(domain, intent), []).extend(pairs or [list(NONE_PAIR)])
    return acts


def act_values(acts: DialogueActs) -> list[tuple[str, str, str]]:
    """Every ``(act key, slot, value)`` with a real value (not ``?``, ``none``)."""
    out = []
    for key, pairs in acts.items():
        for slot, value in pairs:
            if slot != "none" and value not in ("?", "none", ""):
                out.append((key, slot, value))
    return out
