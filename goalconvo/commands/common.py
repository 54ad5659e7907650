"""What every command shares: the common options, settings, the event loop, errors, tables, progress bars.

Commands are thin: they parse, call the packages below and print.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass
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


class StopRequest:
    """How a long-running command (worker, broker) learns it was asked to stop.

    ``run_async(coro, stop=request)`` sets ``event`` on the first SIGTERM or Ctrl-C (and
    remembers which, in ``signal_name``): the service stops in order and the command
    exits 0 with its summary. A second signal cancels it outright.
    """

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signal_name: str | None = None


def run_async(coro: Any, *, stop: StopRequest | None = None) -> Any:
    """Run a coroutine; SIGTERM behaves like Ctrl-C (everything stops in order).

    Without ``stop``, a signal cancels the coroutine and the command exits 130 (Ctrl-C) or
    143 (SIGTERM), the shell's codes for "ended by that signal". With ``stop``, see StopRequest.
    """
    received: list[int] = []

    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_signal(sig: int) -> None:
            received.append(sig)
            if stop is not None and len(received) == 1:
                stop.signal_name = signal.Signals(sig).name
                stop.event.set()
            elif task is not None:
                task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        return await coro

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        sig = received[-1] if received else signal.SIGINT
        console.print(f"[yellow]stopped ({signal.Signals(sig).name})[/yellow]")
        # SystemExit, not typer.Exit: that one is a RuntimeError, and commands catch those as failures.
        raise SystemExit(128 + sig) from None


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


@dataclass
class GenerateSpec:
    """The knobs of ``--source generate``: how many (None: without end), seed, domain mix, failing first requests."""

    count: int | None = None
    seed: int = 0
    domain_mix: str | None = None
    fail_first_rate: float = 0.0
    venue_db: Path | None = None
    run_id: str | None = None

    def goals(self) -> Iterator[Goal]:
        from goalconvo.core.goal_generator import iter_generated_goals, parse_goal_mix
        from goalconvo.core.venues import VenueDB

        it = iter_generated_goals(VenueDB.load(self.venue_db), self.seed, mix=parse_goal_mix(self.domain_mix),
                                  fail_first_rate=self.fail_first_rate, run_id=self.run_id)
        return it if self.count is None else itertools.islice(it, self.count)


def need_bus(s: Settings) -> str:
    if not s.bootstrap_servers:
        fail(ValueError("this command works on a running Kafka: give --bootstrap-servers (or GOALCONVO_BOOTSTRAP_SERVERS); "
                        "the embedded broker lives only as long as the process that started it"))
    return s.bootstrap_servers  # type: ignore[return-value]


def choose_goals(
    source: str, path: Path | None, sources: tuple[str, ...], *, raw_jsonl: bool, generate: GenerateSpec | None = None,
) -> list[Goal] | list[bytes] | Iterator[Goal]:
    """The goal-source choice of ``goals produce`` and ``backfill goals``: goals from ``source`` (one of ``sources``).

    ``jsonl`` gives the file's raw lines when ``raw_jsonl`` (a bad line is published and dead-lettered
    downstream), else the parsed goals (a bad line stops the command). ``generate`` gives new goals
    from the venue databases (``generate``'s knobs): ``count`` of them, or without end when it is None.
    """
    from goalconvo.core import goals as goal_sources

    if source not in sources:
        raise ValueError(f"unknown source {source!r}; use {', '.join(sources[:-1])} or {sources[-1]}")
    if source == "generate":
        return (generate or GenerateSpec()).goals()
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
