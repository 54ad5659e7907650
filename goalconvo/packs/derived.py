"""Tables an engine reads off a pack's schema: what a search filters on, what a user may ask, what a booking needs.

SGD's schema says each service's intents; these read them the way a desk uses them:

- a **search** intent is one that is not transactional and returns results; its optional slots
  are the constraints a user may give (``name`` first, where the service has one);
- a **booking** intent is a transactional one of a service that also searches; its required
  slots, less those that name the found entity (``name``, a train's id), are what it needs;
- what a user may **request** are the search's result slots, less the entity's name.

Order is the schema's: templates, goals and the planner follow it, so a pack's author
decides what is asked first.
"""

from __future__ import annotations

from pathlib import Path

from goalconvo.packs.model import Intent, Pack, Service
from goalconvo.packs.tables import read_rows

#: The slot that names an entity, where a service has one.
NAME_SLOT = "name"


def search_intent(service: Service) -> Intent | None:
    """The service's first intent that looks entities up (not transactional, returns results)."""
    return next((i for i in service.intents if not i.is_transactional and i.result_slots), None)


def booking_intent(service: Service) -> Intent | None:
    """The transactional intent of a service that also searches (a booking of what was found)."""
    if search_intent(service) is None:
        return None
    return next((i for i in service.intents if i.is_transactional), None)


def filter_slots(pack: Pack, service: Service) -> tuple[str, ...]:
    """Constraints an entity lookup compares for equality: the name first, then the search's optional slots
    whose rule compares ``equal`` (times compared "at or after" / "by" are matched apart)."""
    search = search_intent(service)
    if search is None:
        return ()
    rest = tuple(s for s in search.optional_slots
                 if s != NAME_SLOT and pack.rule(service.name, s).compare == "equal")
    return ((NAME_SLOT,) if NAME_SLOT in search.optional_slots else ()) + rest


def constraint_slots(service: Service) -> tuple[str, ...]:
    """What a user may say to narrow a search, in schema order, the name left out."""
    search = search_intent(service)
    return tuple(s for s in search.optional_slots if s != NAME_SLOT) if search else ()


def request_slots(service: Service) -> tuple[str, ...]:
    """What a user may ask about what was found (or booked, for a service that only books)."""
    intent = search_intent(service) or next((i for i in service.intents if i.is_transactional), None)
    return tuple(s for s in intent.result_slots if s != NAME_SLOT) if intent else ()


def booking_slots(service: Service) -> tuple[str, ...]:
    """What a booking needs besides the entity it books (people, day, nights)."""
    book, search = booking_intent(service), search_intent(service)
    if book is None or search is None:
        return ()
    named = {*search.optional_slots, *search.result_slots}
    return tuple(s for s in book.required_slots if s not in named)


def searched_services(pack: Pack) -> tuple[Service, ...]:
    """Services whose entities are looked up in a table (not made per call), in schema order."""
    return tuple(s for s in pack.services if search_intent(s) is not None and s.name not in pack.per_call)


#: ``[files] goal_mix = "goal_mix.csv"``: the service sets goals are drawn from, with weights.
GOAL_MIX_FILE = "goal_mix"


def goal_mix(pack: Pack, problems: list[str] | None = None) -> dict[tuple[str, ...], int]:
    """The pack's goal mix: service sets (``a+b`` in the ``services`` column) -> ``goals`` (a weight, in
    file order); empty when the pack has none. Faults go to ``problems`` (or raise ``ValueError``)."""
    rel = pack.extras.get(GOAL_MIX_FILE)
    if not rel or not pack.root:
        return {}
    found: list[str] = []
    path = Path(pack.root) / rel
    names = {s.name for s in pack.services}
    mix: dict[tuple[str, ...], int] = {}
    for i, row in enumerate(read_rows(path, found), start=1):
        services = tuple(x.strip() for x in row.get("services", "").split("+") if x.strip())
        unknown = [x for x in services if x not in names]
        weight = row.get("goals", "")
        if not services or unknown:
            found.append(f"{path}: row {i}: services {row.get('services', '')!r}: name services of the schema, "
                         f"joined by '+'" + (f" (no service {unknown[0]!r})" if unknown else ""))
        elif not weight.isdigit() or int(weight) <= 0:
            found.append(f"{path}: row {i}: goals {weight!r} is not a whole number above 0")
        elif tuple(sorted(services)) in mix:
            found.append(f"{path}: row {i}: the set {'+'.join(services)} is listed twice")
        else:
            mix[tuple(sorted(services))] = int(weight)
    if found and problems is None:
        raise ValueError("; ".join(found))
    if problems is not None:
        problems.extend(found)
    return mix


# -- the roles a service or slot plays, read off what the pack declares ------------------------


def timetable_service(pack: Pack) -> Service | None:
    """The searched service whose search compares a time "at or after" or "by" (MultiWOZ's trains)."""
    for s in searched_services(pack):
        search = search_intent(s)
        if search and any(pack.rule(s.name, x).compare != "equal" for x in search.optional_slots):
            return s
    return None


def ride_service(pack: Pack) -> Service | None:
    """The service made per call whose ends are filled from entities other services settled (a taxi)."""
    for s in pack.services:
        if s.name in pack.per_call and any(pack.rule(s.name, x.name).from_slots for x in s.slots):
            return s
    return None


def compared_slot(pack: Pack, service: Service, compare: str) -> str | None:
    """The service's slot whose rule compares ``compare`` ("at_or_after": leave after; "by": arrive by)."""
    return next((x.name for x in service.slots if pack.rule(service.name, x.name).compare == compare), None)


def entity_id_slot(service: Service) -> str | None:
    """The slot naming the entity a booking books, where it is not ``name`` (a train's id): required by
    the booking and returned by the search."""
    book, search = booking_intent(service), search_intent(service)
    if book is None or search is None:
        return None
    return next((x for x in book.required_slots if x in search.result_slots and x != NAME_SLOT), None)
