"""What every command shares: the common options, settings, the event loop, errors, tables, progress bars.

Commands are thin: they parse, call the packages below and print.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from goalconvo.core.records import Goal
from goalconvo.core.settings import Settings, load_settings

console = Console(stderr=True)

DbOpt = typer.Option(None, "--db", help="DuckDB corpus file [env GOALCONVO_DB; default goalconvo.duckdb].")
BootstrapOpt = typer.Option(
    None,
    "--bootstrap-servers",
    help="Kafka bootstrap servers; unset starts an embedded in-memory broker [env GOALCONVO_BOOTSTRAP_SERVERS].",
)
LlmOpt = typer.Option(None, "--llm", help="LLM backend: scripted | local | vllm | vllm-inprocess [env GOALCONVO_LLM].")
ModeOpt = typer.Option(
    None, "--mode",
    help="guided (default): acts planned over the venue database, phrased by the LLM; free: the paper's role-play "
    "(needs a 7B-class model) [env GOALCONVO_MODE].",
)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # Faust and aiokafka narrate every rebalance; keep the terminal for progress.
        for name in ("faust", "aiokafka", "mode"):
            logging.getLogger(name).setLevel(logging.ERROR)


def make_settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except Exception as exc:  # pydantic ValidationError: show it plainly
        console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None


def run_async(coro: Any) -> Any:
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


def fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


def print_result(columns: list[str], rows: list[list[Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps([dict(zip(columns, r)) for r in rows], default=str))
        return
    table = Table(*columns, show_lines=False)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    Console().print(table)


def progress_bar(label: str, quiet: bool) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=quiet or not console.is_terminal,
    )


def open_corpus(db: Path):
    from goalconvo.sinks.opening import CorpusBusy, open_store

    try:
        return open_store(db)
    except CorpusBusy as exc:
        fail(exc)


def need_bus(s: Settings) -> str:
    if not s.bootstrap_servers:
        fail(ValueError("this command works on a running Kafka: give --bootstrap-servers (or GOALCONVO_BOOTSTRAP_SERVERS); "
                        "the embedded broker lives only as long as the process that started it"))
    return s.bootstrap_servers  # type: ignore[return-value]


def choose_goals(source: str, path: Path | None, sources: tuple[str, ...], *, raw_jsonl: bool) -> list[Goal] | list[bytes]:
    """The goal-source choice of ``goals produce`` and ``backfill goals``: goals from ``source`` (one of ``sources``).

    ``jsonl`` gives the file's raw lines when ``raw_jsonl`` (a bad line is published and dead-lettered
    downstream), else the parsed goals (a bad line stops the command).
    """
    from goalconvo.core import goals as goal_sources

    if source not in sources:
        raise ValueError(f"unknown source {source!r}; use {', '.join(sources[:-1])} or {sources[-1]}")
    if source == "builtin":
        return goal_sources.builtin_goals()
    if source == "multiwoz":
        if path is None:
            raise ValueError("--source multiwoz needs a PATH to val.json(.zip)")
        return goal_sources.multiwoz_goals(path)
    if path is None:
        raise ValueError("--source jsonl needs a PATH")
    if raw_jsonl:
        return list(goal_sources.iter_jsonl(path))
    if path.suffix != ".jsonl":
        raise ValueError("--source jsonl needs a .jsonl file")
    return goal_sources.load_goal_source(path)
