"""One turn's acts as one utterance, worded for what was said before it.

The realizer's draft and last resort, and the scripted backend's answer, so a run
without a model still makes dialogues readers keep. Each situation has several
wordings; a seeded ``random.Random`` picks one, so text varies between dialogues
while a replay says the same.

Input: a speaker (``"user"`` / ``"bot"``), ``DialogueActs`` and, optionally, the
:class:`TurnContext` (the dialogue before the turn; without it a turn is worded as if
it stood alone). Output: one utterance in which every act value appears (numbers may
be written as words, ``moderate`` as "moderately priced", names capitalised).
"""

from __future__ import annotations

import random

from goalconvo.agents.guided.acts import DialogueActs, split_key
from goalconvo.agents.guided.templates.context import TurnContext
from goalconvo.agents.guided.templates.desk import render_desk
from goalconvo.agents.guided.templates.nouns import Slots, gather
from goalconvo.agents.guided.templates.user import render_user


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:] if sentence else sentence


def render(speaker: str, acts: DialogueActs, rng: random.Random | int | str = 0, context: TurnContext | None = None) -> str:
    """One utterance saying every act of the turn; ``rng`` (or a seed) picks the wording."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    ctx = context or TurnContext()
    general: set[str] = set()
    content: dict[tuple[str, str], Slots] = {}
    for key, pairs in acts.items():
        domain, intent = split_key(key)
        if domain == "general":
            general.add(intent)
            continue
        slots = content.setdefault((domain, intent), {})
        for slot, values in gather(pairs).items():
            slots.setdefault(slot, []).extend(values)
    if speaker == "user":
        sentences = render_user(content, general, rng, ctx)
    else:
        named = [d for d, _ in content if d not in ("booking",)]
        sentences = render_desk(content, general, rng, ctx, named[0] if named else ctx.topic)
    return " ".join(_capital(s.strip()) for s in sentences if s.strip())
