"""Goal sources: the built-in goal set, MultiWOZ files (zip or json) and JSON Lines.

Each source yields :class:`Goal` records. Bad entries in a user's file are not
dropped silently: the loaders raise with the line or dialogue id at fault,
except ``iter_jsonl(..., raw=True)``, which hands lines through so the pipeline
can dead-letter them.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import random
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Collection, Mapping

from pydantic import ValidationError

from goalconvo.core.records import KNOWN_DOMAINS, Goal
from goalconvo.core.wire import DecodeError, decode
from goalconvo.core.roles import AREA, CUISINE, DESTINATION, LODGING, ORIGIN, SIGHT, TABLE
from goalconvo.packs.builtin import default_pack, pack_toml

#: The default pack's understanding words (its lexicon.toml).
_LEXICON = pack_toml(default_pack(), "lexicon")

_TAG = re.compile(r"<[^>]+>")


def builtin_goals() -> list[Goal]:
    raw = json.loads(importlib.resources.files("goalconvo.data").joinpath("goals_builtin.json").read_text())
    return [Goal.model_validate(g) for g in raw["goals"]]


def _read_multiwoz(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"MultiWOZ file {path} does not exist")
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".json")]
            if not names:
                raise ValueError(f"{path} holds no .json file")
            return json.loads(zf.read(names[0]))
    return json.loads(path.read_text())


def multiwoz_goal(dialogue_id: str, raw_goal: dict[str, Any]) -> Goal:
    """A MultiWOZ ``goal`` object as a Goal (empty domains dropped, HTML stripped)."""
    domains = {d: v for d, v in raw_goal.items() if d in KNOWN_DOMAINS and isinstance(v, dict) and v}
    message = raw_goal.get("message") or []
    if isinstance(message, str):
        message = [message]
    return Goal.model_validate(
        {
            "goal_id": f"multiwoz:{dialogue_id}",
            "domains": domains,
            "message": [_TAG.sub("", m) for m in message],
            "source": "multiwoz",
        }
    )


def load_multiwoz_dialogues(path: Path) -> dict[str, Any]:
    """The raw MultiWOZ dialogues keyed by id (goal and log)."""
    data = _read_multiwoz(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object keyed by dialogue id")
    return data


def multiwoz_goals(path: Path) -> list[Goal]:
    out = []
    for did, d in load_multiwoz_dialogues(path).items():
        try:
            out.append(multiwoz_goal(did, d["goal"]))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "goal"
            raise ValueError(f"{path}, dialogue {did}: {where}: {err['msg']}") from None
    return out


def _content_id(obj: Any) -> str:
    return "jsonl:" + hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def published(goal: Goal) -> Goal:
    """The goal as it goes on the goals topic: a MultiWOZ goal names the shipped pack it was made for.

    A pack's goal names its pack already; stamping MultiWOZ's too (``multiwoz@2.1#hash12``) lets a
    worker holding another version of the MultiWOZ pack dead-letter it instead of generating. Every
    publishing path (a run, ``goals produce`` at any rate, ``backfill goals``) goes through here."""
    return goal if goal.pack is not None else goal.model_copy(update={"pack": default_pack().ref})


def published_raw(obj: dict[str, Any]) -> dict[str, Any]:
    """A raw JSON goal line's object, stamped as :func:`published` stamps a goal (no pack named: MultiWOZ's)."""
    if obj.get("pack") is None:
        obj["pack"] = default_pack().ref
    return obj


def iter_jsonl(path: Path) -> Iterator[bytes]:
    """The non-blank lines of a JSON Lines file, as the raw event bytes to publish (see ``iter_jsonl_lines``)."""
    return (raw for _, raw in iter_jsonl_lines(path))


def iter_jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw event bytes) of each non-blank line of a JSON Lines file.

    A line without ``goal_id`` gets one from its content, so republishing the
    same file maps to the same goals. Lines that are not JSON objects (nested too
    deeply to parse as well) are passed through unchanged: the pipeline
    dead-letters them with a reason.
    """
    with Path(path).open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                yield number, line
                continue
            if isinstance(obj, dict) and "goal_id" not in obj:
                obj["goal_id"] = _content_id(obj)
                obj.setdefault("source", "jsonl")
                yield number, json.dumps(obj).encode()
            else:
                yield number, line


def goal_content_key(goal: Goal) -> str:
    """A goal's content as one canonical string: per domain its info, reqt (as a set), book and fail_*.

    Ids, run, source and message are left out: two goals are the same goal when their keys are equal.
    """
    content = {
        d: {
            "info": {k: str(v).strip().lower() for k, v in g.info.items()},
            "reqt": sorted({r.strip() for r in g.reqt}),
            "book": {k: str(v).strip().lower() for k, v in g.book.items()},
            "fail_info": {k: str(v).strip().lower() for k, v in g.fail_info.items()},
            "fail_book": {k: str(v).strip().lower() for k, v in g.fail_book.items()},
        }
        for d, g in goal.domains.items()
    }
    if goal.names_a_pack:
        # A pack goal is its pack (name: two packs' services of one name never mix) and its tasks in order.
        content = {"pack": goal.pack.partition("@")[0], "user": goal.user,
                   "tasks": [t.model_dump(mode="json") for t in goal.tasks]}
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


_FAIL_CUES = ("no such", "if there is no", "if there are no", "if not", "is not available", "isn't available")


def fail_info_applies(info: dict[str, str], fail: dict[str, str], message: list[str]) -> bool:
    """``fail_info`` is a first try only where the goal's message asks for it (values lower-cased).

    MultiWOZ keeps a stale ``fail_info`` in many goals whose message never mentions it
    (and the database has it); a goal without a message (hand-made) always tries it. The
    guided agenda pursues it by this rule, and the reading sheet tells the goal by it.
    """
    if not fail or fail == info:
        return False
    if not message:
        return True
    text = " ".join(message).lower()
    named = [v for k, v in fail.items() if info.get(k) != v and v not in ("yes", "no")]
    return any(c in text for c in _FAIL_CUES) and all(v in text for v in named)


def describe_goal(goal: Goal) -> str:
    """The goal in plain words, for prompts (MultiWOZ's own message when it has one)."""
    if goal.message:
        return " ".join(m.strip() for m in goal.message if m.strip())
    parts = []
    for domain in goal.domain_names:
        g = goal.domains[domain]
        cons = ", ".join(f"{k} {v}" for k, v in g.info.items())
        s = f"You are looking for a {domain}" + (f" with {cons}." if cons else ".")
        if g.fail_info:
            s += " First ask for " + ", ".join(f"{k} {v}" for k, v in g.fail_info.items()) + "; if there is none, accept the above."
        if g.book:
            s += " Book it for " + ", ".join(f"{k} {v}" for k, v in g.book.items()) + " and get the reference number."
        if g.reqt:
            s += " Find out its " + ", ".join(g.reqt) + "."
        parts.append(s)
    return " ".join(parts)


def load_goal_source(path: Path | None) -> list[Goal]:
    """Goals from a MultiWOZ file (zip/json), a .jsonl file, or the built-in set when ``path`` is None."""
    if path is None:
        return builtin_goals()
    path = Path(path)
    if path.suffix == ".jsonl":
        goals = []
        for n, raw in iter_jsonl_lines(path):
            try:
                goals.append(decode(Goal, raw))
            except DecodeError as exc:
                raise ValueError(f"{path}, line {n}: {exc}") from None
        return goals
    return multiwoz_goals(path)


def parse_domain_mix(spec: str | None) -> dict[str, float] | None:
    """``"restaurant=3,hotel=1"`` -> weights; a bare domain name weighs 1."""
    if not spec:
        return None
    weights: dict[str, float] = {}
    for part in spec.split(","):
        name, _, w = part.strip().partition("=")
        if name not in KNOWN_DOMAINS:
            raise ValueError(f"domain mix names unknown domain {name!r}; known: {list(KNOWN_DOMAINS)}")
        try:
            weights[name] = float(w) if w else 1.0
        except ValueError:
            raise ValueError(f"domain mix weight {w!r} for {name} is not a number") from None
        if weights[name] < 0:
            raise ValueError(f"domain mix weight for {name} is negative")
    return weights


#: Constraint values that no venue has: a user who asks for them first must change a constraint.
_FAILING_VALUES: dict[str, tuple[str, ...]] = {
    CUISINE: ("jamaican", "venetian", "basque", "scandinavian", "australasian", "bistro"),
    AREA: ("airport",),
    "type": ("spa", "zoo", "aquarium"),
}


def with_failing_request(goal: Goal, rng: random.Random) -> Goal:
    """A copy of ``goal`` whose first request in one searchable domain cannot be met (MultiWOZ's fail_info)."""
    g = goal.model_copy(deep=True)
    options = [
        (d, slot) for d in g.domain_names for slot in _FAILING_VALUES
        if d in (TABLE, LODGING, SIGHT) and slot in g.domains[d].info and not g.domains[d].fail_info
    ]
    if not options:
        return g
    domain, slot = rng.choice(options)
    dg = g.domains[domain]
    dg.fail_info = {**dg.info, slot: rng.choice(_FAILING_VALUES[slot])}
    return g


def sample_goals(
    n: int,
    run_id: str,
    pool: Sequence[Goal],
    *,
    seed: int = 0,
    domain_mix: dict[str, float] | None = None,
    min_domains: int = 1,
    max_domains: int = 7,
    fail_first_rate: float = 0.0,
    top_up: Callable[[int], list[Goal]] | None = None,
) -> list[Goal]:
    """N goals for a run, drawn reproducibly from ``pool`` under the complexity and mix knobs.

    Without weights the pool is shuffled and cycled (every goal once before any
    repeats); with ``domain_mix`` each goal weighs the mean of its domains'
    weights. Repeats get a ``#k`` suffix so each is its own dialogue. With
    ``top_up``, asking for more goals than the pool holds takes each pool goal
    once and ``top_up(k)`` (generated goals) for the other ``k`` instead of repeats.
    """
    eligible = [g for g in pool if min_domains <= len(g.domains) <= max_domains]
    if domain_mix is not None:
        eligible = [g for g in eligible if all(domain_mix.get(d, 0) > 0 for d in g.domains)]
    if not eligible:
        raise ValueError(
            f"no goal fits {min_domains}..{max_domains} domains"
            + (f" and the domain mix {domain_mix}" if domain_mix else "")
        )
    rng = random.Random(f"{seed}:{run_id}")
    if top_up is not None and n > len(eligible):
        order = eligible[:]
        rng.shuffle(order)
        extra = top_up(n - len(order))
        for g in extra:
            g.run_id = run_id
        return sample_goals(len(order), run_id, order, seed=seed, fail_first_rate=fail_first_rate) + extra
    if domain_mix is None:
        order = eligible[:]
        rng.shuffle(order)
        picks = [order[i % len(order)] for i in range(n)]
    else:
        weights = [sum(domain_mix[d] for d in g.domains) / len(g.domains) for g in eligible]
        picks = rng.choices(eligible, weights=weights, k=n)
    seen: dict[str, int] = {}
    out = []
    for g in picks:
        g = with_failing_request(g, rng) if rng.random() < fail_first_rate else g.model_copy(deep=True)
        k = seen.get(g.goal_id, 0)
        seen[g.goal_id] = k + 1
        if k:
            g.goal_id = f"{g.goal_id}#{k}"
        g.run_id = run_id
        out.append(g)
    return out


#: Domains whose goal ends at a venue a taxi may go to or from.
PLACE_DOMAINS = (SIGHT, LODGING, TABLE)
#: Taxi endpoints that are places, not venues of the goal's domains.
_LANDMARKS = tuple(_LEXICON["landmarks"]["words"])
#: Words in a venue's name that tell its domain ("abbey swimming pool" is an attraction).
_NAME_HINTS = {k: tuple(v) for k, v in _LEXICON["name_hints"].items()}


def taxi_endpoint_domains(cons: dict[str, str], order: Sequence[str],
                          venue_names: Mapping[str, Collection[str]]) -> dict[str, str]:
    """Which of the goal's venue domains each taxi endpoint it names is (lower-case values in ``cons``).

    A venue of that domain in ``venue_names``; else, for a place the database does not know (a goal
    written against other venues), the goal's venue domain its name hints at ("pool", "hotel"), else
    the next one not yet matched. Stations, the centre and the like stay as they are."""
    known = set().union(*venue_names.values()) if venue_names else set()
    places = [d for d in order if d in PLACE_DOMAINS]
    out: dict[str, str] = {}
    for k in (ORIGIN, DESTINATION):
        v = cons.get(k)
        d = next((d for d in places if v and v in venue_names.get(d, ())), None)
        if d:
            out[k] = d
    for k in (ORIGIN, DESTINATION):
        v = cons.get(k)
        if not v or k in out or v in known or any(w in v for w in _LANDMARKS):
            continue
        free = [d for d in places if d not in out.values()]
        hinted = [d for d in free if any(re.search(rf"\b{re.escape(w)}\b", v) for w in _NAME_HINTS.get(d, ()))]
        if hinted or free:
            out[k] = (hinted or free)[0]
    return out
