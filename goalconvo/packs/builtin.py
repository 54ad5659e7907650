"""The pack a run uses when it names none: MultiWOZ's, shipped in ``goalconvo/data/packs/multiwoz``.

The guided engine (``agents.guided``), the goal generator, the venue lookups and the slot checks
read their tables from it (``derived`` reads them off the schema), so what MultiWOZ is lives in
one folder. Loaded once per process and checked like any pack: a broken shipped pack fails at
import with every problem named, not mid-run.
"""

from __future__ import annotations

import functools

from goalconvo.packs.model import Pack

#: The shipped pack a run without ``--pack`` uses.
DEFAULT_PACK = "multiwoz"


@functools.lru_cache(maxsize=1)
def default_pack() -> Pack:
    """The shipped MultiWOZ pack, loaded and checked once."""
    from goalconvo.packs.registry import find_pack

    return find_pack(DEFAULT_PACK)
