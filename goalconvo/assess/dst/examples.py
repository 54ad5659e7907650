"""Training and test examples for the tracker: one per user turn, its history and the belief state after it.

Both sources come in MultiWOZ's layout (a dict of dialogues keyed by id, each with a
``log`` of turns alternating user/system; the system turn's ``metadata`` holds the
belief state after the user turn before it): a MultiWOZ file as it is, a corpus set
through :func:`goalconvo.sinks.export_multiwoz.multiwoz_dialogues`, the same code that
writes ``export --format multiwoz``. A set without belief states (free mode, an import
that carries none) is refused with :class:`NoBeliefStates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalconvo.assess.dst.normalize import flatten_state
from goalconvo.core.goals import load_multiwoz_dialogues
from goalconvo.sinks.export_multiwoz import multiwoz_dialogues
from goalconvo.sinks.store import CorpusStore

Dialogues = Mapping[str, Mapping[str, Any]]


class NoBeliefStates(ValueError):
    """The dialogues to train on carry no belief state, so there is nothing to learn."""


@dataclass(frozen=True)
class TurnExample:
    """A user turn: the dialogue so far (``(speaker, text)``, this turn last) and the state after it."""

    dialogue_id: str
    turn: int
    history: tuple[tuple[str, str], ...]
    state: Mapping[str, str]


def _has_state(turn: Any) -> bool:
    return isinstance(turn, Mapping) and isinstance(turn.get("metadata"), Mapping) and bool(turn["metadata"])


def dialogue_examples(dialogue_id: str, raw: Mapping[str, Any]) -> list[TurnExample]:
    """One example per user turn followed by a system turn with a belief state (a last unanswered turn has none)."""
    log = raw.get("log") or []
    out: list[TurnExample] = []
    history: list[tuple[str, str]] = []
    for i, turn in enumerate(log):
        speaker = "user" if i % 2 == 0 else "system"
        history.append((speaker, str(turn.get("text", "")) if isinstance(turn, Mapping) else ""))
        if speaker == "user" and i + 1 < len(log) and _has_state(log[i + 1]):
            out.append(TurnExample(dialogue_id, i, tuple(history), flatten_state(log[i + 1]["metadata"])))
    return out


def has_belief_states(raw: Mapping[str, Any]) -> bool:
    log = raw.get("log") or []
    return any(_has_state(t) for t in log[1::2])


def examples(dialogues: Dialogues, ids: list[str] | None = None) -> list[TurnExample]:
    """The examples of ``ids`` (default: every dialogue, in sorted id order)."""
    out: list[TurnExample] = []
    for did in ids if ids is not None else sorted(dialogues):
        out.extend(dialogue_examples(did, dialogues[did]))
    return out


def load_file(path: Path) -> dict[str, Any]:
    """A MultiWOZ-layout file (json or zip): its dialogues with belief states, keyed by id.

    Raises :class:`NoBeliefStates` when none has one, ``ValueError``/``FileNotFoundError`` for a bad file.
    """
    data = load_multiwoz_dialogues(Path(path))
    dialogues = {str(k): v for k, v in data.items() if isinstance(v, Mapping) and isinstance(v.get("log"), list)}
    if not dialogues:
        raise ValueError(f"{path}: no dialogue with a 'log' of turns (is it in MultiWOZ's layout?)")
    with_state = {k: v for k, v in dialogues.items() if has_belief_states(v)}
    if not with_state:
        raise NoBeliefStates(f"{path}: no system turn carries a belief state ('metadata'), so a tracker cannot learn from it")
    return with_state


def split_sorted(dialogues: Dialogues, first: int) -> tuple[list[str], list[str]]:
    """The ids in sorted order, cut after ``first``: (the first ``first``, the rest)."""
    ids = sorted(dialogues)
    if not 0 < first < len(ids):
        raise ValueError(f"cannot cut {len(ids)} dialogues after {first}: give 1..{len(ids) - 1}")
    return ids[:first], ids[first:]


@dataclass
class SetDialogues:
    """A corpus set's accepted dialogues in MultiWOZ's layout, and the goal each came from (``goal_id``)."""

    set_name: str
    dialogues: dict[str, Any]
    goal_ids: dict[str, str]
    #: Accepted dialogues left out because they carry no belief state.
    skipped: int


def load_set(store: CorpusStore, set_name: str) -> SetDialogues:
    """The accepted dialogues of ``set_name`` with their belief states; refuses a set that has none.

    Raises ``KeyError`` for an unknown set, :class:`NoBeliefStates` for a free-mode set or an import
    without states, ``ValueError`` for a set with no accepted dialogue.
    """
    info = store.query(
        """select count(*), count(*) filter (where coalesce(mode, 'free') = 'free'),
                  (select any_value(kind) from dialogue_sets where set_name = $1)
           from dialogues where set_name = $1""",
        [set_name],
    ).rows[0]
    total, free, kind = int(info[0]), int(info[1]), info[2]
    if not total:
        known = ", ".join(r["set_name"] for r in store.list_sets()) or "none"
        raise KeyError(f"no dialogue set {set_name!r} (sets: {known})")
    dialogues = multiwoz_dialogues(store, "where d.set_name = ? and v.accepted", [set_name])
    if not dialogues:
        raise ValueError(f"set {set_name!r} has no accepted dialogue to train on")
    with_state = {k: v for k, v in dialogues.items() if has_belief_states(v)}
    if not with_state:
        if kind == "import":
            why = ("it is an import, and imports carry no belief states; to train on real dialogues, "
                   "give their MultiWOZ file with --real")
        elif free == total:
            why = "it was generated in free mode (role-play: no dialogue acts, no belief states); generate with --mode guided"
        else:
            why = "none of its accepted dialogues stores a belief state on its system turns"
        raise NoBeliefStates(f"set {set_name!r} cannot train a belief tracker: {why}")
    goal_ids = dict(store.query("select dialogue_id, goal_id from dialogues where set_name = ?", [set_name]).rows)
    return SetDialogues(set_name, with_state, {k: goal_ids[k] for k in with_state}, len(dialogues) - len(with_state))


def reference_id(goal_id: str) -> str | None:
    """The MultiWOZ dialogue a goal was read from (``multiwoz:PMUL1650#1`` -> ``PMUL1650``), else None."""
    if not goal_id.startswith("multiwoz:"):
        return None
    return goal_id.removeprefix("multiwoz:").split("#", 1)[0]
