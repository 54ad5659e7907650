"""The DuckDB sink under bad records, a failing file, regenerated ids and other consumers (issue 14, items 1, 5, 6)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from goalconvo.commands.goal_batches import goal_events, goals_for_run
from goalconvo.commands.bus import publish
from goalconvo.commands.runner import Worker, run_goals
from goalconvo.core.wire import encode
from goalconvo.core.settings import Settings
from goalconvo.sinks.consumer import DuckDBSink, sink_group
from goalconvo.sinks.query_server import run_query
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.topics import Topics

from polling import until
from test_store import _judged

CLI = [sys.executable, "-m", "goalconvo.commands"]


async def _until(pred, timeout_s: float = 60.0) -> bool:
    return bool(await until(pred, timeout_s, interval_s=0.2))


def _dialogues(n: int, run_id: str) -> list:
    return [_judged(goal_index=i, run_id=run_id) for i in range(n)]


def test_a_poison_record_is_dead_lettered_and_the_rest_stored(settings: Settings, bus: str):
    """Item 5: a record the corpus refuses (an INTEGER column overflows) no longer blocks the sink."""
    topic = Topics.for_prefix(settings.topic_prefix).dialogues_judged
    good = _dialogues(4, "run-poison")
    poison = _judged(goal_index=5, run_id="run-poison")
    poison.dialogue.prompt_tokens = 2**40  # decodes fine; DuckDB's INTEGER column cannot hold it
    later = _judged(goal_index=6, run_id="run-poison")
    s = settings.model_copy(update={"sink_retry_s": 0.05})

    async def scenario():
        store = CorpusStore(s.db)
        sink = DuckDBSink(s, bus, store)
        await sink.start()
        try:
            events = [(j.dialogue.dialogue_id.encode(), encode(j)) for j in [good[0], poison, *good[1:]]]
            await publish(bus, topic, events)
            assert await _until(lambda: sink.stored == 4 and sink.unstorable == 1), sink.stats()
            await publish(bus, topic, [(later.dialogue.dialogue_id.encode(), encode(later))])
            assert await _until(lambda: sink.stored == 5), "the sink must keep going after a poison record"
            assert sink.error is None and not sink._task.done()
            rows = store.query("select stage, error_type, reason, dialogue_id, source_topic, payload from dead_letters").rows
            ids = store.query("select dialogue_id from dialogues order by 1").rows
            return rows, ids
        finally:
            await sink.stop()
            store.close()

    rows, ids = asyncio.run(scenario())
    assert len(rows) == 1
    stage, error_type, reason, did, source, payload = rows[0]
    assert (stage, error_type, did, source) == ("sink", "ConversionException", poison.dialogue.dialogue_id, topic)
    assert "3 tries alone" in reason and "out of range" in reason
    assert json.loads(payload)["dialogue"]["prompt_tokens"] == 2**40, "the whole record is kept"
    assert [r[0] for r in ids] == sorted(j.dialogue.dialogue_id for j in [*good, later])


FULL_DISK = textwrap.dedent(
    """
    import asyncio, json, resource, signal, sys
    from dataclasses import dataclass
    sys.path.insert(0, sys.argv[2])
    from test_store import _judged
    from goalconvo.core.wire import encode
    from goalconvo.core.settings import Settings
    from goalconvo.sinks.consumer import DuckDBSink, SinkStoreFailed
    from goalconvo.sinks.store import CorpusStore

    @dataclass
    class Msg:
        topic: str
        partition: int
        offset: int
        key: bytes
        value: bytes

    s = Settings(db=sys.argv[1], llm="scripted", sink_retry_s=0.01, topic_prefix="full.")
    store = CorpusStore(s.db)
    js = [_judged(goal_index=i) for i in range(4)]
    store.write_batch(js[:1])
    store._con.execute("checkpoint")
    # The disk is full from here on: every write that grows a file fails (EFBIG, as ENOSPC would).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    out = {}

    async def main():
        sink = DuckDBSink(s, "127.0.0.1:9", store)  # never started: the batches are handed to it directly
        for name, batch in (("batch", js[1:]), ("single", js[3:])):
            msgs = [Msg("full.dialogues.judged", 0, i, b"k", encode(j)) for i, j in enumerate(batch)]
            try:
                await sink.store_messages(msgs)
                out[name] = "stored"
            except SinkStoreFailed as exc:
                out[name] = str(exc)
        return sink

    sink = asyncio.run(main())
    out["dead_letters"] = store.query("select count(*) from dead_letters").rows[0][0]
    out["dialogues"] = store.query("select count(*) from dialogues").rows[0][0]
    out["counted"] = sink.dead_lettered
    print(json.dumps(out))
    """
)


def test_a_file_that_takes_no_writes_stops_the_sink_and_dead_letters_nothing(tmp_path: Path):
    """Item 5: with the disk full every record fails; the sink stops with a clear error instead of dead-lettering them."""
    out = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path / "c.duckdb"), str(Path(__file__).parent)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert "took none of the 3 records" in got["batch"] and "File too large" in got["batch"]
    assert "takes no writes" in got["single"] and "File too large" in got["single"]
    assert (got["dead_letters"], got["counted"], got["dialogues"]) == (0, 0, 1)


def test_the_sink_counts_replays_and_ignores_a_regenerated_dialogue(settings: Settings, bus: str):
    """Item 1 through the sink: a regenerated id on the topic is ignored whole, counted, and reported."""
    topic = Topics.for_prefix(settings.topic_prefix).dialogues_judged
    first = _judged(run_id="run-regen")
    regen = _judged(run_id="run-regen")
    regen.dialogue.started_at = first.dialogue.started_at + 30
    regen.dialogue.turns = regen.dialogue.turns[:4]
    key = first.dialogue.dialogue_id.encode()

    async def scenario():
        store = CorpusStore(settings.db)
        sink = DuckDBSink(settings, bus, store)
        await sink.start()
        try:
            await publish(bus, topic, [(key, encode(first))])
            assert await _until(lambda: sink.stored == 1)
            await publish(bus, topic, [(key, encode(first)), (key, encode(regen))])
            # At least once: a rebalance under load may hand the first record over again (CI saw 2 replays).
            assert await _until(lambda: sink.replays_ignored >= 1 and sink.regenerations_ignored == 1), sink.stats()
            turns = store.query("select count(*) from turns").rows[0][0]
            return turns, store.ignored_generations("run-regen"), sink.stats()
        finally:
            await sink.stop()
            store.close()

    turns, ignored, stats = asyncio.run(scenario())
    assert turns == len(first.dialogue.turns) and ignored == 1
    assert stats["new_dialogues"] == 1 and stats["regenerations_ignored"] == 1


def test_each_corpus_file_has_its_own_consumer_group(tmp_path: Path):
    """Item 6: the group follows the file (path and the id it got at creation), not the app id alone."""
    a, b = CorpusStore(tmp_path / "a.duckdb"), CorpusStore(tmp_path / "b.duckdb")
    ga, gb = sink_group("goalconvo", a), sink_group("goalconvo", b)
    assert ga != gb and ga.startswith("goalconvo-sink-")
    a.close()
    a = CorpusStore(tmp_path / "a.duckdb")
    assert sink_group("goalconvo", a) == ga, "the same file reopened keeps its group"
    a.close()
    b.close()
    for p in tmp_path.glob("a.duckdb*"):
        p.unlink()
    a = CorpusStore(tmp_path / "a.duckdb")
    assert sink_group("goalconvo", a) != ga, "a file made again at the same path starts a group of its own"
    a.close()


def test_backfill_into_another_file_leaves_the_live_sink_its_partitions(settings: Settings, bus: str, tmp_path: Path):
    """Item 6: a rebuild into another file while a sink runs reads everything, and the sink keeps receiving all of it."""
    topics = Topics.for_prefix(settings.topic_prefix)
    other = tmp_path / "rebuild.duckdb"
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix, "GOALCONVO_APP_ID": settings.app_id,
           "GOALCONVO_SESSION_TIMEOUT_S": str(settings.session_timeout_s)}
    live = "select count(*) from dialogues"

    async def scenario():
        async with Worker(settings, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(4, "run-live", None)))
            assert await _until(lambda: w.store.query(live).rows[0][0] == 4, 90)
            # The rebuild runs in its own process while the live sink is up.
            proc = await asyncio.create_subprocess_exec(
                *CLI, "backfill", "sink", "--db", str(other), "--json", "--bootstrap-servers", bus, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            # Published while the rebuild is a consumer: every one must still reach the live sink's file.
            await publish(bus, topics.goals, goal_events(goals_for_run(4, "run-during", None)))
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode == 0, stderr.decode()
            await publish(bus, topics.goals, goal_events(goals_for_run(4, "run-after", None)))
            assert await _until(lambda: w.store.query(live).rows[0][0] == 12, 120), w.store.query(live).rows
            return json.loads(stdout), w.sink.group_id

    out, live_group = asyncio.run(scenario())
    assert out["group"] != live_group
    rebuilt = run_query(other, "select count(*) from dialogues where run_id = 'run-live'").rows[0][0]
    assert rebuilt == 4, "another file is rebuilt from the beginning, not from the live sink's offsets"


def test_backfill_into_the_sinks_own_file_resumes_its_group(settings: Settings, bus: str):
    """Item 6: into the same file (the sink stopped) the backfill resumes where the sink was: it reads nothing again."""
    topics = Topics.for_prefix(settings.topic_prefix)

    async def scenario():
        async with Worker(settings, bus) as w:
            await publish(bus, topics.goals, goal_events(goals_for_run(3, "run-own", None)))
            assert await _until(lambda: w.store.query("select count(*) from dialogues").rows[0][0] == 3, 90)
            return w.sink.group_id

    group = asyncio.run(scenario())
    env = {**os.environ, "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix, "GOALCONVO_APP_ID": settings.app_id,
           "GOALCONVO_SESSION_TIMEOUT_S": str(settings.session_timeout_s)}
    out = subprocess.run(CLI + ["backfill", "sink", "--db", str(settings.db), "--json", "--bootstrap-servers", bus],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["group"] == group
    assert got["new_dialogues"] == 0 and got["replays_ignored"] == 0, "resumed at the sink's offsets: nothing read again"


def test_two_runs_with_the_default_app_id_on_one_broker_both_finish(settings: Settings, bus: str, tmp_path: Path):
    """Item 6: two `run`s sharing a broker and an app id no longer split the sink's partitions between their files."""
    a = settings.model_copy(update={"bootstrap_servers": bus, "db": tmp_path / "a.duckdb"})
    b = settings.model_copy(update={"bootstrap_servers": bus, "db": tmp_path / "b.duckdb"})

    async def both():
        return await asyncio.gather(run_goals(a, 3, timeout_s=90), run_goals(b, 3, timeout_s=90))

    ra, rb = asyncio.run(both())
    assert ra.finished and rb.finished, (ra, rb)
    for s, r in ((a, ra), (b, rb)):
        assert run_query(s.db, "select count(*) from dialogues where run_id = ?", params=[r.run_id]).rows == [[3]]
