"""Which dialogues go on a sheet: a seeded sample per set, each matched to a human dialogue of the same shape.

A human dialogue is matched to each generated one by domain set (where the reference has none of
that set, e.g. MultiWOZ val has no police or hospital dialogue, by the nearest set: most domains
shared, then the closest number of domains) and, among those, by the closest number of
exchanges, so neither the topic mix nor the length tells the origin. A human dialogue is used
once, and never the one whose goal a generated dialogue was made from.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from goalconvo.assess.reading.sources import Candidate, goal_origin
from goalconvo.core.goals import goal_content_key


@dataclass
class Pair:
    generated: Candidate
    #: None on a sheet without a human reference (a domain pack's dialogues).
    human: Candidate | None
    matched_by: str  #: "domain set" | "nearest domain set" | "no reference"


def sample(ids: Sequence[str], n: int, seed: int | str) -> list[str]:
    """``n`` of the dialogue ids (all of them when there are fewer), the same ones for the same seed."""
    rng = random.Random(f"sample:{seed}")
    pool = sorted(ids)
    return pool if len(pool) <= n else rng.sample(pool, n)


def _closeness(a: set[str], b: set[str]) -> tuple[float, int]:
    return (len(a & b) / len(a | b), -abs(len(a) - len(b)))


def match(generated: Sequence[Candidate], humans: Sequence[Candidate], seed: int | str) -> list[Pair]:
    """One distinct human dialogue per generated one (see the module docstring), in ``generated``'s order.

    The generated dialogues with the fewest human dialogues of their domain set are matched first,
    so a rare set is not left without one by a common one. Ties are broken by ``seed``.
    """
    if len(humans) < len(generated):
        raise ValueError(f"the reference file has {len(humans)} dialogues; {len(generated)} are needed")
    rng = random.Random(f"match:{seed}")
    by_set: dict[str, list[Candidate]] = {}
    for h in humans:
        by_set.setdefault(h.domain_set, []).append(h)
    order = list(range(len(generated)))
    rng.shuffle(order)
    order.sort(key=lambda i: len(by_set.get(generated[i].domain_set, [])))
    content = {h.dialogue_id: goal_content_key(h.goal) for h in humans}
    used: set[str] = set()
    pairs: dict[int, Pair] = {}
    for i in order:
        g = generated[i]
        origin, key = goal_origin(g.goal), goal_content_key(g.goal)

        def free(h: Candidate) -> bool:
            return h.dialogue_id not in used and h.dialogue_id != origin and content[h.dialogue_id] != key

        pool = [h for h in by_set.get(g.domain_set, []) if free(h)]
        how = "domain set"
        if not pool:
            how = "nearest domain set"
            want = set(g.goal.domain_names)
            free_sets = [s for s, hs in by_set.items() if any(free(h) for h in hs)]
            if not free_sets:
                raise ValueError("the reference file has no unused dialogue left to match")
            best = max(_closeness(want, set(s.split("+"))) for s in free_sets)
            pool = [h for s in free_sets if _closeness(want, set(s.split("+"))) == best for h in by_set[s] if free(h)]
        nearest = min(abs(h.exchanges - g.exchanges) for h in pool)
        picks = sorted((h for h in pool if abs(h.exchanges - g.exchanges) == nearest), key=lambda h: h.dialogue_id)
        h = rng.choice(picks)
        used.add(h.dialogue_id)
        pairs[i] = Pair(g, h, how)
    return [pairs[i] for i in range(len(generated))]
