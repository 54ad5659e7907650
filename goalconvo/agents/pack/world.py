"""The services behind a pack's desk: searches over entity rows, calls that make results, the
user's own records, and diagnosis tables.

The desk (``desk.py``) calls these and never reads the goal. What the goal decides of the world
(a booking the service refuses once, as MultiWOZ's ``fail_book`` does) enters as ``refusals``:
``(service, intent)`` pairs whose first call fails.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from goalconvo.packs.model import Diagnosis, Intent, Pack, Service, UserState
from goalconvo.packs.values import amount_of, is_clock_time, money_text

DONTCARE = "dontcare"
_MONEY_WORDS = re.compile(r"amount|balance|price|cost|fee|fare|total")
#: An intent that removes the user's record it names (a visit cancelled); a ``new_x`` slot changes column ``x``.
_CANCELS = re.compile(r"(?i)cancel|delete|remove")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _minutes(text: str) -> int | None:
    return int(text.split(":")[0]) * 60 + int(text.split(":")[1]) if is_clock_time(text) else None


def matches(pack: Pack, service: str, row: dict[str, str], wanted: dict[str, str], strict: bool = True) -> bool:
    """Does an entity row fit the wanted values? Compared as the pack's slot rules say; a row without a
    wanted slot fits only when not ``strict`` (a user's record, which holds only some columns)."""
    for slot, value in wanted.items():
        if value == DONTCARE or not value:
            continue
        have = row.get(slot)
        if have is None:
            if strict:
                return False
            continue
        rule = pack.rule(service, slot)
        if rule.compare != "equal":
            a, b = _minutes(have), _minutes(value)
            if a is None or b is None or (a < b if rule.compare == "at_or_after" else a > b):
                return False
        elif have.strip().lower() != value.strip().lower():
            return False
    return True


def is_money_slot(pack: Pack, service: str, slot: str) -> bool:
    return pack.rule(service, slot).format in ("money", "price") or bool(_MONEY_WORDS.search(slot))


@dataclass
class CallResult:
    """What a service call did: ``ok``; the values it returned; for a refusal, why, and what to offer."""

    ok: bool
    values: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    alternative: dict[str, str] = field(default_factory=dict)


class World:
    """A pack's services for one dialogue: seeded, with the user's records as the dialogue changes them."""

    def __init__(self, pack: Pack, seed: str, user: str | None, refusals: set[tuple[str, str]],
                 state: dict[str, Any] | None = None, money_floor: dict[str, float] | None = None):
        self.pack = pack
        #: Per service: the largest sum the dialogue's goal moves. An amount the service makes per call
        #: (a balance) is above it, so a transfer that goes through never exceeds the balance just told
        #: (read blind: 1710 moved out of a savings balance of 1,638.45).
        self.money_floor = dict(money_floor or {})
        self.rng = random.Random(seed)
        self.user = user
        self.refusals = set(refusals)
        #: The user's records by user-state service, as the dialogue has changed them.
        self.records: dict[str, list[dict[str, str]]] = (state or {}).get("records") or {
            us.service: [dict(r) for r in us.rows if user is not None and r.get("user") == user] for us in pack.user_states
        }
        self.calls: dict[str, int] = (state or {}).get("calls", {})

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "calls": self.calls}

    # -- what the desk may look up --------------------------------------------------------------
    def user_state(self, service: str) -> UserState | None:
        return next((u for u in self.pack.user_states if u.service == service), None)

    def diagnosis(self, service: str) -> Diagnosis | None:
        return next((d for d in self.pack.diagnoses if d.service == service), None)

    def search(self, service: str, wanted: dict[str, str]) -> list[dict[str, str]]:
        """Entity rows of ``service`` that fit ``wanted`` (only the slots its table has)."""
        columns = {c for r in self.pack.entities.get(service, ()) for c in r}
        wanted = {k: v for k, v in wanted.items() if k in columns}
        return [r for r in self.pack.entities.get(service, ()) if matches(self.pack, service, r, wanted)]

    def own_records(self, service: str, wanted: dict[str, str]) -> list[dict[str, str]]:
        """The user's records of ``service`` that fit ``wanted`` on the columns they have."""
        return [r for r in self.records.get(service, []) if matches(self.pack, service, r, wanted, strict=False)]

    def diagnose(self, service: str, facts: dict[str, str]) -> tuple[str, dict[str, str] | None]:
        """``("ask", None)`` while a fact is missing, ``("step", row)`` when a row decides, ``("none", None)``."""
        table = self.diagnosis(service)
        if table is None:
            return "none", None
        for slot in table.asks:
            if slot not in facts:
                return "ask", None
        row = table.row_for(facts)
        if row is None or not row.step:
            return "none", None
        return "step", {"step": row.step, "fixes": "yes" if row.fixes else "no"}

    # -- calls ----------------------------------------------------------------------------------
    def call(self, service: Service, intent: Intent, values: dict[str, str]) -> CallResult:
        """Run a transactional intent, or a per-call lookup: refused once where the world says so."""
        key = f"{service.name}.{intent.name}"
        self.calls[key] = self.calls.get(key, 0) + 1
        us = self.user_state(service.name)
        moves_money = us is not None and bool(us.amount_slot) and us.amount_slot in intent.required_slots
        # A transfer is refused by the balance it would overdraw, not by the goal's word.
        if (service.name, intent.name) in self.refusals and self.calls[key] == 1 and not moves_money:
            return self._refuse(service, intent, values)
        if us is not None and intent.name in us.intents and intent.is_transactional:
            moved = self._change_records(us, intent, values)
            if moved is not None:
                return moved
        out = {s: values[s] for s in intent.result_slots if s in values}
        record = self._record_for(service.name, values) or self.entity_for(service.name, values)
        for slot in intent.result_slots:
            if slot in out:
                continue
            if record is not None and slot in record:
                out[slot] = record[slot]
            elif slot not in {c for r in self.pack.entities.get(service.name, ()) for c in r}:
                out[slot] = self.generate(service.name, slot)
        return CallResult(True, out)

    def _record_for(self, service: str, values: dict[str, str]) -> dict[str, str] | None:
        rows = self.own_records(service, {k: v for k, v in values.items() if k in self._columns(service)})
        return rows[0] if rows else None

    def entity_for(self, service: str, values: dict[str, str]) -> dict[str, str] | None:
        """The entity a call is about: the row that fits every value the call names of its columns."""
        rows = self.pack.entities.get(service, ())
        columns = {c for r in rows for c in r}
        named = {k: v for k, v in values.items() if k in columns}
        if not named:
            return None
        return next((r for r in rows if matches(self.pack, service, r, named)), None)

    def _columns(self, service: str) -> set[str]:
        return {c for r in self.records.get(service, []) for c in r}

    def _change_records(self, us: UserState, intent: Intent, values: dict[str, str]) -> CallResult | None:
        """A transfer moves money between the user's records; a move or cancel changes one record."""
        rows = self.records.get(us.service, [])
        if us.amount_slot and us.amount_slot in values and us.amount_column:
            source = self._record_for(us.service, {k: v for k, v in values.items() if k in self._columns(us.service)})
            amount = amount_of(values[us.amount_slot])
            if source is None or amount is None:
                return None
            have = amount_of(source.get(us.amount_column, "")) or 0.0
            if amount > have:
                # Offer a round sum the account can spare: about three quarters of what it holds.
                spare = max(1.0, float(int(have * 0.75 // 10 * 10)) or float(int(have)))
                return CallResult(False, reason="not enough money", alternative={us.amount_slot: money_text(spare, values[us.amount_slot])})
            like = source.get(us.amount_column, "0")
            source[us.amount_column] = money_text(have - amount, like)
            target = next((r for r in rows if r is not source and any(v in r.values() for k, v in values.items()
                                                                         if k != us.amount_slot and k not in source)), None)
            if target is not None:
                target[us.amount_column] = money_text((amount_of(target.get(us.amount_column, "")) or 0.0) + amount, like)
            return None
        record = self._record_for(us.service, values)
        if record is None:
            return CallResult(False, reason="no such record")
        if _CANCELS.match(intent.name):
            self.records[us.service] = [r for r in rows if r is not record]
            return None
        for slot, value in values.items():
            if slot.startswith("new_"):
                # new_day changes the record's day column: "day" itself, or one ending in it ("visit_day").
                column = next((c for c in record if c == slot[4:] or c.endswith("_" + slot[4:])), None)
                if column is not None:
                    record[column] = value
        return None

    def _refuse(self, service: Service, intent: Intent, values: dict[str, str]) -> CallResult:
        failure = next((f for f in self.pack.failures if f.service == service.name and f.intent == intent.name), None)
        # What the desk offers instead: the pack's alternative slots, else any slot the call takes.
        slots = (failure.alternative_slots if failure else ()) or intent.required_slots
        columns = {c for r in self.pack.entities.get(service.name, ()) for c in r}
        # The first slot with another value to offer: a time or a day before a whole other entity, which
        # must fit every other value of the call.
        alternative: dict[str, str] = {}
        for slot in sorted((x for x in slots if x in values), key=lambda x: (x in columns, _minutes(values[x]) is None)):
            if slot in columns:
                others = [r for r in self.search(service.name, {k: v for k, v in values.items() if k in columns and k != slot})
                          if r.get(slot) and r[slot] != values[slot]]
                other = others[0][slot] if others else ""
            else:
                other = self.other_value(service.name, slot, values[slot])
            if other:
                alternative = {slot: other}
                break
        return CallResult(False, reason="refused", alternative={k: v for k, v in alternative.items() if v})

    # -- values the service makes ----------------------------------------------------------------
    def other_value(self, service: str, slot: str, current: str) -> str:
        """A value of ``slot`` other than ``current``: half an hour later for a time, else another known value."""
        minutes = _minutes(current)
        if minutes is not None:
            later = minutes + 30 if minutes < 17 * 60 else minutes - 60
            return f"{later // 60}:{later % 60:02d}"
        if _ISO_DATE.fullmatch(current):
            return (date.fromisoformat(current) + timedelta(days=1)).isoformat()
        amount = amount_of(current)
        if amount is not None and is_money_slot(self.pack, service, slot):
            return money_text(max(1.0, amount / 2), current)
        pool = [v for v in self.pack_values(service, slot) if v.lower() != current.lower()]
        return self.rng.choice(pool) if pool else ""

    def pack_values(self, service: str, slot: str) -> list[str]:
        """Every value the pack holds for a slot: categorical values, entity and record columns."""
        s = self.pack.service(service)
        found: list[str] = list(s.slot(slot).possible_values) if s and s.slot(slot) else []
        for row in (*self.pack.entities.get(service, ()), *(r for u in self.pack.user_states if u.service == service for r in u.rows)):
            if row.get(slot) and row[slot] not in found:
                found.append(row[slot])
        return [v for v in found if v != DONTCARE]

    def generate(self, service: str, slot: str) -> str:
        """A value the service makes: a reference, an amount, a time, or one of the pack's values."""
        rule = self.pack.rule(service, slot)
        if rule.format == "reference" or re.search(r"ref|number|id$|code|confirmation", slot):
            return "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(8))
        if is_money_slot(self.pack, service, slot):
            currency = self.pack.locale.currency or next(
                (v[0] for vs in (self.pack_values(service, s.name) for s in self.pack.service(service).slots) for v in vs
                 if v[:1] in "$£€"), "") if self.pack.service(service) else ""
            floor = int(self.money_floor.get(service, 0.0))
            low = max(120, floor + 1)
            return f"{currency}{self.rng.randrange(low, max(9000, low * 3)):,}.{self.rng.randrange(0, 100):02d}"
        pool = self.pack_values(service, slot)
        if pool:
            return self.rng.choice(pool)
        if rule.format == "time":
            return f"{self.rng.randrange(9, 17)}:{self.rng.choice(('00', '15', '30', '45'))}"
        return "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
