"""The near-duplicate check: MinHash over word shingles, LSH to find candidates.

A dialogue whose text is nearly the same as one already accepted is rejected with
the check ``near_duplicate``, whose reason names the dialogue it duplicates. This
module is the pure part (text -> shingles -> signature, an in-memory LSH index, the
check's verdict); the state (signatures of every accepted dialogue) lives on the bus,
in a table the judge's serial stage owns (``streams/app.py``).

Reads: a dialogue's turn texts. Adds: a ``CheckResult`` named ``near_duplicate``
(score: the estimated Jaccard similarity to the closest accepted dialogue).

Text: lower-cased ``[a-z0-9']+`` words; shingles are ``SHINGLE`` consecutive words
inside one sentence (turns split on ``.?!``), so reordered sentences or turns keep
their shingles. Values (names, times, references) are kept: they are what tells two
dialogues of similar goals apart. The signature is ``NUM_PERM`` minima of universal
hashes ``(a*x + b) mod (2**61 - 1)`` of a 32-bit BLAKE2b hash of each shingle, with
fixed parameters: a signature computed today compares with one stored last year.
Changing ``SHINGLE``, ``NUM_PERM`` or the seed changes ``SCHEME`` (stored beside the
signatures; an index of another scheme is not compared with).

Same goal: a dialogue of a goal whose content (domains, info, reqt, book, fail_*; not
its id, message or run) is that of an accepted dialogue's goal is a near-duplicate
too, whatever its words (``same_goal``): the guided planner seeds its choices by
dialogue id, so a goal republished under a new run id gets other venues and other
templates (text similarity down to 0.05), yet adds nothing new to the corpus.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from goalconvo.core.goals import goal_content_key
from goalconvo.core.records import CheckResult, Dialogue, Goal

CHECK_NAME = "near_duplicate"
SHINGLE = 2
NUM_PERM = 128
_SEED = 20261125
SCHEME = f"minhash-w{SHINGLE}-p{NUM_PERM}-s{_SEED}"

_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE = re.compile(r"[.!?;\n]+")
_PRIME = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64(0xFFFFFFFF)
_rng = np.random.default_rng(_SEED)
# a < 2**31 and x < 2**32: a*x + b stays below 2**64, so uint64 arithmetic is exact.
_A = _rng.integers(1, 1 << 31, size=NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, 1 << 31, size=NUM_PERM, dtype=np.uint64)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def sentences(text: str) -> Iterator[list[str]]:
    for part in _SENTENCE.split(text):
        w = words(part)
        if w:
            yield w


def shingles(texts: Iterable[str], k: int = SHINGLE) -> set[str]:
    """Word k-shingles inside each sentence of each text; a shorter sentence is one shingle."""
    out: set[str] = set()
    for text in texts:
        for w in sentences(text):
            if len(w) <= k:
                out.add(" ".join(w))
            else:
                out.update(" ".join(w[i : i + k]) for i in range(len(w) - k + 1))
    return out


def dialogue_texts(dialogue: Dialogue) -> list[str]:
    return [t.text for t in dialogue.turns]


def signature(shingle_set: Iterable[str]) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` uint32) of a set of shingles."""
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little") for s in shingle_set),
        dtype=np.uint64,
    )
    if hashes.size == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    perm = (np.outer(hashes, _A) + _B) % _PRIME & _MAX32
    return perm.min(axis=0).astype(np.uint32)


def text_signature(texts: Iterable[str]) -> np.ndarray:
    return signature(shingles(texts))


def dialogue_signature(dialogue: Dialogue) -> np.ndarray:
    return text_signature(dialogue_texts(dialogue))


def goal_key(goal: Goal) -> str:
    """A digest of the goal's content (``goal_content_key``): equal for the same goal whatever its id, message or run."""
    return hashlib.blake2b(goal_content_key(goal).encode(), digest_size=12).hexdigest()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def encode_signature(sig: np.ndarray) -> str:
    return base64.b64encode(sig.astype("<u4").tobytes()).decode()


def decode_signature(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint32)


def lsh_params(threshold: float, num_perm: int = NUM_PERM, recall: float = 0.995) -> tuple[int, int]:
    """(bands, rows): the most rows per band for which a pair at ``threshold`` is a candidate with ``recall``.

    Candidates are then checked on their whole signatures, so a low LSH threshold costs a
    few comparisons, never a wrong verdict; a high one would miss duplicates.
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= recall:
            best = (bands, rows)
    return best


@dataclass(frozen=True)
class Match:
    dialogue_id: str
    similarity: float
    #: "text": the words are nearly the same; "goal": the goal's content is the same.
    why: str = "text"


class NearDuplicateIndex:
    """Signatures of accepted dialogues, banded for LSH lookups (in memory; rebuilt from the table)."""

    def __init__(self, threshold: float, num_perm: int = NUM_PERM, same_goal: bool = True):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.same_goal = same_goal
        self._goals: dict[str, str] = {}
        self.bands, self.rows = lsh_params(threshold, num_perm)
        self._sigs: dict[str, np.ndarray] = {}
        self._buckets: list[dict[bytes, list[str]]] = [{} for _ in range(self.bands)]

    def __len__(self) -> int:
        return len(self._sigs)

    def __contains__(self, key: str) -> bool:
        return key in self._sigs

    def _band_keys(self, sig: np.ndarray) -> Iterator[tuple[int, bytes]]:
        r = self.rows
        for i in range(self.bands):
            yield i, sig[i * r : (i + 1) * r].tobytes()

    def add(self, key: str, sig: np.ndarray, goal: str | None = None) -> None:
        if key in self._sigs:
            return
        self._sigs[key] = sig
        if goal is not None and (goal not in self._goals or key < self._goals[goal]):
            self._goals[goal] = key
        for i, band in self._band_keys(sig):
            self._buckets[i].setdefault(band, []).append(key)

    def query(self, sig: np.ndarray, exclude: str | None = None, goal: str | None = None) -> Match | None:
        """The closest indexed dialogue at or above the threshold (ties: the smallest id), else None;
        with ``same_goal``, else the accepted dialogue of the same goal content."""
        seen: set[str] = set()
        best: Match | None = None
        for i, band in self._band_keys(sig):
            for key in self._buckets[i].get(band, ()):
                if key in seen or key == exclude:
                    continue
                seen.add(key)
                s = similarity(sig, self._sigs[key])
                if s >= self.threshold and (
                    best is None or s > best.similarity or (s == best.similarity and key < best.dialogue_id)
                ):
                    best = Match(key, s)
        if best is None and self.same_goal and goal is not None:
            other = self._goals.get(goal)
            if other is not None and other != exclude:
                best = Match(other, similarity(sig, self._sigs[other]), why="goal")
        return best


def check(match: Match | None, threshold: float) -> CheckResult:
    """The verdict's ``near_duplicate`` mark for the closest accepted dialogue found (or none)."""
    if match is None:
        return CheckResult(name=CHECK_NAME, passed=True, reason=f"no accepted dialogue at Jaccard >= {threshold:g}")
    why = (
        f"estimated Jaccard {match.similarity:.2f} >= {threshold:g}"
        if match.why == "text"
        else f"the same goal content; estimated Jaccard {match.similarity:.2f}"
    )
    return CheckResult(
        name=CHECK_NAME,
        passed=False,
        reason=f"near-duplicate of {match.dialogue_id} ({why})",
        score=round(match.similarity, 4),
    )
