"""A pack from SGD's own files: ``schema.json`` and dialogue files (``dialogues*.json``).

What is rebuilt, and from where:

- the schema: the chosen services, as SGD defines them;
- entity rows: the ``service_results`` of calls to a service's searching (non-transactional)
  intents, each distinct row once. A service whose searches return one row per call (a bank's
  balance) has no entities: its results are made per call (``per_call``), and its result slots
  that the intent does not take are marked ``generated``;
- goals (``goals.jsonl``): per dialogue, per intent the user activated, the last state's slot
  values, the slots requested, and whether the service answered NOTIFY_SUCCESS or
  NOTIFY_FAILURE (a failure followed by a success is a goal with a first refusal);
- failures: an intent refused in some dialogues gets a ``notify_failure`` rule with the share
  of its dialogues, and the slots the desk offered after refusing as its alternative;
- slot formats: a slot whose every value is a clock time is ``time``; an ISO date, ``date`` (said
  in words, "March 8th", by the desk and the User); a whole number, ``count``
- the clock: where the dialogues' people say most times with am/pm ("3:30 pm" for 15:30), the
  pack's ``[locale] clock`` is ``12h`` and its turns say times so
  (at least 0; tighter bounds, such as people 1-20, are the pack author's to add).

Works on any SGD service (nothing here names one). The pack says where it came from:
SGD is CC BY-SA 4.0, and so is what is derived from it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalconvo.packs.model import PackError, Service
from goalconvo.packs.schema import read_schema, schema_json
from goalconvo.packs.tables import write_jsonl
from goalconvo.packs.values import date_wordings, is_clock_time

GOAL_VERSION = 1
SGD_LICENCE = "CC BY-SA 4.0"
SGD_ATTRIBUTION = ("Derived from the Schema-Guided Dialogue dataset (Rastogi, Zang, Sunkara, Gupta, Khaitan, AAAI 2020), "
                   "github.com/google-research-datasets/dstc8-schema-guided-dialogue, CC BY-SA 4.0; "
                   "converted by goalconvo packs import-sgd")
_INT = re.compile(r"[0-9]{1,6}")
_AM_PM = re.compile(r"\b[0-9]{1,2}(:[0-9]{2})?\s*[ap]\.?m\b|\b(morning|afternoon|evening|noon)\b", re.I)


@dataclass
class ImportReport:
    """What an import made: counts a user checks against the source."""

    out: Path
    services: list[str]
    dialogues: int
    goals: int
    entity_rows: dict[str, int]
    per_call: list[str]
    skipped: int
    #: Dialogues whose goal another dialogue had already given (written once).
    merged: int = 0


def _dialogue_files(source: Path) -> list[Path]:
    files = sorted(source.glob("dialogues*.json"))
    if not files:
        raise PackError([f"{source}: no dialogues*.json files (SGD's layout: schema.json beside dialogues_NNN.json)"])
    return files


def _read_dialogues(files: list[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PackError([f"{f}: not valid JSON: {e}"])
        if not isinstance(data, list):
            raise PackError([f"{f}: a dialogue file is a list of dialogues (SGD's layout)"])
        out.extend(d for d in data if isinstance(d, dict))
    return out


def goal_of(dialogue: dict[str, Any], wanted: set[str]) -> dict[str, Any] | None:
    """The goal one SGD dialogue pursued, over the ``wanted`` services, or None if it used none."""
    tasks: dict[tuple[str, str], dict[str, Any]] = {}
    order: list[tuple[str, str]] = []
    active: dict[str, str] = {}
    #: Per service: the slots the real desk told (INFORM, OFFER) anywhere in the dialogue.
    told: dict[str, set[str]] = {}
    # The user's words for a value ("San Fran") -> SGD's canonical value ("San Francisco"), which the
    # service's results (the pack's entity rows) use.
    canon: dict[tuple[str, str, str], str] = {}
    for turn in dialogue.get("turns", []):
        for frame in turn.get("frames", []):
            for action in frame.get("actions", []):
                for v, c in zip(action.get("values") or [], action.get("canonical_values") or []):
                    if isinstance(v, str) and isinstance(c, str):
                        canon[(str(frame.get("service")), str(action.get("slot")), v)] = c
    for turn in dialogue.get("turns", []):
        for frame in turn.get("frames", []):
            service = frame.get("service")
            if service not in wanted:
                continue
            if turn.get("speaker") == "USER":
                state = frame.get("state") or {}
                intent = state.get("active_intent") or "NONE"
                if intent == "NONE":
                    continue
                active[service] = intent
                key = (service, intent)
                if key not in tasks:
                    tasks[key] = {"service": service, "intent": intent, "inform": {}, "request": [],
                                  "outcome": "none", "failed_first": False}
                    order.append(key)
                task = tasks[key]
                task["inform"] = {k: canon.get((service, k, v[0]), v[0]) for k, v in (state.get("slot_values") or {}).items() if v}
                for r in state.get("requested_slots") or []:
                    if r not in task["request"]:
                        task["request"].append(r)
            else:
                intent = active.get(service)
                if intent is None:
                    continue
                task = tasks[(service, intent)]
                for action in frame.get("actions", []):
                    if action.get("act") in ("INFORM", "OFFER") and action.get("slot"):
                        told.setdefault(service, set()).add(str(action["slot"]))
                    if action.get("act") == "NOTIFY_FAILURE":
                        task["outcome"] = "failure"
                    elif action.get("act") == "NOTIFY_SUCCESS":
                        task["failed_first"] = task["outcome"] == "failure" or task["failed_first"]
                        task["outcome"] = "success"
    if not order:
        return None
    for task in tasks.values():
        # A request the real desk never answered has no value anywhere to tell: not part of the goal.
        task["request"] = [r for r in task["request"] if r in told.get(task["service"], set())]
    return {"version": GOAL_VERSION, "source_dialogue": str(dialogue.get("dialogue_id", "")),
            "services": sorted({s for s, _ in order}), "tasks": [tasks[k] for k in order]}


def settled_tasks(services: tuple[Service, ...] | list[Service], raw_tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SGD's state carries a service's values from intent to intent; each task keeps what it adds.

    A task keeps the values its intent takes (required and optional slots) that differ from what the
    user said for an earlier task of the service; a value a search returned (the doctor the user
    picked) is not the user's to say.
    """
    by_name = {s.name: s for s in services}
    out = []
    seen: dict[str, dict[str, str]] = {}
    for t in raw_tasks:
        svc = by_name.get(str(t.get("service")))
        intent = svc.intent(str(t.get("intent"))) if svc else None
        inform = dict(t.get("inform") or {})
        if svc is not None and intent is not None:
            takes = {*intent.required_slots, *intent.optional_slots}
            earlier = seen.setdefault(svc.name, {})
            inform = {k: v for k, v in inform.items() if k in takes and earlier.get(k) != v}
            earlier.update(inform)
        out.append({**t, "inform": inform})
    return out


def _formats(values: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for slot, vals in values.items():
        if vals and all(is_clock_time(v) for v in vals):
            rules[slot] = {"format": "time"}
        elif vals and all(date_wordings(v) for v in vals):
            # SGD's canonical dates ("2019-03-08"): kept so in goals and acts, said in words in turns.
            rules[slot] = {"format": "date"}
        elif vals and all(_INT.fullmatch(v) for v in vals):
            # Whole numbers, at least 0; the seen values are not bounds a new goal must keep.
            rules[slot] = {"format": "count", "min": 0}
    return rules


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _pack_toml(name: str, services: list[Service], entity_files: dict[str, str], per_call: list[str],
               rules: dict[str, dict[str, Any]], failures: list[dict[str, Any]], source: Path, clock: str = "24h") -> str:
    setting = "; ".join(s.description for s in services if s.description) or "a service desk"
    lines = [
        f"# Converted from SGD files in {source} by `goalconvo packs import-sgd`.",
        "# SGD is CC BY-SA 4.0: this pack is derived from it and stays under CC BY-SA 4.0.",
        "[pack]", f"name = {_toml_str(name)}", 'version = "1.0"', f"licence = {_toml_str(SGD_LICENCE)}",
        f"attribution = {_toml_str(SGD_ATTRIBUTION)}",
        f"setting = {_toml_str(setting)}",
        f"description = {_toml_str('Services ' + ', '.join(s.name for s in services) + ' of SGD')}", "",
        "[files]", 'goals = "goals.jsonl"', "",
    ]
    if clock != "24h":
        lines += ["[locale]", "# The dialogues' people said most times so (\"3:30 pm\"); values stay H:MM.",
                  f"clock = {_toml_str(clock)}", ""]
    for s in services:
        lines.append(f"[services.{_toml_str(s.name)}]")
        if s.name in entity_files:
            lines.append(f"entities = {_toml_str(entity_files[s.name])}")
        if s.name in per_call:
            lines.append("# Searches return one row per call: results are made per call, not looked up.")
            lines.append("per_call = true")
        lines.append("")
    for key, rule in sorted(rules.items()):
        lines.append(f"[slots.{_toml_str(key)}]")
        for k, v in rule.items():
            lines.append(f"{k} = {json.dumps(v)}")
        lines.append("")
    for f in failures:
        lines += ["[[failures]]", f"service = {_toml_str(f['service'])}", f"intent = {_toml_str(f['intent'])}",
                  'kind = "notify_failure"', f"alternative = {json.dumps(f['alternative'])}",
                  f"rate = {f['rate']:.3f}", ""]
    return "\n".join(lines)


def import_sgd(source: Path, out: Path, name: str, services: list[str] | None = None) -> ImportReport:
    """Write a pack to ``out`` from SGD's files in ``source``; ``services`` picks some (default: all)."""
    problems: list[str] = []
    schema = read_schema(source / "schema.json", problems)
    if problems:
        raise PackError(problems)
    by_name = {s.name: s for s in schema}
    chosen = services or list(by_name)
    unknown = [s for s in chosen if s not in by_name]
    if unknown:
        raise PackError([f"{source / 'schema.json'}: no service(s) {unknown} (it has {sorted(by_name)})"])
    picked = [by_name[s] for s in chosen]
    wanted = set(chosen)
    dialogues = _read_dialogues(_dialogue_files(source))
    rows: dict[str, dict[tuple, dict[str, str]]] = defaultdict(dict)
    rows_per_call: dict[str, list[int]] = defaultdict(list)
    values: dict[str, list[str]] = defaultdict(list)
    #: Times the dialogues' people said with am/pm (True) or without: their desk's clock.
    times_said: dict[bool, int] = {True: 0, False: 0}
    alternatives: dict[tuple[str, str], set[str]] = defaultdict(set)
    intent_dialogues: dict[tuple[str, str], int] = defaultdict(int)
    failed_dialogues: dict[tuple[str, str], int] = defaultdict(int)
    goals: list[dict[str, Any]] = []
    seen_goals: dict[str, dict[str, Any]] = {}
    skipped = 0
    search_columns = {s.name: {r for i in s.intents if not i.is_transactional for r in i.result_slots} for s in picked}
    # The column naming an entity: the searched one a booking takes (doctor_name, dentist_name).
    name_column = {s.name: next((r for i in s.intents if i.is_transactional for r in i.required_slots
                                 if r in search_columns[s.name]), "") for s in picked}
    #: (service, entity name) -> facts the real desk told of it (a booking's results lack a dentist's city).
    told_facts: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for d in dialogues:
        goal = goal_of(d, wanted)
        if goal is None:
            skipped += 1
            continue
        goal["pack"] = name
        goal["tasks"] = settled_tasks(picked, goal["tasks"])
        # Many SGD dialogues pursue the very same goal: it is written once (a second would only make a
        # near-duplicate dialogue), its dialogues counted.
        key = json.dumps(goal["tasks"], sort_keys=True)
        if key in seen_goals:
            seen_goals[key]["dialogues"] += 1
            continue
        goal["dialogues"] = 1
        seen_goals[key] = goal
        goals.append(goal)
        for t in goal["tasks"]:
            intent_dialogues[(t["service"], t["intent"])] += 1
            if t["outcome"] == "failure" or t["failed_first"]:
                failed_dialogues[(t["service"], t["intent"])] += 1
        after_failure: dict[str, str] = {}
        talked_of: dict[str, str] = {}
        for turn in d.get("turns", []):
            for frame in turn.get("frames", []):
                service = frame.get("service")
                if service not in wanted:
                    continue
                named = (frame.get("service_call") or {}).get("parameters", {}).get(name_column[service])
                if named:
                    talked_of[service] = str(named)
                for action in frame.get("actions", []):
                    canonical = (action.get("canonical_values") or action.get("values") or [""])[0]
                    if turn.get("speaker") == "SYSTEM" and isinstance(canonical, str) and canonical:
                        if action.get("act") == "OFFER" and action.get("slot") == name_column[service]:
                            talked_of[service] = canonical
                        elif action.get("act") == "INFORM" and action.get("slot") in search_columns[service] \
                                and service in talked_of:
                            told_facts[(service, talked_of[service])].setdefault(str(action["slot"]), canonical)
                    spoken = (action.get("values") or [""])[0]
                    if isinstance(canonical, str) and is_clock_time(canonical) and isinstance(spoken, str):
                        times_said[bool(_AM_PM.search(spoken))] += 1
                    for v in action.get("canonical_values") or action.get("values") or []:
                        if isinstance(v, str) and action.get("slot") not in ("", "intent", "count"):
                            values[f"{service}.{action['slot']}"].append(v)
                    if action.get("act") == "NOTIFY_FAILURE":
                        after_failure[service] = (frame.get("service_call") or {}).get("method", "")
                    elif action.get("act") in ("OFFER", "CONFIRM") and service in after_failure \
                            and action.get("slot") and after_failure[service]:
                        alternatives[(service, after_failure[service])].add(action["slot"])
                call = frame.get("service_call") or {}
                intent = by_name[service].intent(call.get("method", "")) if call else None
                if intent is None:
                    continue
                results = [r for r in frame.get("service_results") or [] if isinstance(r, dict)]
                # A booking's result names its entity too (a doctor no search returned): its row is kept,
                # with the columns a search returns.
                columns = search_columns[service] if intent.is_transactional else None
                if results and not intent.is_transactional:
                    rows_per_call[service].append(len(results))
                for r in results:
                    row = {k: str(v) for k, v in r.items() if by_name[service].slot(k) is not None
                           and (columns is None or k in columns)}
                    if not row or (columns is not None and any(row.items() <= old.items() for old in rows[service].values())):
                        continue
                    for k, v in row.items():
                        values[f"{service}.{k}"].append(v)
                    rows[service][tuple(sorted(row.items()))] = row
    for s in picked:
        for row in rows[s.name].values():
            for k, v in told_facts.get((s.name, row.get(name_column[s.name], "")), {}).items():
                row.setdefault(k, v)
    entity_files: dict[str, str] = {}
    per_call: list[str] = []
    counts: dict[str, int] = {}
    for s in picked:
        searched = [i for i in s.intents if not i.is_transactional and i.result_slots]
        if not searched:
            continue
        if rows_per_call[s.name] and max(rows_per_call[s.name]) > 1:
            rel = f"entities/{s.name}.jsonl"
            write_jsonl(out / rel, list(rows[s.name].values()))
            entity_files[s.name] = rel
            counts[s.name] = len(rows[s.name])
        else:
            per_call.append(s.name)
    rules = _formats(values)
    for s in picked:
        columns = {c for r in rows[s.name].values() for c in r} if s.name in entity_files else set()
        for i in s.intents:
            own = set(i.required_slots) | set(i.optional_slots)
            for r in i.result_slots:
                if r not in own and r not in columns:
                    rules.setdefault(f"{s.name}.{r}", {})["generated"] = True
    failures = [{"service": s, "intent": i, "rate": failed_dialogues[(s, i)] / n,
                 "alternative": sorted(alternatives.get((s, i), set()))}
                for (s, i), n in sorted(intent_dialogues.items()) if failed_dialogues[(s, i)]]
    out.mkdir(parents=True, exist_ok=True)
    (out / "schema.json").write_text(json.dumps(schema_json(picked), indent=1) + "\n", encoding="utf-8")
    write_jsonl(out / "goals.jsonl", goals)
    (out / "pack.toml").write_text(_pack_toml(name, picked, entity_files, per_call, rules, failures, source,
                                                  "12h" if times_said[True] > times_said[False] else "24h"),
                                   encoding="utf-8")
    return ImportReport(out=out, services=chosen, dialogues=len(dialogues), goals=len(goals),
                        entity_rows=counts, per_call=per_call, skipped=skipped,
                        merged=len(dialogues) - skipped - len(goals))
