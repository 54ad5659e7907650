"""No MultiWOZ domain or slot name is a string literal in ``goalconvo/`` outside its pack and its file formats.

The guided engine names roles (``core/roles.py``: the timetable, the ride and its ends, the
lodging, the table, the sight, the department desk, the office, the venue slots), which the
MultiWOZ pack (``goalconvo/data/packs/multiwoz``) maps to ``train``, ``taxi``, ``hotel``,
``pricerange``...; the words people say for them live in the pack's TOML files. The test walks
every module's string literals (docstrings and f-string fragments are prose and do not count)
against the names the shipped pack defines and fails on any one, naming file and line, unless
it is ordinary English in another sense (``OTHER_SENSE``, each with its reason).
"""

from __future__ import annotations

import ast
from pathlib import Path

from goalconvo.packs.builtin import default_pack

ROOT = Path(__file__).resolve().parents[1] / "goalconvo"
#: MultiWOZ's own file formats: reading its dialogues and writing its layout name its fields by design.
FILE_FORMATS = {"core/multiwoz.py", "sinks/export_multiwoz.py", "core/act_slots.py"}
#: Slot names that are ordinary English and every pack's (a format, a JSON field, a schema key):
#: "name", "time", "phone" in code say what a value is, not which domain it belongs to.
ORDINARY = {"name", "address", "phone", "postcode", "price", "time", "day", "people", "type", "reference"}
#: Literals that are the same word in another sense: (file, literal) and why.
OTHER_SENSE = {
    ("sinks/export_training.py", "train"): "the dataset split, beside validation and test",
    **{("core/roles.py", role): "a role's name in the pack's roles file, which maps it to the pack's slot"
       for role in ("area", "stars", "parking", "internet", "stay", "department")},
}


def domain_names() -> set[str]:
    """The shipped MultiWOZ pack's service names and its own slot names (not the ordinary words)."""
    pack = default_pack()
    return ({s.name for s in pack.services} | {x.name for s in pack.services for x in s.slots}) - ORDINARY


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of docstring constants."""
    out: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _prose(tree: ast.AST) -> set[int]:
    """ids of docstring constants and of f-string fragments (a slot name inside a sentence is prose)."""
    out = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.update(id(v) for v in node.values)
    return out


def literals() -> list[str]:
    """``file:line: 'name'`` for every MultiWOZ name written as a string literal in the code."""
    names = domain_names()
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in FILE_FORMATS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = _prose(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
                    and node.value in names and (rel, node.value) not in OTHER_SENSE):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    return found


def test_the_names_come_from_the_pack():
    names = domain_names()
    assert {"restaurant", "taxi", "pricerange", "leaveAt", "entrance fee"} <= names and len(names) > 20
    assert not names & ORDINARY


def test_no_multiwoz_name_is_a_literal_in_the_code():
    found = literals()
    assert not found, "MultiWOZ names as literals (name the role from core.roles, or put the words in the pack): " + "; ".join(found)


def test_the_walk_finds_a_literal(tmp_path, monkeypatch):
    """The walk is not blind: a module naming a MultiWOZ service is caught, its docstring is not."""
    pkg = tmp_path / "goalconvo"
    (pkg / "core").mkdir(parents=True)
    (pkg / "core" / "x.py").write_text('"""About the hotel."""\nSERVICE = "hotel"\n')
    monkeypatch.setitem(globals(), "ROOT", pkg)
    assert literals() == ["core/x.py:2: 'hotel'"]


#: The town of MultiWOZ's desk: where its setting, sentences and cards are written (its pack), not code.
SETTING_PLACE = "Cambridge"


def setting_literals() -> list[str]:
    """``file:line`` for every string literal of the code (docstrings aside, f-string parts included:
    prompts are where the town would come back) that names the desk's town."""
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
                    and SETTING_PLACE.lower() in node.value.lower()):
                found.append(f"{rel}:{node.lineno}")
    return found


def test_the_desks_town_is_written_only_in_its_pack():
    """The prompts, the templates' town lines, the export card and the reading sheet's opening read the pack."""
    assert SETTING_PLACE in default_pack().meta.setting
    found = setting_literals()
    assert not found, f"{SETTING_PLACE} written in code (put it in the pack's files): " + "; ".join(found)


def test_the_town_walk_reads_f_strings_but_not_docstrings(tmp_path, monkeypatch):
    pkg = tmp_path / "goalconvo"
    (pkg / "core").mkdir(parents=True)
    (pkg / "core" / "x.py").write_text('"""A Cambridge desk."""\nW = 1\nP = f"the clerk of a Cambridge desk for {W}."\nQ = "enjoy cambridge"\n')
    monkeypatch.setitem(globals(), "ROOT", pkg)
    assert sorted(setting_literals()) == ["core/x.py:3", "core/x.py:4"]
