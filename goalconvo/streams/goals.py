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
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from goalconvo.streams.schemas import KNOWN_DOMAINS, Goal

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
    return [multiwoz_goal(did, d["goal"]) for did, d in load_multiwoz_dialogues(path).items()]


def _content_id(obj: Any) -> str:
    return "jsonl:" + hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def iter_jsonl(path: Path) -> Iterator[bytes]:
    """The non-blank lines of a JSON Lines file, as the raw event bytes to publish.

    A line without ``goal_id`` gets one from its content, so republishing the
    same file maps to the same goals. Lines that are not JSON objects are passed
    through unchanged: the pipeline dead-letters them with a reason.
    """
    with Path(path).open("rb") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                yield line
                continue
            if isinstance(obj, dict) and "goal_id" not in obj:
                obj["goal_id"] = _content_id(obj)
                obj.setdefault("source", "jsonl")
                yield json.dumps(obj).encode()
            else:
                yield line


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
