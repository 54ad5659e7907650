"""Turns no desk clerk or customer would write: a linear model learnt from blind readers' marks.

Rules catch the faults someone has named ("You can find a train from Cambridge." said by the
User); a small phrasing model garbles in ways nobody lists in advance ("one attraction at 18?",
"The entrance fee and phone number are free"). Readers mark those turns (``roles_turns``,
``facts_turns`` in the reading kit's ratings); this model learns them against template turns and
MultiWOZ's human turns (unmarked LLM turns are left out: a reader marks the worst, not every
bad one), and scores any turn's text with its speaker.

It reads only a turn's words and who says it: word 1-3-grams, and 1-2-grams tagged with the
speaker (the same words are fine from one side and wrong from the other). Sublinear tf-idf,
each block normalised, a logistic regression; the weights ship as JSON
(``goalconvo/data/garble.json``) and are applied here with the standard library, so judging
needs no scikit-learn. ``goalconvo.nlu.garble_train`` rebuilds the file from a reading folder.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import orjson

from goalconvo.nlu.text import normalize

MODEL_KIND = "goalconvo-garble-model"
#: scikit-learn's default word pattern (two or more word characters), kept so trained and applied agree.
_WORD = re.compile(r"(?u)\b\w\w+\b")


def words(plain: str) -> list[str]:
    """The words of a turn already normalised and lower-cased."""
    return _WORD.findall(plain)


def tagged(speaker: str, plain: str) -> list[str]:
    """The turn's words tagged with its side: ``u_thank`` from the User, ``b_thank`` from the desk."""
    return [f"{speaker[0]}_{w}" for w in plain.split()]


def ngrams(tokens: list[str], n_max: int) -> list[str]:
    return [" ".join(tokens[i:i + n]) for n in range(1, n_max + 1) for i in range(len(tokens) - n + 1)]


def features(speaker: str, text: str) -> tuple[list[str], list[str]]:
    """The two blocks of n-grams a turn is scored on (the trainer uses the same function)."""
    plain = normalize(text).lower()
    return ngrams(words(plain), 3), ngrams(tagged(speaker, plain), 2)


@dataclass(frozen=True)
class GarbleModel:
    """Per block: n-gram -> (idf, weight); the intercept; the threshold a turn's score must pass."""

    blocks: tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]
    intercept: float
    threshold: float
    version: str

    def score(self, speaker: str, text: str) -> float:
        """The probability readers would mark this turn broken, as the model learnt it."""
        z = self.intercept
        for block, grams in zip(self.blocks, features(speaker, text)):
            counts = Counter(g for g in grams if g in block)
            if not counts:
                continue
            # Sublinear tf (1 + ln tf) times idf, the block scaled to unit length, dotted with the weights.
            values = {g: (1.0 + math.log(c)) * block[g][0] for g, c in counts.items()}
            norm = math.sqrt(sum(v * v for v in values.values()))
            z += sum(v / norm * block[g][1] for g, v in values.items())
        return 1.0 / (1.0 + math.exp(-z))

    def garbled(self, turns: Sequence[tuple[str, str]]) -> list[tuple[int, float]]:
        """(turn index, score) of each turn over the threshold."""
        out = []
        for i, (speaker, text) in enumerate(turns):
            s = self.score(speaker, text)
            if s >= self.threshold:
                out.append((i, s))
        return out

    @classmethod
    def from_json(cls, raw: bytes) -> "GarbleModel":
        data = orjson.loads(raw)
        if data.get("kind") != MODEL_KIND:
            raise ValueError(f"not a garble model (kind {data.get('kind')!r})")
        blocks = tuple({g: (float(v[0]), float(v[1])) for g, v in b.items()} for b in data["blocks"])
        return cls(blocks=blocks, intercept=float(data["intercept"]), threshold=float(data["threshold"]),  # type: ignore[arg-type]
                   version=str(data["version"]))


@lru_cache(maxsize=4)
def load_garble_model(path: str | None = None) -> GarbleModel:
    """The shipped model (``goalconvo/data/garble.json``), or one at ``path``; read once per process."""
    raw = Path(path).read_bytes() if path else resources.files("goalconvo").joinpath("data/garble.json").read_bytes()
    return GarbleModel.from_json(raw)
