"""Judging and scoring stored dialogues: ``import multiwoz`` (judged by the rules), ``rejudge``, ``similarity``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from rich.markup import escape

from goalconvo.commands.common import shown, DbOpt, LlmOpt, console, fail, make_settings, open_corpus, progress_bar, run_async


def import_multiwoz(
    path: Path = typer.Argument(..., help="MultiWOZ dialogues: a .json or .json.zip keyed by dialogue id."),
    set_name: str = typer.Option("multiwoz", "--set", help="Name of the dialogue set to store them as."),
    db: Optional[Path] = DbOpt,
    multiwoz_db: Optional[Path] = typer.Option(None, "--multiwoz-db", help="Venue databases for the goal check "
                                               "(default: the db/ folder beside PATH, else the pack's)."),
    pack: str = typer.Option("multiwoz", "--pack", help="The pack the dialogues' domains belong to: MultiWOZ's "
                             "(shipped), or the folder of a copy of it. A pack without MultiWOZ's services is refused."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import real MultiWOZ dialogues (with their goals) as a dialogue set, judged by the rules.

    Importing the same file into the same set again changes nothing.
    """
    from goalconvo.commands.corpus_ops import import_multiwoz as do_import
    from goalconvo.core.records import KNOWN_DOMAINS
    from goalconvo.packs.model import PackError
    from goalconvo.packs.registry import find_pack

    try:
        held = find_pack(pack)
    except PackError as exc:
        fail(ValueError(f"pack {pack}: " + "; ".join(exc.problems)))
    missing = sorted(set(KNOWN_DOMAINS) - {sv.name for sv in held.services})
    if missing:
        fail(ValueError(f"pack {held.ref} has no service {', '.join(missing)}: MultiWOZ's dialogues belong to the "
                        "multiwoz pack (goalconvo packs show multiwoz); SGD-layout dialogues import with `import sgd`"))
    if multiwoz_db is None and (path.parent / "db").is_dir():
        # MultiWOZ's own layout: the venue databases beside the dialogues.
        multiwoz_db = path.parent / "db"
    if multiwoz_db is None and (Path(held.root) / "db").is_dir():
        multiwoz_db = Path(held.root) / "db"
    s = make_settings(db=db, multiwoz_db=multiwoz_db)
    store = open_corpus(s.db)
    try:
        with progress_bar("importing", as_json) as bar:
            task = bar.add_task("import", total=None)
            out = run_async(do_import(store, path, set_name, s, lambda d, n: bar.update(task, completed=d, total=n)))
    except (OSError, ValueError, KeyError) as exc:
        fail(exc)
    finally:
        store.close()
    out["venue_db"] = str(s.multiwoz_db) if s.multiwoz_db else "builtin"
    print(json.dumps(out) if as_json else
          f"set {out['set']}: {out['dialogues']} dialogues, {out['new']} new (judged against {out['venue_db']})")


def import_sgd(
    folder: Path = typer.Argument(..., help="An SGD folder: schema.json beside dialogues*.json."),
    pack: str = typer.Option(..., "--pack", help="The pack made from it (goalconvo packs import-sgd): its services and goals."),
    set_name: str = typer.Option("sgd", "--set", help="Name of the dialogue set to store them as."),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import real SGD dialogues of a pack's services as a dialogue set, judged by the pack's checks.

    ``metrics`` then prints the real set beside generated ones. Importing the same folder into the
    same set again changes nothing.
    """
    from goalconvo.commands.corpus_ops import import_sgd_set
    from goalconvo.packs.model import PackError

    s = make_settings(db=db)
    store = open_corpus(s.db)
    try:
        with progress_bar("importing", as_json) as bar:
            task = bar.add_task("import", total=None)
            out = run_async(import_sgd_set(store, folder, pack, set_name, s,
                                           lambda d, n: bar.update(task, completed=d, total=n)))
    except (OSError, ValueError, KeyError, PackError) as exc:
        fail(exc)
    finally:
        store.close()
    print(json.dumps(out) if as_json else f"set {out['set']}: {out['dialogues']} dialogues, {out['new']} new (pack {out['pack']})")


def rejudge(
    where: Optional[str] = typer.Option(None, "--where", help="SQL condition on the dialogues table, e.g. \"set_name = 'run-1'\"."),
    judge_version: Optional[str] = typer.Option(None, "--judge-version", help="Version of the new verdicts (default: the current judge's)."),
    db: Optional[Path] = DbOpt,
    llm: Optional[str] = LlmOpt,
    model: Optional[str] = typer.Option(None, "--model", help="Model of the LLM judge."),
    llm_urls: Optional[str] = typer.Option(None, "--llm-urls", help="OpenAI-compatible servers for the LLM judge."),
    judge_llm: Optional[bool] = typer.Option(None, "--llm-judge/--no-llm-judge", help="Ask the LLM judge after the rules pass."),
    multiwoz_db: Optional[Path] = typer.Option(None, "--multiwoz-db", help="Venue databases for the checks."),
    pack: Optional[str] = typer.Option(None, "--pack", help="The pack the dialogues name, for pack dialogues' checks."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Judge stored dialogues again without regenerating them; old verdicts stay, new ones are added."""
    import duckdb

    from goalconvo.commands.corpus_ops import rejudge as do_rejudge
    from goalconvo.llm import LLMError, create_backend
    from goalconvo.sinks.sql import QueryRefused

    s = make_settings(db=db, llm=llm, model=model, llm_urls=llm_urls, judge_llm=judge_llm, multiwoz_db=multiwoz_db, pack=pack)
    store = open_corpus(s.db)
    try:
        backend = create_backend(s) if s.judge_llm else None
        with progress_bar("judging", as_json) as bar:
            task = bar.add_task("judge", total=None)
            out = run_async(do_rejudge(store, s, where=where, version=judge_version, llm=backend,
                                       progress=lambda d, n: bar.update(task, completed=d, total=n)))
        if backend is not None:
            run_async(backend.close())
    except QueryRefused as exc:
        console.print(f"[red]refused:[/red] {escape(shown(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (LLMError, duckdb.Error, ValueError) as exc:
        fail(exc)
    finally:
        store.close()
    print(json.dumps(out) if as_json else f"judged {out['judged']} dialogues under {out['judge_version']}: {out['accepted']} accepted")


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
    from goalconvo.sinks.scoring import score_similarity

    s = make_settings(db=db)
    store = open_corpus(s.db)
    try:
        with progress_bar("scoring", as_json) as bar:
            task = bar.add_task("score", total=None)
            out = score_similarity(store, reference, top_k=top_k, limit=limit, include_imported=include_imported,
                                   progress=lambda d, n: bar.update(task, completed=d, total=n))
    except (OSError, ValueError, RuntimeError) as exc:
        fail(exc)
    finally:
        store.close()
    print(json.dumps(out) if as_json else
          f"scored {out['scored']} dialogues against {out['reference_set']} ({out['model']}, layer {out['layer']}) in {out['seconds']}s")
