"""Do a pack's parts fit together? Each fault names the file, the service and the field.

Run by the loader after every file is read, so ``packs validate`` and ``run`` refuse a pack
before any goal is generated, never mid-run:

- tables and rules name services and slots the schema defines;
- a categorical value (an entity's, a state row's, a diagnosis row's) is one of the slot's
  ``possible_values``; a value with a format or bounds fits them;
- a service that is searched (an intent that is not transactional and returns results) has a
  non-empty entity table, unless its results are made per call or come from per-user state;
- every result slot is filled by something: an entity column, a state column, the intent's
  own slots, or a value the service generates.
"""

from __future__ import annotations

import re

from goalconvo.packs.model import Pack, Service
from goalconvo.packs.values import value_problem


def _slot_exists(pack: Pack, ref: str) -> bool:
    service, _, slot = ref.partition(".")
    s = pack.service(service)
    return s is not None and s.slot(slot) is not None


def _check_rows(pack: Pack, service: Service, rows: tuple[dict[str, str], ...], where: str,
                problems: list[str], extra_columns: tuple[str, ...] = ()) -> None:
    """Columns are slots (or ``extra_columns``); categorical values allowed; formats fit."""
    for i, row in enumerate(rows, start=1):
        for col, value in row.items():
            slot = service.slot(col)
            if slot is None:
                if col not in extra_columns:
                    problems.append(f"{where}: row {i}: column {col!r} is not a slot of service {service.name!r}")
                continue
            if slot.is_categorical and value and value not in slot.possible_values:
                problems.append(f"{where}: row {i}: service {service.name!r}: slot {col!r}: {value!r} is not one of "
                                f"its possible_values {list(slot.possible_values)}")
                continue
            why = value_problem(pack.rule(service.name, col), pack.locale, value) if value else None
            if why:
                problems.append(f"{where}: row {i}: service {service.name!r}: slot {col!r}: {why}")


def cross_check(pack: Pack, file: str, problems: list[str]) -> None:
    """Append to ``problems`` every way ``pack``'s parts do not fit (``file`` is its pack.toml)."""
    names = {s.name for s in pack.services}
    for pattern_name in ("phone", "postcode", "price", "date", "time"):
        try:
            re.compile(getattr(pack.locale, pattern_name))
        except re.error as e:
            problems.append(f"{file}: [locale] {pattern_name}: not a regular expression: {e}")
    for name in dict.fromkeys((*pack.entities, *pack.per_call, *pack.extra_columns, *pack.service_words)):
        if name not in names:
            problems.append(f"{file}: [services.{name}]: the schema defines no service {name!r}")
    all_slots = {x.name for s in pack.services for x in s.slots}
    for slot in pack.slot_words:
        if slot not in all_slots:
            problems.append(f"{file}: [slot_words] {slot}: no service of the schema has this slot")
    for key, rule in pack.slot_rules.items():
        if not _slot_exists(pack, key):
            problems.append(f"{file}: [slots.\"{key}\"]: the schema defines no such service and slot")
        for ref in rule.from_slots:
            if not _slot_exists(pack, ref):
                problems.append(f"{file}: [slots.\"{key}\"] from: {ref!r} names no service and slot of the schema")
    for f in pack.failures:
        s = pack.service(f.service)
        where = f"{file}: [[failures]] service {f.service!r}"
        if s is None:
            problems.append(f"{where}: the schema defines no such service")
            continue
        if s.intent(f.intent) is None:
            problems.append(f"{where}: intent {f.intent!r} is not an intent of the service")
        for slot in f.alternative_slots:
            if s.slot(slot) is None:
                problems.append(f"{where}: alternative slot {slot!r} is not a slot of the service")
    state_columns: dict[str, set[str]] = {}
    for st in pack.user_states:
        s = pack.service(st.service)
        where = f"{file}: [[user_state]] service {st.service!r}"
        if s is None:
            problems.append(f"{where}: the schema defines no such service")
            continue
        if not st.rows:
            problems.append(f"{where}: the state table has no rows")
        columns = {c for r in st.rows for c in r}
        state_columns.setdefault(st.service, set()).update(columns)
        if st.key not in columns:
            problems.append(f"{where}: key {st.key!r} is not a column of its table")
        elif len({r.get(st.key) for r in st.rows}) != len(st.rows):
            problems.append(f"{where}: key {st.key!r} repeats a value (each record needs its own)")
        for i in st.intents:
            if s.intent(i) is None:
                problems.append(f"{where}: intent {i!r} is not an intent of the service")
        if st.amount_column and st.amount_column not in columns:
            problems.append(f"{where}: amount_column {st.amount_column!r} is not a column of its table")
        if st.amount_slot and s.slot(st.amount_slot) is None:
            problems.append(f"{where}: amount_slot {st.amount_slot!r} is not a slot of the service")
        _check_rows(pack, s, st.rows, where, problems, extra_columns=(st.key, "user"))
    diagnosed: set[str] = set()
    for dg in pack.diagnoses:
        s = pack.service(dg.service)
        where = f"{file}: [[diagnosis]] service {dg.service!r}"
        if s is None:
            problems.append(f"{where}: the schema defines no such service")
            continue
        diagnosed.add(dg.service)
        for a in dg.asks:
            if s.slot(a) is None:
                problems.append(f"{where}: asks slot {a!r}, which the service does not define")
        if s.slot(dg.step_slot) is None:
            problems.append(f"{where}: step_slot {dg.step_slot!r} is not a slot of the service")
        if s.intent(dg.fallback_intent) is None:
            problems.append(f"{where}: fallback_intent {dg.fallback_intent!r} is not an intent of the service")
        if not dg.rows:
            problems.append(f"{where}: the diagnosis table has no rows")
        for i, row in enumerate(dg.rows, start=1):
            for slot, value in row.when.items():
                sl = s.slot(slot)
                if sl is not None and sl.is_categorical and value not in sl.possible_values:
                    problems.append(f"{where}: row {i}: slot {slot!r}: {value!r} is not one of its possible_values "
                                    f"{list(sl.possible_values)}")
    for s in pack.services:
        rows = pack.entities.get(s.name, ())
        where = f"{file}: service {s.name!r}"
        if rows:
            table = pack.entity_files.get(s.name)
            in_file = f" ({pack.root}/{table})" if table and pack.root else ""
            _check_rows(pack, s, rows, f"{where} entities{in_file}", problems, extra_columns=pack.extra_columns.get(s.name, ()))
        columns = {c for r in rows for c in r} | state_columns.get(s.name, set())
        made_elsewhere = s.name in pack.per_call or s.name in state_columns or s.name in diagnosed
        searches = [i.name for i in s.intents if not i.is_transactional and i.result_slots]
        if searches and not rows and not made_elsewhere:
            problems.append(f"{where}: intent {searches[0]!r} searches the service, but its entity table is "
                            "empty or not given ([services." + s.name + "] entities = \"...\", or per_call = true)")
            continue  # what its results would be filled from is missing: said once, above
        for intent in s.intents:
            own = set(intent.required_slots) | set(intent.optional_slots)
            for r in intent.result_slots:
                filled = (r in columns or r in own or pack.rule(s.name, r).generated
                          or any(d.service == s.name and r in (*d.asks, d.step_slot) for d in pack.diagnoses))
                if not filled:
                    problems.append(f"{where}: intent {intent.name!r}: result slot {r!r} is filled by nothing (no "
                                    f"entity or state column, not a slot of the intent, not generated: "
                                    f"[slots.\"{s.name}.{r}\"] generated = true)")
