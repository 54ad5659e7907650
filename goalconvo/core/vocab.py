"""Slot vocabulary: how people name the domains and the requestable attributes.

The belief tracker reads the user's words with it, the goal check looks for the
answers with it and the scripted backend writes its requests with it.
"""

from __future__ import annotations

DOMAIN_WORDS: dict[str, tuple[str, ...]] = {
    "hotel": ("hotel", "guesthouse", "guest house", "place to stay", "room", "stay", "lodging"),
    "restaurant": ("restaurant", "food", "eat", "dinner", "lunch", "table"),
    "attraction": ("attraction", "museum", "college", "park", "theatre", "pool", "visit", "see", "entertainment"),
    "train": ("train", "depart", "leaving from", "travel to", "railway"),
    "taxi": ("taxi", "cab", "car"),
    "hospital": ("hospital", "department", "clinic"),
    "police": ("police",),
}

#: Natural names of requestable attributes, for parsing requests and writing them.
SLOT_WORDS: dict[str, str] = {
    "phone": "phone number",
    "address": "address",
    "postcode": "postcode",
    "entrance fee": "entrance fee",
    "price": "price",
    "duration": "travel time",
    "trainID": "train id",
    "leaveAt": "departure time",
    "arriveBy": "arrival time",
    "car type": "car type",
    "stars": "star rating",
    "parking": "parking",
    "internet": "internet",
    "area": "area",
    "pricerange": "price range",
    "food": "type of food",
    "type": "type",
}
