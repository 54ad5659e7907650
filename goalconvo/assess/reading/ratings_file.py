"""Reading one reader's ratings file: JSON lines (the plain-text sheet's format) or the HTML form's CSV.

Every problem names the file and the line: a score that is not 1-5, an answer outside its
choices, a turn the dialogue does not have, an item the sheet does not have or one rated twice,
``roles: ok`` with turns named. A CSV row left blank (a dialogue not rated yet) and items
never rated are warnings, not errors: the figures are of what was rated.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goalconvo.assess.reading.rubric import BY_NAME, QUESTIONS, SCORES
from goalconvo.assess.reading.sheet import ReadingKey

#: The answers every rating must give (why and the turn lists may be empty).
REQUIRED = tuple(q.name for q in QUESTIONS if q.kind in ("score", "choice"))


class RatingsError(ValueError):
    """A ratings file that cannot be read as it is; the message names the file and line."""


@dataclass(frozen=True)
class Rating:
    reader: str
    item: int
    coherence: int
    fluency: int
    natural: int
    roles_broken: bool
    roles_turns: tuple[int, ...]
    facts_broken: bool
    facts_turns: tuple[int, ...]
    goal: bool
    keep: bool
    why: str
    line: int


@dataclass
class RatingsFile:
    path: Path
    reader: str
    sheet: str | None
    sha256: str
    ratings: list[Rating]
    warnings: list[str] = field(default_factory=list)


def _score(name: str, v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError(f"{name} must be a whole number 1-5, got {json.dumps(v)}")
    try:
        f = float(str(v).strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number 1-5, got {json.dumps(v)}") from None
    if f != int(f) or not 1 <= f <= 5:
        raise ValueError(f"{name} must be a whole number 1-5, got {json.dumps(v)}")
    return int(f)


def _choice(name: str, v: Any) -> bool:
    """yes/no and ok/broken as booleans (yes / broken -> True); JSON true/false taken for yes/no."""
    choices = BY_NAME[name].choices
    if isinstance(v, bool) and choices == ("yes", "no"):
        return v
    s = str(v).strip().lower()
    if s not in choices:
        raise ValueError(f"{name} must be {' or '.join(repr(c) for c in choices)}, got {json.dumps(v)}")
    return s in ("yes", "broken")


def _turns(name: str, v: Any, turns: int) -> tuple[int, ...]:
    if v is None or v == "":
        return ()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = [v]
    if isinstance(v, str):
        parts = [p for p in re.split(r"[\s,;]+", v.strip().strip("[]")) if p]
    elif isinstance(v, list):
        parts = v
    else:
        raise ValueError(f"{name} must be a list of turn numbers, got {json.dumps(v)}")
    out = []
    for p in parts:
        try:
            n = int(str(p).strip())
        except ValueError:
            raise ValueError(f"{name} must be a list of turn numbers, got {json.dumps(v)}") from None
        if not 1 <= n <= turns:
            raise ValueError(f"{name} names turn {n}, but this dialogue has turns 1-{turns}")
        out.append(n)
    return tuple(sorted(set(out)))


def parse_rating(obj: dict[str, Any], reader: str, key: ReadingKey, line: int) -> Rating:
    """One rating checked against the key (item exists; turn numbers within the dialogue); ValueError says why."""
    if "item" not in obj:
        raise ValueError('no "item" (the dialogue\'s number on the sheet)')
    try:
        item = int(str(obj["item"]).strip())
    except ValueError:
        raise ValueError(f"item must be a dialogue number, got {json.dumps(obj['item'])}") from None
    k = key.item(item)
    if k is None:
        raise ValueError(f"item {item} is not on sheet {key.sheet_id} (items 1-{len(key.items)})")
    missing = [n for n in REQUIRED if obj.get(n) in (None, "")]
    if missing:
        raise ValueError(f"item {item}: no answer for {', '.join(missing)}")
    values: dict[str, Any] = {n: _score(n, obj[n]) for n in SCORES}
    for n in ("roles", "facts"):
        broken = _choice(n, obj[n])
        turns = _turns(f"{n}_turns", obj.get(f"{n}_turns"), len(k.turns))
        if turns and not broken:
            raise ValueError(f"item {item}: {n} is ok but {n}_turns names turns {list(turns)}")
        values[f"{n}_broken"], values[f"{n}_turns"] = broken, turns
    values["goal"], values["keep"] = _choice("goal", obj["goal"]), _choice("keep", obj["keep"])
    why = obj.get("why")
    values["why"] = "" if why is None else str(why).strip()
    return Rating(reader=reader, item=item, line=line, **values)


def _reader_from_name(path: Path, key: ReadingKey) -> str:
    stem = path.stem
    stem = re.sub(r"^ratings[-_]?", "", stem)
    stem = re.sub(rf"^{re.escape(key.sheet_id)}[-_]?", "", stem)
    return stem or path.stem


def _records(path: Path, text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """(line, object) per rating line and the warnings; a first line without "item" may name reader and sheet."""
    head = text.lstrip().lower()
    if path.suffix.lower() == ".csv" or head.startswith(("sheet,", "item,", "reader,", "sheet;", "item;", "reader;")):
        return _csv_records(path, text)
    if head.startswith("["):  # one JSON array of ratings, as a model sometimes answers
        return _array_records(path, text), []
    out: list[tuple[int, dict[str, Any]]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "```", "//")):
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise RatingsError(f"{path}, line {n}: not a JSON object ({exc.msg}); one JSON object per line") from None
        if not isinstance(obj, dict):
            raise RatingsError(f"{path}, line {n}: not a JSON object; one JSON object per line")
        out.append((n, obj))
    return out, []


def _array_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a JSON array, each with the line it starts on."""
    dec, out = json.JSONDecoder(), []
    i = text.index("[") + 1
    try:
        while True:
            while i < len(text) and text[i] in " \t\r\n,":
                i += 1
            if i >= len(text) or text[i] == "]":
                break
            obj, end = dec.raw_decode(text, i)
            line = text.count("\n", 0, i) + 1
            if not isinstance(obj, dict):
                raise RatingsError(f"{path}, line {line}: not a JSON object; one object per rating")
            out.append((line, obj))
            i = end
    except json.JSONDecodeError as exc:
        raise RatingsError(f"{path}, line {exc.lineno}: not JSON ({exc.msg})") from None
    return out


def _csv_records(path: Path, text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    first = text.lstrip().split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # a spreadsheet's "CSV" in some locales
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(rows)]
    except StopIteration:
        return [], []
    missing = [c for c in ("item", *REQUIRED) if c not in header]
    if missing:
        raise RatingsError(f"{path}, line 1: the CSV header lacks {', '.join(missing)} (it has {', '.join(header)})")
    out, warnings = [], []
    line = rows.line_num + 1
    for row in rows:
        start, line = line, rows.line_num + 1
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise RatingsError(f"{path}, line {start}: {len(row)} fields, the header has {len(header)}")
        obj = dict(zip(header, row))
        if not any(obj.get(c, "").strip() for c in REQUIRED) and not obj.get("why", "").strip():
            warnings.append(f"item {obj.get('item')} not rated (line {start})")
            continue
        out.append((start, obj))
    return out, warnings


def read_ratings(path: Path, key: ReadingKey, reader: str | None = None) -> RatingsFile:
    """A reader's ratings of ``key``'s sheet, checked line by line (RatingsError names file and line).

    The reader's name: ``reader`` when given, else the file's own (a ``{"reader": ...}`` line or a
    ``reader`` column), else the file name (``ratings-alice.jsonl`` -> ``alice``).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RatingsError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RatingsError(f"{path} is not UTF-8 text") from None
    records, warnings = _records(path, text)
    named = {str(o["reader"]).strip() for _, o in records if str(o.get("reader") or "").strip()}
    sheets = {str(o["sheet"]).strip() for _, o in records if str(o.get("sheet") or "").strip()}
    if len(named) > 1 and reader is None:
        raise RatingsError(f"{path} names several readers ({', '.join(sorted(named))}); one file per reader")
    wrong = sheets - {key.sheet_id}
    if wrong:
        raise RatingsError(f"{path} rates sheet {', '.join(sorted(wrong))}, but the key is of sheet {key.sheet_id}")
    who = reader or (named.pop() if named else _reader_from_name(path, key))
    ratings: list[Rating] = []
    seen: dict[int, int] = {}
    unknown: set[str] = set()
    known = {"item", "reader", "sheet", *BY_NAME}
    for line, obj in records:
        if "item" not in obj and set(obj) <= {"reader", "sheet"}:
            continue  # the line naming the reader
        unknown |= set(obj) - known
        try:
            r = parse_rating(obj, who, key, line)
        except ValueError as exc:
            raise RatingsError(f"{path}, line {line}: {exc}") from None
        if r.item in seen:
            raise RatingsError(f"{path}, line {line}: item {r.item} is rated twice (also on line {seen[r.item]})")
        seen[r.item] = line
        ratings.append(r)
    if unknown:
        warnings.append(f"fields ignored: {', '.join(sorted(unknown))}")
    left = sorted({k.item for k in key.items} - set(seen))
    if left:
        warnings.append(f"{len(left)} of {len(key.items)} items not rated: {', '.join(map(str, left))}")
    if not ratings:
        raise RatingsError(f"{path} holds no rating")
    return RatingsFile(path, who, next(iter(sheets), None), hashlib.sha256(data).hexdigest(), ratings, warnings)
