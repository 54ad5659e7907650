"""Where packs are found: the ones shipped in ``goalconvo/data/packs/``, or any folder by path.

``find_pack("clinic")`` loads a shipped pack; ``find_pack("./my-pack")`` (anything with a path
separator, or an existing folder) loads that folder. Workers on several machines each need
the same pack folder (same content hash): ship it with the deployment, or point
``GOALCONVO_PACK`` at a shared path.
"""

from __future__ import annotations

from pathlib import Path

from goalconvo.packs.loader import PACK_FILE, load_pack
from goalconvo.packs.model import Pack, PackError

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "packs"
#: The shipped pack a run without ``--pack`` uses (MultiWOZ's; ``packs.builtin`` loads it).
DEFAULT_PACK = "multiwoz"


def shipped_names() -> list[str]:
    """Names of the packs that come with the package, sorted."""
    if not SHIPPED.is_dir():
        return []
    return sorted(p.name for p in SHIPPED.iterdir() if (p / PACK_FILE).is_file())


def pack_path(name_or_path: str) -> Path:
    """The folder ``name_or_path`` means: a shipped pack's name, or a path to a folder."""
    p = Path(name_or_path).expanduser()
    if "/" in name_or_path or p.is_dir() or name_or_path.endswith(PACK_FILE):
        return p
    if (SHIPPED / name_or_path / PACK_FILE).is_file():
        return SHIPPED / name_or_path
    known = ", ".join(shipped_names()) or "none"
    raise PackError([f"no pack named {name_or_path!r} (shipped packs: {known}; or give a folder's path)"])


def find_pack(name_or_path: str) -> Pack:
    """Load the pack ``name_or_path`` names (see ``pack_path``); raise ``PackError`` with every problem."""
    return load_pack(pack_path(name_or_path))


def is_shipped_default(name_or_path: str) -> bool:
    """Whether ``--pack`` names the shipped MultiWOZ pack, by name or by its folder: the same as no ``--pack``."""
    if name_or_path.strip() == DEFAULT_PACK:
        return True
    p = Path(name_or_path.strip()).expanduser()
    folder = p.parent if p.name == PACK_FILE else p
    try:
        return folder.resolve() == (SHIPPED / DEFAULT_PACK).resolve()
    except OSError:
        return False


def find_pack_to_run(name_or_path: str) -> Pack:
    """The pack ``--pack`` names for a run or a worker, refusing a copy of the shipped MultiWOZ pack.

    A folder whose pack is named like the shipped one would have its goals drawn as a pack's
    (tasks) under MultiWOZ's name, which every goal refuses; the error says what to do instead.
    (``import multiwoz --pack COPY`` takes such a copy: its venues judge imported dialogues.)
    """
    pack = find_pack(name_or_path)
    if pack.meta.name.strip().lower() == DEFAULT_PACK:
        raise PackError([
            f"{name_or_path}: this pack is named {DEFAULT_PACK!r}, the shipped pack's name. MultiWOZ's goals run "
            f"through its guided engine with the shipped pack (no --pack); --multiwoz-db points it at other venue "
            f"databases. To run this folder as a pack of its own (planned from its schema, worded from its "
            f"templates.toml), give it another name in its pack.toml"])
    return pack
