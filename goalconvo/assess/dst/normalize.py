"""The usual belief-state normalisation, and the text normalisation the tracker's features read.

Labels: lower case, spaces squeezed; ``dont care``/``don't care``/``do n't care``/``dontcare``
-> ``dontcare``; ``""``/``not mentioned``/``none`` -> no value (the slot is left out of the
state). Nothing else is rewritten (``guesthouse`` stays apart from ``guest house``, ``9:15``
from ``09:15``): a tracker trained on a corpus learns that corpus's conventions, and the
figure should show what they cost.

Text: lower case; ``n't`` (``don't`` and MultiWOZ's ``do n't``) -> `` not``; times ``9:15``
-> ``09:15``; tokens are ``[a-z0-9]+`` and times, so MultiWOZ's spaced punctuation
(``cb41da .``) and ours read alike; number words up to ten are read as digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DONTCARE = "dontcare"
#: Label strings that mean "no value": the slot is absent from the state.
NO_VALUE = frozenset({"", "not mentioned", "none", "not given"})
_DONTCARE = frozenset({"dontcare", "dont care", "don't care", "do n't care", "do not care", "dontcares"})
#: MultiWOZ's metadata keeps bookings made under ``book.booked``: a record, not a slot.
_NOT_SLOTS = frozenset({"booked"})

_SPACES = re.compile(r"\s+")
_NOT = re.compile(r"\s*n['’]t\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_TOKEN = re.compile(r"\d\d:\d\d|[a-z0-9]+")
#: Number words read as digits, so "two people" and "2 people" are one feature and one value mention.
_NUMBERS = {w: str(i) for i, w in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"))}


def normalize_value(value: Any) -> str | None:
    """A label value in its usual form, or None when it says the slot has no value."""
    if value is None:
        return None
    if isinstance(value, list):  # a few MultiWOZ versions keep alternatives as a list: the first counts
        value = value[0] if value else ""
    v = _SPACES.sub(" ", str(value).strip().lower())
    if v in NO_VALUE:
        return None
    if v in _DONTCARE:
        return DONTCARE
    return v


def slot_name(domain: str, part: str, slot: str) -> str:
    """``hotel``, ``semi``, ``area`` -> ``hotel-area``; booking slots keep MultiWOZ's ``book`` mark: ``hotel-book day``."""
    return f"{domain}-book {slot}" if part == "book" else f"{domain}-{slot}"


def flatten_state(metadata: Mapping[str, Any]) -> dict[str, str]:
    """MultiWOZ's per-turn ``metadata`` as ``{slot: value}``, normalised, slots without a value left out."""
    state: dict[str, str] = {}
    for domain, parts in metadata.items():
        if not isinstance(parts, Mapping):
            continue
        for part in ("semi", "book"):
            slots = parts.get(part)
            if not isinstance(slots, Mapping):
                continue
            for slot, raw in slots.items():
                if slot in _NOT_SLOTS:
                    continue
                value = normalize_value(raw)
                if value is not None:
                    state[slot_name(domain.lower(), part, slot)] = value
    return state


def normalize_text(text: str) -> str:
    """An utterance as the features read it (see the module docstring)."""
    t = _NOT.sub(" not", text.lower())
    return _TIME.sub(lambda m: f"{int(m.group(1)):02d}:{m.group(2)}", t)


def tokens(text: str) -> list[str]:
    """The words of an utterance after :func:`normalize_text`, number words as digits."""
    return [_NUMBERS.get(w, w) for w in _TOKEN.findall(normalize_text(text))]
