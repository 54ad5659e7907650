"""Goals of a pack: read from its goal file (``packs import-sgd`` writes one), or drawn from the pack.

Every goal names its pack (``Pack.ref``: name, version, content hash), so a worker holding
another version of the pack refuses it rather than generating with the wrong one.

Drawn goals (``generate_pack_goals``) read only the pack: an intent of a service, its
required values from an entity row (a search), the user's own records (a visit to move, an
account), a diagnosis row (a fault), or the slot's known values; requests among the result
slots; a refusal first at the pack's failure rate; a booking after a search where the service
has one.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from goalconvo.core.records import Goal
from goalconvo.packs.model import Intent, Pack, Service
from goalconvo.packs.sgd_import import settled_tasks
from goalconvo.packs.values import amount_of, money_text

_ANY = "dontcare"


def goal_problem(goal: Goal, pack: Pack) -> str | None:
    """Why ``goal`` cannot run on ``pack`` (another pack or version, a service or intent it lacks), or None."""
    if goal.pack != pack.ref:
        return (f"goal {goal.goal_id} names pack {goal.pack or 'MultiWOZ (no pack)'}, this worker holds {pack.ref}: "
                "start the worker with that pack (--pack), or make the goals again from this one")
    for i, task in enumerate(goal.tasks):
        svc = pack.service(task.service)
        if svc is None:
            return f"goal {goal.goal_id}, task {i}: pack {pack.meta.name} has no service {task.service!r}"
        if svc.intent(task.intent) is None:
            return f"goal {goal.goal_id}, task {i}: service {task.service!r} has no intent {task.intent!r}"
        for slot in (*task.inform, *task.request):
            if svc.slot(slot) is None:
                return f"goal {goal.goal_id}, task {i}: service {task.service!r} has no slot {slot!r}"
    return None


def _settled(pack: Pack, raw_tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return settled_tasks(pack.services, raw_tasks)


def read_pack_goals(pack: Pack, path: Path | None = None) -> list[Goal]:
    """The goals of the pack's goal file (``[files] goals`` in pack.toml, or ``path``), as Goal records."""
    path = path or (Path(pack.root) / pack.extras["goals"] if "goals" in pack.extras else None)
    if path is None:
        raise ValueError(f"pack {pack.meta.name} has no goal file ([files] goals in pack.toml): draw goals with --goals N")
    goals = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            named = str(raw.get("pack") or "")
            if named and named != pack.ref and named != pack.meta.name:
                raise ValueError(f"a goal names pack {named}; this is {pack.ref}")
            goal = Goal.model_validate({
                "goal_id": f"{pack.meta.name}:{raw.get('source_dialogue') or n}",
                "pack": pack.ref,
                "tasks": _settled(pack, raw["tasks"]),
                "user": raw.get("user"),
                "source": f"pack:{pack.meta.name}",
            })
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise ValueError(f"{path}, line {n}: {str(exc).splitlines()[0]}") from None
        problem = goal_problem(goal, pack)
        if problem:
            raise ValueError(f"{path}, line {n}: {problem}")
        goals.append(goal)
    return goals


# -- drawing goals from the pack ----------------------------------------------------------------------


@dataclass
class _GoalFileShape:
    """What a pack's goal file says beyond single goals (an imported pack's goals come from real dialogues):
    the values each slot takes, how often a goal opens with each intent, how often a second task follows
    it, and how often each optional slot is given. Drawn goals follow these rates with fresh values, so
    they are as long as the dialogues the pack was imported from; a pack without a goal file keeps the
    defaults."""

    values: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    starts: Counter[tuple[str, str]] = field(default_factory=Counter)
    followed: Counter[tuple[str, str]] = field(default_factory=Counter)
    given: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    tasks: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (service, first intent) -> the intents of the same service seen second, with their counts.
    seconds: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)

    def follow_rate(self, service: str, intent: str, default: float) -> float:
        n = self.starts[(service, intent)]
        return self.followed[(service, intent)] / n if n >= 5 else default

    def optional_rate(self, service: str, intent: str, slot: str, default: float) -> float:
        n = self.tasks[(service, intent)]
        return self.given[(service, intent, slot)] / n if n >= 5 else default


_GOAL_FILE_SHAPES: dict[str, _GoalFileShape] = {}


def _goal_file(pack: Pack) -> _GoalFileShape:
    """The pack's goal file read once per pack version (``_GoalFileShape``); empty where it has none."""
    if pack.ref not in _GOAL_FILE_SHAPES:
        shape = _GoalFileShape()
        rel = pack.extras.get("goals")
        if rel and pack.root and (Path(pack.root) / rel).is_file():
            for line in (Path(pack.root) / rel).read_text(encoding="utf-8").splitlines():
                try:
                    tasks = [t for t in json.loads(line).get("tasks") or [] if isinstance(t, dict)]
                except (ValueError, AttributeError):
                    continue
                if tasks:
                    first = (str(tasks[0].get("service")), str(tasks[0].get("intent")))
                    shape.starts[first] += 1
                    shape.followed[first] += len(tasks) > 1
                    if len(tasks) > 1 and str(tasks[1].get("service")) == first[0]:
                        shape.seconds.setdefault(first, Counter())[str(tasks[1].get("intent"))] += 1
                for t in tasks:
                    svc, intent = str(t.get("service")), str(t.get("intent"))
                    shape.tasks[(svc, intent)] += 1
                    for k, v in (t.get("inform") or {}).items():
                        shape.given[(svc, intent, str(k))] += 1
                        vals = shape.values.setdefault((svc, str(k)), [])
                        if isinstance(v, str) and v not in vals:
                            vals.append(v)
        _GOAL_FILE_SHAPES[pack.ref] = shape
    return _GOAL_FILE_SHAPES[pack.ref]


def _goal_file_values(pack: Pack) -> dict[tuple[str, str], list[str]]:
    """(service, slot) -> the values the pack's goal file gives (an imported pack's dates, names, amounts)."""
    return _goal_file(pack).values


def _values(pack: Pack, svc: Service, slot: str) -> list[str]:
    """A slot's values in the pack: categorical ones, entity columns, then the goal file's."""
    s = svc.slot(slot)
    found = list(s.possible_values) if s else []
    for row in pack.entities.get(svc.name, ()):
        if row.get(slot) and row[slot] not in found:
            found.append(row[slot])
    for v in _goal_file_values(pack).get((svc.name, slot), []):
        if v not in found:
            found.append(v)
    return [v for v in found if v != _ANY]


def _value(pack: Pack, svc: Service, slot: str, rng: random.Random) -> str:
    pool = _values(pack, svc, slot)
    if pool:
        return rng.choice(pool)
    rule = pack.rule(svc.name, slot)
    if rule.format == "time":
        return f"{rng.randrange(9, 17)}:{rng.choice(('00', '15', '30', '45'))}"
    if rule.format == "weekday":
        return rng.choice(("monday", "tuesday", "wednesday", "thursday", "friday"))
    if rule.format == "count":
        lo, hi = rule.minimum if rule.minimum is not None else 1, rule.maximum if rule.maximum is not None else 6
        return str(rng.randint(max(lo, 1), max(min(hi, 8), 1)))
    return ""


def _requests(svc: Service, intent: Intent, taken: set[str], rng: random.Random) -> list[str]:
    pool = [s for s in intent.result_slots if s not in taken and not (svc.slot(s) and svc.slot(s).is_categorical)]  # type: ignore[union-attr]
    return rng.sample(pool, k=min(len(pool), rng.choice((0, 1, 1, 2, 2)))) if pool else []


def _failure_rate(pack: Pack, service: str, intent: str) -> float:
    return next((f.rate for f in pack.failures if f.service == service and f.intent == intent), 0.0)


def _search_then_book(pack: Pack, svc: Service, search: Intent, rng: random.Random) -> list[dict[str, Any]] | None:
    rows = pack.entities.get(svc.name, ())
    if not rows:
        return None
    row = rng.choice(rows)
    inform = {s: row[s] for s in search.required_slots if row.get(s)}
    for s in search.optional_slots:
        if row.get(s) and rng.random() < 0.4:
            inform[s] = row[s]
    if len(inform) < len(search.required_slots):
        return None
    tasks = [{"service": svc.name, "intent": search.name, "inform": inform,
              "request": _requests(svc, search, set(inform), rng), "outcome": "none"}]
    books = [i for i in svc.intents if i.is_transactional and any(s in row for s in i.required_slots)]
    if books and rng.random() < 0.85:
        book = rng.choice(books)
        values = {s: _value(pack, svc, s, rng) for s in book.required_slots if s not in row}
        if all(values.values()):
            failed = rng.random() < _failure_rate(pack, svc.name, book.name)
            tasks.append({"service": svc.name, "intent": book.name, "inform": values, "request": [],
                          "outcome": "success", "failed_first": failed})
    return tasks


def _own_record(pack: Pack, svc: Service, intent: Intent, rng: random.Random) -> tuple[list[dict[str, Any]], str] | None:
    us = next((u for u in pack.user_states if u.service == svc.name and intent.name in u.intents), None)
    if us is None or not us.rows:
        return None
    record = rng.choice(us.rows)
    user = record.get("user", "")
    mine = [r for r in us.rows if r.get("user") == user]
    inform: dict[str, str] = {}
    for s in intent.required_slots:
        if s in record:
            inform[s] = record[s]
        elif us.amount_slot and s == us.amount_slot:
            balance = record.get(us.amount_column, "") or "0"
            have = amount_of(balance) or 0.0
            failed = rng.random() < _failure_rate(pack, svc.name, intent.name)
            amount = int(have * 1.5) + 10 if failed else max(5, int(have * rng.uniform(0.1, 0.6)) // 5 * 5)
            # Written as the balance is ("£1,240.50" gives "£620"): a user says a sum in its own currency.
            inform[s] = money_text(float(amount), balance.split(".")[0])
        else:
            # Another of the user's records ("to_account": the user's other account), else a new value ("new_day").
            column = next((c for c in record if c != us.key and s.endswith(c)), "")
            other = [r for r in mine if r is not record and r.get(column)]
            inform[s] = other[0][column] if column and other else _value(pack, svc, s, rng)
    if not all(inform.values()):
        return None
    failed = any(s == us.amount_slot for s in inform) and (amount_of(inform.get(us.amount_slot, "")) or 0.0) > (
        amount_of(record.get(us.amount_column, "")) or 0.0)
    tasks = [{"service": svc.name, "intent": intent.name, "inform": inform, "request": [], "outcome": "success",
              "failed_first": failed, "record": record.get(us.key)}]
    reader = next((svc.intent(i) for i in us.intents if svc.intent(i) and us.amount_column in svc.intent(i).result_slots  # type: ignore[union-attr]
                   and not svc.intent(i).is_transactional), None)  # type: ignore[union-attr]
    if us.amount_slot in inform and reader is not None and rng.random() < 0.5:
        # Then a balance read of the account the money left: the dialogue's figures must agree.
        tasks.append({"service": svc.name, "intent": reader.name, "record": record.get(us.key), "request": [], "outcome": "none",
                      "inform": {s: record[s] for s in reader.required_slots if s in record}})
    return (tasks, user)


def _fault(pack: Pack, svc: Service, rng: random.Random) -> list[dict[str, Any]] | None:
    table = next((d for d in pack.diagnoses if d.service == svc.name), None)
    if table is None or not table.rows:
        return None
    row = rng.choice(table.rows)
    facts = {k: v for k, v in row.when.items() if v}
    for k in table.asks:
        # A fact the row leaves open (any symptom) is still one the User has: drawn from the slot's values.
        if not facts.get(k):
            values = list(_values(pack, svc, k))
            if values:
                facts[k] = rng.choice(values)
    diagnose = next((i for i in svc.intents if not i.is_transactional and i.name != table.fallback_intent), None)
    if diagnose is None:
        return None
    # The row that decides these facts (the first that fits, as the desk reads the table) sets the outcome.
    decided = table.row_for(facts) or row
    fixed = decided.fixes and bool(decided.step)
    tasks = [{"service": svc.name, "intent": diagnose.name, "inform": facts, "request": [], "outcome": "success" if fixed else "failure"}]
    if not fixed:
        tasks.append({"service": svc.name, "intent": table.fallback_intent, "inform": {}, "request": [], "outcome": "success"})
        visit = next((i for i in svc.intents if i.is_transactional and i.name != table.fallback_intent), None)
        if visit is not None and rng.random() < 0.6:
            inform = {s: _value(pack, svc, s, rng) for s in visit.required_slots if s not in {"ticket_id"} and _value(pack, svc, s, rng)}
            tasks.append({"service": svc.name, "intent": visit.name, "inform": inform, "request": [], "outcome": "success"})
    return tasks


def _short(seed: int | str) -> str:
    return hashlib.blake2b(str(seed).encode(), digest_size=4).hexdigest()


def _call_tasks(pack: Pack, svc: Service, intent: Intent, rng: random.Random) -> list[dict[str, Any]] | None:
    """A call's task (a balance read), often followed by the service's other kind of call (then a transfer)."""
    def task(it: Intent) -> dict[str, Any] | None:
        inform = {s: _value(pack, svc, s, rng) for s in it.required_slots}
        for s in it.optional_slots:
            if rng.random() < shape.optional_rate(svc.name, it.name, s, 0.3) and _value(pack, svc, s, rng):
                inform[s] = _value(pack, svc, s, rng)
        if not all(inform.values()):
            return None
        failed = it.is_transactional and rng.random() < _failure_rate(pack, svc.name, it.name)
        return {"service": svc.name, "intent": it.name, "inform": inform, "request": [],
                "outcome": "success" if it.is_transactional else "none", "failed_first": failed}

    shape = _goal_file(pack)
    first = task(intent)
    if first is None:
        return None
    # A read, then the service's call (a balance, then a transfer); where the service is searched, a
    # booking follows its own search (``_search_then_book``), never the other way round.
    others = [i for i in svc.intents if i.is_transactional] if not intent.is_transactional else []
    seen = shape.seconds.get((svc.name, intent.name))
    if seen:  # the goal file shows what follows (a transfer, then a balance read): as often
        named = {i.name: i for i in svc.intents if i.name != intent.name}
        others = [named[k] for k in seen if k in named]
        weights = [seen[i.name] for i in others]
    else:
        weights = [1] * len(others)
    searched = svc.name in pack.entities and svc.name not in pack.per_call
    if others and not searched and rng.random() < shape.follow_rate(svc.name, intent.name, 0.7):
        second = task(rng.choices(others, weights)[0] if seen else rng.choice(others))
        if second is not None:
            return [first, second]
    return [first]


def generate_pack_goals(pack: Pack, n: int, seed: int | str = 0) -> list[Goal]:
    """``n`` goals drawn from the pack alone (seeded), each naming the pack's ref."""
    rng = random.Random(f"{seed}:{pack.ref}")
    starts: list[tuple[Service, Intent]] = []
    for svc in pack.services:
        diag = next((d for d in pack.diagnoses if d.service == svc.name), None)
        for intent in svc.intents:
            if diag is not None and intent.name == diag.fallback_intent:
                continue
            starts.append((svc, intent))
    # Where the goal file shows how goals open, intents open drawn goals as often (each kept possible).
    opened = _goal_file(pack).starts
    weights = [opened[(svc.name, it.name)] + (1 if opened else 0) or 1 for svc, it in starts]
    goals: list[Goal] = []
    drawn: set[str] = set()
    tries = 0
    while len(goals) < n and tries < n * 50:
        tries += 1
        svc, intent = rng.choices(starts, weights)[0] if opened else rng.choice(starts)
        user = None
        made: list[dict[str, Any]] | None
        if any(d.service == svc.name for d in pack.diagnoses):
            made = _fault(pack, svc, rng)
        elif any(u.service == svc.name and intent.name in u.intents for u in pack.user_states):
            got = _own_record(pack, svc, intent, rng)
            made, user = (got if got else (None, None))
        elif not intent.is_transactional and svc.name in pack.entities and svc.name not in pack.per_call:
            made = _search_then_book(pack, svc, intent, rng)
        else:
            made = _call_tasks(pack, svc, intent, rng)
        if not made:
            continue
        # A goal drawn twice would only make a near-duplicate dialogue: draw again.
        key = json.dumps([user, made], sort_keys=True)
        if key in drawn:
            continue
        drawn.add(key)
        goals.append(Goal.model_validate({"goal_id": f"{pack.meta.name}-drawn-{_short(seed)}-{len(goals):05d}", "pack": pack.ref,
                                          "tasks": made, "user": user, "source": f"pack:{pack.meta.name}:drawn"}))
    if len(goals) < n:
        raise ValueError(f"pack {pack.meta.name}: drew only {len(goals)} different goals of the {n} asked for "
                         "(its entities, records and diagnosis rows allow no more)")
    return goals
