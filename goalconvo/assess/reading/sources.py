"""The dialogues a sheet draws from: generated ones from the corpus, human ones from a MultiWOZ-layout file.

Both come out as :class:`Candidate` (domain set, exchanges, goal, turns with who phrased them),
so sampling and matching treat them alike. Generated ones carry the judge's current verdict
(for the key: the judge is scored beside the readers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goalconvo.core.goals import load_multiwoz_dialogues, multiwoz_goal
from goalconvo.core.records import Goal

#: ``query(sql, params)`` -> QueryResult (``sinks.query_server.reader``).
QueryFn = Callable[..., Any]


@dataclass
class SourceTurn:
    speaker: str  #: user | bot
    text: str
    phrased_by: str | None = None  #: llm | template for guided turns; human for MultiWOZ; None when unmarked
    idx: int = 0  #: the turn's index in its source


@dataclass
class Candidate:
    """A dialogue that may go on a sheet."""

    source: str  #: generated | human
    dialogue_id: str
    set_name: str  #: the corpus set, or the reference file's name
    goal: Goal
    turns: list[SourceTurn]
    exchanges: int  #: system turns, as the corpus counts them
    judge_accepted: bool | None = None
    judge_version: str | None = None
    judge_failed: list[str] = field(default_factory=list)

    @property
    def domain_set(self) -> str:
        return "+".join(self.goal.domain_names)


def generated_ids(query: QueryFn, set_name: str, *, accepted_only: bool = False) -> list[str]:
    """The dialogue ids of a set (those the judge accepted with ``accepted_only``), sorted.

    Raises ValueError naming a set that holds no dialogue (a typo must not give an empty sheet).
    """
    rows = query(
        """select d.dialogue_id, coalesce(v.accepted, false) from dialogues d
           left join current_verdicts v using (dialogue_id) where d.set_name = ? order by 1""",
        [set_name],
    ).rows
    if not rows:
        known = [r[0] for r in query("select distinct set_name from dialogues order by 1").rows]
        raise ValueError(f"no dialogues in set {set_name!r}; sets: {', '.join(known) or 'none'}")
    ids = [did for did, accepted in rows if accepted or not accepted_only]
    if not ids:
        raise ValueError(f"set {set_name!r} has no accepted dialogue (drop --accepted-only to rate rejected ones)")
    return ids


def load_generated(query: QueryFn, set_name: str, ids: Sequence[str]) -> list[Candidate]:
    """The dialogues ``ids`` of a set with their turns and the judge's current verdict, in ``ids``' order.

    Reads only those dialogues (a sheet samples a few of a set that may hold millions).
    """
    rows = query(
        """select d.dialogue_id, d.goal, d.exchanges, v.accepted, v.judge_version,
                  (select list(c.name order by c.name) from verdict_checks c
                    where c.dialogue_id = d.dialogue_id and c.judge_version = v.judge_version and not c.passed)
           from dialogues d left join current_verdicts v using (dialogue_id)
           where d.set_name = ? and d.dialogue_id in (select unnest(?))""",
        [set_name, list(ids)],
    ).rows
    turns: dict[str, list[SourceTurn]] = {}
    for did, idx, speaker, text, phrased_by in query(
        """select dialogue_id, idx, speaker, text, phrased_by from turns
           where dialogue_id in (select unnest(?)) order by 1, 2""",
        [list(ids)],
    ).rows:
        turns.setdefault(did, []).append(SourceTurn(speaker, text, phrased_by, idx))
    found = {
        did: Candidate("generated", did, set_name,
                       Goal.model_validate_json(goal) if isinstance(goal, str) else Goal.model_validate(goal),
                       turns.get(did, []), int(exchanges), accepted, version, list(failed or []))
        for did, goal, exchanges, accepted, version, failed in rows
    }
    return [found[i] for i in ids if i in found]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_human(path: Path) -> list[Candidate]:
    """The dialogues of a MultiWOZ-layout file (zip or json) with a goal and a log that alternates user/system."""
    path = Path(path)
    out = []
    for did, raw in load_multiwoz_dialogues(path).items():
        if not isinstance(raw, dict) or not isinstance(raw.get("goal"), dict) or not raw.get("log"):
            continue
        try:
            goal = multiwoz_goal(did, raw["goal"])
        except ValueError:
            continue  # no known domain: nothing to render as a goal
        log = raw["log"]
        turns = [SourceTurn("user" if i % 2 == 0 else "bot", str(t.get("text", "")), "human", i) for i, t in enumerate(log)]
        out.append(Candidate("human", did, path.name, goal, turns, len(log) // 2))
    if not out:
        raise ValueError(f"{path} holds no dialogue with a goal and turns (MultiWOZ's layout: {{id: {{goal, log}}}})")
    return out


def goal_origin(goal: Goal) -> str | None:
    """The MultiWOZ dialogue id a goal was taken from (``multiwoz:MUL0012``), if it was."""
    gid = goal.goal_id.split("#", 1)[0]
    return gid.split(":", 1)[1] if gid.startswith("multiwoz:") else None
