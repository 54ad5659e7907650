"""The domain-set mix generated goals are drawn from: MultiWOZ val's by default, or the user's spec.

``run --domain-mix`` / ``goals produce --domain-mix`` read the spec (``parse_goal_mix``); the
generator (``core.goal_generator``) draws each goal's domain set from the result.
"""

from __future__ import annotations

from itertools import combinations

from goalconvo.core.records import KNOWN_DOMAINS
from goalconvo.packs.builtin import default_pack
from goalconvo.packs.derived import goal_mix

#: A distribution over domain sets (sorted tuples), normalised to 1.
Mix = dict[tuple[str, ...], float]

#: MultiWOZ val's domain sets (999 goals: 204 single, 646 two, 149 three domains; no hospital
#: or police goal in val), as the default pack's ``goal_mix.csv`` lists them. The generator's default mix.
MULTIWOZ_VAL_MIX: dict[tuple[str, ...], int] = goal_mix(default_pack())


def normal_mix(mix: dict[tuple[str, ...], float]) -> Mix:
    """``mix`` with its sets sorted and its weights summing to 1 (sets of no weight left out)."""
    total = sum(mix.values())
    if total <= 0:
        raise ValueError("the domain mix gives no domain set a positive weight")
    return {tuple(sorted(k)): v / total for k, v in mix.items() if v > 0}


def parse_goal_mix(spec: str | None, min_domains: int = 1, max_domains: int = 7) -> Mix:
    """The domain-set distribution goals are drawn from, normalised to 1.

    ``spec`` forms: unset, MultiWOZ val's mix; ``restaurant+train=3,hotel=1``, domain sets
    (``+`` joins a set); ``1=0.2,2=0.65,3=0.15``, domain counts (sets of a count in val's
    proportions); ``restaurant=3,hotel=1``, domain weights as ``run --domain-mix`` reads
    them (val's sets within the weighted domains, each weighed by its domains' mean weight).
    ``min_domains``/``max_domains`` keep sets of those sizes.
    """
    base = dict(MULTIWOZ_VAL_MIX)
    parts = [p.strip() for p in (spec or "").split(",") if p.strip()]
    pairs: list[tuple[str, float]] = []
    for part in parts:
        name, _, w = part.partition("=")
        try:
            weight = float(w) if w.strip() else 1.0
        except ValueError:
            raise ValueError(f"domain mix weight {w!r} for {name} is not a number") from None
        if weight < 0:
            raise ValueError(f"domain mix weight for {name} is negative")
        pairs.append((name.strip(), weight))
    mix: dict[tuple[str, ...], float] = {}
    if not pairs:
        mix = {k: float(v) for k, v in base.items()}
    elif all(n.isdigit() for n, _ in pairs):
        for n, w in pairs:
            sets = {k: v for k, v in base.items() if len(k) == int(n)}
            if not sets and w > 0:
                raise ValueError(f"MultiWOZ val has no goal of {n} domains; name the sets (a+b+c=w)")
            total = sum(sets.values())
            for k, v in sets.items():
                mix[k] = mix.get(k, 0.0) + w * v / total
    elif any("+" in n for n, _ in pairs):
        for n, w in pairs:
            key = tuple(sorted(d.strip() for d in n.split("+")))
            bad = [d for d in key if d not in KNOWN_DOMAINS]
            if bad or len(set(key)) != len(key):
                raise ValueError(f"domain mix names unknown or repeated domain(s) in {n!r}; known: {list(KNOWN_DOMAINS)}")
            mix[key] = mix.get(key, 0.0) + w
    else:
        weights = dict(pairs)
        bad = [d for d in weights if d not in KNOWN_DOMAINS]
        if bad:
            raise ValueError(f"domain mix names unknown domain {bad[0]!r}; known: {list(KNOWN_DOMAINS)}")
        wanted = [d for d, w in weights.items() if w > 0]
        sets = {k: v for k, v in base.items() if set(k) <= set(wanted)}
        if not [k for k in sets if min_domains <= len(k) <= max_domains]:
            # Domains val never combined (police, hospital): every set of them, of up to three.
            sets = {c: 1.0 for r in range(1, 4) for c in combinations(sorted(wanted), r)}
        mix = {k: v * sum(weights[d] for d in k) / len(k) for k, v in sets.items()}
    mix = {k: v for k, v in mix.items() if min_domains <= len(k) <= max_domains}
    if not mix or sum(mix.values()) <= 0:
        raise ValueError(f"the domain mix {spec!r} leaves no domain set of {min_domains}..{max_domains} domains")
    return normal_mix(mix)
