"""The Experience Generator's few-shot pool: example openings per domain.

Seeded with built-in examples and fed with the openings of accepted dialogues
(the paper's dynamically updated pool). The pool is a Faust GlobalTable in the
running app (``streams/app.py``), so it survives restarts through its changelog
topic and every worker sees all of it; this module holds the pure logic, so it
is tested without a broker. Sampling is seeded by the dialogue id: the same
pool and the same goal give the same examples.
"""

from __future__ import annotations

import importlib.resources
import json
import random
from collections.abc import Iterable, Mapping

from goalconvo.core.records import Dialogue, FewShotExample


def builtin_examples() -> list[FewShotExample]:
    raw = json.loads(importlib.resources.files("goalconvo.data").joinpath("fewshot_builtin.json").read_text())
    return [FewShotExample.model_validate(e) for e in raw["examples"]]


def examples_from(dialogue: Dialogue) -> list[FewShotExample]:
    """An accepted dialogue's opening (and the bot's answer) as one example per domain."""
    if not dialogue.turns:
        return []
    first = dialogue.turns[0].text
    reply = dialogue.turns[1].text if len(dialogue.turns) > 1 else ""
    return [
        FewShotExample(example_id=dialogue.dialogue_id, domain=d, opening=first, reply=reply, source="accepted")
        for d in dialogue.goal.domain_names
    ]


def add_example(entries: list[dict], example: FewShotExample, capacity: int) -> list[dict]:
    """A domain's accepted entries with ``example`` added; past ``capacity`` the oldest leave.

    Adding an example already there changes nothing (a replayed event is a no-op).
    """
    if any(e["example_id"] == example.example_id for e in entries):
        return entries
    return [*entries, example.model_dump(mode="json")][-capacity:]


def sample(pool: Mapping[str, list[dict]], domains: Iterable[str], k: int, seed_key: str) -> list[FewShotExample]:
    """``k`` examples from the goal's domains, reproducible for a given pool and seed key."""
    candidates: dict[str, dict] = {}
    for d in sorted(domains):
        for e in pool.get(d) or []:
            candidates.setdefault(e["example_id"] + ":" + d, e)
    keys = sorted(candidates)
    rng = random.Random(seed_key)
    chosen = rng.sample(keys, min(k, len(keys)))
    return [FewShotExample.model_validate(candidates[c]) for c in chosen]
