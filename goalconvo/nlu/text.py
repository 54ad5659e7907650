"""Text as the understanding reads it: one spelling of a word, sentences split.

MultiWOZ's crowd text is tokenised ("I 'd like", "do n't", "centre ."), models write
curly quotes and "center"; :func:`normalize` makes them one form, keeping what the
values need (``17:15``, ``47.20``, ``£``, ``07`` numbers, ``b and b``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPLIT_CLITIC = re.compile(r"\s+'(s|d|m|ll|re|ve)\b")
_SPLIT_NOT = re.compile(r"\s+n't\b")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:])(?=\s|$)")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\s*;\s+|\n+")
_QUESTION_START = re.compile(
    r"^(what|which|where|when|who|whom|whose|how|why)\b|^(is|are|was|were|do|does|did|can|could|would|will|shall|should"
    r"|may|might|have|has|had)( not| n't)? (you|i|we|they|it|there|he|she|the|that|this|those|these|any)\b"
)


def normalize(text: str) -> str:
    """Lower case, one spelling: clitics joined, curly quotes straight, ``&`` -> ``and``, spaces single."""
    t = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    t = t.lower()
    t = _SPLIT_CLITIC.sub(r"'\1", t)
    t = _SPLIT_NOT.sub("n't", t)
    t = t.replace("&", " and ").replace("wi-fi", "wifi").replace("wi fi", "wifi")
    t = re.sub(r"\bcenter\b", "centre", t)
    t = re.sub(r"\btheater(s?)\b", r"theatre\1", t)
    t = re.sub(r"\bguest house", "guesthouse", t)
    t = _SPACE_BEFORE_PUNCT.sub(r"\1", t)
    t = re.sub(r"[ \t]+", " ", t)
    return t.strip()


@dataclass(frozen=True)
class Sentence:
    """One sentence of an utterance, normalised; ``question`` when it asks (``?`` or a question word first)."""

    index: int
    text: str
    question: bool


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of normalised ``text``; a decimal or clock (``47.20``, ``5:15``) never splits one."""
    parts = [p.strip(" ,") for p in _SENTENCE_BREAK.split(text) if p and p.strip(" ,.!?")]
    out = []
    for i, p in enumerate(parts):
        out.append(Sentence(i, p, p.endswith("?") or bool(_QUESTION_START.match(p))))
    return out


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text)


def loose(text: str) -> str:
    """Words only, padded with spaces, for whole-word phrase search: ``" hills rd cambridge "``."""
    return " " + " ".join(re.findall(r"[a-z0-9£]+(?:[.:][0-9]+)?", text.lower())) + " "
