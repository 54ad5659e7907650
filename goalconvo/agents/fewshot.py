"""The Experience Generator's few-shot pool: example openings per domain.

Seeded with built-in examples and fed with the openings of accepted dialogues
(the paper's dynamically updated pool). Each accepted entry carries the prompt version
of its dialogue, and only entries of the current version are sampled: a changed prompt
starts a fresh pool, so phrasings of an older (worse) prompt never feed back, even from a
long-lived broker's compacted changelog. The pool is a Faust GlobalTable in the
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

from goalconvo.agents.guided.acts import split_key
from goalconvo.agents.guided.realizer import PhrasingExample
from goalconvo.core.records import Dialogue, FewShotExample

#: Accepted LLM phrasings a guided dialogue gives the pool (the first ones of each speaker).
PHRASINGS_PER_DIALOGUE = 2


def builtin_examples() -> list[FewShotExample]:
    raw = json.loads(importlib.resources.files("goalconvo.data").joinpath("fewshot_builtin.json").read_text())
    return [FewShotExample.model_validate(e) for e in raw["examples"]]


def examples_from(dialogue: Dialogue) -> list[FewShotExample]:
    """An accepted dialogue's examples: its opening per domain (free mode), or its validated
    LLM phrasings of acts, keyed by the acts' domain (guided mode: templates teach nothing)."""
    if not dialogue.turns:
        return []
    if dialogue.mode == "guided":
        return _phrasings_from(dialogue)
    first = dialogue.turns[0].text
    reply = dialogue.turns[1].text if len(dialogue.turns) > 1 else ""
    return [
        FewShotExample(example_id=dialogue.dialogue_id, domain=d, opening=first, reply=reply, source="accepted",
                       prompt_version=dialogue.prompt_version)
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


def _phrasings_from(dialogue: Dialogue) -> list[FewShotExample]:
    out: list[FewShotExample] = []
    for speaker in ("user", "bot"):
        turns = [t for t in dialogue.turns if t.speaker == speaker and t.phrased_by == "llm" and t.acts]
        for t in turns[: PHRASINGS_PER_DIALOGUE // 2 or 1]:
            domains = [d for d in (split_key(k)[0] for k in t.acts) if d not in ("general", "booking")]
            out.append(
                FewShotExample(
                    example_id=f"{dialogue.dialogue_id}:{t.index}", domain=(domains or dialogue.goal.domain_names)[0],
                    opening=t.text, source="accepted", kind="phrasing", speaker=t.speaker, acts=t.acts,
                    prompt_version=dialogue.prompt_version,
                )
            )
    return out


def _current(entry: dict, prompt_version: str) -> bool:
    """Built-in entries always; accepted ones only from dialogues of ``prompt_version``."""
    return entry.get("source") == "builtin" or entry.get("prompt_version", "") == prompt_version


def phrasing_examples(entries: Iterable[dict], prompt_version: str) -> list[PhrasingExample]:
    """The accepted phrasings of ``prompt_version`` among pool entries, in the realizer's form."""
    return [
        PhrasingExample(e["example_id"], e["speaker"], e["acts"], e["opening"], source="accepted")
        for e in entries
        if e.get("kind") == "phrasing" and e.get("speaker") and e.get("acts") and _current(e, prompt_version)
    ]


def openings(entries: Iterable[dict], prompt_version: str) -> list[dict]:
    """The opening examples of ``prompt_version`` among pool entries (free mode)."""
    return [e for e in entries if e.get("kind", "opening") == "opening" and _current(e, prompt_version)]
