"""Where the code spells out MultiWOZ's domains and slots: a ratchet toward "only in the pack".

Issue 23's target is that no MultiWOZ domain or slot name is a string literal in ``goalconvo/``
outside the MultiWOZ pack and the MultiWOZ file formats. The pack exists
(``goalconvo/data/packs/multiwoz``) and the engine's tables are read from it, but the guided
engine's behaviour (trains, taxis, venues; its templates and understanding rules) still names
them: ``data/domain_literal_budget.json`` records, per file, how many such literals it holds.

The test walks every module's string literals (docstrings and f-string fragments are prose and
do not count) against the names the shipped pack defines, and fails when a file holds more than
its budget, when a file without a budget holds any, and when a file holds fewer (lower its
budget, so the ratchet keeps what was won): the count only goes down, to zero.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

from goalconvo.packs.builtin import default_pack

ROOT = Path(__file__).resolve().parents[1] / "goalconvo"
BUDGET = Path(__file__).parent / "data" / "domain_literal_budget.json"
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


def _prose(tree: ast.AST) -> set[int]:
    """ids of docstring constants and of f-string fragments."""
    out: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
        if isinstance(node, ast.JoinedStr):
            out.update(id(v) for v in node.values)
    return out


def literal_counts() -> Counter[str]:
    names = domain_names()
    counts: Counter[str] = Counter()
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in FILE_FORMATS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = _prose(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
                    and node.value in names and (rel, node.value) not in OTHER_SENSE):
                counts[rel] += 1
    return counts


def test_the_names_come_from_the_pack():
    names = domain_names()
    assert {"restaurant", "taxi", "pricerange", "leaveAt", "entrance fee"} <= names and len(names) > 20
    assert not names & ORDINARY


def test_multiwoz_names_in_the_code_only_go_down():
    counts = literal_counts()
    budget: dict[str, int] = json.loads(BUDGET.read_text())
    over = {f: (n, budget.get(f, 0)) for f, n in counts.items() if n > budget.get(f, 0)}
    assert not over, f"MultiWOZ names as literals beyond the budget (file: (now, budget)): {over}; read them from the pack"
    stale = {f: (counts.get(f, 0), b) for f, b in budget.items() if counts.get(f, 0) < b}
    assert not stale, f"fewer MultiWOZ literals than budgeted (file: (now, budget)): {stale}; lower the budget"
