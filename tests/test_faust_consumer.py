"""streams/faust_consumer.py: an event Faust skipped (never handed to a stage) is never acknowledged,
and a jump in read offsets acknowledges nothing, so the group cannot commit past unprocessed events."""

from __future__ import annotations

import asyncio

from faust.transport.consumer import ConsumerMessage
from faust.types import TP

from goalconvo.core.settings import Settings
from goalconvo.llm import create_backend
from goalconvo.streams.app import Pipeline
from goalconvo.streams.faust_consumer import DeliveredOnlyConsumer


def _message(offset: int, *, handed_to_stage: bool) -> ConsumerMessage:
    m = ConsumerMessage("c.goals", 0, offset, 0.0, 0, [], b"k", b"v", None, 1, 1)
    m.tracked = handed_to_stage  # what Stream._py_aiter sets just before it yields the event to the agent
    return m


def test_only_events_a_stage_was_handed_are_acknowledged_and_gaps_count_for_nothing():
    s = Settings(llm="scripted", topic_prefix="c.")
    app = Pipeline(s, create_backend(s), "127.0.0.1:1").app
    consumer = app.consumer
    assert isinstance(consumer, DeliveredOnlyConsumer)
    app.topics._acking_topics.add("c.goals")  # done by the conductor when the stages subscribe
    tp = TP("c.goals", 0)
    consumer._committed_offset[tp] = 10
    for offset in (10, 11):
        assert consumer.ack(_message(offset, handed_to_stage=True))
    # Skipped at a rebalance (stale generation, flow suspended) and acked by Faust's stream:
    for offset in range(12, 20):
        assert not consumer.ack(_message(offset, handed_to_stage=False))
    assert consumer.ack(_message(20, handed_to_stage=True))
    asyncio.run(consumer._add_gap(tp, 12, 19))  # a stale prefetch read past a seek
    assert not consumer._gap[tp]
    # The commit stops before the first event no stage processed; Faust's own consumer gave 21.
    assert consumer._new_offset(tp) == 12


def test_the_commit_never_passes_an_offset_no_stage_finished():
    s = Settings(llm="scripted", topic_prefix="d.")
    consumer = Pipeline(s, create_backend(s), "127.0.0.1:1").app.consumer
    tp = TP("d.goals", 0)
    # One event missing right at the committed offset (Faust's check let this through: it committed 13).
    consumer._committed_offset[tp] = 10
    consumer._acked[tp] = [11, 12]
    consumer._acked_index[tp] = {11, 12}
    assert consumer._new_offset(tp) is None
    consumer._acked[tp].append(10)
    consumer._acked_index[tp].add(10)
    assert consumer._new_offset(tp) == 13 and consumer._acked[tp] == []
    # Nothing committed yet: Faust committed any run; here only one from where reading started.
    fresh = TP("d.goals", 1)
    consumer._acked[fresh] = [3, 4]
    assert consumer._new_offset(fresh) is None
    consumer._start_offsets = {fresh: 2}
    assert consumer._new_offset(fresh) is None
    consumer._start_offsets = {fresh: 3}
    assert consumer._new_offset(fresh) == 5


def test_a_record_faust_dropped_is_read_again_and_one_on_its_way_is_left_alone():
    s = Settings(llm="scripted", topic_prefix="e.")
    app = Pipeline(s, create_backend(s), "127.0.0.1:1").app
    consumer = app.consumer
    app.topics._acking_topics.add("e.goals")
    app.flow_control.resume()  # as after a rebalance's recovery: the check runs only then
    tp = TP("e.goals", 0)
    seeks: list[tuple[TP, int]] = []

    async def seek(partition: TP, offset: int) -> None:
        seeks.append((partition, offset))

    async def position(partition: TP) -> int:
        return 9

    consumer.assignment = lambda: {tp}
    consumer.seek = seek
    consumer.position = position
    consumer._committed_offset[tp] = 5
    consumer._acked[tp] = [6, 7]  # a stage took later records; offset 5 never reached one
    asyncio.run(consumer.reread_dropped())
    assert seeks == []  # seen once: could be a moment's race
    asyncio.run(consumer.reread_dropped())
    assert seeks == [(tp, 5)]
    # Nothing taken after it and the drain loop still delivering: not judged yet.
    seeks.clear()
    consumer._acked[tp] = []
    consumer._delivering.add((TP("e.goals", 1), 0))
    for _ in range(3):
        asyncio.run(consumer.reread_dropped())
    assert seeks == []
    # Fetched (position 9), never drained, nothing on its way: read again.
    consumer._delivering.clear()
    for _ in range(2):
        asyncio.run(consumer.reread_dropped())
    assert seeks == [(tp, 5)]
