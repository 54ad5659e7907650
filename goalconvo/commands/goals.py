"""``goals produce`` and ``backfill goals``: publish goals from a source to the goals topic of a running Kafka."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from goalconvo.commands.common import BootstrapOpt, choose_goals, fail, make_settings, need_bus, progress_bar, run_async


def goals_produce(
    source: str = typer.Option("builtin", "--source", help="builtin | multiwoz | jsonl"),
    path: Optional[Path] = typer.Argument(None, help="File for --source multiwoz (zip or json) or jsonl."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Publish at most this many goals."),
    run_id: str = typer.Option("adhoc", "--run-id", help="Run the dialogues are stored under."),
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the count as JSON."),
) -> None:
    """Publish goals to the goals topic of a running Kafka (a worker turns them into dialogues)."""
    from goalconvo.commands.runner import goal_events, publish
    from goalconvo.streams.topics import Topics

    s = make_settings(bootstrap_servers=bootstrap_servers)
    if not s.bootstrap_servers:
        fail(ValueError("goals produce needs --bootstrap-servers (or GOALCONVO_BOOTSTRAP_SERVERS)"))
    try:
        chosen = choose_goals(source, path, ("builtin", "multiwoz", "jsonl"), raw_jsonl=True)
    except (OSError, ValueError) as exc:
        fail(exc)
    events: list[tuple[bytes | None, bytes]]
    if source != "jsonl":
        gs = chosen[:limit]
        for g in gs:
            g.run_id = run_id
        events = list(goal_events(gs))
    else:
        # Raw lines: a line that is no goal is published as it is and dead-lettered by the pipeline.
        events = [(None, _with_run_id(r, run_id)) for r in chosen[:limit]]
    n = run_async(publish(s.bootstrap_servers, Topics.for_prefix(s.topic_prefix).goals, events))
    topic = Topics.for_prefix(s.topic_prefix).goals
    print(json.dumps({"published": n, "topic": topic}) if as_json else f"published {n} goals to {topic}")


def _with_run_id(raw: bytes, run_id: str) -> bytes:
    try:
        obj = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(obj, dict):
        obj.setdefault("run_id", run_id)
        return json.dumps(obj).encode()
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

    s = make_settings(bootstrap_servers=bootstrap_servers)
    bus = need_bus(s)
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
