"""``run`` (N goals end to end, then exit) and ``worker`` (the stages and the sink until Ctrl-C)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from goalconvo.commands.common import (
    BootstrapOpt, DbOpt, LlmOpt, ModeOpt, PackOpt, check_generation_settings, console, fail, make_settings, run_async, setup_logging,
)


def run(
    goals: int = typer.Option(5, "--goals", "-n", min=1, help="How many goals to turn into dialogues."),
    all_goals: bool = typer.Option(
        False, "--all-goals",
        help="Every goal of --goal-source once (in place of --goals; the domain-count knobs still filter)."),
    db: Optional[Path] = DbOpt,
    llm: Optional[str] = LlmOpt,
    bootstrap_servers: Optional[str] = BootstrapOpt,
    model: Optional[str] = typer.Option(None, "--model", help="Model name or path for the backend."),
    mode: Optional[str] = ModeOpt,
    phrasing_tries: Optional[int] = typer.Option(
        None, "--phrasing-tries", help="Guided mode: LLM phrasings tried per turn before the template (0: templates only)."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="Dialogues in flight per stage."),
    max_turns: Optional[int] = typer.Option(None, "--max-turns", help="Most exchanges per dialogue."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for personas and sampling."),
    multiwoz_db: Optional[Path] = typer.Option(None, "--multiwoz-db", help="Folder of MultiWOZ *_db.json venue files."),
    llm_urls: Optional[str] = typer.Option(None, "--llm-urls", help="Base URLs of OpenAI-compatible (vLLM) servers, comma-separated."),
    max_in_flight: Optional[int] = typer.Option(None, "--max-in-flight", help="Most LLM requests open at once."),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="Sampling temperature."),
    goal_source: Optional[Path] = typer.Option(None, "--goal-source", help="Goals from a MultiWOZ zip/json or a .jsonl file, or 'generate': new goals from the venue databases."),
    domain_mix: Optional[str] = typer.Option(None, "--domain-mix", help="Domain weights, e.g. 'restaurant=3,hotel=1'."),
    min_domains: Optional[int] = typer.Option(None, "--min-domains", help="Complexity: fewest domains per goal."),
    max_domains: Optional[int] = typer.Option(None, "--max-domains", help="Complexity: most domains per goal."),
    fail_first_rate: Optional[float] = typer.Option(None, "--fail-first-rate", help="Share of goals whose first request cannot be met."),
    persona_variety: Optional[int] = typer.Option(None, "--persona-variety", help="Persona styles drawn from, 1..5."),
    judge_llm: Optional[bool] = typer.Option(None, "--llm-judge/--no-llm-judge", help="Ask the LLM judge after the rules pass."),
    similarity_reference: Optional[Path] = typer.Option(
        None, "--similarity-reference", help="MultiWOZ file: BERTScore each new dialogue against it as it is stored."),
    pack: Optional[str] = PackOpt,
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Give up after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the broker and stages do."),
) -> None:
    """Generate dialogues for N goals end to end and store them in DuckDB.

    Samples N goals (the 43 built-in ones, then generated ones past 43, or --goal-source) under the complexity
    and domain-mix knobs, starts an embedded broker (unless --bootstrap-servers is
    given) and a worker, feeds the goals, waits until every goal is judged and
    stored (or dead-lettered), prints a summary and exits. Default: guided mode
    (dialogue acts planned over MultiWOZ's venue database, phrased by the offline
    CPU model bundled in the install); --mode free for the paper's role-play;
    --llm vllm --llm-urls ... for a vLLM server. On a shared --bootstrap-servers broker
    the run uses topics and groups of its corpus file's own, so runs into other files
    never mix with it. If its broker dies (or stays unreachable past
    GOALCONVO_BROKER_UNREACHABLE_S), it stops with its summary and exit code 1.
    """
    from goalconvo.commands.runner import run_goals
    from goalconvo.streams.broker import BrokerError

    setup_logging(verbose)
    s = make_settings(
        db=db, llm=llm, bootstrap_servers=bootstrap_servers, model=model, concurrency=concurrency,
        max_turns=max_turns, seed=seed, multiwoz_db=multiwoz_db, llm_urls=llm_urls, max_in_flight=max_in_flight,
        temperature=temperature, goal_source=goal_source, domain_mix=domain_mix, min_domains=min_domains,
        max_domains=max_domains, fail_first_rate=fail_first_rate, persona_variety=persona_variety, judge_llm=judge_llm,
        similarity_reference=similarity_reference, mode=mode, phrasing_tries=phrasing_tries, pack=pack,
    )
    check_generation_settings(s)
    if all_goals:
        try:
            goals = count_source_goals(s)
        except ValueError as exc:
            fail(exc)
    with Progress(
        TextColumn("[bold]dialogues"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
        disable=as_json or not console.is_terminal,
    ) as bar:
        task = bar.add_task("run", total=goals, detail="starting broker and worker")

        def progress(c: dict[str, int]) -> None:
            bar.update(task, completed=c["accepted"] + c["rejected"] + c["dead_lettered"],
                       detail=f"accepted {c['accepted']} rejected {c['rejected']} dead-lettered {c['dead_lettered']}"
                       + (f" (stranded {c['stranded']})" if c.get("stranded") else ""))

        def report(summary) -> int:
            """The summary, said inside the event loop as soon as the run returns (its teardown may then
            take a while on a broker that is gone, and is cut short: ``run_async``)."""
            bar.stop()
            if summary.stopped_by:
                console.print(f"[red]stopped: {summary.stopped_by}[/red]", soft_wrap=True)
                # The clients of a broker that is gone die noisily in their threads at exit; the reason was said.
                sys.unraisablehook = lambda _u: None
                threading.excepthook = lambda _a: None
            out = {
                "run_id": summary.run_id, "goals": summary.goals, "accepted": summary.accepted,
                "rejected": summary.rejected, "dead_lettered": summary.dead_lettered, "stranded": summary.stranded,
                "seconds": round(summary.seconds, 2), "db": summary.db, "model": summary.model,
                "stopped_by": summary.stopped_by,
            }
            if as_json:
                print(json.dumps(out), flush=True)
            else:
                print(
                    f"run {summary.run_id}: {summary.goals} goals -> accepted {summary.accepted}, "
                    f"rejected {summary.rejected}, dead-lettered {summary.dead_lettered} "
                    + (f"(stranded {summary.stranded}: no progress for {s.stranded_after_s:g} s) " if summary.stranded else "")
                    + f"in {summary.seconds:.1f}s (model {summary.model}); corpus: {summary.db}", flush=True
                )
            if not summary.finished:
                console.print("[red]the run ended before every goal was accounted for[/red]")
                return 1
            return 0

        try:
            summary = run_async(run_goals(s, goals, progress=progress, timeout_s=timeout), finish=report)
        except (BrokerError, OSError, RuntimeError, ValueError) as exc:
            fail(exc)
    if not summary.finished:
        raise typer.Exit(1)


def count_source_goals(s) -> int:
    """How many goals of ``s.goal_source`` fit the domain-count knobs: what ``--all-goals`` runs, each once."""
    from goalconvo.core.goal_generator import GENERATE_SOURCE
    from goalconvo.core.goals import load_goal_source

    if s.pack:
        from goalconvo.commands.goal_batches import pack_goal_pool

        pack_pool = pack_goal_pool(s)
        if not pack_pool:
            raise ValueError(f"--all-goals: pack {s.pack} has no goal file and no --goal-source FILE was given")
        return len(pack_pool)
    if s.goal_source is None or str(s.goal_source) == GENERATE_SOURCE:
        raise ValueError("--all-goals needs --goal-source FILE (a MultiWOZ zip/json or a .jsonl of goals)")
    if s.domain_mix is not None:
        raise ValueError("--all-goals runs each goal once; --domain-mix weighs a sample instead: give one or the other")
    pool = [g for g in load_goal_source(s.goal_source) if s.min_domains <= len(g.domains) <= s.max_domains]
    if not pool:
        raise ValueError(f"no goal of {s.goal_source} has {s.min_domains}..{s.max_domains} domains")
    return len(pool)


def worker(
    bootstrap_servers: Optional[str] = BootstrapOpt,
    db: Optional[Path] = DbOpt,
    llm: Optional[str] = LlmOpt,
    model: Optional[str] = typer.Option(None, "--model"),
    mode: Optional[str] = ModeOpt,
    llm_urls: Optional[str] = typer.Option(None, "--llm-urls", help="Base URLs of OpenAI-compatible (vLLM) servers."),
    max_in_flight: Optional[int] = typer.Option(None, "--max-in-flight", help="Most LLM requests open at once."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency"),
    sink: bool = typer.Option(True, "--sink/--no-sink", help="Also run the DuckDB sink (one per corpus file)."),
    pack: Optional[str] = PackOpt,
    similarity_reference: Optional[Path] = typer.Option(
        None, "--similarity-reference", help="MultiWOZ file: BERTScore each new dialogue against it as it is stored."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the stages (and the sink) until Ctrl-C or SIGTERM, against the given broker.

    Several workers may share one consumer group; only one of them may run the
    sink for a given DuckDB file (start the others with --no-sink). A new file
    takes in what is judged from its sink's start on (the past: backfill sink). A requested
    stop (Ctrl-C, SIGTERM) ends in order with a one-line summary and exit code 0;
    a sink that dies stops the worker with the reason and exit code 1.
    """
    from goalconvo.commands.common import StopRequest
    from goalconvo.commands.runner import serve_worker

    setup_logging(verbose)
    s = make_settings(
        bootstrap_servers=bootstrap_servers, db=db, llm=llm, model=model, concurrency=concurrency,
        llm_urls=llm_urls, max_in_flight=max_in_flight, similarity_reference=similarity_reference, mode=mode, pack=pack,
    )
    check_generation_settings(s)
    if not s.bootstrap_servers:
        console.print("[yellow]no --bootstrap-servers: starting an embedded in-memory broker (lost on exit)[/yellow]")
    stop = StopRequest()
    try:
        done = run_async(serve_worker(s, sink=sink, stop=stop.event), stop=stop)
    except (OSError, RuntimeError) as exc:
        fail(exc)
    stored = (f"{done['stored']} dialogues stored, {done['dead_letters']} dead letters"
              if done["stored"] is not None else "no sink")
    print(f"worker stopped ({stop.signal_name or 'requested'}) after {done['seconds']:g} s: "
          f"{done['turns']} turns processed, {done['stranded']} stranded dialogues dead-lettered, {stored}")
