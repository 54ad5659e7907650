"""The kit's two steps end to end: make a sheet (sample, match, clean, write) and read readers' files against its key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from goalconvo.assess.reading.cleaning import Cleaner
from goalconvo.assess.reading.html_sheet import sheet_html
from goalconvo.assess.reading.ratings_file import RatingsError, RatingsFile, read_ratings
from goalconvo.assess.reading.sampling import Pair, match, sample
from goalconvo.assess.reading.sheet import ReadingKey, SheetItem, build_sheet, sheet_text, write_key
from goalconvo.assess.reading.sources import QueryFn, file_sha256, generated_ids, load_generated, load_human
from goalconvo.core.venues import VenueDB


@dataclass
class Written:
    key: ReadingKey
    text: Path
    html: Path
    key_path: Path
    short: list[str]  #: sets that had fewer dialogues than asked
    nearest: list[tuple[str, str]]  #: (generated domain set, the human one it was matched to) where not exact


def make_sheet(
    query: QueryFn, sets: Sequence[str], reference: Path | None, *, n: int, seed: int, corpus: str,
    accepted_only: bool = False, venues: VenueDB | None = None,
) -> tuple[list[SheetItem], ReadingKey, list[str]]:
    """``n`` dialogues of each set and as many matched human ones, shuffled and cleaned; and the key.

    Returns the sets that held fewer than ``n`` (all of theirs are on the sheet).
    """
    if n < 1:
        raise ValueError("--dialogues must be at least 1")
    if not sets:
        raise ValueError("name at least one set (--set NAME; `goalconvo sets list` lists them)")
    if len(set(sets)) < len(sets):
        raise ValueError("a set is named twice")
    picked, short = [], []
    for s in sets:
        ids = sample(generated_ids(query, s, accepted_only=accepted_only), n, f"{seed}:{s}")
        if len(ids) < n:
            short.append(s)
        picked.extend(load_generated(query, s, ids))
    if reference is None:
        # No human reference (a domain pack's dialogues): the generated dialogues alone, read blind all the same.
        pairs = [Pair(c, None, "no reference") for c in picked]
    else:
        pairs = match(picked, load_human(reference), seed)
    cleaner = Cleaner.for_venues(venues)
    items, key = build_sheet(pairs, seed, corpus=corpus, sets=sets, reference=Path(reference) if reference else None,
                             reference_sha256=file_sha256(reference) if reference else "", accepted_only=accepted_only,
                             cleaner=cleaner)
    return items, key, short


def sheet_setting(key: ReadingKey, query: QueryFn) -> str | None:
    """The desk's setting of the sheet's pack dialogues (the pack's own words), None for MultiWOZ's desk."""
    from goalconvo.packs.builtin import DEFAULT_PACK
    from goalconvo.packs.model import PackError
    from goalconvo.packs.registry import find_pack

    ids = [i.dialogue_id for i in key.items if i.source == "generated"]
    if not ids:
        return None
    marks = ",".join("?" * len(ids))
    # MultiWOZ's goals name its shipped pack, or (older ones) nothing: either is MultiWOZ's desk.
    packs = {None if p is None or str(p).partition("@")[0] == DEFAULT_PACK else p
             for p, in query(f"select goal->>'pack' from dialogues where dialogue_id in ({marks})", ids).rows}
    if packs == {None}:
        return None
    names = {str(p).partition("@")[0] for p in packs if p}
    if len(names) != 1 or None in packs:
        return "a service desk (each dialogue's goal says what the customer wants)"
    try:
        return find_pack(names.pop()).meta.setting
    except PackError:
        return "a service desk (each dialogue's goal says what the customer wants)"


def write_sheet(items: Sequence[SheetItem], key: ReadingKey, out: Path, key_path: Path | None = None,
                *, force: bool = False, setting: str | None = None) -> tuple[Path, Path, Path]:
    """``out/sheet.txt`` and ``out/sheet.html`` for readers; the key beside the folder (``out.key.json``), not in it.

    An existing key of another sheet is not overwritten unless ``force``: readers may hold that sheet.
    """
    out = Path(out)
    key_path = Path(key_path) if key_path else out.with_name(out.name + ".key.json")
    if key_path.resolve().parent == out.resolve() or out.resolve() in key_path.resolve().parents:
        raise ValueError(f"the key {key_path} would sit in the readers' folder {out}; put it elsewhere")
    if key_path.exists() and not force:
        try:
            old = ReadingKey.load(key_path).sheet_id
        except ValueError:
            old = None
        if old != key.sheet_id:
            raise ValueError(f"{key_path} is the key of {'sheet ' + old if old else 'something else'}; "
                             "readers may hold that sheet: choose another --out / --key, or --force")
    out.mkdir(parents=True, exist_ok=True)
    text, page = out / "sheet.txt", out / "sheet.html"
    text.write_text(sheet_text(items, key.sheet_id, setting))
    page.write_text(sheet_html(items, key.sheet_id, setting))
    write_key(key, key_path)
    return text, page, key_path


def read_files(key: ReadingKey, specs: Sequence[str]) -> list[RatingsFile]:
    """Each ``FILE`` or ``NAME=FILE`` read against the key (RatingsError names the file and line at fault)."""
    files = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if sep and name and not Path(spec).exists():
            files.append(read_ratings(Path(path), key, reader=name.strip()))
        else:
            files.append(read_ratings(Path(spec), key))
    if not files:
        raise RatingsError("give at least one ratings file")
    return files
