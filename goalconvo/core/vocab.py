"""Slot vocabulary: how people name the domains and the requestable attributes.

The belief tracker reads the user's words with it, the goal check looks for the
answers with it and the scripted backend writes its requests with it. The words are the
default pack's (``[services.S] words`` and ``[slot_words]`` of MultiWOZ's ``pack.toml``).
"""

from __future__ import annotations

from goalconvo.packs.builtin import default_pack

#: service -> the words people use for it ("place to stay" for a hotel).
DOMAIN_WORDS: dict[str, tuple[str, ...]] = dict(default_pack().service_words)

#: Natural names of requestable attributes, for parsing requests and writing them.
SLOT_WORDS: dict[str, str] = dict(default_pack().slot_words)
