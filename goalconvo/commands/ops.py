"""Operating the stream: ``replay`` a slice of a topic, ``backfill sink`` (catch the corpus up with the topics)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from goalconvo.commands.common import BootstrapOpt, DbOpt, console, fail, make_settings, need_bus, open_corpus, progress_bar, run_async


def replay(
    topic: str = typer.Option(..., "--topic", help="Topic to replay, full name or a suffix such as 'goals' or 'turns.user'."),
    from_offset: Optional[int] = typer.Option(None, "--from-offset", min=0, help="Start at this offset in every partition."),
    from_time: Optional[str] = typer.Option(None, "--from-time", help="Start at this ISO time (UTC unless it says)."),
    to_time: Optional[str] = typer.Option(None, "--to-time", help="Skip events newer than this ISO time."),
    to_topic: Optional[str] = typer.Option(None, "--to-topic", help="Publish there instead of back into the topic."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be replayed; publish nothing."),
    unwrap: bool = typer.Option(
        False, "--unwrap", help="The topic holds dead letters: put each one's original event back onto its source topic."
    ),
    error_type: Optional[str] = typer.Option(
        None, "--error-type", help="With --unwrap: only dead letters of this error, e.g. LLMError (an outage)."
    ),
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-publish a slice of a topic (all partitions). Replaying into the pipeline never duplicates a stored dialogue.

    After an LLM outage: replay --topic dialogues.dead-letter --from-offset 0 --unwrap --error-type LLMError
    """
    from goalconvo.streams.broker import BrokerError
    from goalconvo.streams.replay import replay as do_replay
    from goalconvo.streams.topics import Topics

    from goalconvo.streams.kafka import KafkaAccess

    s = make_settings(bootstrap_servers=bootstrap_servers)
    need_bus(s)
    bus = KafkaAccess.from_settings(s)
    names = Topics.for_prefix(s.topic_prefix).all()
    full = lambda t: t if t in names or t.startswith(s.topic_prefix) else s.topic_prefix + t  # noqa: E731
    if error_type and not unwrap:
        fail(ValueError("--error-type filters dead letters: use it with --unwrap"))
    try:
        with progress_bar("replaying", as_json) as bar:
            task = bar.add_task("replay", total=None)
            r = run_async(do_replay(bus, full(topic), from_offset=from_offset, from_time=from_time, to_time=to_time,
                                    to_topic=full(to_topic) if to_topic else None, dry_run=dry_run,
                                    unwrap=unwrap, error_type=error_type,
                                    progress=lambda d, n: bar.update(task, completed=d, total=n)))
    except (BrokerError, ValueError) as exc:
        fail(exc)
    out = {"topic": r.topic, "to_topic": r.to_topic, "partitions": r.partitions, "read": r.read,
           "published": r.published, "dry_run": r.dry_run}
    if unwrap:
        out["skipped"] = r.skipped
    print(json.dumps(out) if as_json else
          f"{'would replay' if dry_run else 'replayed'} {r.published} of {r.read} events from {r.topic} "
          f"({r.partitions} partitions) to {r.to_topic}" + (f"; skipped {r.skipped}" if r.skipped else ""))


def backfill_sink(
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Read the topics from offset 0 (rebuild)."),
    db: Optional[Path] = DbOpt,
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rebuild or catch up the DuckDB corpus from dialogues.judged (and the dead letters), then exit. Idempotent.

    Reads in the corpus file's own consumer group: into the file a (stopped) pipeline
    wrote, it resumes where that sink stopped; into another file, from the beginning.
    It ends at the end offsets it reads when it starts and fails (exit code 1) if it cannot
    reach them (GOALCONVO_BACKFILL_STALL_S without a record). A file a running pipeline holds is refused.
    """
    from goalconvo.sinks.backfill import backfill_sink as do_backfill

    s = make_settings(db=db, bootstrap_servers=bootstrap_servers)
    bus = need_bus(s)
    store = open_corpus(s.db)
    try:
        with console.status("reading dialogues.judged", spinner="dots"):
            out = run_async(do_backfill(s, bus, store, from_beginning=from_beginning))
    except Exception as exc:  # noqa: BLE001 - broker errors come in many types
        fail(exc)
    finally:
        store.close()
    print(json.dumps(out) if as_json else
          f"stored {out['new_dialogues']} new dialogues and {out['dead_letters']} dead letters in {s.db} "
          f"(ignored {out['regenerations_ignored']} later generations of stored dialogues; group {out['group']})")
