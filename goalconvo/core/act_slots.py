"""MultiWOZ's act slot names ("Addr", "Depart", "Leave") beside the goal and database slot names they stand for.

One table, read by the planner's acts (``agents.guided.acts``) and by the exports that write acts
in other layouts (``sinks.export_sgd``).
"""

from __future__ import annotations

#: Goal / database slot names -> MultiWOZ act slot names.
ACT_SLOT: dict[str, str] = {
    "address": "Addr",
    "area": "Area",
    "arriveBy": "Arrive",
    "car type": "Car",
    "choice": "Choice",
    "day": "Day",
    "departure": "Depart",
    "destination": "Dest",
    "entrance fee": "Fee",
    "food": "Food",
    "trainID": "Id",
    "internet": "Internet",
    "leaveAt": "Leave",
    "name": "Name",
    "openhours": "Open",
    "parking": "Parking",
    "people": "People",
    "phone": "Phone",
    "postcode": "Post",
    "pricerange": "Price",
    "reference": "Ref",
    "price": "Ticket",
    "time": "Time",
    "duration": "Time",
    "type": "Type",
    "stars": "Stars",
    "stay": "Stay",
    "department": "Department",
}
