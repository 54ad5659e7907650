"""The pack a run uses when it names none: MultiWOZ's, shipped in ``goalconvo/data/packs/multiwoz``.

The guided engine (``agents.guided``), the goal generator, the venue lookups and the slot checks
read their tables from it (``derived`` reads them off the schema), so what MultiWOZ is lives in
one folder. Loaded once per process and checked like any pack: a broken shipped pack fails at
import with every problem named, not mid-run.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

from goalconvo.packs.model import Pack
from goalconvo.packs.registry import DEFAULT_PACK, find_pack

__all__ = ["DEFAULT_PACK", "default_pack", "pack_toml", "pack_words"]


@functools.lru_cache(maxsize=1)
def default_pack() -> Pack:
    """The shipped MultiWOZ pack, loaded and checked once (also for the keys the guided engine reads)."""
    from goalconvo.packs.guided_keys import guided_problems
    from goalconvo.packs.model import PackError

    pack = find_pack(DEFAULT_PACK)
    problems = guided_problems(pack, pack_toml)
    if problems:
        raise PackError(problems)
    return pack


#: ``[files] words = "words.toml"``: the words a pack's templates use for its services and slots.
WORDS_FILE = "words"


def pack_toml(pack: Pack, role: str) -> dict[str, Any]:
    """The pack's ``[files] ROLE`` TOML file, read (the loader checked it parses), or ``{}`` when it has none."""
    rel = pack.extras.get(role)
    if not rel or not pack.root:
        return {}
    return tomllib.loads((Path(pack.root) / rel).read_text(encoding="utf-8"))


def pack_words(pack: Pack) -> dict[str, Any]:
    """The pack's template words (its ``[files] words`` TOML file), or ``{}`` when it has none."""
    return pack_toml(pack, WORDS_FILE)
