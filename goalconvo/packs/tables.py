"""Rows of a pack's tables (entities, per-user state, diagnosis) from CSV, JSON Lines or a JSON list.

A ``.json`` file that holds one list of objects is read as that list (MultiWOZ's venue
databases are written so); its nested values (a hotel's prices per room, a location) are
kept as compact JSON text.

Every value is read as text, as slot values travel. A fault names the file and its line
number: a CSV row with more or fewer fields than the header, a JSON line that is not an
object of scalar values, a header naming a column twice.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_rows(path: Path, text: str, problems: list[str]) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text))
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for record in reader:
        line = reader.line_num
        if header is None:
            if not record or all(not c.strip() for c in record):
                continue
            header = [c.strip() for c in record]
            dupes = sorted({c for c in header if header.count(c) > 1})
            if dupes:
                problems.append(f"{path}:{line}: the header names column(s) {dupes} twice")
            if any(not c for c in header):
                problems.append(f"{path}:{line}: the header has an empty column name")
            continue
        if not record or all(not c.strip() for c in record):
            continue
        if len(record) != len(header):
            problems.append(f"{path}:{line}: {len(record)} field(s), the header has {len(header)} "
                            f"({', '.join(header)})")
            continue
        rows.append({k: v.strip() for k, v in zip(header, record)})
    if header is None:
        problems.append(f"{path}: empty (a CSV table needs a header line)")
    return rows


def _jsonl_rows(path: Path, text: str, problems: list[str]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{line}: not valid JSON: {e.msg}")
            continue
        if not isinstance(obj, dict) or not all(isinstance(v, (str, int, float, bool)) for v in obj.values()):
            problems.append(f"{path}:{line}: each line must be an object of text or number values")
            continue
        rows.append({str(k): _text(v) for k, v in obj.items()})
    return rows


def _json_list_rows(path: Path, text: str, problems: list[str]) -> list[dict[str, str]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        problems.append(f"{path}:{e.lineno}: not valid JSON: {e.msg}")
        return []
    rows: list[dict[str, str]] = []
    for n, obj in enumerate(items, start=1):
        if not isinstance(obj, dict):
            problems.append(f"{path}: item {n} of the list is not an object")
            continue
        rows.append({str(k): v if isinstance(v, str) else _text(v) if isinstance(v, (int, float, bool))
                     else json.dumps(v, separators=(",", ":")) for k, v in obj.items()})
    return rows


def read_rows(path: Path, problems: list[str]) -> list[dict[str, str]]:
    """The rows of ``path`` (``.csv``, ``.jsonl``, or ``.json`` as one list or as JSON Lines); faults go to ``problems``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path}: no such file")
        return []
    except UnicodeDecodeError as e:
        problems.append(f"{path}: not UTF-8 text: {e}")
        return []
    if path.suffix.lower() == ".csv":
        return _csv_rows(path, text, problems)
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        return _json_list_rows(path, text, problems)
    if path.suffix.lower() in (".jsonl", ".json"):
        return _jsonl_rows(path, text, problems)
    problems.append(f"{path}: a table is a .csv or .jsonl file")
    return []


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as JSON Lines (the importer's output), one object per line, keys as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
