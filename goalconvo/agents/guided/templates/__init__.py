"""Template phrasing: every act the planner emits, for User and SupportBot, in plain English.

``render(speaker, acts, rng, context)`` is the entry (``render.py``); the wordings are
data in ``phrases.py``, the domain words and value casing in ``words.py``, phrases made
of values in ``nouns.py``, the two speakers' sentence planning in ``user.py`` and
``desk.py``, what came before in ``context.py``, the act inventory in ``inventory.py``.
"""

from goalconvo.agents.guided.templates.context import TurnContext
from goalconvo.agents.guided.templates.inventory import ACT_INVENTORY
from goalconvo.agents.guided.templates.nouns import gather
from goalconvo.agents.guided.templates.render import render
from goalconvo.agents.guided.templates.words import BOOKING_SLOTS, SLOT_NOUN

__all__ = ["ACT_INVENTORY", "BOOKING_SLOTS", "SLOT_NOUN", "TurnContext", "gather", "render"]
