"""The goal generator at scale: validity, distinctness, domain mix, and clean plans.

    .venv/bin/python benchmarks/goals.py [--n 10000] [--plan 1000] [--seed 0] [--fail-first-rate 0.3] [--json]

Over ``--n`` goals generated from the default venue databases (MultiWOZ's, shipped):
invalid goals (each must parse back as a Goal; each ``info`` met by some venue unless
it is a declared ``fail_info``, which must match none), distinct goals by content,
the domain-set mix against the requested one (largest gap, in points), and a sample
of ``--plan`` goals planned by the guided planner (User agenda + bot policy): clean
plans finish, answer every ``reqt``, make every booking and settle on a venue that
meets ``info``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from goalconvo.agents.guided.simulate import plan_dialogue, plan_problems  # noqa: E402
from goalconvo.core.goal_generator import generate_goals, goal_problems  # noqa: E402
from goalconvo.core.goal_mix import parse_goal_mix  # noqa: E402
from goalconvo.core.goals import goal_content_key  # noqa: E402
from goalconvo.core.records import Goal
from goalconvo.core.wire import encode  # noqa: E402
from goalconvo.core.venues import VenueDB  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--plan", type=int, default=1_000, help="How many of the goals to plan.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--domain-mix", default=None)
    ap.add_argument("--fail-first-rate", type=float, default=0.3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    db = VenueDB.load()
    mix = parse_goal_mix(a.domain_mix)
    t0 = time.perf_counter()
    # skip_repeats off: distinctness is measured on the raw draws, not guaranteed by the filter.
    goals = generate_goals(a.n, a.seed, db, mix=mix, fail_first_rate=a.fail_first_rate, skip_repeats=False)
    gen_s = time.perf_counter() - t0

    invalid: list[tuple[str, list[str]]] = []
    for g in goals:
        problems = goal_problems(g, db)
        try:
            Goal.model_validate_json(encode(g))
        except ValueError as exc:
            problems.append(f"does not parse: {exc}")
        if problems:
            invalid.append((g.goal_id, problems))
    distinct = len({goal_content_key(g) for g in goals})
    ids_distinct = len({g.goal_id for g in goals})
    observed = Counter(tuple(sorted(g.domains)) for g in goals)
    gaps = {"+".join(k): round(100 * (observed.get(k, 0) / a.n - p), 2) for k, p in mix.items()}
    by_count_req: Counter[int] = Counter()
    for k, p in mix.items():
        by_count_req[len(k)] += p
    by_count = {n: round(100 * sum(v for k, v in observed.items() if len(k) == n) / a.n, 2) for n in sorted(by_count_req)}
    with_fail = sum(any(dg.fail_info for dg in g.domains.values()) for g in goals)
    with_fail_book = sum(any(dg.fail_book for dg in g.domains.values()) for g in goals)

    t1 = time.perf_counter()
    unclean: Counter[str] = Counter()
    examples: dict[str, str] = {}
    exchanges = []
    n_plan = min(a.plan, len(goals))
    for i, g in enumerate(goals[:n_plan]):
        plan = plan_dialogue(g, db, seed=f"bench:{i}", dialogue_id=g.goal_id)
        exchanges.append(plan.exchanges)
        problems = plan_problems(g, plan, db)
        for p in problems:
            unclean[p.split(":")[0]] += 1
            examples.setdefault(p.split(":")[0], f"{g.goal_id}: {p}")
        if problems:
            unclean["(goals)"] += 1
    plan_s = time.perf_counter() - t1

    out = {
        "goals": a.n, "seed": a.seed, "fail_first_rate": a.fail_first_rate,
        "generate_seconds": round(gen_s, 2), "goals_per_second": round(a.n / gen_s),
        "invalid": len(invalid), "invalid_examples": invalid[:5],
        "distinct_by_content": distinct, "distinct_ids": ids_distinct,
        "mix_max_gap_points": max(abs(v) for v in gaps.values()),
        "mix_gap_points": gaps,
        "domain_count_pct": by_count, "domain_count_requested_pct": {n: round(100 * p, 2) for n, p in sorted(by_count_req.items())},
        "goals_with_fail_info": with_fail, "goals_with_fail_book": with_fail_book,
        "planned": n_plan, "clean_plans": n_plan - unclean.pop("(goals)", 0),
        "unclean_by_domain": dict(unclean), "unclean_examples": examples,
        "mean_exchanges": round(sum(exchanges) / max(1, len(exchanges)), 2), "plan_seconds": round(plan_s, 1),
    }
    if a.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{a.n} goals in {gen_s:.1f} s ({out['goals_per_second']}/s), seed {a.seed}, fail_first_rate {a.fail_first_rate}")
    print(f"invalid: {len(invalid)}" + (f"  e.g. {invalid[:3]}" if invalid else ""))
    print(f"distinct by content: {distinct} of {a.n} (ids: {ids_distinct})")
    print(f"domain mix: largest gap {out['mix_max_gap_points']} points over {len(gaps)} domain sets")
    for k, p in sorted(mix.items(), key=lambda kv: -kv[1]):
        print(f"  {'+'.join(k):28s} requested {100 * p:5.2f}%  got {100 * observed.get(k, 0) / a.n:5.2f}%")
    print(f"domains per goal: got {by_count} requested {out['domain_count_requested_pct']}")
    print(f"with fail_info: {with_fail}  with fail_book: {with_fail_book}")
    print(f"planned {n_plan}: clean {out['clean_plans']}, mean exchanges {out['mean_exchanges']}, {plan_s:.1f} s"
          + (f"; unclean {dict(unclean)} e.g. {examples}" if unclean else ""))


if __name__ == "__main__":
    main()
