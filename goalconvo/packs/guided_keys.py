"""The keys the guided engine reads from the default pack's files, with the kind each must be.

The guided engine (MultiWOZ's) looks these up with plain ``table["key"]`` at import, and a key of
the wrong kind fails quietly rather than loudly: a ``bye_places = "cambridge"`` string iterates as
letters, so "enjoy a meal" would count as a goodbye. ``guided_problems`` names every missing key
or wrong kind, so ``default_pack()`` and ``packs validate`` refuse such a pack before anything runs.
A domain pack run by the pack engine reads none of these and is not held to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from goalconvo.packs.model import Pack

#: A regular expression in running text: how many groups its reader takes, and a placeholder it must hold.
@dataclass(frozen=True)
class Regex:
    groups: int = 0
    placeholder: str = ""


TEXT, TEXT_LIST = "text", "list of text"

#: (file role, table, key) -> what the value must be.
GUIDED_KEYS: dict[tuple[str, str, str], Any] = {
    **{("shapes", "understanding", k): Regex() for k in ("phone", "postcode", "timetable_id", "price")},
    **{("shapes", "goal_check", k): Regex() for k in ("phone", "postcode", "timetable_id", "price", "entrance_fee")},
    **{("shapes", "phrasing_check", k): Regex() for k in ("phone", "spaced_phone", "postcode", "timetable_id", "price",
                                                           "postcode_value", "not_a_code")},
    ("shapes", "normaliser", "price"): Regex(groups=2),
    ("shapes", "normaliser", "price_in_words"): Regex(placeholder="{word}"),
    ("shapes", "rules", "phone"): Regex(),
    ("lexicon", "landmarks", "words"): TEXT_LIST,
    ("lexicon", "landmarks", "fallback_place"): TEXT,
    ("lexicon", "phrasing_check", "bye_places"): TEXT_LIST,
    ("lexicon", "phrasing_check", "ambiguous_names"): TEXT_LIST,
    ("sentences", "setting", "phrasing_clerk"): TEXT,
    ("sentences", "setting", "user_trip"): TEXT_LIST,
    ("sentences", "setting", "welcome_bye"): TEXT_LIST,
    ("sentences", "setting", "close_wish"): TEXT_LIST,
    ("reading", "sheet", "intro"): TEXT,
}


def _problem(value: Any, kind: Any) -> str:
    """What is wrong with ``value`` as ``kind`` ("" when nothing)."""
    if kind == TEXT:
        return "" if isinstance(value, str) and value.strip() else "must be non-empty text"
    if kind == TEXT_LIST:
        ok = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        return "" if ok else "must be a non-empty list of text"
    if not isinstance(value, str):
        return "must be a regular expression (text)"
    if kind.placeholder and kind.placeholder not in value:
        return f"must hold {kind.placeholder} (where its reader puts a word)"
    try:
        rx = re.compile(value.replace(kind.placeholder, "x") if kind.placeholder else value)
    except re.error as e:
        return f"not a regular expression ({e})"
    if rx.groups < kind.groups:
        return f"needs {kind.groups} group(s), its reader reads them; has {rx.groups}"
    return ""


def guided_problems(pack: Pack, read_toml) -> list[str]:
    """Every key of ``GUIDED_KEYS`` the pack lacks or has of the wrong kind, named by file, table and key.

    ``read_toml(pack, role)`` reads a ``[files]`` role (``builtin.pack_toml``)."""
    out: list[str] = []
    files: dict[str, dict[str, Any]] = {}
    for (role, table, key), kind in GUIDED_KEYS.items():
        rel = pack.extras.get(role)
        if rel is None:
            if role not in files:
                out.append(f"{pack.root}/pack.toml: [files] {role}: the guided engine reads it; the pack has none")
                files[role] = {}
            continue
        if role not in files:
            files[role] = read_toml(pack, role)
        entries = files[role].get(table)
        where = f"{pack.root}/{rel}: [{table}] {key}"
        if not isinstance(entries, dict) or key not in entries:
            out.append(f"{where}: missing (the guided engine reads it)")
            continue
        wrong = _problem(entries[key], kind)
        if wrong:
            out.append(f"{where}: {wrong}")
    return out
