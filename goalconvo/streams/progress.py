"""The progress table's entries, and the rules the stages and the watchdog apply to them.

One entry per dialogue, keyed by dialogue id, in the Faust table ``progress``
(its changelog is what a worker that takes a partition over recovers).

Inputs: the dialogue's state after a stage, the source event's partition and
offset, and the broker's acknowledgement (topic, partition, offset) of the next
event. Output: the entry (a JSON object, short keys)::

    n    turns processed                      at   when (wall clock, seconds)
    p    partition (turn topics = changelog)  st   a(ctive) | s(tranded) | x (dead-lettered) | d(one)
    su   offset of the last turns.user event consumed for it; sb: the same for turns.bot
    run, goal, nt, np, no   active entries only: ids for a dead letter, and where the next event lies

Rules:

- A stage writes an entry only after the broker acknowledged the next event, so a
  recovered table never says "done" for a turn whose next event was not delivered.
  A crash between the acknowledgement and the mark only sends the next event twice;
  the next stage skips the second (``turns_done(entry) > len(state.turns)``).
- Entries only move forward (``advances``): more turns, or the same turns with a
  final status. A late write of an earlier stage cannot pull a dialogue back.
- The watchdog (``scan``) looks at the partitions this worker holds. An active entry
  with no progress for ``stranded_after_s`` (counted from the later of its last mark
  and the moment this worker took the partition) is stranded when its next event is
  not waiting in Kafka: the group's committed offset of that partition has passed
  it (consumed, yet nothing came of it), the log ends before it (lost by the
  broker), or no event was acknowledged at all. One still waiting behind others
  (a backlog) is left alone, however long. A finished entry (done, dead-lettered,
  stranded) is a tombstone: it leaves after ``horizon_s`` and, for done ones, only
  once the committed offsets of both turn topics have passed its last events, so no
  redelivery can bring a turn of it back. The table holds at most the dialogues in
  flight plus those finished within the horizon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ACTIVE, STRANDED, DEAD, DONE = "a", "s", "x", "d"
_RANK = {ACTIVE: 0, STRANDED: 1, DEAD: 2, DONE: 3}
FINAL = (STRANDED, DEAD, DONE)

#: What a stage passes about its source event: "u" (turns.user) or "b" (turns.bot), partition, offset.
Source = tuple[str, int, int]
#: The broker's acknowledgement of the next event: topic, partition, offset.
Sent = tuple[str, int, int]


def turns_done(value: Any) -> int:
    """Turns processed for a dialogue (0 if unknown); reads the old plain-int entries too."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(value.get("n", 0))


def status(value: Any) -> str:
    return value.get("st", ACTIVE) if isinstance(value, dict) else ACTIVE


def advances(old: Any, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` may replace ``old``: more turns, or as many with a later status."""
    if old is None:
        return True
    return (turns_done(new), _RANK[status(new)]) > (turns_done(old), _RANK[status(old)])


def mark(
    old: Any,
    *,
    turns: int,
    st: str,
    source: Source,
    now: float,
    run_id: str | None = None,
    goal_id: str | None = None,
    sent: Sent | None = None,
) -> dict[str, Any]:
    """The entry a stage writes after processing its source event (``st`` = ACTIVE, DEAD or DONE)."""
    which, partition, offset = source
    prev = old if isinstance(old, dict) else {}
    entry: dict[str, Any] = {"n": turns, "at": now, "p": partition, "st": st}
    for k in ("su", "sb"):
        if k in prev:
            entry[k] = prev[k]
    entry["s" + which] = max(offset, int(prev.get("s" + which, -1)))
    if st == ACTIVE:
        entry["run"], entry["goal"] = run_id, goal_id
        if sent is not None:
            entry["nt"], entry["np"], entry["no"] = sent
    return entry


def stranded(entry: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The tombstone the watchdog leaves after dead-lettering ``entry``."""
    out = {"n": entry["n"], "at": now, "p": entry["p"], "st": STRANDED}
    for k in ("su", "sb"):
        if k in entry:
            out[k] = entry[k]
    return out


@dataclass
class ScanResult:
    """What one watchdog pass decided (keys of the table)."""

    stranded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    purge: list[tuple[str, int]] = field(default_factory=list)
    #: Entries of partitions this worker neither holds nor keeps a standby copy of: drop locally.
    forget: list[str] = field(default_factory=list)
    #: Active entries past the time limit whose next event still waits in Kafka.
    waiting: int = 0


def scan(
    items: Iterable[tuple[str, Any]],
    *,
    now: float,
    held_since: Mapping[int, float],
    standby: set[int],
    committed: Callable[[str, int], int | None],
    highwater: Callable[[str, int], int | None],
    turn_topics: tuple[str, str],
    stranded_after_s: float,
    horizon_s: float,
) -> ScanResult:
    """One pass of the watchdog over the table's entries (see the module docstring)."""
    out = ScanResult()
    user_topic, bot_topic = turn_topics
    for key, value in items:
        if not isinstance(value, dict) or "p" not in value:
            continue  # an old plain-int entry: no partition or time to judge it by
        p = value["p"]
        since = held_since.get(p)
        if since is None:
            if p not in standby:
                out.forget.append(key)
            continue
        age = now - max(float(value.get("at", 0.0)), since)
        st = value.get("st", ACTIVE)
        if st == ACTIVE:
            if age < stranded_after_s:
                continue
            if "no" in value:
                position = committed(value["nt"], value["np"])
                end = highwater(value["nt"], value["np"])
                if (position is None or position <= value["no"]) and (end is None or end > value["no"]):
                    out.waiting += 1
                    continue
            out.stranded.append((key, value))
        elif age >= horizon_s:
            if st == DONE and not _passed(value, p, committed, user_topic, bot_topic):
                continue
            out.purge.append((key, p))
    return out


def _passed(value: Mapping[str, Any], p: int, committed: Callable[[str, int], int | None], user: str, bot: str) -> bool:
    """The group's committed offsets of both turn topics are past this dialogue's last events."""
    for k, topic in (("su", user), ("sb", bot)):
        if k in value:
            position = committed(topic, p)
            if position is None or position <= value[k]:
                return False
    return True


def parse_fault(spec: str | None, kind: str) -> int | None:
    """``'after_mark:3'`` with kind ``after_mark`` -> 3; None when unset (the test-only fault hooks)."""
    if not spec:
        return None
    name, _, n = spec.partition(":")
    if name != kind or not n.isdigit() or int(n) < 1:
        raise ValueError(f"fault spec {spec!r}: expected '{kind}:N' with N >= 1")
    return int(n)
