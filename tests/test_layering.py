"""Imports point one way (DESIGN.md, "Packages inside goalconvo/"), checked on every import of the package.

Bottom up: ``packs`` (domain packs: their model and loaders; imports nothing of ours) < ``core`` < ``llm`` < ``agents`` | ``judges`` (never each other) < ``streams``;
``nlu`` (understanding turns from their text) uses only ``core``, and ``agents``, ``judges`` and
``streams`` may use it
(not ``sinks`` or ``commands``); ``sinks`` may use only the bus part of ``streams``
(topics, broker, replay) and ``core``; ``assess`` (the instruments) what ``sinks`` may and
``sinks`` itself; ``commands`` may use everything; ``devtools``
only ``core``. Module-level imports and imports inside functions count alike,
``import x`` and ``from x import y`` alike, relative ones resolved. Every layer may use ``packs``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "goalconvo"

#: The bus part of ``streams``: what the corpus side may use of it.
BUS = ("goalconvo.streams.topics", "goalconvo.streams.broker", "goalconvo.streams.replay", "goalconvo.streams.kafka")

#: Layer -> what its modules may import (a prefix allows the package and everything below it).
_ALLOWED: dict[str, tuple[str, ...]] = {
    # Domain packs at the very bottom: what a domain is, read by every layer above.
    "packs": (),
    "core": ("goalconvo.core",),
    # Understanding turns from their text (rules over core's venue data); agents and judges read with it.
    "nlu": ("goalconvo.core", "goalconvo.nlu"),
    "llm": ("goalconvo.core", "goalconvo.llm"),
    "agents": ("goalconvo.core", "goalconvo.nlu", "goalconvo.llm", "goalconvo.agents"),
    "judges": ("goalconvo.core", "goalconvo.nlu", "goalconvo.llm", "goalconvo.judges"),
    "streams": ("goalconvo.core", "goalconvo.nlu", "goalconvo.llm", "goalconvo.agents", "goalconvo.judges", "goalconvo.streams"),
    "sinks": ("goalconvo.core", "goalconvo.sinks", *BUS),
    # The instruments (reading sheets and their scores, the belief tracker) read the corpus.
    "assess": ("goalconvo.core", "goalconvo.sinks", *BUS, "goalconvo.assess"),
    "commands": ("goalconvo",),
    "devtools": ("goalconvo.core", "goalconvo.devtools"),
}
ALLOWED: dict[str, tuple[str, ...]] = {layer: ("goalconvo.packs", *may) for layer, may in _ALLOWED.items()}


def layer_of(module: str) -> str:
    """``goalconvo.sinks.store`` -> ``sinks``; the root package counts as the bottom layer."""
    parts = module.split(".")
    if parts[0] != "goalconvo":
        raise ValueError(f"{module} is not ours")
    if len(parts) == 1:
        return "core"
    if parts[1] not in ALLOWED:
        raise ValueError(f"{module}: goalconvo/{parts[1]} is in no layer; add it to DESIGN.md and to ALLOWED here")
    return parts[1]


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    root = PACKAGE.parent
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def imported_modules(module: str, source: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import of ours in ``source``, wherever it sits in the file."""
    package = module if is_package else module.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                # ``from goalconvo.streams import app`` imports the module goalconvo.streams.app.
                sub = f"{target}.{a.name}"
                out.append((node.lineno, sub if a.name != "*" and _is_module(sub) else target))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in out if name == "goalconvo" or name.startswith("goalconvo.")]


def _allowed(target: str, allowed: tuple[str, ...]) -> bool:
    if target == "goalconvo":
        return True
    return any(target == a or target.startswith(a + ".") for a in allowed)


def violations(module: str, source: str, *, is_package: bool = False, where: str | None = None) -> list[str]:
    """Each import of ``module`` that points up or sideways, as ``file:line: a -> b (layer x may not import layer y)``."""
    layer = layer_of(module)
    where = where or module
    found = []
    for line, target in imported_modules(module, source, is_package=is_package):
        if not _allowed(target, ALLOWED[layer]):
            found.append(f"{where}:{line}: {module} imports {target} ({layer} may not import {layer_of(target)}"
                         + (", only its bus: topics, broker, replay)" if layer == "sinks" and layer_of(target) == "streams" else ")"))
    return found


def package_modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def test_every_import_of_the_package_points_down():
    modules = package_modules()
    assert len(modules) > 40  # the walk found the package
    problems: list[str] = []
    for module, path in modules:
        problems += violations(
            module, path.read_text(), is_package=path.name == "__init__.py", where=str(path.relative_to(PACKAGE.parent))
        )
    assert not problems, "imports against the layering (DESIGN.md):\n" + "\n".join(problems)


def test_every_module_sits_in_a_layer():
    for module, _ in package_modules():
        layer_of(module)


# -- the checker itself catches what it must -------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source", "bad"),
    [
        ("goalconvo.core.records", "from goalconvo.streams.topics import Topics\n", "goalconvo.streams.topics"),
        ("goalconvo.llm.scripted", "def f():\n    from goalconvo.agents.tracker import Knowledge\n", "goalconvo.agents.tracker"),
        ("goalconvo.judges.goal_check", "import goalconvo.agents.tracker\n", "goalconvo.agents.tracker"),
        ("goalconvo.agents.dialogue", "from goalconvo.judges import prompts\n", "goalconvo.judges.prompts"),
        ("goalconvo.streams.app", "async def f():\n    from goalconvo.sinks.store import CorpusStore\n", "goalconvo.sinks.store"),
        ("goalconvo.streams.replay", "from goalconvo.commands import runner\n", "goalconvo.commands.runner"),
        ("goalconvo.sinks.consumer", "from goalconvo.streams import app\n", "goalconvo.streams.app"),
        ("goalconvo.sinks.consumer", "from ..streams.app import Pipeline\n", "goalconvo.streams.app"),
        ("goalconvo.sinks.store", "from goalconvo.judges.judge import Judge\n", "goalconvo.judges.judge"),
        ("goalconvo.sinks.store", "from goalconvo.llm import LLMBackend\n", "goalconvo.llm"),
        ("goalconvo.assess.dst", "from goalconvo.judges.judge import Judge\n", "goalconvo.judges.judge"),
        ("goalconvo.nlu.understand", "from goalconvo.llm import LLMBackend\n", "goalconvo.llm"),
        ("goalconvo.nlu.phrasing", "from goalconvo.agents.guided.acts import split_key\n", "goalconvo.agents.guided.acts"),
        ("goalconvo.sinks.store", "from goalconvo.nlu import understand\n", "goalconvo.nlu.understand"),
        ("goalconvo.sinks.store", "from goalconvo.assess import dst\n", "goalconvo.assess.dst"),
        ("goalconvo.devtools.openai_stub", "import importlib\nimportlib.import_module('goalconvo.llm.base')\n", "goalconvo.llm.base"),
        # The packs layer is the very bottom: not even core.
        ("goalconvo.packs.loader", "from goalconvo.core.settings import Settings\n", "goalconvo.core.settings"),
        ("goalconvo.packs.schema", "from goalconvo.judges import rules\n", "goalconvo.judges.rules"),
    ],
)
def test_an_import_against_the_layering_is_named(module, source, bad):
    found = violations(module, source)
    assert len(found) == 1 and f"imports {bad} " in found[0], found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("goalconvo.sinks.consumer", "from goalconvo.streams.topics import Topics\nfrom goalconvo.core import records\n"),
        ("goalconvo.sinks.backfill", "from ..streams import broker\nfrom . import store\n"),
        ("goalconvo.streams.app", "from goalconvo.agents.dialogue import DialogueEngine\nfrom goalconvo.judges.judge import Judge\n"),
        ("goalconvo.commands.runner", "from goalconvo.sinks.consumer import DuckDBSink\nfrom goalconvo.streams.app import Pipeline\n"),
        ("goalconvo.agents.dialogue", "from goalconvo.llm import CallContext\nfrom goalconvo import __version__\n"),
        ("goalconvo.judges.sense", "from goalconvo.nlu import dialogue_faults\nfrom goalconvo.core.venues import VenueDB\n"),
        ("goalconvo.agents.guided.realizer", "from goalconvo.nlu import check_phrasing\n"),
        ("goalconvo.judges.rules", "from goalconvo.packs import Pack\nfrom goalconvo.packs.values import value_problem\n"),
        ("goalconvo.core.goals", "from goalconvo.packs.model import Pack\n"),
        ("goalconvo.packs.loader", "from goalconvo.packs.checks import cross_check\nfrom .schema import read_schema\n"),
    ],
)
def test_imports_that_point_down_pass(module, source):
    assert violations(module, source) == []


def test_a_relative_import_in_a_package_init_resolves_from_the_package():
    assert imported_modules("goalconvo.sinks", "from .store import CorpusStore\n", is_package=True) == [(1, "goalconvo.sinks.store")]
    assert violations("goalconvo.judges", "from ..agents import tracker\n", is_package=True)
