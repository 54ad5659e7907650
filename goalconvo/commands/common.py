"""What every command shares: the common options, settings, the event loop, errors, tables, progress bars.

Commands are thin: they parse, call the packages below and print.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from goalconvo.core import exits
from goalconvo.core.records import Goal
from goalconvo.core.settings import Settings, load_settings
from goalconvo.core.text import escape_controls

console = Console(stderr=True)

DbOpt = typer.Option(None, "--db", help="DuckDB corpus file (env GOALCONVO_DB; default goalconvo.duckdb).")
BootstrapOpt = typer.Option(
    None,
    "--bootstrap-servers",
    help="Kafka bootstrap servers; unset starts an embedded in-memory broker (env GOALCONVO_BOOTSTRAP_SERVERS).",
)
LlmOpt = typer.Option(None, "--llm", help="LLM backend: scripted | local | vllm | vllm-inprocess (env GOALCONVO_LLM).")
ModeOpt = typer.Option(
    None, "--mode",
    help="guided (default): acts planned over the venue database, phrased by the LLM; free: the paper's role-play "
    "(needs a 7B-class model) (env GOALCONVO_MODE).",
)


#: A message logged again within this many seconds is counted, not printed (a broker that is gone makes
#: aiokafka log a connection error several times a second: 13.7 MB of them in 11 minutes).
LOG_REPEAT_INTERVAL_S = 30.0


class OncePerInterval(logging.Filter):
    """Lets a message through once per ``interval_s``, then says how many like it it held back.

    "Like it": the same template from a client library (aiokafka's ``Unable connect to %r: %s`` names
    a new connection id each time), the same text from ours.
    """

    def __init__(self, interval_s: float = LOG_REPEAT_INTERVAL_S):
        super().__init__()
        self.interval_s = interval_s
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg if not record.name.startswith("goalconvo") else record.getMessage())
        now = time.monotonic()
        with self._lock:
            last, held = self._seen.get(key, (0.0, 0))
            if last and now - last < self.interval_s:
                self._seen[key] = (last, held + 1)
                return False
            self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {self.interval_s:g} s]"
        return True


class Goodbyes(logging.Filter):
    """Drops a client library's complaint about a broker this process is leaving in order (a worker's stop,
    the embedded broker stopped by the run: ``streams.broker.is_a_goodbye``). The commit, offset fetch or
    LeaveGroup racing that stop says nothing a user must act on: the stop was asked for, and said."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("aiokafka", "faust", "mode")):
            return True
        from goalconvo.streams.broker import is_a_goodbye

        try:
            return not is_a_goodbye(record.name, record.getMessage())
        except Exception:  # noqa: BLE001 - a record whose arguments do not format is let through as it is
            return True


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OncePerInterval) for f in handler.filters):
            handler.addFilter(Goodbyes())
            handler.addFilter(OncePerInterval())
    if not verbose:
        # Faust and aiokafka narrate every rebalance; keep the terminal for progress.
        for name in ("faust", "aiokafka", "mode"):
            logging.getLogger(name).setLevel(logging.ERROR)


PackOpt = typer.Option(
    None, "--pack",
    help="Domain pack: a shipped pack's name (goalconvo packs list) or a pack folder; unset: the shipped multiwoz pack "
    "(MultiWOZ's domains). Every worker of a run needs the same pack (env GOALCONVO_PACK).",
)


def check_pack(name_or_path: str) -> None:
    """Refuse a pack that does not load before anything starts, with every problem it has."""
    from goalconvo.packs.model import PackError
    from goalconvo.packs.registry import find_pack_to_run

    try:
        find_pack_to_run(name_or_path)
    except PackError as exc:
        console.print(f"[red]error: pack {escape(name_or_path)} cannot be used[/red]\n  " + escape("\n  ".join(exc.problems)),
                      soft_wrap=True)
        raise typer.Exit(2) from None


def check_generation_settings(settings: Settings) -> None:
    """Before a run or worker starts: its pack loads and is one to run, and the mode fits it.

    Free role-play has prompts for MultiWOZ's desk only; a pack's goals would run planned all the
    same, so a run asked for both is told (here, not in ``Settings``: reading a corpus with
    ``GOALCONVO_MODE=free`` in the environment is fine).
    """
    if not settings.pack:
        return
    check_pack(settings.pack)
    if settings.mode == "free":
        console.print(f"[red]error: mode free (the paper's role-play) runs MultiWOZ's goals only; pack "
                      f"{escape(settings.pack)} is run by the pack engine (planned acts worded from its templates, "
                      "phrased by the LLM where phrasing is on): drop --mode free / GOALCONVO_MODE=free, or "
                      "--pack / GOALCONVO_PACK[/red]", soft_wrap=True)
        raise typer.Exit(2)


def make_settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except Exception as exc:  # pydantic ValidationError: show it plainly
        console.print(f"[red]invalid settings:[/red] {escape(settings_problems(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None


def settings_problems(exc: Exception) -> str:
    """A settings error as a user reads it: each problem on a line, its setting named, no pydantic links."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    lines = []
    for e in errors():
        where = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        # The setting with its environment variable (a flag, where a command has one, sets the same).
        named = f"{where} (GOALCONVO_{where.upper()})" if where.isidentifier() else where
        lines.append(f"{named}: {msg}" if where else msg)
    return "\n  ".join(lines)


class StopRequest:
    """How a long-running command (worker, broker) learns it was asked to stop.

    ``run_async(coro, stop=request)`` sets ``event`` on the first SIGTERM or Ctrl-C (and
    remembers which, in ``signal_name``): the service stops in order and the command
    exits 0 with its summary. A second signal cancels it outright.
    """

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signal_name: str | None = None


#: After SIGTERM or Ctrl-C a command has this long to stop in order; then it exits anyway (endpoint
#: files removed, the embedded broker killed: ``core.exits``). A stop in order can hang on a broker
#: that is gone (Faust's and aiokafka's clients retry it), and "stop" must mean stop.
STOP_DEADLINE_S = 8.0


def _forced_exit(code: int, why: str) -> None:
    """A stop ran past its deadline: clean up what must be (``core.exits``) and leave now with ``code``."""
    try:
        console.print(f"[red]{escape(why)}; exiting now[/red]", soft_wrap=True)
        exits.run_all()
        sys.stderr.flush()
        sys.stdout.flush()
    finally:
        os._exit(code)


def exit_by(seconds: float, code: int, why: str) -> threading.Timer:
    """Exit with ``code`` in ``seconds`` unless the process has ended by then (a daemon timer: it holds
    nothing up). What the command had to say is said before this is armed."""
    timer = threading.Timer(seconds, _forced_exit, args=(code, why))
    timer.daemon = True
    timer.start()
    return timer


#: Once a command's work is over (or failed), the event loop's teardown gets this long: clients of a broker
#: that is gone can refuse to die (aiokafka's fetcher awaits the tasks it cancels), and must not hold the exit.
TEARDOWN_DEADLINE_S = 5.0


def run_async(coro: Any, *, stop: StopRequest | None = None, finish: Any = None) -> Any:
    """Run a coroutine; SIGTERM behaves like Ctrl-C (everything stops in order).

    Without ``stop``, a signal cancels the coroutine and the command exits 130 (Ctrl-C) or
    143 (SIGTERM), the shell's codes for "ended by that signal". With ``stop``, see StopRequest.
    Either way the first signal starts a deadline (``STOP_DEADLINE_S``): a stop that hangs is cut
    short by a forced exit, so a command ends within 10 s of the signal whatever it waited on.

    ``finish(result)``, when given, says what the command has to say (its summary) inside the loop,
    as soon as the coroutine returns, and gives the exit code; the teardown after it then has
    ``TEARDOWN_DEADLINE_S``. A coroutine that raises gets the same deadline, with exit code 1.
    """
    received: list[int] = []
    deadline: list[threading.Timer] = []

    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_signal(sig: int) -> None:
            received.append(sig)
            if not deadline:
                why = f"stopping ({signal.Signals(sig).name}) took over {STOP_DEADLINE_S:g} s"
                deadline.append(exit_by(STOP_DEADLINE_S, 128 + sig, why))
            if stop is not None and len(received) == 1:
                stop.signal_name = signal.Signals(sig).name
                stop.event.set()
            elif task is not None:
                task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            result = await coro
        except Exception as exc:
            if not deadline:
                deadline.append(exit_by(TEARDOWN_DEADLINE_S, 1, f"error: {shown(exc)}; stopping took over "
                                                                 f"{TEARDOWN_DEADLINE_S:g} s"))
            raise
        if finish is not None:
            code = finish(result)
            if not deadline:
                deadline.append(exit_by(TEARDOWN_DEADLINE_S, code or 0,
                                        f"the last clients took over {TEARDOWN_DEADLINE_S:g} s to stop"))
        return result

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        sig = received[-1] if received else signal.SIGINT
        console.print(f"[yellow]stopped ({signal.Signals(sig).name})[/yellow]")
        # SystemExit, not typer.Exit: that one is a RuntimeError, and commands catch those as failures.
        raise SystemExit(128 + sig) from None
    finally:
        if deadline and not received:
            deadline[0].cancel()  # the teardown ended in time; a signal's deadline stays until the exit


def shown(value: Any) -> str:
    """Stored text as a terminal may print it: control characters escaped (``core.text``), bidi marks kept."""
    return escape_controls("" if value is None else str(value))


def fail(exc: Exception) -> None:
    # The message may quote stored text or input: no markup read from it, no control character printed.
    console.print(f"[red]error:[/red] {escape(shown(exc))}", soft_wrap=True)  # one line, however long
    raise typer.Exit(1)


def print_result(columns: list[str], rows: list[list[Any]], as_json: bool) -> None:
    """Rows as a table (stored text shown by ``shown``: no terminal escapes, no rich markup) or JSON
    (``json.dumps`` escapes control characters itself)."""
    if as_json:
        print(json.dumps([dict(zip(columns, r)) for r in rows], default=str))
        return
    table = Table(show_lines=False)
    for c in columns:
        table.add_column(Text(shown(c)))
    for r in rows:
        table.add_row(*(Text(shown(v)) for v in r))
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
        from goalconvo.core.goal_generator import iter_generated_goals
        from goalconvo.core.goal_mix import parse_goal_mix
        from goalconvo.core.venues import VenueDB

        it = iter_generated_goals(VenueDB.load(self.venue_db), self.seed, mix=parse_goal_mix(self.domain_mix),
                                  fail_first_rate=self.fail_first_rate, run_id=self.run_id)
        return it if self.count is None else itertools.islice(it, self.count)


def check_run_id(run_id: str) -> str:
    """A ``--run-id`` as an id may be (``core.text.id_problem``), else a clear error."""
    from goalconvo.core.text import id_problem

    problem = id_problem(run_id) if run_id else "is empty"
    if problem is not None or len(run_id) > 200:
        fail(ValueError(f"--run-id {shown(run_id)[:80]!r} {problem or 'is longer than 200 characters'}"))
    return run_id


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
        return list(goal_sources.iter_jsonl(path))  # type: ignore[return-value]
    if path.suffix != ".jsonl":
        raise ValueError("--source jsonl needs a .jsonl file")
    return goal_sources.load_goal_source(path)
