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

from goalconvo.settings import Settings, load_settings

app = typer.Typer(
    help="GoalConvo: grow a corpus of synthetic goal-oriented dialogues (Kafka + Faust + DuckDB).",
    no_args_is_help=True,
    add_completion=False,
)
goals_app = typer.Typer(help="Publish user goals to the goals topic.", no_args_is_help=True)
app.add_typer(goals_app, name="goals")
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
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Give up after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the broker and stages do."),
) -> None:
    """Generate dialogues for N built-in goals end to end and store them in DuckDB.

    Starts an embedded broker (unless --bootstrap-servers is given) and a worker,
    feeds the goals, waits until every goal is judged and stored (or
    dead-lettered), prints a summary and exits.
    """
    from goalconvo.streams.broker import BrokerError
    from goalconvo.streams.runner import run_goals

    _setup_logging(verbose)
    s = _settings(
        db=db, llm=llm, bootstrap_servers=bootstrap_servers, model=model, concurrency=concurrency,
        max_turns=max_turns, seed=seed, multiwoz_db=multiwoz_db, llm_urls=llm_urls, max_in_flight=max_in_flight,
        temperature=temperature, goal_source=goal_source, domain_mix=domain_mix, min_domains=min_domains,
        max_domains=max_domains, fail_first_rate=fail_first_rate, persona_variety=persona_variety, judge_llm=judge_llm,
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
        llm_urls=llm_urls, max_in_flight=max_in_flight,
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
) -> None:
    """Publish goals to the goals topic of a running Kafka (a worker turns them into dialogues)."""
    from goalconvo.streams import goals as goal_sources
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
    print(f"published {n} goals to {Topics.for_prefix(s.topic_prefix).goals}")


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
    as_json: bool = typer.Option(False, "--json", help="Figures as JSON."),
) -> None:
    """Corpus figures per dialogue set (run), side by side."""
    from goalconvo.sinks.metrics import corpus_metrics
    from goalconvo.sinks.query_server import CorpusUnavailable

    s = _settings(db=db)
    try:
        rows = corpus_metrics(s.db)
    except CorpusUnavailable as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        print("no dialogues stored yet")
        return
    cols = list(rows[0])
    _print_result(cols, [[r[c] for c in cols] for r in rows], False)


if __name__ == "__main__":  # pragma: no cover
    app()
