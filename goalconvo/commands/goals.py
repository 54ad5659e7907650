"""``goals produce`` and ``backfill goals``: publish goals from a source to the goals topic of a running Kafka."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from goalconvo.commands.common import (
    BootstrapOpt,
    check_run_id,
    choose_goals,
    fail,
    make_settings,
    need_bus,
    progress_bar,
    run_async,
)
from goalconvo.core.records import MAX_EVENT_BYTES, Goal

if TYPE_CHECKING:
    from goalconvo.streams.kafka import KafkaAccess


def goals_produce(
    source: str = typer.Option("builtin", "--source", help="builtin | multiwoz | jsonl | generate (new goals from the venue databases)"),
    path: Optional[Path] = typer.Argument(None, help="File for --source multiwoz (zip or json) or jsonl."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Publish at most this many goals."),
    count: Optional[int] = typer.Option(None, "--count", min=1, help="--source generate: how many goals."),
    forever: bool = typer.Option(False, "--forever", help="--source generate: publish until Ctrl-C (or SIGTERM)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="--source generate: seed (same seed, same goals); unset: a fresh one, printed."),
    domain_mix: Optional[str] = typer.Option(
        None, "--domain-mix",
        help="--source generate: domain sets 'restaurant+train=3,hotel=1', counts '1=0.2,2=0.65,3=0.15' or domain "
        "weights 'restaurant=3,hotel=1'; unset: MultiWOZ val's mix."),
    fail_first_rate: float = typer.Option(0.0, "--fail-first-rate", min=0.0, max=1.0,
                                          help="--source generate: share of goals whose first request cannot be met."),
    rate: Optional[float] = typer.Option(None, "--rate", min=0.001, help="Most goals per second (a steady stream)."),
    multiwoz_db: Optional[Path] = typer.Option(None, "--multiwoz-db", help="--source generate: folder of *_db.json venue files."),
    run_id: str = typer.Option("adhoc", "--run-id", help="Run the dialogues are stored under."),
    pack: Optional[str] = typer.Option(
        None, "--pack", help="Goals of a domain pack: its goal file (or PATH, a file of its goal lines), or with "
        "--source generate drawn from it. Workers must hold the same pack (worker --pack)."),
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the count as JSON."),
) -> None:
    """Publish goals to the goals topic of a running Kafka (a worker turns them into dialogues).

    --source generate --forever --rate R beside `goalconvo worker` grows the corpus as a service: new goals at R per second until stopped.
    """
    import random

    from goalconvo.commands.common import GenerateSpec, StopRequest
    from goalconvo.commands.goal_batches import goal_events
    from goalconvo.commands.bus import publish
    from goalconvo.streams.topics import Topics

    from goalconvo.streams.kafka import KafkaAccess

    s = make_settings(bootstrap_servers=bootstrap_servers)
    if not s.bootstrap_servers:
        fail(ValueError("goals produce needs --bootstrap-servers (or GOALCONVO_BOOTSTRAP_SERVERS)"))
    check_run_id(run_id)
    bus = KafkaAccess.from_settings(s)
    topic = Topics.for_prefix(s.topic_prefix).goals
    from goalconvo.packs.registry import is_shipped_default

    if pack and is_shipped_default(pack):
        pack = None  # the shipped MultiWOZ pack, by name or folder: its goals are published as without --pack
    if pack:
        from goalconvo.commands.common import check_pack
        from goalconvo.commands.goal_batches import pack_goals_for_run

        check_pack(pack)
        ps = s.model_copy(update={"pack": pack, "goal_source": Path("generate") if source == "generate" else path,
                                  "seed": seed if seed is not None else s.seed})
        try:
            from goalconvo.commands.goal_batches import pack_goal_pool

            pool = pack_goal_pool(ps)
            n_goals = count or limit or (len(pool) if pool else 0)
            if not n_goals:
                raise ValueError(f"pack {pack} has no goal file: give --source generate --count N")
            gs = pack_goals_for_run(ps, n_goals, run_id)
        except (OSError, ValueError) as exc:
            fail(exc)
        n = run_async(publish(bus, topic, list(goal_events(gs))))
        print(json.dumps({"published": n, "topic": topic, "pack": pack}) if as_json else f"published {n} goals of pack {pack} to {topic}")
        return
    if source == "generate":
        if forever and (count or limit):
            fail(ValueError("give --count N or --forever, not both"))
        if not forever and not (count or limit):
            fail(ValueError("--source generate needs --count N (or --forever)"))
        spec = GenerateSpec(count=None if forever else (count or limit), seed=seed if seed is not None else random.randrange(2**31),
                            domain_mix=domain_mix, fail_first_rate=fail_first_rate, venue_db=multiwoz_db or s.multiwoz_db,
                            run_id=run_id)
        try:
            goals = choose_goals(source, path, ("builtin", "multiwoz", "jsonl", "generate"), raw_jsonl=False, generate=spec)
        except (OSError, ValueError) as exc:
            fail(exc)
        stop = StopRequest()
        try:
            n = run_async(publish_stream(bus, topic, goals, rate=rate, stop=stop.event), stop=stop)
        except (OSError, RuntimeError, ValueError) as exc:
            fail(exc)
        if as_json:
            print(json.dumps({"published": n, "topic": topic, "seed": spec.seed, "stopped_by": stop.signal_name}))
        else:
            print(f"published {n} generated goals to {topic} (seed {spec.seed})"
                  + (f"; stopped by {stop.signal_name}" if stop.signal_name else ""))
        return
    limit = limit or count
    try:
        chosen = choose_goals(source, path, ("builtin", "multiwoz", "jsonl", "generate"), raw_jsonl=True)
    except (OSError, ValueError) as exc:
        fail(exc)
    if rate:
        stop = StopRequest()
        if source == "jsonl":
            fail(ValueError("--rate takes builtin, multiwoz or generate goals (backfill goals --rate takes a file)"))
        gs = list(chosen[:limit])
        for g in gs:
            g.run_id = run_id
        try:
            n = run_async(publish_stream(bus, topic, iter(gs), rate=rate, stop=stop.event), stop=stop)
        except (OSError, RuntimeError, ValueError) as exc:
            fail(exc)
        print(json.dumps({"published": n, "topic": topic}) if as_json else f"published {n} goals to {topic}")
        return
    events: list[tuple[bytes | None, bytes]]
    if source != "jsonl":
        gs = chosen[:limit]
        for g in gs:
            g.run_id = run_id
        events = list(goal_events(gs))
    else:
        # Raw lines: a line that is no goal is published as it is and dead-lettered by the pipeline; one too
        # large for an event is refused here, naming its line, before anything is published.
        from goalconvo.core.goals import iter_jsonl_lines

        lines = list(iter_jsonl_lines(path))[:limit] if path is not None else []
        events = []
        for number, raw in lines:
            value = _with_run_id(raw, run_id)
            if len(value) > MAX_EVENT_BYTES:
                fail(ValueError(f"{path}, line {number}: {len(value)} bytes, over the {MAX_EVENT_BYTES}-byte limit "
                                "of an event; nothing was published"))
            events.append((None, value))
    try:
        n = run_async(publish(bus, topic, events))
    except (OSError, RuntimeError, ValueError) as exc:
        fail(exc)
    print(json.dumps({"published": n, "topic": topic}) if as_json else f"published {n} goals to {topic}")


async def publish_stream(
    bootstrap_servers: "str | KafkaAccess", topic: str, goals: Iterator[Goal], *, rate: float | None, stop: asyncio.Event,
) -> int:
    """Publish ``goals`` (maybe without end) at most ``rate`` per second until they end or ``stop`` is set.

    Sends are awaited in batches, so memory stays flat however long it runs; on ``stop``
    what was sent is flushed and the count returned.
    """
    import contextlib

    from goalconvo.core.goals import published
    from goalconvo.core.wire import check_event_size, encode
    from goalconvo.streams.broker import BrokerError, describe_error
    from goalconvo.streams.kafka import access

    kafka = access(bootstrap_servers)
    producer = kafka.producer(linger_ms=5)
    try:
        await producer.start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise BrokerError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {describe_error(exc)}") from exc
    n, pending, t0 = 0, [], time.monotonic()
    try:
        for g in goals:
            if stop.is_set():
                break
            if rate:
                wait = t0 + n / rate - time.monotonic()
                if wait > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=wait)
                        break
                    except asyncio.TimeoutError:
                        pass
            value = check_event_size(encode(published(g)), f"goal {g.goal_id!r}")
            pending.append(await producer.send(topic, key=g.goal_id.encode(), value=value))
            n += 1
            if len(pending) >= 256 or rate:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return n


def _with_run_id(raw: bytes, run_id: str) -> bytes:
    """A raw goal line with the run's id (unless it names one) and its pack (MultiWOZ's when it names none)."""
    from goalconvo.core.goals import published_raw

    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    if isinstance(obj, dict):
        if obj.get("run_id") is None:  # a goal written out by another tool says "run_id": null
            obj["run_id"] = run_id
        return json.dumps(published_raw(obj)).encode()
    return raw


def backfill_goals(
    source: str = typer.Option(..., "--source", help="multiwoz | jsonl"),
    path: Path = typer.Argument(..., help="MultiWOZ zip/json, or a .jsonl file of goals."),
    domains: Optional[list[str]] = typer.Option(None, "--domains", help="Only goals within these domains (repeat)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Publish at most this many."),
    rate: Optional[float] = typer.Option(None, "--rate", min=0.001, help="Most goals per second."),
    force: bool = typer.Option(False, "--force", help="Publish goals already on the topic again."),
    run_id: str = typer.Option("backfill", "--run-id", help="Run the dialogues are stored under."),
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Publish goals from a file at a bounded rate, skipping those already published (same goal id and run)."""
    from goalconvo.core.records import KNOWN_DOMAINS
    from goalconvo.streams.broker import BrokerError
    from goalconvo.streams.replay import backfill_goals as do_backfill, filter_goals
    from goalconvo.streams.topics import Topics

    from goalconvo.streams.kafka import KafkaAccess

    s = make_settings(bootstrap_servers=bootstrap_servers)
    need_bus(s)
    check_run_id(run_id)
    bus = KafkaAccess.from_settings(s)
    try:
        gs = choose_goals(source, path, ("multiwoz", "jsonl"), raw_jsonl=False)
        for d in domains or []:
            if d not in KNOWN_DOMAINS:
                raise ValueError(f"unknown domain {d!r}; known: {list(KNOWN_DOMAINS)}")
        gs = filter_goals(gs, domains, limit)
        for g in gs:
            g.run_id = run_id
        with progress_bar("publishing", as_json) as bar:
            task = bar.add_task("goals", total=len(gs))
            out = run_async(do_backfill(bus, Topics.for_prefix(s.topic_prefix).goals, gs, rate=rate, force=force,
                                        progress=lambda d, n: bar.update(task, completed=d, total=n)))
    except (BrokerError, OSError, ValueError) as exc:
        fail(exc)
    print(json.dumps(out) if as_json else f"published {out['published']} goals, skipped {out['skipped']} already published")
