"""Loading a pack folder: ``pack.toml``, SGD's ``schema.json``, and the tables they name.

``load_pack(path)`` reads everything, then ``checks.cross_check`` tests that the parts fit;
every problem found is collected and raised together as one ``PackError``, so a pack's
author sees all of them at once, each naming the file, the service and the field. A pack
that loads is safe to run: nothing later refuses it mid-run.

``pack.toml`` (``packs new`` writes a commented scaffold)::

    [pack]        name, version, licence, attribution, setting, description, delivers, schema
    [locale]      phone, postcode, price, date, time (regular expressions), currency, clock (24h | 12h)
    [services.S]  entities = "entities/s.csv" | per_call = true, extra_columns = [...], words = [...]
    [slots."S.x"] format, min, max, unit, compare, from = ["T.y"], generated
    [slot_words]  x = "how people name slot x"
    [[failures]]  service, intent, kind, alternative = [slots], rate
    [[user_state]] service, table, key, intents, amount_column, amount_slot
    [[diagnosis]] service, table, asks, step_slot, fallback_intent
    [files]       other files of the pack by role (goals, templates, seed dialogues; goal_mix: a CSV
                  of services = "a+b" and goals = a weight, the sets generated goals are drawn from;
                  words, goal_messages: TOML files of the words templates use for services and
                  slots, and of the lines a generated goal is said in)
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from goalconvo.packs.checks import cross_check
from goalconvo.packs.derived import GOAL_MIX_FILE, goal_mix
from goalconvo.packs.model import (
    Diagnosis, DiagnosisRow, Failure, Locale, Pack, PackError, PackMeta, SlotRule, UserState,
)
from goalconvo.packs.schema import read_schema
from goalconvo.packs.tables import read_rows

PACK_FILE = "pack.toml"
CLOCKS = ("24h", "12h")
FORMATS = ("text", "count", "time", "date", "weekday", "phone", "postcode", "price", "money", "reference")
COMPARES = ("equal", "at_or_after", "by")
FAILURE_KINDS = ("no_match", "refused", "notify_failure")


def content_hash(root: Path) -> str:
    """SHA-256 over every file under ``root`` (relative path and bytes, in path order)."""
    h = hashlib.sha256()
    for p in sorted(x for x in root.rglob("*") if x.is_file() and "__pycache__" not in x.parts):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def _str_list(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: must be a list of strings")
        return ()
    return tuple(value)


#: ``[files] card``: what exports and the dataset card say of the pack's dialogues, each key optional.
CARD_FILE = "card"
CARD_TEXT_KEYS = ("pretty_name", "about", "system_prompt", "license_id", "license_text")


def _card(raw: dict[str, Any], file: Path, problems: list[str]) -> None:
    """The card file's keys: texts, and ``tags`` a list of texts; any other key is named."""
    for key, v in raw.items():
        if key in CARD_TEXT_KEYS:
            if not isinstance(v, str) or not v.strip():
                problems.append(f"{file}: {key} must be non-empty text")
        elif key == "tags":
            if not isinstance(v, list) or not all(isinstance(t, str) and t.strip() for t in v):
                problems.append(f"{file}: tags must be a list of texts")
        else:
            problems.append(f"{file}: unknown key {key!r} (known: {', '.join((*CARD_TEXT_KEYS, 'tags'))})")


#: ``[files] shapes``: how the locale writes values in running text, a table of regular expressions per reader.
SHAPES_FILE = "shapes"
#: ``[files]`` roles the engine reads as TOML (``builtin.pack_toml``, ``templates.load_templates``):
#: each is parsed at load whatever its file is called, so a bad one is refused here, not mid-run.
TOML_ROLES = frozenset({CARD_FILE, SHAPES_FILE, "words", "lexicon", "reading", "roles", "sentences", "acts",
                        "goal_messages", "templates"})


def _shapes(raw: dict[str, Any], file: Path, problems: list[str]) -> None:
    """Each table's values are regular expressions that compile; a bad one is named with its table and key."""
    for table, entries in raw.items():
        if not isinstance(entries, dict):
            problems.append(f"{file}: {table} must be a table of regular expressions")
            continue
        for key, v in entries.items():
            if not isinstance(v, str):
                problems.append(f"{file}: [{table}] {key} must be text")
                continue
            try:
                re.compile(v)
            except re.error as e:
                problems.append(f"{file}: [{table}] {key}: not a regular expression ({e})")


def _meta(raw: dict[str, Any], file: str, problems: list[str]) -> PackMeta:
    section = raw.get("pack")
    if not isinstance(section, dict):
        problems.append(f"{file}: no [pack] section (name, version, licence, attribution, setting)")
        section = {}
    values: dict[str, str] = {}
    for key in ("name", "version", "licence", "attribution", "setting", "description", "delivers"):
        v = section.get(key, "")
        if not isinstance(v, str):
            problems.append(f"{file}: [pack] {key} must be text")
            v = ""
        if key not in ("description", "delivers") and not v.strip():
            problems.append(f"{file}: [pack] {key} is missing")
        values[key] = v.strip()
    name = values["name"]
    if name and not all(c.isalnum() or c in "-_" for c in name):
        problems.append(f"{file}: [pack] name {name!r}: use letters, digits, '-' and '_' only")
    return PackMeta(**values)


def _rules(raw: dict[str, Any], file: str, problems: list[str]) -> dict[str, SlotRule]:
    rules: dict[str, SlotRule] = {}
    for key, spec in (raw.get("slots") or {}).items():
        where = f"{file}: [slots.\"{key}\"]"
        if not isinstance(spec, dict) or key.count(".") != 1:
            problems.append(f"{where}: each slot rule is a table keyed \"Service.slot\"")
            continue
        fmt = spec.get("format", "text")
        compare = spec.get("compare", "equal")
        if fmt not in FORMATS:
            problems.append(f"{where}: format {fmt!r} is not one of {list(FORMATS)}")
            fmt = "text"
        if compare not in COMPARES:
            problems.append(f"{where}: compare {compare!r} is not one of {list(COMPARES)}")
            compare = "equal"
        low, high = spec.get("min"), spec.get("max")
        for bound, v in (("min", low), ("max", high)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                problems.append(f"{where}: {bound} must be a whole number")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(f"{where}: min {low} is above max {high}")
        generated = spec.get("generated", False)
        if not isinstance(generated, bool):
            problems.append(f"{where}: generated must be true or false")
            generated = False
        unit = spec.get("unit", "")
        if not isinstance(unit, str):
            problems.append(f"{where}: unit must be text")
            unit = ""
        unknown = sorted(set(spec) - {"format", "compare", "min", "max", "unit", "from", "generated"})
        if unknown:
            problems.append(f"{where}: unknown field(s) {unknown}")
        rules[key] = SlotRule(format=fmt, minimum=low if isinstance(low, int) else None,
                              maximum=high if isinstance(high, int) else None, compare=compare,
                              from_slots=_str_list(spec.get("from"), f"{where} from", problems), generated=generated,
                              unit=unit)
    return rules


def _failures(raw: dict[str, Any], file: str, problems: list[str]) -> tuple[Failure, ...]:
    out = []
    for n, spec in enumerate(raw.get("failures") or []):
        where = f"{file}: [[failures]] #{n + 1}"
        kind = spec.get("kind", "")
        if kind not in FAILURE_KINDS:
            problems.append(f"{where}: kind {kind!r} is not one of {list(FAILURE_KINDS)}")
            continue
        rate = spec.get("rate", 0.0)
        if not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0:
            problems.append(f"{where}: rate must be a number from 0 to 1")
            rate = 0.0
        out.append(Failure(service=str(spec.get("service", "")), intent=str(spec.get("intent", "")), kind=kind,
                           alternative_slots=_str_list(spec.get("alternative"), f"{where} alternative", problems),
                           rate=float(rate)))
    return tuple(out)


def _user_states(raw: dict[str, Any], root: Path, file: str, problems: list[str]) -> tuple[UserState, ...]:
    out = []
    for n, spec in enumerate(raw.get("user_state") or []):
        where = f"{file}: [[user_state]] #{n + 1}"
        if not isinstance(spec.get("table"), str):
            problems.append(f"{where}: table (a CSV or JSON Lines file of the user's records) is missing")
            continue
        rows = read_rows(root / spec["table"], problems)
        out.append(UserState(service=str(spec.get("service", "")), rows=tuple(rows), key=str(spec.get("key", "")),
                             intents=_str_list(spec.get("intents"), f"{where} intents", problems),
                             amount_column=str(spec.get("amount_column", "")),
                             amount_slot=str(spec.get("amount_slot", ""))))
    return tuple(out)


def _diagnoses(raw: dict[str, Any], root: Path, file: str, problems: list[str]) -> tuple[Diagnosis, ...]:
    out = []
    for n, spec in enumerate(raw.get("diagnosis") or []):
        where = f"{file}: [[diagnosis]] #{n + 1}"
        if not isinstance(spec.get("table"), str):
            problems.append(f"{where}: table (a CSV of facts -> step) is missing")
            continue
        path = root / spec["table"]
        asks = _str_list(spec.get("asks"), f"{where} asks", problems)
        rows = []
        for i, r in enumerate(read_rows(path, problems), start=1):
            missing = [c for c in (*asks, "step", "fixes") if c not in r]
            if missing:
                problems.append(f"{path}: row {i}: no column(s) {missing} (a diagnosis row has the asked slots, "
                                "step and fixes)")
                continue
            if r["fixes"].lower() not in ("yes", "no", "true", "false"):
                problems.append(f"{path}: row {i}: fixes must be yes or no, not {r['fixes']!r}")
                continue
            rows.append(DiagnosisRow(when={a: r[a] for a in asks if r[a]}, step=r["step"],
                                     fixes=r["fixes"].lower() in ("yes", "true")))
        out.append(Diagnosis(service=str(spec.get("service", "")), asks=asks, rows=tuple(rows),
                             fallback_intent=str(spec.get("fallback_intent", "")),
                             step_slot=str(spec.get("step_slot", "step"))))
    return tuple(out)


def load_pack(path: Path | str) -> Pack:
    """Load and check the pack in folder ``path`` (or the folder of a ``pack.toml``); raise ``PackError``."""
    root = Path(path)
    if root.name == PACK_FILE:
        root = root.parent
    file = root / PACK_FILE
    problems: list[str] = []
    if not root.is_dir():
        raise PackError([f"{root}: no such folder (a pack is a folder with {PACK_FILE} and schema.json)"])
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError([f"{file}: no such file (a pack folder holds {PACK_FILE}; `goalconvo packs new` writes one)"])
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PackError([f"{file}: not valid TOML: {e}"])
    meta = _meta(raw, str(file), problems)
    schema_name = (raw.get("pack") or {}).get("schema", "schema.json")
    services = read_schema(root / str(schema_name), problems)
    entities: dict[str, tuple[dict[str, str], ...]] = {}
    per_call: set[str] = set()
    entity_files: dict[str, str] = {}
    extra_columns: dict[str, tuple[str, ...]] = {}
    service_words: dict[str, tuple[str, ...]] = {}
    for name, spec in (raw.get("services") or {}).items():
        if not isinstance(spec, dict):
            problems.append(f"{file}: [services.{name}] must be a table")
            continue
        if spec.get("per_call", False) is True:
            per_call.add(name)
        if isinstance(spec.get("entities"), str):
            entities[name] = tuple(read_rows(root / spec["entities"], problems))
            entity_files[name] = spec["entities"]
        if "extra_columns" in spec:
            extra_columns[name] = _str_list(spec["extra_columns"], f"{file}: [services.{name}] extra_columns", problems)
        if "words" in spec:
            service_words[name] = _str_list(spec["words"], f"{file}: [services.{name}] words", problems)
        unknown = sorted(set(spec) - {"entities", "per_call", "extra_columns", "words"})
        if unknown:
            problems.append(f"{file}: [services.{name}]: unknown field(s) {unknown}")
    loc = raw.get("locale") or {}
    locale = Locale(**{k: str(v) for k, v in loc.items() if k in Locale.__dataclass_fields__})
    for k in sorted(set(loc) - set(Locale.__dataclass_fields__)):
        problems.append(f"{file}: [locale] unknown field {k!r}")
    if locale.clock not in CLOCKS:
        problems.append(f"{file}: [locale] clock {locale.clock!r} is not one of {', '.join(CLOCKS)}")
    files = raw.get("files") or {}
    slot_words: dict[str, str] = {}
    for slot, words in (raw.get("slot_words") or {}).items():
        if isinstance(words, str) and words.strip():
            slot_words[slot] = words
        else:
            problems.append(f"{file}: [slot_words] {slot}: must be non-empty text (how people name the slot)")
    pack = Pack(meta=meta, services=tuple(services), entities=entities, per_call=frozenset(per_call), locale=locale,
                slot_rules=_rules(raw, str(file), problems), failures=_failures(raw, str(file), problems),
                user_states=_user_states(raw, root, str(file), problems),
                diagnoses=_diagnoses(raw, root, str(file), problems),
                content_hash=content_hash(root), root=str(root),
                extras={str(k): str(v) for k, v in files.items()}, extra_columns=extra_columns,
                entity_files=entity_files, service_words=service_words, slot_words=slot_words)
    for role, rel in pack.extras.items():
        if not (root / rel).is_file():
            problems.append(f"{file}: [files] {role} = {rel!r}: no such file in the pack")
    cross_check(pack, str(file), problems)
    if GOAL_MIX_FILE in pack.extras and (root / pack.extras[GOAL_MIX_FILE]).is_file():
        goal_mix(pack, problems)
    for role, rel in pack.extras.items():
        if (role in TOML_ROLES or rel.endswith(".toml")) and (root / rel).is_file():
            try:
                parsed = tomllib.loads((root / rel).read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                problems.append(f"{root / rel}: not valid TOML: {e}")
                continue
            if role == CARD_FILE:
                _card(parsed, root / rel, problems)
            elif role == SHAPES_FILE:
                _shapes(parsed, root / rel, problems)
    if problems:
        raise PackError(problems)
    return pack
