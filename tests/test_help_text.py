"""Every help text the command line prints reaches the user whole.

Typer renders help with Rich markup, which reads ``[env GOALCONVO_DB; default x]`` as a style
tag and drops it: ``--db`` said "DuckDB corpus file ." with the env var and default gone. The
test walks the whole command tree and renders each command's and option's help as Rich would.
"""

from __future__ import annotations

import typer
from rich.text import Text
from typer.testing import CliRunner

from goalconvo.commands import app


def _helps(command, path: str) -> list[tuple[str, str]]:
    """(where, text) for the command's own help and each of its parameters', sub-commands included."""
    out = [(path, command.help or "")]
    out += [(f"{path} {p.name}", getattr(p, "help", None) or "") for p in command.params]
    # Typer vendors its own click: a group is told by its sub-commands, not by click's class.
    for name, sub in (getattr(command, "commands", None) or {}).items():
        out += _helps(sub, f"{path} {name}")
    return out


def test_no_help_text_loses_words_to_rich_markup():
    root = typer.main.get_command(app)
    lost = [f"{where}: {text!r}" for where, text in _helps(root, "goalconvo")
            if text and Text.from_markup(text).plain != text]
    assert not lost, "help text Rich would eat (write (...) or escape \\[): " + "; ".join(lost)


def test_the_walk_sees_the_run_commands_db_option():
    root = typer.main.get_command(app)
    assert any(where == "goalconvo run db" for where, _ in _helps(root, "goalconvo"))
    shown = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "GOALCONVO_DB" in shown and "goalconvo.duckdb" in shown
