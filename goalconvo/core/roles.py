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

from goalconvo.packs.builtin import default_pack
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
