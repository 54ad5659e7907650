"""A pack's optional ``templates.toml``: how its User and desk word slots and intents.

Read here, at the bottom layer, because two layers need it: the phrasing (``agents/pack/phrases.py``)
says values with it, and the judge's goal check (``judges/pack_judge.py``) accepts a value said in
one of the pack's own wordings for it ("It keeps dropping out." for ``keeps dropping``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from goalconvo.packs.model import Pack, PackError


def load_templates(pack: Pack) -> dict[str, Any]:
    """The pack's templates (``[files] templates``), or an empty table when it has none."""
    rel = pack.extras.get("templates")
    if not rel or not pack.root:
        return {}
    path = Path(pack.root) / rel
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PackError([f"{path}: not valid TOML ({exc})"]) from None


def value_wordings(templates: dict[str, Any], service: str, slot: str, value: str) -> list[str]:
    """The pack's own wordings of one value of a slot (``[slots."S.x".values]``), empty when it has none."""
    table = (templates.get("slots") or {}).get(f"{service}.{slot}", {}).get("values") or {}
    found = table.get(value, []) if isinstance(table, dict) else []
    return [found] if isinstance(found, str) else [str(w) for w in found]
