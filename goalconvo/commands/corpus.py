"""Reading the corpus: ``query``, ``metrics``, ``export`` and the live ``dashboard``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Optional

import typer

from rich.markup import escape

from goalconvo.commands.common import DbOpt, console, fail, make_settings, open_corpus, print_result, run_async, shown


def query(
    sql: str = typer.Argument(..., help="SQL to run against the corpus (read-only unless --write)."),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Rows as a JSON list of objects."),
    write: bool = typer.Option(False, "--write", help="Allow statements that change the corpus."),
) -> None:
    """Query the corpus with SQL, also while a pipeline is writing it.

    Tables: dialogues, turns, verdicts, verdict_checks, dead_letters, runs. A read
    (no --write) can change nothing and reads no file but the corpus; through a
    running sink it is stopped after GOALCONVO_QUERY_TIMEOUT_S and returns at most
    GOALCONVO_QUERY_MAX_ROWS rows. Stored text is printed with control characters escaped.
    """
    from goalconvo.sinks.query_server import CorpusUnavailable, run_query
    from goalconvo.sinks.sql import QueryRefused

    s = make_settings(db=db)
    try:
        res = run_query(s.db, sql, allow_write=write)
    except QueryRefused as exc:
        console.print(f"[red]refused:[/red] {escape(shown(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except CorpusUnavailable as exc:
        fail(exc)
    except Exception as exc:  # duckdb errors: a bad query is the user's to fix
        fail(exc)
    print_result(res.columns, res.rows, as_json)
    if res.truncated:
        console.print(f"[yellow]the running sink returned the first {len(res.rows)} rows only "
                      "(GOALCONVO_QUERY_MAX_ROWS)[/yellow]")


def metrics(
    db: Optional[Path] = DbOpt,
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Only these dialogue sets (repeat the option)."),
    by: str = typer.Option("set", "--by", help="Group inside each set: set | domain_set | model | prompt_version | mode (guided or free) | pack (name@version#hash; MultiWOZ's is multiwoz@...; '(built-in)' for MultiWOZ dialogues whose goal names no pack: imported ones, or generated before goals named it)."),
    accepted_only: bool = typer.Option(False, "--accepted-only", help="Measure accepted dialogues only."),
    reference: Optional[str] = typer.Option(
        None, "--reference", help="BERTScore against this reference set (its file name); needed when several were scored."),
    as_json: bool = typer.Option(False, "--json", help="Figures as JSON."),
) -> None:
    """The paper's figures per dialogue set, side by side (Table 6.1), also while a pipeline writes.

    distinct-1/2 (corpus and per-dialogue mean; words of lower-cased letters, digits and apostrophes),
    exchanges, acceptance, goal completion, BERTScore vs the nearest MultiWOZ
    dialogue (after `goalconvo similarity`), tokens and seconds per dialogue, LLM calls and tokens per
    accepted dialogue (all the group's calls/tokens, rejected dialogues too, / its accepted ones).
    Where readers rated dialogues (`goalconvo assess score`), with --by set or domain_set: their keep
    rate, mean coherence, fluency and naturalness, shares of roles and facts broken, readers; the
    human dialogues they rated are a column of their own, named by the reference file.
    """
    from goalconvo.sinks.metrics import compute_metrics, reference_sets
    from goalconvo.sinks.query_server import CorpusUnavailable, reader
    from goalconvo.sinks.ratings import merge_reader_figures, reader_figures

    s = make_settings(db=db)
    try:
        # Opened directly (one read-only connection), or through the running sink.
        with reader(s.db, upgrade=True) as query:
            if reference is not None and reference not in (known := reference_sets(query)):
                raise ValueError(f"no BERTScore against {reference!r}; scored against: {', '.join(known) or 'none yet'}")
            rows = compute_metrics(query, by=by, sets=sets, accepted_only=accepted_only, reference=reference)
            rows = merge_reader_figures(
                rows, reader_figures(query, by=by, sets=sets, accepted_only=accepted_only), by)
    except (CorpusUnavailable, ValueError) as exc:
        fail(exc)
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        print("no dialogues stored yet")
        return
    # Sets side by side: one column per set (and group), one row per figure.
    keys = [k for k in rows[0] if k not in ("set_name", by)]
    heads = [r["set_name"] + (f" / {r[by]}" if by != "set" else "") for r in rows]
    print_result(["figure", *heads], [[k, *[r.get(k) for r in rows]] for k in keys], False)


def export(
    out: Path = typer.Option(
        ..., "--out", "-o",
        help="File to write; a folder for --format hf and for openai-chat/sharegpt with --split all."),
    fmt: str = typer.Option(
        "jsonl", "--format",
        help="jsonl | parquet | multiwoz (MultiWOZ's own layout: dialog_act per turn, belief state as metadata "
        "per system turn; .json or .zip) | sgd (the Schema-Guided Dialogue layout: turns with frames, actions and the "
        "user state; one .json) | openai-chat (JSONL of {\"messages\": [...]}, a system turn first) | "
        "sharegpt (JSONL of {\"id\", \"conversations\": [{\"from\": system|human|gpt, \"value\"}]}) | "
        "hf (a Hugging Face dataset folder: data/<split>-*.parquet written by DuckDB and a README.md card). "
        "The last three are split train/validation/test by goal content, so one goal never spans splits."),
    split: str = typer.Option(
        "all", "--split",
        help="openai-chat/sharegpt: train | validation | test writes that split to --out; all writes "
        "train.jsonl, validation.jsonl and test.jsonl into the folder --out. hf always writes all."),
    split_ratios: Optional[str] = typer.Option(
        None, "--split-ratios", help="train/validation/test shares, e.g. 80/10/10 (the default)."),
    system_prompt: Optional[str] = typer.Option(
        None, "--system-prompt", help="The system turn of openai-chat/sharegpt/hf chats (default: the travel desk's task, "
        "or the pack's desk with --pack)."),
    pack: Optional[str] = typer.Option(
        None, "--pack", help="Only this domain pack's dialogues (a shipped pack's name or a pack folder): openai-chat, "
        "sharegpt and hf then take the system turn, licence and attribution from the pack. Without it those three "
        "refuse a selection holding a pack's dialogues."),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Only these dialogue sets (repeat the option)."),
    include_rejected: bool = typer.Option(False, "--include-rejected", help="Also rejected dialogues (verdict says why)."),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write the accepted corpus in a MultiWOZ-like layout (goal, log, domains, verdict), ready for training."""
    from goalconvo.sinks.export import export_corpus

    from goalconvo.packs.registry import find_pack

    s = make_settings(db=db)
    try:
        held = find_pack(pack) if pack else None
    except (OSError, ValueError) as exc:
        fail(exc)
    store = open_corpus(s.db)
    try:
        n = export_corpus(store, out, fmt, sets=sets, include_rejected=include_rejected, split=split,
                          split_ratios=split_ratios, system_prompt=system_prompt, pack=held)
    except (OSError, ValueError) as exc:
        fail(exc)
    finally:
        store.close()
    print(json.dumps({"written": n, "out": str(out), "format": fmt}) if as_json else f"wrote {n} dialogues to {out}")


def dashboard(
    db: Optional[Path] = DbOpt,
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1 (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
) -> None:
    """A live web page over the corpus: figures per set side by side, trends, domains, rejection reasons, dialogues.

    Works beside a running pipeline (it reads through the sink's query endpoint) and refreshes every 3 s.
    A free file written by an older version is upgraded once when it starts; requests never write.
    It answers only requests naming a loopback host (GOALCONVO_HTTP_ALLOWED_HOSTS adds names).
    """
    from goalconvo.sinks.dashboard.server import Dashboard

    s = make_settings(db=db)

    async def serve() -> None:
        dash = Dashboard(s.db, host, port, allowed_hosts=[h for h in s.http_allowed_hosts.split(",") if h.strip()])
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
        run_async(serve())
    except OSError as exc:
        fail(exc)
