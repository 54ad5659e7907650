"""Dialogue sets: ``sets list`` and ``sets delete NAME`` (which keeps the incremental metrics right).

A set is a run (its dialogues) or an import (e.g. MultiWOZ). Deleting one with hand-written
SQL would leave its per-dialogue figures and n-gram counts behind; ``sets delete`` removes
everything of the set in one transaction. Both open the file for writing (no pipeline may hold it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from rich.markup import escape

from goalconvo.commands.common import shown, DbOpt, console, fail, make_settings, open_corpus, print_result


def sets_list(
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Sets as JSON."),
) -> None:
    """Every dialogue set: kind (run | import), dialogues, accepted, description."""
    s = make_settings(db=db)
    store = open_corpus(s.db)
    try:
        rows = store.list_sets()
    finally:
        store.close()
    if as_json:
        print(json.dumps(rows, default=str))
        return
    cols = ["set_name", "kind", "dialogues", "accepted", "description"]
    print_result(cols, [[r[c] for c in cols] for r in rows], False)


def sets_delete(
    name: str = typer.Argument(..., help="The dialogue set to remove."),
    db: Optional[Path] = DbOpt,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Remove a dialogue set whole: dialogues, turns, verdicts, scores, figures, n-gram counts, snapshots, readers' ratings.

    NAME may also be a reference file's name (e.g. val.json.zip) whose human dialogues readers rated:
    that removes those ratings.
    """
    s = make_settings(db=db)
    store = open_corpus(s.db)
    try:
        rated = store.query("select count(*) from ratings where set_name = ?", [name]).rows[0][0]
        if not yes and not as_json:
            n = next((r["dialogues"] for r in store.list_sets() if r["set_name"] == name), None)
            if n is None and not rated:
                raise KeyError(f"no dialogue set {name!r}")
            what = ", ".join(x for x in (f"its {n} dialogues" if n is not None else "",
                                         f"{rated} readers' ratings" if rated else "") if x)
            if not typer.confirm(f"delete set {name!r} and {what}?"):
                raise typer.Exit(1)
        removed = store.delete_set(name)
    except KeyError as exc:
        fail(ValueError(exc.args[0]))
    finally:
        store.close()
    if as_json:
        print(json.dumps({"set": name, "deleted": removed, **({"ratings_deleted": rated} if rated else {})}))
    else:
        console.print(f"deleted set {escape(shown(name))}: {removed} dialogues" + (f", {rated} readers' ratings" if rated else ""))
