"""Domain packs, the bottom layer: what a domain is (SGD's schema plus a pack file), loaded and checked.

``model`` holds the records, ``schema`` reads SGD's ``schema.json``, ``tables`` the entity,
state and diagnosis rows, ``loader`` a pack folder, ``checks`` whether its parts fit,
``values`` a value against its slot's format, ``registry`` the shipped packs,
``sgd_import`` a pack from SGD's files, ``scaffold`` a new pack to fill in.
Imports nothing of goalconvo but itself, so every layer may read packs.
"""

from goalconvo.packs.loader import load_pack
from goalconvo.packs.model import Pack, PackError
from goalconvo.packs.registry import find_pack, shipped_names

__all__ = ["Pack", "PackError", "find_pack", "load_pack", "shipped_names"]
