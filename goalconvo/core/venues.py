"""The SupportBot's knowledge: MultiWOZ-style venue databases.

Loaded from a folder of ``<domain>_db.json`` files the user gives (MultiWOZ's
``db/``), else from a small built-in set. The bot can only offer what a lookup
returns; bookings get a deterministic reference so replays agree.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goalconvo.core.goals import PLACE_DOMAINS
from goalconvo.packs.builtin import default_pack
from goalconvo.packs.derived import filter_slots, searched_services
from goalconvo.core.roles import CAR_TYPE, RIDE, TIMETABLE_ID

#: Slots a lookup may filter on, per domain (MultiWOZ's informable slots): the default pack's
#: searched services and their search intents' constraints compared for equality.
SEARCHABLE: dict[str, tuple[str, ...]] = {
    s.name: filter_slots(default_pack(), s) for s in searched_services(default_pack())
}
#: The default pack's folder of ``<domain>_db.json`` files (MultiWOZ's own layout).
SHIPPED_DB = ("packs", "multiwoz", "db")


def _norm(v: Any) -> str:
    return str(v).strip().lower()


def _time_ok(compare: str, want: str, have: str) -> bool:
    """Times as the slot's rule compares them: at or after ("leave after 17:00"), or by ("arrive by")."""
    if not (want[:2].isdigit() and have[:2].isdigit()):
        return True
    return have >= want if compare == "at_or_after" else have <= want


@functools.lru_cache(maxsize=None)
def _compare(domain: str, slot: str) -> str:
    return default_pack().rule(domain, slot).compare


@dataclass
class VenueDB:
    tables: dict[str, list[dict[str, Any]]]
    taxi: dict[str, list[str]] = field(default_factory=dict)
    source: str = "builtin"
    _values: dict[tuple[str, str], set[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, folder: Path | None = None) -> "VenueDB":
        """``folder``'s ``<domain>_db.json`` files; unset: MultiWOZ's databases shipped in the
        default pack (MIT, see ``data/packs/multiwoz/db/LICENSE``), else the small built-in set."""
        if folder is None:
            shipped = importlib.resources.files("goalconvo.data")
            for part in SHIPPED_DB:
                shipped = shipped.joinpath(part)
            if shipped.joinpath("restaurant_db.json").is_file():
                with importlib.resources.as_file(shipped) as path:
                    db = cls.load(Path(path))
                db.source = "multiwoz (shipped)"
                return db
            return cls.builtin()
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"venue database folder {folder} does not exist")
        tables: dict[str, list[dict[str, Any]]] = {}
        for domain in SEARCHABLE:
            path = folder / f"{domain}_db.json"
            tables[domain] = json.loads(path.read_text()) if path.exists() else []
        taxi_path = folder / "taxi_db.json"
        taxi = json.loads(taxi_path.read_text()) if taxi_path.exists() else {}
        if not any(tables.values()):
            raise FileNotFoundError(f"no <domain>_db.json files in {folder}")
        return cls(tables, taxi, str(folder))

    @classmethod
    def builtin(cls) -> "VenueDB":
        """The small built-in set (6 restaurants, 5 hotels, ...): a fallback and for tests."""
        raw = json.loads(importlib.resources.files("goalconvo.data").joinpath("venues_builtin.json").read_text())
        return cls({d: raw[d] for d in SEARCHABLE}, raw[RIDE], "builtin")

    def search(self, domain: str, constraints: dict[str, str], limit: int = 5) -> list[dict[str, Any]]:
        """Venues of ``domain`` matching every known constraint (unknown slots ignored)."""
        rows = self.tables.get(domain, [])
        out = []
        for row in rows:
            ok = True
            for slot, want in constraints.items():
                want_n = _norm(want)
                if want_n in ("", "dontcare", "?", "not mentioned"):
                    continue
                compare = _compare(domain, slot)
                if compare != "equal" and slot in row:
                    ok = _time_ok(compare, want_n, _norm(row[slot]))
                elif slot in row and slot in SEARCHABLE.get(domain, ()):
                    ok = _norm(row[slot]) == want_n
                if not ok:
                    break
            if ok:
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def all_values(self, domain: str, slot: str) -> set[str]:
        """Distinct values of a slot (cached: the tracker asks on every bot turn)."""
        key = (domain, slot)
        if key not in self._values:
            self._values[key] = {_norm(r[slot]) for r in self.tables.get(domain, []) if slot in r}
        return self._values[key]

    def place_names(self) -> dict[str, set[str]]:
        """Lower-case venue names per domain a taxi may go to or from (``core.goals.taxi_endpoint_domains``)."""
        return {d: self.all_values(d, "name") for d in PLACE_DOMAINS}

    @functools.cached_property
    def known_facts(self) -> frozenset[str]:
        """Every phone number, postcode and train id the bot may state (computed once)."""
        facts: set[str] = set()
        for rows in self.tables.values():
            for r in rows:
                for slot in ("phone", "postcode", TIMETABLE_ID):
                    if slot in r:
                        facts.add(_norm(r[slot]))
        return frozenset(facts)

    def taxi_for(self, key: str) -> dict[str, str]:
        h = int(hashlib.sha1(key.encode()).hexdigest(), 16)
        colors = self.taxi.get("taxi_colors") or ["black"]
        types = self.taxi.get("taxi_types") or ["toyota"]
        return {
            CAR_TYPE: f"{colors[h % len(colors)]} {types[(h // 7) % len(types)]}",
            "phone": "07" + str(h % 10**9).zfill(9),
        }


def booking_reference(dialogue_id: str, domain: str) -> str:
    """Deterministic 8-character reference: a replayed turn books the same thing."""
    return hashlib.sha1(f"{dialogue_id}:{domain}".encode()).hexdigest()[:8].upper()
