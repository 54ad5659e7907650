"""Replay's bounds and dead-letter replay (issue 14, items 10 and 12), on the real embedded broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from goalconvo.commands.bus import publish

from goalconvo.commands.runner import Worker
from goalconvo.core.dead_letters import DeadLetter, payload_fields
from goalconvo.core.wire import decode, encode
from goalconvo.core.settings import Settings
from goalconvo.devtools.openai_stub import OpenAIStubServer
from goalconvo.llm.vllm_server import VLLMServerBackend
from goalconvo.streams import replay as replay_mod
from goalconvo.streams.replay import ReplayStalled, _read_slice, replay
from goalconvo.streams.topics import Topics

from kafka_helpers import drained, read_topic
from polling import until
from test_judge import GOAL, GOOD, _dialogue

#: test_judge's good dialogue, grounded in the MultiWOZ venues the pipeline judges against.
GROUNDED = list(GOOD)  # grounded in the default (MultiWOZ) venues


def test_a_partition_that_ends_before_the_end_offset_stops_the_read_with_a_clear_error(settings: Settings, bus: str):
    """Item 12: the end offset measured at the start lies past the last record (compaction, retention, a
    broker's wrong answer): the read used to wait for it forever."""
    topic = Topics.for_prefix(settings.topic_prefix).goals

    async def scenario():
        await publish(bus, topic, [(b"k", b"one"), (b"k", b"two"), (b"k", b"three")])
        consumer = AIOKafkaConsumer(bootstrap_servers=bus, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            ends = await consumer.end_offsets(tps)
            full = next(tp for tp in tps if ends[tp] > 0)  # one key: one partition holds all three
            consumer.assign([full])
            got: list[bytes] = []

            async def read() -> None:
                async for batch in _read_slice(consumer, {full: 0}, {full: 3 + 5}, 100, stall_s=1.0):
                    got.extend(m.value for m in batch)

            loop = asyncio.get_running_loop()
            t0 = loop.time()
            with pytest.raises(ReplayStalled) as err:
                await asyncio.wait_for(read(), 20)  # before the fix: TimeoutError here (it never ended)
            return got, str(err.value), loop.time() - t0, full
        finally:
            await consumer.stop()

    got, message, took, tp = asyncio.run(scenario())
    assert got == [b"one", b"two", b"three"], "records before the gap were all read"
    assert took < 10, took
    assert f"{tp.topic}[{tp.partition}] at offset 3 of 8" in message and "run it again" in message, message


def test_replay_stops_with_a_clear_error_when_a_partition_ends_early(settings: Settings, bus: str, monkeypatch):
    """Item 12 through replay(): the same bound, and the CLI's error type (a BrokerError)."""
    topic = Topics.for_prefix(settings.topic_prefix).goals
    real = replay_mod.end_offsets

    async def inflated(bootstrap, tps):
        return {tp: n + 2 for tp, n in (await real(bootstrap, tps)).items()}

    monkeypatch.setattr(replay_mod, "end_offsets", inflated)

    async def scenario():
        await publish(bus, topic, [(b"a", b"x")])
        return await asyncio.wait_for(replay(bus, topic, from_offset=0, dry_run=True, stall_s=1.0), 30)

    with pytest.raises(ReplayStalled, match="no record for 1s before the end offsets"):
        asyncio.run(scenario())


def test_an_llm_outage_costs_nothing_once_it_ends(settings: Settings, bus: str):
    """Item 10: the judge's LLM is down. Dialogues become dead letters (never verdicts) that keep the whole
    event; replay --unwrap puts them back once the LLM is up, and they are judged and stored, counted once."""
    # Three copies of one dialogue: near-duplicates of each other, so that filter is off here.
    s = settings.model_copy(update={"judge_llm": True, "judge_retries": 0, "near_duplicate_filter": False})
    topics = Topics.for_prefix(s.topic_prefix)
    events = {}
    for i in range(3):
        d = _dialogue(GROUNDED)
        d.dialogue_id, d.run_id = f"outage-{i}", "run-outage"
        d.goal = GOAL.model_copy(update={"goal_id": f"g-outage-{i}"})
        if i == 0:  # bigger than the 64 KiB that dead letters used to keep, with quotes and non-ASCII
            d.turns[0].meta = {"pad": 'say "hi" — ' * 9_000}
        events[d.dialogue_id] = encode(d)
    assert len(events["outage-0"]) > 100_000

    async def scenario():
        async with OpenAIStubServer() as srv:
            srv.down = True
            llm = VLLMServerBackend([srv.base_url], "judge-7b", retries=0, backoff_s=0.05, outage_s=0.5)
            async with Worker(s, bus, llm=llm) as w:
                await publish(bus, topics.dialogues_completed, [(k.encode(), v) for k, v in events.items()])
                dead = [decode(DeadLetter, r) for r in await read_topic(bus, topics.dialogues_dead_letter, expect=3)]
                await until(lambda: w.store.query("select count(*) from dead_letters").rows[0][0] >= 3, 60)
                during = (w.store.query("select count(*) from verdicts").rows[0][0],
                          w.store.run_progress("run-outage"),
                          w.store.query("select dialogue_id, length(payload) from dead_letters order by 1").rows)
                srv.down = False
                replayed = await replay(bus, topics.dialogues_dead_letter, from_offset=0, unwrap=True,
                                        error_type="LLMError")
                stored = await until(
                    lambda: w.store.query("select count(*) from current_verdicts").rows[0][0] >= 3, 90)
                groups = {s.app_id: [topics.dialogues_completed], w.sink.group_id: [topics.dialogues_judged]}
                assert await until(lambda: drained(bus, groups), 60), "the pipeline never caught up"
                after = (w.store.query("select dialogue_id, accepted, judge_error from current_verdicts order by 1").rows,
                         w.store.run_progress("run-outage"),
                         w.store.query("select count(*) from dialogues").rows[0][0])
                return dead, during, replayed, stored, after

    dead, during, replayed, stored, after = asyncio.run(scenario())
    # During the outage: dead letters with the reason, the whole event, no verdict.
    assert sorted(d.dialogue_id for d in dead) == sorted(events)
    for d in dead:
        assert (d.stage, d.error_type) == ("judge", "LLMError") and "LLM call failed" in d.reason, d
        assert d.original_value() == events[d.dialogue_id], "the dead letter lost part of its event"
    verdicts, progress, stored_payloads = during
    assert verdicts == 0, "an outage became a verdict"
    assert progress == {"accepted": 0, "rejected": 0, "dead_lettered": 3}
    assert [n for _, n in stored_payloads] == [len(events[k].decode()) for k in sorted(events)]
    # After it: every dialogue judged on its merits, once, and nothing counted twice.
    assert (replayed.published, replayed.skipped, replayed.to_topic) == (3, 0, topics.dialogues_completed)
    assert stored, "the replayed dialogues were not judged"
    rows, progress, n_dialogues = after
    assert rows == [[k, True, False] for k in sorted(events)]
    assert progress == {"accepted": 3, "rejected": 0, "dead_lettered": 0}
    assert n_dialogues == 3


def test_unwrap_keeps_bytes_that_are_not_utf8_and_filters_by_error_type(settings: Settings, bus: str):
    """Item 10: a dead letter restores its event byte for byte; --error-type leaves other dead letters alone."""
    topics = Topics.for_prefix(settings.topic_prefix)
    raw = b"\xff\xfe not utf-8 \x00"
    outage = DeadLetter(source_topic=topics.goals, stage="experience", reason="LLMError: down", error_type="LLMError",
                        key="g1", **payload_fields(raw))
    bad = DeadLetter(source_topic=topics.goals, stage="experience", reason="bad json", error_type="DecodeError",
                     key="g2", payload="{nope")
    assert outage.payload_base64 and outage.original_value() == raw

    async def scenario():
        await publish(bus, topics.goals_dead_letter, [(b"g1", encode(outage)), (b"g2", encode(bad)), (b"g3", b"junk")])
        r = await replay(bus, topics.goals_dead_letter, from_offset=0, unwrap=True, error_type="LLMError",
                         to_topic=topics.turns_bot)
        return r, await read_topic(bus, topics.turns_bot, expect=1, timeout_s=20)

    r, values = asyncio.run(scenario())
    assert (r.read, r.published, r.skipped) == (3, 1, 2)
    assert values == [raw]


def test_replay_cli_unwraps_dead_letters_of_one_error_type(settings: Settings, bus: str):
    """Item 10 through the CLI: `replay --unwrap --error-type`, and --error-type alone is refused."""
    import json
    import os
    import subprocess
    import sys

    topics = Topics.for_prefix(settings.topic_prefix)
    letters = [DeadLetter(source_topic=topics.dialogues_completed, stage="judge", reason="LLMError: down",
                          error_type=kind, key=f"d{i}", payload=f'{{"n": {i}}}')
               for i, kind in enumerate(["LLMError", "LLMError", "DecodeError"])]
    asyncio.run(publish(bus, topics.dialogues_dead_letter, [(d.key.encode(), encode(d)) for d in letters]))
    cli = [sys.executable, "-m", "goalconvo.commands", "replay", "--topic", "dialogues.dead-letter", "--from-offset", "0",
           "--bootstrap-servers", bus, "--json"]
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix}
    out = subprocess.run(cli + ["--unwrap", "--error-type", "LLMError"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert (got["read"], got["published"], got["skipped"], got["to_topic"]) == (3, 2, 1, topics.dialogues_completed)
    values = asyncio.run(read_topic(bus, topics.dialogues_completed, expect=2, timeout_s=20))
    assert sorted(values) == [b'{"n": 0}', b'{"n": 1}']
    bad = subprocess.run(cli + ["--error-type", "LLMError"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "use it with --unwrap" in bad.stderr + bad.stdout
