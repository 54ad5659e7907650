"""The planner's act inventory: every (speaker, act key) the templates phrase, and the slots it may carry.

MultiWOZ's acts, less what its wizards rarely did; ``none`` means no slot. Tests render
every entry and check the validator accepts the result.
"""

from __future__ import annotations

_SEARCH_INFO = {
    "restaurant": ("Food", "Price", "Area", "Name"),
    "hotel": ("Type", "Price", "Area", "Stars", "Internet", "Parking", "Name"),
    "attraction": ("Type", "Area", "Name"),
}
_ATTRIBUTES = {
    "restaurant": ("Addr", "Phone", "Post"),
    "hotel": ("Addr", "Phone", "Post"),
    "attraction": ("Addr", "Phone", "Post", "Fee", "Open"),
}
_ROUTE = ("Depart", "Dest", "Leave", "Arrive")

#: Every (speaker, act key) the templates phrase and the slots it may carry: the planner's
#: act inventory (MultiWOZ's, less what its wizards rarely did). ``none`` means no slot.
ACT_INVENTORY: dict[tuple[str, str], tuple[str, ...]] = {
    ("user", "Restaurant-Inform"): _SEARCH_INFO["restaurant"] + ("Day", "People", "Time", "none"),
    ("user", "Hotel-Inform"): _SEARCH_INFO["hotel"] + ("Day", "People", "Stay", "none"),
    ("user", "Attraction-Inform"): _SEARCH_INFO["attraction"] + ("none",),
    ("user", "Train-Inform"): _ROUTE + ("Day", "People", "none"),
    ("user", "Taxi-Inform"): _ROUTE + ("none",),
    ("user", "Hospital-Inform"): ("Department", "none"),
    ("user", "Police-Inform"): ("none",),
    ("user", "Restaurant-Request"): ("Addr", "Phone", "Post", "Area", "Food", "Price", "Name", "Ref"),
    ("user", "Hotel-Request"): ("Addr", "Phone", "Post", "Area", "Price", "Stars", "Internet", "Parking", "Type", "Name", "Ref"),
    ("user", "Attraction-Request"): ("Addr", "Phone", "Post", "Fee", "Area", "Type", "Name", "Open"),
    ("user", "Train-Request"): ("Id", "Ticket", "Time", "Leave", "Arrive", "Ref"),
    ("user", "Taxi-Request"): ("Car", "Phone"),
    ("user", "Hospital-Request"): ("Addr", "Phone", "Post"),
    ("user", "Police-Request"): ("Addr", "Phone", "Post"),
    ("user", "general-greet"): ("none",),
    ("user", "general-thank"): ("none",),
    ("user", "general-bye"): ("none",),
    **{("bot", f"{d.capitalize()}-Inform"): ("Choice",) + _SEARCH_INFO[d] + _ATTRIBUTES[d] + ("Ref",) for d in _SEARCH_INFO},
    **{("bot", f"{d.capitalize()}-Recommend"): _SEARCH_INFO[d] + _ATTRIBUTES[d] for d in _SEARCH_INFO},
    **{("bot", f"{d.capitalize()}-Select"): _SEARCH_INFO[d] + ("Choice", "none") for d in _SEARCH_INFO},
    **{("bot", f"{d.capitalize()}-NoOffer"): _SEARCH_INFO[d] + ("none",) for d in _SEARCH_INFO},
    ("bot", "Restaurant-Request"): ("Food", "Area", "Price", "Name"),
    ("bot", "Hotel-Request"): ("Area", "Price", "Stars", "Type", "Internet", "Parking", "Name"),
    ("bot", "Attraction-Request"): ("Area", "Type", "Name"),
    ("bot", "Booking-Request"): ("People", "Day", "Time", "Stay"),
    ("bot", "Booking-Inform"): ("Name", "none"),
    ("bot", "Booking-Book"): ("Name", "Ref", "People", "Day", "Time", "Stay", "none"),
    ("bot", "Booking-NoBook"): ("Name", "Day", "Time", "People", "Stay", "none"),
    ("bot", "Train-Inform"): ("Choice", "Id", "Ticket", "Time", "Day", "People", "Ref") + _ROUTE,
    ("bot", "Train-Request"): _ROUTE + ("Day", "People"),
    ("bot", "Train-OfferBook"): ("Id", "Leave", "Arrive", "People", "Ticket", "none"),
    ("bot", "Train-OfferBooked"): ("Id", "Ref", "Ticket", "People", "Leave", "Arrive", "Day"),
    ("bot", "Train-NoOffer"): _ROUTE + ("Day", "none"),
    ("bot", "Train-Select"): ("Id", "Leave", "Arrive", "none"),
    ("bot", "Taxi-Inform"): ("Car", "Phone") + _ROUTE,
    ("bot", "Taxi-Request"): _ROUTE,
    ("bot", "Hospital-Inform"): ("Department", "Addr", "Phone", "Post"),
    ("bot", "Hospital-Request"): ("Department",),
    ("bot", "Hospital-NoOffer"): ("Department", "none"),
    ("bot", "Police-Inform"): ("Name", "Addr", "Phone", "Post"),
    ("bot", "Police-NoOffer"): ("none",),
    ("bot", "general-welcome"): ("none",),
    ("bot", "general-reqmore"): ("none",),
    ("bot", "general-bye"): ("none",),
    ("bot", "general-greet"): ("none",),
}
