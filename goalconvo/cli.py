"""The ``goalconvo`` command line. Thin: it parses, then calls the packages."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from goalconvo.core.settings import Settings, load_settings

app = typer.Typer(
    help="GoalConvo: grow a corpus of synthetic goal-oriented dialogues (Kafka + Faust + DuckDB).",
    no_args_is_help=True,
    add_completion=False,
)
goals_app = typer.Typer(help="Publish user goals to the goals topic.", no_args_is_help=True)
app.add_typer(goals_app, name="goals")
import_app = typer.Typer(help="Import real dialogue corpora as dialogue sets.", no_args_is_help=True)
app.add_typer(import_app, name="import")
backfill_app = typer.Typer(help="Fill the stream from a file, or the corpus from the stream.", no_args_is_help=True)
app.add_typer(backfill_app, name="backfill")
console = Console(stderr=True)

DbOpt = typer.Option(None, "--db", help="DuckDB corpus file [env GOALCONVO_DB; default goalconvo.duckdb].")
BootstrapOpt = typer.Option(
    None,
    "--bootstrap-servers",
    help="Kafka bootstrap servers; unset starts an embedded in-memory broker [env GOALCONVO_BOOTSTRAP_SERVERS].",
)
LlmOpt = typer.Option(None, "--llm", help="LLM backend: scripted | local | vllm | vllm-inprocess [env GOALCONVO_LLM].")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # Faust and aiokafka narrate every rebalance; keep the terminal for progress.
        for name in ("faust", "aiokafka", "mode"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except Exception as exc:  # pydantic ValidationError: show it plainly
        console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None


def _run_async(coro: Any) -> Any:
    """Run a coroutine; SIGTERM behaves like Ctrl-C (everything stops in order)."""

    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await coro

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]stopped[/yellow]")
        raise typer.Exit(130) from None


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


@app.command()
def run(
    goals: int = typer.Option(5, "--goals", "-n", min=1, help="How many goals to turn into dialogues."),
    db: Optional[Path] = DbOpt,
    llm: Optional[str] = LlmOpt,
    bootstrap_servers: Optional[str] = BootstrapOpt,
    model: Optional[str] = typer.Option(None, "--model", help="Model name or path for the backend."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="Dialogues in flight per stage."),
    max_turns: Optional[int] = typer.Option(None, "--max-turns", help="Most exchanges per dialogue."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for personas and sampling."),
    multiwoz_db: Optional[Path] = typer.Option(None, "--multiwoz-db", help="Folder of MultiWOZ *_db.json venue files."),
    llm_urls: Optional[str] = typer.Option(None, "--llm-urls", help="Base URLs of OpenAI-compatible (vLLM) servers, comma-separated."),
    max_in_flight: Optional[int] = typer.Option(None, "--max-in-flight", help="Most LLM requests open at once."),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="Sampling temperature."),
    goal_source: Optional[Path] = typer.Option(None, "--goal-source", help="Goals from a MultiWOZ zip/json or a .jsonl file."),
    domain_mix: Optional[str] = typer.Option(None, "--domain-mix", help="Domain weights, e.g. 'restaurant=3,hotel=1'."),
    min_domains: Optional[int] = typer.Option(None, "--min-domains", help="Complexity: fewest domains per goal."),
    max_domains: Optional[int] = typer.Option(None, "--max-domains", help="Complexity: most domains per goal."),
    fail_first_rate: Optional[float] = typer.Option(None, "--fail-first-rate", help="Share of goals whose first request cannot be met."),
    persona_variety: Optional[int] = typer.Option(None, "--persona-variety", help="Persona styles drawn from, 1..5."),
    judge_llm: Optional[bool] = typer.Option(None, "--llm-judge/--no-llm-judge", help="Ask the LLM judge after the rules pass."),
    similarity_reference: Optional[Path] = typer.Option(
        None, "--similarity-reference", help="MultiWOZ file: BERTScore each new dialogue against it as it is stored."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Give up after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the broker and stages do."),
) -> None:
    """Generate dialogues for N goals end to end and store them in DuckDB.

    Samples N goals (the 43 built-in ones, or --goal-source) under the complexity
    and domain-mix knobs, starts an embedded broker (unless --bootstrap-servers is
    given) and a worker, feeds the goals, waits until every goal is judged and
    stored (or dead-lettered), prints a summary and exits. Default model: the
    offline SmolLM2-135M on this CPU; --llm vllm --llm-urls ... for a vLLM server.
    """
    from goalconvo.streams.broker import BrokerError
    from goalconvo.streams.runner import run_goals

    _setup_logging(verbose)
    s = _settings(
        db=db, llm=llm, bootstrap_servers=bootstrap_servers, model=model, concurrency=concurrency,
        max_turns=max_turns, seed=seed, multiwoz_db=multiwoz_db, llm_urls=llm_urls, max_in_flight=max_in_flight,
        temperature=temperature, goal_source=goal_source, domain_mix=domain_mix, min_domains=min_domains,
        max_domains=max_domains, fail_first_rate=fail_first_rate, persona_variety=persona_variety, judge_llm=judge_llm,
        similarity_reference=similarity_reference,
    )
    with Progress(
        TextColumn("[bold]dialogues"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(), console=console, disable=as_json or not console.is_terminal,
    ) as bar:
        task = bar.add_task("run", total=goals, detail="starting broker and worker")

        def progress(c: dict[str, int]) -> None:
            bar.update(task, completed=sum(c.values()),
                       detail=f"accepted {c['accepted']} rejected {c['rejected']} dead-lettered {c['dead_lettered']}")

        try:
            summary = _run_async(run_goals(s, goals, progress=progress, timeout_s=timeout))
        except (BrokerError, OSError, RuntimeError, ValueError) as exc:
            _fail(exc)
    out = {
        "run_id": summary.run_id, "goals": summary.goals, "accepted": summary.accepted,
        "rejected": summary.rejected, "dead_lettered": summary.dead_lettered,
        "seconds": round(summary.seconds, 2), "db": summary.db, "model": summary.model,
    }
    if as_json:
        print(json.dumps(out))
    else:
        print(
            f"run {summary.run_id}: {summary.goals} goals -> accepted {summary.accepted}, "
            f"rejected {summary.rejected}, dead-lettered {summary.dead_lettered} "
            f"in {summary.seconds:.1f}s (model {summary.model}); corpus: {summary.db}"
        )
    if not summary.finished:
        console.print("[red]the run ended before every goal was accounted for[/red]")
        raise typer.Exit(1)


@app.command()
def worker(
    bootstrap_servers: Optional[str] = BootstrapOpt,
    db: Optional[Path] = DbOpt,
    llm: Optional[str] = LlmOpt,
    model: Optional[str] = typer.Option(None, "--model"),
    llm_urls: Optional[str] = typer.Option(None, "--llm-urls", help="Base URLs of OpenAI-compatible (vLLM) servers."),
    max_in_flight: Optional[int] = typer.Option(None, "--max-in-flight", help="Most LLM requests open at once."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency"),
    sink: bool = typer.Option(True, "--sink/--no-sink", help="Also run the DuckDB sink (one per corpus file)."),
    similarity_reference: Optional[Path] = typer.Option(
        None, "--similarity-reference", help="MultiWOZ file: BERTScore each new dialogue against it as it is stored."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the stages (and the sink) until Ctrl-C, against the given broker.

    Several workers may share one consumer group; only one of them may run the
    sink for a given DuckDB file (start the others with --no-sink).
    """
    from goalconvo.streams.runner import serve_worker

    _setup_logging(verbose)
    s = _settings(
        bootstrap_servers=bootstrap_servers, db=db, llm=llm, model=model, concurrency=concurrency,
        llm_urls=llm_urls, max_in_flight=max_in_flight, similarity_reference=similarity_reference,
    )
    if not s.bootstrap_servers:
        console.print("[yellow]no --bootstrap-servers: starting an embedded in-memory broker (lost on exit)[/yellow]")
    try:
        _run_async(serve_worker(s, sink=sink))
    except (OSError, RuntimeError) as exc:
        _fail(exc)


@goals_app.command("produce")
def goals_produce(
    source: str = typer.Option("builtin", "--source", help="builtin | multiwoz | jsonl"),
    path: Optional[Path] = typer.Argument(None, help="File for --source multiwoz (zip or json) or jsonl."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Publish at most this many goals."),
    run_id: str = typer.Option("adhoc", "--run-id", help="Run the dialogues are stored under."),
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the count as JSON."),
) -> None:
    """Publish goals to the goals topic of a running Kafka (a worker turns them into dialogues)."""
    from goalconvo.core import goals as goal_sources
    from goalconvo.streams.runner import goal_events, publish
    from goalconvo.streams.topics import Topics

    s = _settings(bootstrap_servers=bootstrap_servers)
    if not s.bootstrap_servers:
        _fail(ValueError("goals produce needs --bootstrap-servers (or GOALCONVO_BOOTSTRAP_SERVERS)"))
    events: list[tuple[bytes | None, bytes]]
    try:
        if source == "builtin":
            gs = goal_sources.builtin_goals()
        elif source == "multiwoz":
            if path is None:
                raise ValueError("--source multiwoz needs a PATH to val.json(.zip)")
            gs = goal_sources.multiwoz_goals(path)
        elif source == "jsonl":
            if path is None:
                raise ValueError("--source jsonl needs a PATH")
            raw = list(goal_sources.iter_jsonl(path))[:limit]
            events = [(None, r) for r in raw]
            gs = []
        else:
            raise ValueError(f"unknown source {source!r}; use builtin, multiwoz or jsonl")
    except (OSError, ValueError) as exc:
        _fail(exc)
    if source != "jsonl":
        gs = gs[:limit]
        for g in gs:
            g.run_id = run_id
        events = list(goal_events(gs))
    else:
        events = [(None, _with_run_id(r, run_id)) for _, r in events]
    n = _run_async(publish(s.bootstrap_servers, Topics.for_prefix(s.topic_prefix).goals, events))
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


def _print_result(columns: list[str], rows: list[list[Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps([dict(zip(columns, r)) for r in rows], default=str))
        return
    table = Table(*columns, show_lines=False)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    Console().print(table)


@app.command()
def query(
    sql: str = typer.Argument(..., help="SQL to run against the corpus (read-only unless --write)."),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Rows as a JSON list of objects."),
    write: bool = typer.Option(False, "--write", help="Allow statements that change the corpus."),
) -> None:
    """Query the corpus with SQL, also while a pipeline is writing it.

    Tables: dialogues, turns, verdicts, verdict_checks, dead_letters, runs.
    """
    from goalconvo.sinks.query_server import CorpusUnavailable, run_query
    from goalconvo.sinks.store import QueryRefused

    s = _settings(db=db)
    try:
        res = run_query(s.db, sql, allow_write=write)
    except QueryRefused as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from None
    except CorpusUnavailable as exc:
        _fail(exc)
    except Exception as exc:  # duckdb errors: a bad query is the user's to fix
        _fail(exc)
    _print_result(res.columns, res.rows, as_json)


@app.command()
def metrics(
    db: Optional[Path] = DbOpt,
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Only these dialogue sets (repeat the option)."),
    by: str = typer.Option("set", "--by", help="Group inside each set: set | domain_set | model | prompt_version."),
    accepted_only: bool = typer.Option(False, "--accepted-only", help="Measure accepted dialogues only."),
    as_json: bool = typer.Option(False, "--json", help="Figures as JSON."),
) -> None:
    """The paper's figures per dialogue set, side by side (Table 6.1), also while a pipeline writes.

    distinct-1/2 (corpus and per-dialogue mean; lower-cased [a-z0-9']+ words),
    exchanges, acceptance, goal completion, BERTScore vs the nearest MultiWOZ
    dialogue (after `goalconvo similarity`), tokens and seconds per dialogue.
    """
    from goalconvo.sinks.metrics import corpus_metrics
    from goalconvo.sinks.query_server import CorpusUnavailable

    s = _settings(db=db)
    try:
        rows = corpus_metrics(s.db, by=by, sets=sets, accepted_only=accepted_only)
    except (CorpusUnavailable, ValueError) as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        print("no dialogues stored yet")
        return
    # Sets side by side: one column per set (and group), one row per figure.
    keys = [k for k in rows[0] if k not in ("set_name", by)]
    heads = [r["set_name"] + (f" / {r[by]}" if by != "set" else "") for r in rows]
    _print_result(["figure", *heads], [[k, *[r.get(k) for r in rows]] for k in keys], False)


def _bar(label: str, quiet: bool) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=quiet or not console.is_terminal,
    )


def _open_store(db: Path):
    from goalconvo.sinks.corpus_ops import CorpusBusy, open_store

    try:
        return open_store(db)
    except CorpusBusy as exc:
        _fail(exc)


@import_app.command("multiwoz")
def import_multiwoz(
    path: Path = typer.Argument(..., help="MultiWOZ dialogues: a .json or .json.zip keyed by dialogue id."),
    set_name: str = typer.Option("multiwoz", "--set", help="Name of the dialogue set to store them as."),
    db: Optional[Path] = DbOpt,
    multiwoz_db: Optional[Path] = typer.Option(None, "--multiwoz-db", help="Venue databases for the goal check."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import real MultiWOZ dialogues (with their goals) as a dialogue set, judged by the rules.

    Importing the same file into the same set again changes nothing.
    """
    from goalconvo.sinks.corpus_ops import import_multiwoz as do_import

    if multiwoz_db is None and (path.parent / "db").is_dir():
        # MultiWOZ's own layout: the venue databases beside the dialogues. Judging real dialogues
        # against the small built-in set would flag every real phone number as invented.
        multiwoz_db = path.parent / "db"
    s = _settings(db=db, multiwoz_db=multiwoz_db)
    if s.multiwoz_db is None:
        console.print("[yellow]no venue databases (--multiwoz-db): judging against the small built-in set[/yellow]")
    store = _open_store(s.db)
    try:
        with _bar("importing", as_json) as bar:
            task = bar.add_task("import", total=None)
            out = _run_async(do_import(store, path, set_name, s, lambda d, n: bar.update(task, completed=d, total=n)))
    except (OSError, ValueError, KeyError) as exc:
        _fail(exc)
    finally:
        store.close()
    out["venue_db"] = str(s.multiwoz_db) if s.multiwoz_db else "builtin"
    print(json.dumps(out) if as_json else
          f"set {out['set']}: {out['dialogues']} dialogues, {out['new']} new (judged against {out['venue_db']})")


@app.command()
def rejudge(
    where: Optional[str] = typer.Option(None, "--where", help="SQL condition on the dialogues table, e.g. \"set_name = 'run-1'\"."),
    judge_version: Optional[str] = typer.Option(None, "--judge-version", help="Version of the new verdicts (default: the current judge's)."),
    db: Optional[Path] = DbOpt,
    llm: Optional[str] = LlmOpt,
    model: Optional[str] = typer.Option(None, "--model", help="Model of the LLM judge."),
    llm_urls: Optional[str] = typer.Option(None, "--llm-urls", help="OpenAI-compatible servers for the LLM judge."),
    judge_llm: Optional[bool] = typer.Option(None, "--llm-judge/--no-llm-judge", help="Ask the LLM judge after the rules pass."),
    multiwoz_db: Optional[Path] = typer.Option(None, "--multiwoz-db", help="Venue databases for the checks."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Judge stored dialogues again without regenerating them; old verdicts stay, new ones are added."""
    import duckdb

    from goalconvo.llm import LLMError, create_backend
    from goalconvo.sinks.corpus_ops import rejudge as do_rejudge
    from goalconvo.sinks.store import QueryRefused

    s = _settings(db=db, llm=llm, model=model, llm_urls=llm_urls, judge_llm=judge_llm, multiwoz_db=multiwoz_db)
    store = _open_store(s.db)
    try:
        backend = create_backend(s) if s.judge_llm else None
        with _bar("judging", as_json) as bar:
            task = bar.add_task("judge", total=None)
            out = _run_async(do_rejudge(store, s, where=where, version=judge_version, llm=backend,
                                        progress=lambda d, n: bar.update(task, completed=d, total=n)))
        if backend is not None:
            _run_async(backend.close())
    except QueryRefused as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from None
    except (LLMError, duckdb.Error, ValueError) as exc:
        _fail(exc)
    finally:
        store.close()
    print(json.dumps(out) if as_json else f"judged {out['judged']} dialogues under {out['judge_version']}: {out['accepted']} accepted")


@app.command()
def similarity(
    reference: Path = typer.Option(..., "--reference", help="Real dialogues to compare with: a MultiWOZ .json or .json.zip."),
    db: Optional[Path] = DbOpt,
    top_k: int = typer.Option(3, "--top-k", min=1, help="Retrieved candidates scored per dialogue."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Score at most this many dialogues."),
    include_imported: bool = typer.Option(
        False, "--include-imported", help="Also score imported real dialogues (vs their nearest other one): the human reference."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """BERTScore each generated dialogue against its nearest reference dialogue with the same domain set.

    Offline: the encoder (all-MiniLM-L6-v2, layer 4, not rescaled) ships in a pip
    package. Dialogues already scored against this reference are skipped.
    """
    from goalconvo.sinks.corpus_ops import score_similarity

    s = _settings(db=db)
    store = _open_store(s.db)
    try:
        with _bar("scoring", as_json) as bar:
            task = bar.add_task("score", total=None)
            out = score_similarity(store, reference, top_k=top_k, limit=limit, include_imported=include_imported,
                                   progress=lambda d, n: bar.update(task, completed=d, total=n))
    except (OSError, ValueError, RuntimeError) as exc:
        _fail(exc)
    finally:
        store.close()
    print(json.dumps(out) if as_json else
          f"scored {out['scored']} dialogues against {out['reference_set']} ({out['model']}, layer {out['layer']}) in {out['seconds']}s")


@app.command()
def export(
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl | parquet"),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Only these dialogue sets (repeat the option)."),
    include_rejected: bool = typer.Option(False, "--include-rejected", help="Also rejected dialogues (verdict says why)."),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write the accepted corpus in a MultiWOZ-like layout (goal, log, domains, verdict), ready for training."""
    from goalconvo.sinks.corpus_ops import export_corpus

    s = _settings(db=db)
    store = _open_store(s.db)
    try:
        n = export_corpus(store, out, fmt, sets=sets, include_rejected=include_rejected)
    except (OSError, ValueError) as exc:
        _fail(exc)
    finally:
        store.close()
    print(json.dumps({"written": n, "out": str(out), "format": fmt}) if as_json else f"wrote {n} dialogues to {out}")


@app.command()
def dashboard(
    db: Optional[Path] = DbOpt,
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1 (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
) -> None:
    """A live web page over the corpus: figures per set side by side, trends, domains, rejection reasons, dialogues.

    Works beside a running pipeline (it reads through the sink's query endpoint) and refreshes every 3 s.
    """
    from goalconvo.sinks.dashboard.server import Dashboard

    s = _settings(db=db)

    async def serve() -> None:
        dash = Dashboard(s.db, host, port)
        try:
            await dash.start()
        except OSError as exc:
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        console.print(f"dashboard on [bold]{dash.url}[/bold] for {s.db} (Ctrl-C to stop)")
        try:
            await asyncio.Event().wait()
        finally:
            await dash.stop()

    try:
        _run_async(serve())
    except OSError as exc:
        _fail(exc)


def _need_bus(s: Settings) -> str:
    if not s.bootstrap_servers:
        _fail(ValueError("this command works on a running Kafka: give --bootstrap-servers (or GOALCONVO_BOOTSTRAP_SERVERS); "
                         "the embedded broker lives only as long as the process that started it"))
    return s.bootstrap_servers  # type: ignore[return-value]


@app.command()
def replay(
    topic: str = typer.Option(..., "--topic", help="Topic to replay, full name or a suffix such as 'goals' or 'turns.user'."),
    from_offset: Optional[int] = typer.Option(None, "--from-offset", min=0, help="Start at this offset in every partition."),
    from_time: Optional[str] = typer.Option(None, "--from-time", help="Start at this ISO time (UTC unless it says)."),
    to_time: Optional[str] = typer.Option(None, "--to-time", help="Skip events newer than this ISO time."),
    to_topic: Optional[str] = typer.Option(None, "--to-topic", help="Publish there instead of back into the topic."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be replayed; publish nothing."),
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-publish a slice of a topic (all partitions). Replaying into the pipeline never duplicates a stored dialogue."""
    from goalconvo.streams.broker import BrokerError
    from goalconvo.streams.replay import replay as do_replay
    from goalconvo.streams.topics import Topics

    s = _settings(bootstrap_servers=bootstrap_servers)
    bus = _need_bus(s)
    names = Topics.for_prefix(s.topic_prefix).all()
    full = lambda t: t if t in names or t.startswith(s.topic_prefix) else s.topic_prefix + t  # noqa: E731
    try:
        with _bar("replaying", as_json) as bar:
            task = bar.add_task("replay", total=None)
            r = _run_async(do_replay(bus, full(topic), from_offset=from_offset, from_time=from_time, to_time=to_time,
                                     to_topic=full(to_topic) if to_topic else None, dry_run=dry_run,
                                     progress=lambda d, n: bar.update(task, completed=d, total=n)))
    except (BrokerError, ValueError) as exc:
        _fail(exc)
    out = {"topic": r.topic, "to_topic": r.to_topic, "partitions": r.partitions, "read": r.read,
           "published": r.published, "dry_run": r.dry_run}
    print(json.dumps(out) if as_json else
          f"{'would replay' if dry_run else 'replayed'} {r.published} of {r.read} events from {r.topic} "
          f"({r.partitions} partitions) to {r.to_topic}")


@backfill_app.command("goals")
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
    from goalconvo.core import goals as goal_sources
    from goalconvo.streams.broker import BrokerError
    from goalconvo.streams.replay import backfill_goals as do_backfill, filter_goals
    from goalconvo.streams.topics import Topics

    s = _settings(bootstrap_servers=bootstrap_servers)
    bus = _need_bus(s)
    try:
        if source == "multiwoz":
            gs = goal_sources.multiwoz_goals(path)
        elif source == "jsonl":
            gs = goal_sources.load_goal_source(path) if path.suffix == ".jsonl" else []
            if path.suffix != ".jsonl":
                raise ValueError("--source jsonl needs a .jsonl file")
        else:
            raise ValueError(f"unknown source {source!r}; use multiwoz or jsonl")
        for d in domains or []:
            if d not in goal_sources.KNOWN_DOMAINS:
                raise ValueError(f"unknown domain {d!r}; known: {list(goal_sources.KNOWN_DOMAINS)}")
        gs = filter_goals(gs, domains, limit)
        for g in gs:
            g.run_id = run_id
        with _bar("publishing", as_json) as bar:
            task = bar.add_task("goals", total=len(gs))
            out = _run_async(do_backfill(bus, Topics.for_prefix(s.topic_prefix).goals, gs, rate=rate, force=force,
                                         progress=lambda d, n: bar.update(task, completed=d, total=n)))
    except (BrokerError, OSError, ValueError) as exc:
        _fail(exc)
    print(json.dumps(out) if as_json else f"published {out['published']} goals, skipped {out['skipped']} already published")


@backfill_app.command("sink")
def backfill_sink(
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Read the topics from offset 0 (rebuild)."),
    db: Optional[Path] = DbOpt,
    bootstrap_servers: Optional[str] = BootstrapOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rebuild or catch up the DuckDB corpus from dialogues.judged (and the dead letters), then exit. Idempotent."""
    from goalconvo.sinks.consumer import backfill_sink as do_backfill

    s = _settings(db=db, bootstrap_servers=bootstrap_servers)
    bus = _need_bus(s)
    store = _open_store(s.db)
    try:
        with console.status("reading dialogues.judged", spinner="dots"):
            out = _run_async(do_backfill(s, bus, store, from_beginning=from_beginning))
    except Exception as exc:  # noqa: BLE001 - broker errors come in many types
        _fail(exc)
    finally:
        store.close()
    print(json.dumps(out) if as_json else
          f"stored {out['new_dialogues']} new dialogues and {out['dead_letters']} dead letters in {s.db}")


if __name__ == "__main__":  # pragma: no cover
    app()
