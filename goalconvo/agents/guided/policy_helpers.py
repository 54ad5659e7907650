"""Small helpers both halves of the desk's policy use (``policy``, ``policy_travel``)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from goalconvo.agents.guided.acts import ACT_SLOT
from goalconvo.core.roles import TRAVEL_TIME

#: A search limit that means "every row".
ALL_ROWS = 10**6


def act_pair(domain: str, slot: str, value: Any) -> list[str]:
    """An act's ``[slot, value]`` pair, the slot in MultiWOZ's act spelling (a duration is said as a Time)."""
    act_slot = "Time" if slot == TRAVEL_TIME else ACT_SLOT.get(slot, slot.capitalize())
    return [act_slot, str(value)]


def hhmm(t: str) -> str:
    """A time as zero-padded ``HH:MM`` (so times compare as strings)."""
    m = re.match(r"^(\d{1,2})[:.](\d{2})", t.strip())
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else t


def same_name(a: str, b: str) -> bool:
    """Two venue names alike enough to be one (a leading "the" ignored, a typo forgiven)."""
    x, y = re.sub(r"^the ", "", a.lower().strip()), re.sub(r"^the ", "", b.lower().strip())
    return x == y or difflib.SequenceMatcher(None, x, y).ratio() >= 0.85
