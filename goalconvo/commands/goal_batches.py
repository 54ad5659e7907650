"""Which goals a run runs: cycled from a list, sampled under the user's knobs, or a pack's.

``goalconvo run`` and ``goals produce`` call these; every goal comes back tagged with its run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from goalconvo.core.goals import builtin_goals, load_goal_source, parse_domain_mix, published, sample_goals
from goalconvo.core.records import Goal
from goalconvo.core.wire import encode
from goalconvo.core.settings import Settings


def goals_for_run(n: int, run_id: str, source: Sequence[Goal] | None = None) -> list[Goal]:
    """N goals cycled from ``source`` (built-in by default), each tagged with the run."""
    pool = list(source) if source else builtin_goals()
    out = []
    for i in range(n):
        g = pool[i % len(pool)].model_copy(deep=True)
        if i >= len(pool):
            g.goal_id = f"{g.goal_id}#{i // len(pool)}"
        g.run_id = run_id
        out.append(g)
    return out


def pack_goal_pool(settings: Settings) -> list[Goal] | None:
    """The goals of ``--goal-source FILE`` (a pack's goal lines) or of the pack's own goal file; None: draw them."""
    from goalconvo.core.goal_generator import GENERATE_SOURCE
    from goalconvo.core.pack_goals import read_pack_goals
    from goalconvo.packs.registry import find_pack

    pack = find_pack(settings.pack)  # type: ignore[arg-type]
    if settings.goal_source is not None:
        return None if str(settings.goal_source) == GENERATE_SOURCE else read_pack_goals(pack, settings.goal_source)
    return read_pack_goals(pack) if "goals" in pack.extras else None


def pack_goals_for_run(settings: Settings, n: int, run_id: str) -> list[Goal]:
    """A pack run's goals: the first ``n`` of its goal pool (seeded order), else drawn from the pack.

    With ``--goal-source generate``, or a pack without a goal file, every goal is drawn from the pack
    (``core.pack_goals.generate_pack_goals``); past the pool's end, drawn goals top it up.
    """
    import random

    from goalconvo.core.pack_goals import generate_pack_goals
    from goalconvo.packs.registry import find_pack

    pool = pack_goal_pool(settings) or []
    rng = random.Random(f"{settings.seed}:{run_id}")
    chosen = rng.sample(pool, k=min(n, len(pool)))
    if len(chosen) < n:
        chosen += generate_pack_goals(find_pack(settings.pack), n - len(chosen), seed=f"{settings.seed}:{run_id}")  # type: ignore[arg-type]
    return [g.model_copy(update={"run_id": run_id}) for g in chosen]


def goals_from_settings(settings: Settings, n: int, run_id: str) -> list[Goal]:
    """A run's goals under the user's knobs: source, domain mix, complexity, failing first requests.

    ``goal_source`` ``generate``: new goals from the venue databases. Unset (the 43 built-in goals)
    and more goals asked for than the pool holds: each built-in goal once, then generated goals
    instead of repeats. Generated goals are drawn from the seed and the run id, so each run grows new ones.
    """
    from goalconvo.core.goal_generator import GENERATE_SOURCE, generate_goals
    from goalconvo.core.goal_mix import parse_goal_mix
    from goalconvo.core.venues import VenueDB

    if settings.pack:
        return pack_goals_for_run(settings, n, run_id)
    domain_mix = parse_domain_mix(settings.domain_mix)

    def generated(k: int) -> list[Goal]:
        mix = parse_goal_mix(settings.domain_mix, settings.min_domains, settings.max_domains)
        return generate_goals(k, f"{settings.seed}:{run_id}", VenueDB.load(settings.multiwoz_db), mix=mix,
                              fail_first_rate=settings.fail_first_rate, run_id=run_id)

    if settings.goal_source is not None and str(settings.goal_source) == GENERATE_SOURCE:
        return generated(n)
    return sample_goals(
        n,
        run_id,
        load_goal_source(settings.goal_source),
        seed=settings.seed,
        domain_mix=domain_mix,
        min_domains=settings.min_domains,
        max_domains=settings.max_domains,
        fail_first_rate=settings.fail_first_rate,
        top_up=generated if settings.goal_source is None else None,
    )


def goal_events(goals: Iterable[Goal]) -> Iterable[tuple[bytes, bytes]]:
    """Each goal as a (key, value) event for the goals topic, keyed by its id.

    A MultiWOZ goal is stamped with the shipped pack it was made for (``multiwoz@2.1#hash12``), as a
    pack's goal names its pack: a worker holding another version of it dead-letters the goal."""
    return ((g.goal_id.encode(), encode(published(g))) for g in goals)
