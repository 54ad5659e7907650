"""The roles the guided engine's code gives the default pack's services and slots, by what the pack declares.

The guided engine plans a timetable (searched by route and day, times compared "at or after" and
"by", booked as tickets by its id) and a ride (made per call between two places the other
services settled) differently from a venue. Which service and which slots play those parts is
read off MultiWOZ's pack (``packs.derived``): the service whose search compares times, the
per-call service whose slots are filled from other services' entities. The code names the role;
the pack names the service (``train``, ``taxi``). A default pack without them fails at import,
naming what is missing.
"""

from __future__ import annotations

from goalconvo.packs.builtin import default_pack, pack_toml
from goalconvo.packs.derived import compared_slot, entity_id_slot, ride_service, timetable_service


def _required(value: str | None, what: str) -> str:
    if value is None:
        raise RuntimeError(f"the default pack ({default_pack().ref}) has no {what}: the guided engine needs one")
    return value


_timetable = timetable_service(default_pack())
_ride = ride_service(default_pack())
if _timetable is None or _ride is None:
    raise RuntimeError(f"the default pack ({default_pack().ref}) needs a timetable service (a search comparing times) "
                       "and a ride service (per call, its ends from other services' entities)")

#: The service searched by route and time and booked by its id (MultiWOZ's ``train``).
TIMETABLE: str = _timetable.name
#: The service made per call between two places (MultiWOZ's ``taxi``).
RIDE: str = _ride.name
#: The timetable's time compared "at or after" (``leaveAt``).
LEAVE_AT: str = _required(compared_slot(default_pack(), _timetable, "at_or_after"), "time compared at or after")
#: The timetable's time compared "by" (``arriveBy``).
ARRIVE_BY: str = _required(compared_slot(default_pack(), _timetable, "by"), "time compared by")
#: The slot naming the timetable's entity (``trainID``).
TIMETABLE_ID: str = _required(entity_id_slot(_timetable), "id slot of the timetable service")


# -- the ride's ends and the places they come from (read off the ride's ``from`` rules) ---------

_ends = [x.name for x in _ride.slots if default_pack().rule(_ride.name, x.name).from_slots]
if len(_ends) != 2 or any(e not in {x.name for x in _timetable.slots} for e in _ends):
    raise RuntimeError(f"the default pack ({default_pack().ref}): the ride {_ride.name!r} needs two slots filled from "
                       f"other services' entities (its ends), which the timetable {_timetable.name!r} also has; found {_ends}")
#: Where a ride or a timetable's trip starts (``departure``).
ORIGIN: str = _ends[0]
#: Where it ends (``destination``).
DESTINATION: str = _ends[1]
#: The services whose entities a ride's ends come from, in the rule's order (hotel, restaurant, attraction).
PLACES: tuple[str, ...] = tuple(dict.fromkeys(
    f.partition(".")[0] for f in default_pack().rule(_ride.name, ORIGIN).from_slots))


# -- the parts the pack's roles file names (``[files] roles``) -----------------------------------

_declared = pack_toml(default_pack(), "roles")


def _declared_name(kind: str, role: str, known: set[str]) -> str:
    name = (_declared.get(kind) or {}).get(role)
    if name not in known:
        raise RuntimeError(f"the default pack ({default_pack().ref}): its roles file must name a {kind[:-1]} for "
                           f"[{kind}] {role} (found {name!r}); the guided engine needs one")
    return str(name)


_service_names = {s.name for s in default_pack().services}
_slot_names = {x.name for s in default_pack().services for x in s.slots}

#: A place found, then booked from a day for nights (``hotel``).
LODGING: str = _declared_name("services", "lodging", set(PLACES))
#: A place found, then a table booked for a day and a time (``restaurant``).
TABLE: str = _declared_name("services", "table", set(PLACES))
#: A place found, never booked (``attraction``).
SIGHT: str = _declared_name("services", "sight", set(PLACES))
#: Found by its department, never booked, told first (``hospital``).
DEPARTMENT_DESK: str = _declared_name("services", "department_desk", _service_names)
#: One office, nothing to search, told first (``police``).
OFFICE: str = _declared_name("services", "office", _service_names)

AREA: str = _declared_name("slots", "area", _slot_names)
PRICE_RANGE: str = _declared_name("slots", "price_range", _slot_names)
STARS: str = _declared_name("slots", "stars", _slot_names)
#: The table's kind of food (``food``), where the other places have a ``type``.
CUISINE: str = _declared_name("slots", "cuisine", _slot_names)
PARKING: str = _declared_name("slots", "parking", _slot_names)
INTERNET: str = _declared_name("slots", "internet", _slot_names)
#: How many nights the lodging is booked for (``stay``).
STAY: str = _declared_name("slots", "stay", _slot_names)
#: What the department desk is searched by (``department``).
DEPARTMENT: str = _declared_name("slots", "department", _slot_names)
#: The timetable's travel time (``duration``).
TRAVEL_TIME: str = _declared_name("slots", "travel_time", _slot_names)
#: The car a ride sends (``car type``).
CAR_TYPE: str = _declared_name("slots", "car_type", _slot_names)
ENTRANCE_FEE: str = _declared_name("slots", "entrance_fee", _slot_names)
OPENING_HOURS: str = _declared_name("slots", "opening_hours", _slot_names)
