"""The blind reading kit: ``assess sheet`` (a sheet for readers and its key) and ``assess score`` (their ratings)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from goalconvo.commands.common import DbOpt, console, fail, make_settings, open_corpus


def assess_sheet(
    sets: list[str] = typer.Option(..., "--set", help="Generated dialogue set(s) to sample (repeat the option)."),
    reference: Optional[Path] = typer.Option(
        None, "--reference", help="Human dialogues in MultiWOZ's layout (e.g. val.json.zip), matched to the sampled ones; "
        "leave it out for a domain pack's dialogues (no human reference: the sheet holds the generated ones alone)."),
    dialogues: int = typer.Option(20, "--dialogues", "-n", help="Dialogues sampled from each set; as many human ones join them."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same sheet."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Folder for the readers' files (sheet.txt, sheet.html); default: sheet-<id>."),
    key: Optional[Path] = typer.Option(None, "--key", help="Where the key goes; default: beside the folder, <out>.key.json."),
    accepted_only: bool = typer.Option(False, "--accepted-only", help="Sample only dialogues the judge accepted."),
    multiwoz_db: Optional[Path] = typer.Option(
        None, "--multiwoz-db", help="Venue databases whose names and streets the sheet writes alike; default: the shipped ones."),
    force: bool = typer.Option(False, "--force", help="Replace an existing key of another sheet."),
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Write a blind reading sheet: N dialogues of each set mixed with N matched human ones, no mark of origin.

    Each human dialogue matches a generated one by domain set (the nearest one where the reference
    has none, e.g. police in MultiWOZ val) and by number of exchanges. Turns and goals of both are
    written alike (MultiWOZ's tokenisation undone, names, prices and postcodes one way; the goal
    rendered from the goal record). Readers get the folder (sheet.txt with the rubric and a JSON-lines
    format, or sheet.html with a form that saves a CSV); the key stays with you.
    """
    from goalconvo.assess.reading.kit import make_sheet, sheet_setting, write_sheet
    from goalconvo.core.venues import VenueDB
    from goalconvo.sinks.query_server import CorpusUnavailable, reader

    s = make_settings(db=db, multiwoz_db=multiwoz_db)
    try:
        venues = VenueDB.load(s.multiwoz_db) if s.multiwoz_db else None
        with reader(s.db) as query:
            items, k, short = make_sheet(query, sets, reference, n=dialogues, seed=seed, corpus=str(Path(s.db).resolve()),
                                         accepted_only=accepted_only, venues=venues)
            setting = sheet_setting(k, query)
        if reference is None and setting is None:
            raise ValueError("--reference is needed for MultiWOZ dialogues (e.g. val.json.zip); "
                             "only a domain pack's dialogues are read without one")
        folder = out or Path(f"sheet-{k.sheet_id}")
        text, page, key_path = write_sheet(items, k, folder, key, force=force, setting=setting)
    except (CorpusUnavailable, OSError, ValueError) as exc:
        fail(exc)
    nearest = sorted({(i.domain_set, i.matched_domain_set) for i in k.items
                      if i.source == "generated" and i.matched_by == "nearest domain set"})
    summary = {
        "sheet": k.sheet_id, "dialogues": len(k.items),
        "generated": {x: sum(1 for i in k.items if i.set_name == x and i.source == "generated") for x in sets},
        "human": sum(1 for i in k.items if i.source == "human"), "reference": k.reference_name,
        "matched_nearest": [{"generated": g, "human": h} for g, h in nearest],
        "short_sets": short, "sheet_txt": str(text), "sheet_html": str(page), "key": str(key_path),
    }
    if as_json:
        print(json.dumps(summary))
        return
    for x in short:
        console.print(f"[yellow]set {x} has fewer than {dialogues} dialogues: all of them are on the sheet[/yellow]")
    gen = ", ".join(f"{n} from {x}" for x, n in summary["generated"].items())
    print(f"sheet {k.sheet_id}: {len(k.items)} dialogues ({gen}; "
          + (f"{summary['human']} human from {k.reference_name})" if k.reference else "no human reference)"))
    if nearest:
        print("matched to the nearest domain set (the reference has none of theirs): "
              + ", ".join(f"{g} -> {h}" for g, h in nearest))
    print(f"for readers: {text}  or  {page}")
    print(f"the key (never give it to a reader): {key_path}")
    print(f"then: goalconvo assess score {key_path} READER1.jsonl READER2.csv ...")


def assess_score(
    key: Path = typer.Argument(..., help="The sheet's key (written by `assess sheet`)."),
    ratings: list[str] = typer.Argument(
        ..., help="One ratings file per reader: JSON lines or the HTML form's CSV; NAME=FILE names the reader."),
    db: Optional[Path] = typer.Option(
        None, "--db", help="Corpus to store the ratings in; default: the corpus the sheet was made from."),
    store: bool = typer.Option(True, "--store/--no-store", help="Store the ratings in the corpus (metrics shows them per set)."),
    as_json: bool = typer.Option(False, "--json", help="The report as JSON."),
) -> None:
    """Score readers' ratings against the key: per source, agreement, per turn by who phrased it, the judge beside.

    Per source (each generated set, the human dialogues): mean coherence, fluency, naturalness; shares
    of roles broken, facts broken, goal reached; keep rate, and how many each reader kept. Agreement:
    mean pairwise Cohen's kappa on keep (said to be undefined where a pair gave every dialogue one
    answer) and mean absolute difference of the scores. The ratings are stored in the corpus, keyed by
    sheet, reader and item; a reader's corrected file replaces their earlier ratings of that sheet.
    """
    from goalconvo.assess.reading.kit import read_files
    from goalconvo.assess.reading.report import report_text
    from goalconvo.assess.reading.scoring import score, storage_rows
    from goalconvo.assess.reading.sheet import ReadingKey

    try:
        k = ReadingKey.load(key)
        files = read_files(k, ratings)
        report = score(k, files)
    except ValueError as exc:  # RatingsError too: the message names file and line
        fail(exc)
    stored_in = None
    if store:
        target = Path(db) if db else (Path(k.corpus) if k.corpus else None)
        if target is None or not target.is_file():
            fail(ValueError(f"no corpus at {target or '(the key names none)'} to store the ratings in; give --db, or --no-store"))
        s = make_settings(db=target)
        corpus = open_corpus(s.db)
        try:
            rows = storage_rows(k, files, time.time())
            corpus.write_ratings(k.sheet_id, [f.reader for f in files], rows)
        finally:
            corpus.close()
        stored_in = str(s.db)
        report["stored"] = {"corpus": stored_in, "ratings": len(rows)}
    if as_json:
        print(json.dumps(report))
        return
    print(report_text(report), end="")
    if stored_in:
        console.print(f"stored {report['stored']['ratings']} ratings of {len(files)} reader(s) in {stored_in} "
                      "(`goalconvo metrics` shows them per set)")
