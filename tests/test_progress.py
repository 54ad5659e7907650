"""The progress table's rules (streams/progress.py), driven without a broker: boundedness over 10,000
dialogues (issue 14, item 3), no regeneration by a redelivered last turn, and the watchdog's choices."""

from __future__ import annotations

import random
from collections import deque

import pytest

from goalconvo.streams import progress as marks

USER, BOT = "p.turns.user", "p.turns.bot"


def _scan(table: dict, now: float, *, committed: dict, highwater: dict | None = None, held: dict | None = None,
          standby: set[int] = frozenset(), stranded_after_s: float = 300, horizon_s: float = 900) -> marks.ScanResult:
    return marks.scan(
        list(table.items()), now=now, held_since=held if held is not None else {0: 0.0, 1: 0.0}, standby=set(standby),
        committed=lambda t, p: committed.get((t, p)),
        highwater=lambda t, p: (highwater or {}).get((t, p)),
        turn_topics=(USER, BOT), stranded_after_s=stranded_after_s, horizon_s=horizon_s,
    )


def test_the_table_stays_bounded_over_10000_dialogues_and_no_finished_dialogue_is_regenerated():
    """10,000 dialogues of 2-24 turns, 200 in flight, one turn per dialogue per simulated second.

    Stages write marks exactly as Pipeline._mark does; the watchdog runs every simulated
    second with a 60 s horizon; committed offsets trail processing by 1 s (Faust's commit
    interval). The table never holds more than the dialogues in flight plus those finished
    within the horizon (and the commit lag), and is empty once the last horizon has passed.
    Before the fix every dialogue stayed: 10,000 entries.
    """
    rng = random.Random(13)
    total, in_flight_cap, tick, horizon = 10_000, 200, 1.0, 60.0
    table: dict[str, object] = {}
    offsets = {USER: 0, BOT: 0}
    processed: deque[tuple[float, str, int]] = deque()  # (time, topic, offset) awaiting commit
    committed: dict[tuple[str, int], int] = {}
    pending = [(f"d{i:05d}", rng.randint(1, 12) * 2) for i in range(total)]
    flight: dict[str, list] = {}  # id -> [turns so far, turns at the end, (topic, offset) of its next event]
    finished_at: dict[str, float] = {}
    peak, now, started = 0, 0.0, 0

    def emit(topic: str) -> int:
        offsets[topic] += 1
        return offsets[topic] - 1

    while pending or flight or table:
        while pending and len(flight) < in_flight_cap:
            did, length = pending.pop()
            flight[did] = [0, length, (USER, emit(USER))]  # the experience stage's first event
            started += 1
        for did in list(flight):
            turns, length, (topic, offset) = flight[did]
            state_turns = turns
            assert marks.turns_done(table.get(did)) <= state_turns, "a live event skipped as done"
            turns += 1
            which = "u" if topic == USER else "b"
            if turns >= length and which == "b":
                entry = marks.mark(table.get(did), turns=turns, st=marks.DONE, source=(which, 0, offset), now=now)
                del flight[did]
                finished_at[did] = now
            else:
                nxt = BOT if topic == USER else USER
                sent = (nxt, 0, emit(nxt))
                entry = marks.mark(table.get(did), turns=turns, st=marks.ACTIVE, source=(which, 0, offset), now=now,
                                   run_id="r", goal_id=did, sent=sent)
                flight[did] = [turns, length, (nxt, sent[2])]
            assert marks.advances(table.get(did), entry)
            table[did] = entry
            processed.append((now, topic, offset))
        now += tick
        while processed and processed[0][0] <= now - 1.0:
            _, topic, offset = processed.popleft()
            committed[(topic, 0)] = max(committed.get((topic, 0), 0), offset + 1)
        if True:  # the watchdog's pass, once per simulated second
            result = _scan(table, now, committed=committed, horizon_s=horizon)
            assert not result.stranded
            for key, _ in result.purge:
                # A redelivered last turn of a dialogue still in the table is skipped.
                assert marks.turns_done(table[key]) > 0
                del table[key]
        peak = max(peak, len(table))
        # Bound: in flight + finished within the horizon, one scan interval and the commit lag.
        recent = sum(1 for t in finished_at.values() if t >= now - horizon - 2 * tick - 1.0)
        assert len(table) <= len(flight) + recent
        if not pending and not flight and now > max(finished_at.values()) + horizon + 5:
            break
    assert started == total and len(finished_at) == total
    assert table == {}, f"{len(table)} entries left after the last horizon"
    # 200 in flight of ~13 turns finish ~15 dialogues a second: the horizon holds ~950 tombstones.
    assert peak < 1_400, peak
    print(f"10,000 dialogues: peak {peak} entries (200 in flight), 0 at the end; without purging: 10,000")


def test_a_redelivered_last_turn_of_a_finished_dialogue_is_skipped_until_the_tombstone_goes():
    done = marks.mark(None, turns=8, st=marks.DONE, source=("b", 0, 41), now=100.0)
    # The bot event that finished it (7 turns) and any earlier one are skipped as done.
    assert marks.turns_done(done) > 7 and marks.turns_done(done) > 6
    table = {"d": done}
    committed = {(USER, 0): 41, (BOT, 0): 42}
    # Past the horizon but the user topic's committed offset has not passed the dialogue's last user event.
    old = {**done, "su": 41}
    assert _scan({"d": old}, 2000.0, committed=committed).purge == []
    assert _scan({"d": old}, 2000.0, committed={**committed, (USER, 0): 42}).purge == [("d", 0)]
    # Within the horizon it stays whatever the offsets say.
    assert _scan(table, 100.0 + 899, committed=committed).purge == []


def test_marks_only_move_forward():
    a3 = marks.mark(None, turns=3, st=marks.ACTIVE, source=("u", 0, 5), now=1.0, run_id="r", goal_id="g",
                    sent=(BOT, 0, 9))
    a2 = marks.mark(None, turns=2, st=marks.ACTIVE, source=("b", 0, 4), now=2.0)
    assert not marks.advances(a3, a2), "a late mark of an earlier turn must not pull the dialogue back"
    stranded = marks.stranded(a3, 5.0)
    assert marks.advances(a3, stranded)
    assert marks.advances(stranded, marks.mark(stranded, turns=4, st=marks.ACTIVE, source=("b", 0, 9), now=6.0))
    dead = marks.mark(a3, turns=3, st=marks.DEAD, source=("b", 0, 9), now=6.0)
    assert marks.advances(a3, dead) and dead["su"] == 5 and dead["sb"] == 9
    # A dead-lettered turn replayed later (after an outage) is processed again: n-based skip only.
    assert marks.turns_done(dead) == 3
    assert marks.turns_done(7) == 7 and marks.turns_done(None) == 0  # entries written before this change


@pytest.mark.parametrize(
    "committed, highwater, expect",
    [
        ({(BOT, 0): 9}, {(BOT, 0): 20}, "waiting"),  # next event (offset 9) not consumed yet: a backlog
        ({}, {(BOT, 0): 20}, "waiting"),  # nothing committed yet, event in the log
        ({(BOT, 0): 10}, {(BOT, 0): 20}, "stranded"),  # consumed and committed, yet no progress
        ({(BOT, 0): 5}, {(BOT, 0): 9}, "stranded"),  # the log ends before it: the broker lost it
    ],
)
def test_the_watchdog_tells_a_stranded_dialogue_from_one_waiting_in_kafka(committed, highwater, expect):
    entry = marks.mark(None, turns=3, st=marks.ACTIVE, source=("u", 0, 5), now=0.0, run_id="r", goal_id="g",
                       sent=(BOT, 0, 9))
    result = _scan({"d": entry}, 301.0, committed=committed, highwater=highwater)
    assert (result.waiting, len(result.stranded)) == ((1, 0) if expect == "waiting" else (0, 1))


def test_the_watchdog_clock_and_ownership():
    lost = marks.mark(None, turns=3, st=marks.ACTIVE, source=("u", 1, 5), now=0.0, run_id="r", goal_id="g")
    # No acknowledged next event (lost before the broker had it): stranded on time alone.
    assert [k for k, _ in _scan({"d": lost}, 301.0, committed={}).stranded] == ["d"]
    assert _scan({"d": lost}, 299.0, committed={}).stranded == []
    # The clock restarts when this worker took the partition over.
    assert _scan({"d": lost}, 301.0, committed={}, held={1: 200.0}).stranded == []
    assert len(_scan({"d": lost}, 501.0, committed={}, held={1: 200.0}).stranded) == 1
    # Another worker's partition: left alone if we keep a standby copy, else forgotten locally.
    assert _scan({"d": lost}, 1e6, committed={}, held={0: 0.0}, standby={1}).forget == []
    assert _scan({"d": lost}, 1e6, committed={}, held={0: 0.0}).forget == ["d"]
    # Stranded and dead-lettered tombstones go after the horizon.
    tomb = marks.stranded(lost, 301.0)
    assert _scan({"d": tomb}, 301.0 + 899, committed={}).purge == []
    assert _scan({"d": tomb}, 301.0 + 901, committed={}).purge == [("d", 1)]


def test_fault_specs():
    assert marks.parse_fault(None, "after_mark") is None
    assert marks.parse_fault("after_mark:3", "after_mark") == 3
    with pytest.raises(ValueError):
        marks.parse_fault("after_mark:0", "after_mark")
    with pytest.raises(ValueError):
        marks.parse_fault("next_event:2", "after_mark")
