"""Reading SGD's ``schema.json`` into ``Service`` records, every fault named, none raised half-way.

The layout is the Schema-Guided Dialogue dataset's (Rastogi et al. 2020): a list of services,
each ``service_name``, ``description``, ``slots`` (``name``, ``description``,
``is_categorical``, ``possible_values``) and ``intents`` (``name``, ``description``,
``is_transactional``, ``required_slots``, ``optional_slots`` as slot -> default,
``result_slots``). SGD writes ``dontcare`` as an optional slot's default; it is allowed for
any slot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from goalconvo.packs.model import Intent, Service, Slot

#: SGD's default for an optional slot the user does not care about.
DONTCARE = "dontcare"


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _slot(raw: Any, where: str, problems: list[str]) -> Slot | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        problems.append(f"{where}: a slot without a name (each slot is an object with a \"name\")")
        return None
    name = raw["name"]
    categorical = raw.get("is_categorical", False)
    values = raw.get("possible_values", [])
    if not isinstance(categorical, bool):
        problems.append(f"{where}: slot {name!r}: is_categorical must be true or false, not {categorical!r}")
        categorical = False
    if not _strings(values):
        problems.append(f"{where}: slot {name!r}: possible_values must be a list of strings")
        values = []
    if categorical and not values:
        problems.append(f"{where}: slot {name!r}: a categorical slot needs its possible_values")
    if len(set(values)) != len(values):
        problems.append(f"{where}: slot {name!r}: possible_values lists a value twice")
    return Slot(name=name, description=str(raw.get("description", "")), is_categorical=categorical,
                possible_values=tuple(values))


def _intent(raw: Any, where: str, slots: dict[str, Slot], problems: list[str]) -> Intent | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        problems.append(f"{where}: an intent without a name (each intent is an object with a \"name\")")
        return None
    name = raw["name"]
    here = f"{where}: intent {name!r}"
    required = raw.get("required_slots", [])
    optional = raw.get("optional_slots", {})
    results = raw.get("result_slots", [])
    transactional = raw.get("is_transactional", False)
    if not _strings(required):
        problems.append(f"{here}: required_slots must be a list of slot names")
        required = []
    if not isinstance(optional, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in optional.items()):
        problems.append(f"{here}: optional_slots must be an object from slot name to default value")
        optional = {}
    if not _strings(results):
        problems.append(f"{here}: result_slots must be a list of slot names")
        results = []
    if not isinstance(transactional, bool):
        problems.append(f"{here}: is_transactional must be true or false, not {transactional!r}")
        transactional = False
    for field, names in (("required_slots", required), ("optional_slots", list(optional)), ("result_slots", results)):
        for s in names:
            if s not in slots:
                problems.append(f"{here}: {field} names slot {s!r}, which the service does not define")
    for s, default in optional.items():
        slot = slots.get(s)
        if slot is not None and slot.is_categorical and default != DONTCARE and default not in slot.possible_values:
            problems.append(f"{here}: optional_slots: default {default!r} of slot {s!r} is not one of its "
                            f"possible_values {list(slot.possible_values)}")
    both = set(required) & set(optional)
    if both:
        problems.append(f"{here}: slot(s) {sorted(both)} are both required and optional")
    return Intent(name=name, description=str(raw.get("description", "")), is_transactional=transactional,
                  required_slots=tuple(required), optional_slots=dict(optional), result_slots=tuple(results))


def parse_services(raw: Any, file: str, problems: list[str]) -> list[Service]:
    """The services of a parsed ``schema.json``; faults go to ``problems``, each starting with ``file``."""
    if not isinstance(raw, list):
        problems.append(f"{file}: the schema must be a list of services (SGD's layout), not {type(raw).__name__}")
        return []
    services: list[Service] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("service_name"), str) or not entry["service_name"]:
            problems.append(f"{file}: service #{n + 1} has no service_name")
            continue
        name = entry["service_name"]
        where = f"{file}: service {name!r}"
        if name in seen:
            problems.append(f"{where}: service_name used twice")
            continue
        seen.add(name)
        slots: dict[str, Slot] = {}
        for raw_slot in entry.get("slots", []) if isinstance(entry.get("slots", []), list) else []:
            slot = _slot(raw_slot, where, problems)
            if slot is None:
                continue
            if slot.name in slots:
                problems.append(f"{where}: slot {slot.name!r} defined twice")
                continue
            slots[slot.name] = slot
        if not isinstance(entry.get("slots", []), list):
            problems.append(f"{where}: slots must be a list")
        intents: dict[str, Intent] = {}
        raw_intents = entry.get("intents", [])
        if not isinstance(raw_intents, list) or not raw_intents:
            problems.append(f"{where}: intents must be a non-empty list")
            raw_intents = []
        for raw_intent in raw_intents:
            intent = _intent(raw_intent, where, slots, problems)
            if intent is None:
                continue
            if intent.name in intents:
                problems.append(f"{where}: intent {intent.name!r} defined twice")
                continue
            intents[intent.name] = intent
        services.append(Service(name=name, description=str(entry.get("description", "")),
                                slots=tuple(slots.values()), intents=tuple(intents.values())))
    return services


def read_schema(path: Path, problems: list[str]) -> list[Service]:
    """Parse ``path`` (a ``schema.json``); a missing or malformed file is one problem, named."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: no such file (a pack needs SGD's schema.json)")
        return []
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problems.append(f"{path}: not valid JSON: {e}")
        return []
    return parse_services(raw, str(path), problems)


def schema_json(services: list[Service]) -> list[dict[str, Any]]:
    """``services`` back in SGD's layout (what ``export`` and ``packs import-sgd`` write)."""
    return [{
        "service_name": s.name,
        "description": s.description,
        "slots": [{"name": x.name, "description": x.description, "is_categorical": x.is_categorical,
                   "possible_values": list(x.possible_values)} for x in s.slots],
        "intents": [{"name": i.name, "description": i.description, "is_transactional": i.is_transactional,
                     "required_slots": list(i.required_slots), "optional_slots": dict(i.optional_slots),
                     "result_slots": list(i.result_slots)} for i in s.intents],
    } for s in services]
