"""A reading sheet and its key: the dialogues readers see (no mark of origin) and, apart, where each came from.

``build_sheet`` shuffles the matched pairs with the seed, numbers the dialogues and their turns,
writes every turn and goal through the one cleaner, and records in the key per item: source
(generated | human), dialogue id, set (or the reference file's name), how it was matched, the
judge's verdict for generated ones, and per sheet turn who phrased it (``phrased_by``) and which
source turns it joins (consecutive turns of one speaker are shown as one).
"""

from __future__ import annotations

import hashlib
import json
import random
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from goalconvo.assess.reading.cleaning import Cleaner
from goalconvo.assess.reading.goal_text import goal_text
from goalconvo.assess.reading.rubric import SPEAKERS, rubric_text
from goalconvo.assess.reading.sampling import Pair
from goalconvo.assess.reading.sources import Candidate

KEY_VERSION = 1


class SheetTurn(BaseModel):
    turn: int
    speaker: str  #: user | bot
    text: str


class SheetItem(BaseModel):
    """One dialogue as readers see it."""

    item: int
    goal: str
    turns: list[SheetTurn]


class KeyTurn(BaseModel):
    turn: int
    speaker: str
    phrased_by: str | None  #: llm | template | human; "llm+template" for joined turns of both; None unmarked
    source_idx: list[int]


class KeyItem(BaseModel):
    item: int
    source: Literal["generated", "human"]
    dialogue_id: str
    set_name: str  #: the corpus set, or the reference file's name for human dialogues
    domain_set: str
    exchanges: int
    partner: int  #: the item it was matched with
    matched_by: str  #: "domain set" | "nearest domain set"
    matched_domain_set: str  #: the partner's domain set
    judge_accepted: bool | None = None
    judge_version: str | None = None
    judge_failed: list[str] = Field(default_factory=list)
    turns: list[KeyTurn]


class ReadingKey(BaseModel):
    """Where each sheet item came from. Never give it to a reader."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = KEY_VERSION
    kind: Literal["goalconvo-reading-key"] = "goalconvo-reading-key"
    sheet_id: str
    created_at: float
    seed: int
    corpus: str
    sets: list[str]
    reference: str
    reference_sha256: str
    accepted_only: bool = False
    items: list[KeyItem]

    def item(self, n: int) -> KeyItem | None:
        return self._by_item().get(n)

    def _by_item(self) -> dict[int, KeyItem]:
        return {k.item: k for k in self.items}

    @property
    def reference_name(self) -> str:
        return Path(self.reference).name

    @classmethod
    def load(cls, path: Path) -> "ReadingKey":
        try:
            raw = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ValueError(f"no key file at {path}") from None
        except ValueError as exc:
            raise ValueError(f"{path} is not a key file (not JSON: {exc})") from None
        if not isinstance(raw, dict) or raw.get("kind") != "goalconvo-reading-key":
            raise ValueError(f"{path} is not a key file written by `goalconvo assess sheet`")
        if raw.get("schema_version", 1) > KEY_VERSION:
            raise ValueError(f"{path}: key version {raw['schema_version']} is newer than this build reads ({KEY_VERSION})")
        return cls.model_validate(raw)


def _joined(c: Candidate, cleaner: Cleaner) -> tuple[list[SheetTurn], list[tuple[str | None, list[int]]]]:
    """Sheet turns of a dialogue (consecutive turns of one speaker joined), with who phrased each and from where."""
    turns: list[SheetTurn] = []
    marks: list[tuple[str | None, list[int]]] = []
    for t in c.turns:
        text = cleaner.clean(t.text)
        if turns and turns[-1].speaker == t.speaker:
            turns[-1].text = (turns[-1].text + " " + text).strip()
            by, idx = marks[-1]
            kinds = sorted({*(by or "").split("+"), t.phrased_by or ""} - {""})
            marks[-1] = ("+".join(kinds) or None, [*idx, t.idx])
        else:
            turns.append(SheetTurn(turn=len(turns) + 1, speaker=t.speaker, text=text))
            marks.append((t.phrased_by, [t.idx]))
    return turns, marks


def build_sheet(
    pairs: Sequence[Pair], seed: int, *, corpus: str, sets: Sequence[str], reference: Path | None, reference_sha256: str,
    accepted_only: bool = False, cleaner: Cleaner | None = None,
) -> tuple[list[SheetItem], ReadingKey]:
    """The shuffled, numbered sheet and its key (see the module docstring)."""
    cleaner = cleaner or Cleaner.for_venues()
    entries: list[tuple[Candidate, Pair]] = [(p.generated, p) for p in pairs] + [(p.human, p) for p in pairs if p.human is not None]
    order = list(range(len(entries)))
    random.Random(f"shuffle:{seed}").shuffle(order)
    number = {id(entries[i][0]): n for n, i in enumerate(order, start=1)}
    items: list[SheetItem] = []
    keys: list[KeyItem] = []
    for n, i in enumerate(order, start=1):
        c, pair = entries[i]
        partner = pair.human if c is pair.generated else pair.generated
        partner_number = number[id(partner)] if partner is not None else 0
        turns, marks = _joined(c, cleaner)
        items.append(SheetItem(item=n, goal=goal_text(c.goal, cleaner), turns=turns))
        keys.append(KeyItem(
            item=n, source=c.source, dialogue_id=c.dialogue_id, set_name=c.set_name, domain_set=c.domain_set,
            exchanges=c.exchanges, partner=partner_number, matched_by=pair.matched_by,
            matched_domain_set=partner.domain_set if partner is not None else "", judge_accepted=c.judge_accepted, judge_version=c.judge_version,
            judge_failed=c.judge_failed,
            turns=[KeyTurn(turn=t.turn, speaker=t.speaker, phrased_by=by, source_idx=idx)
                   for t, (by, idx) in zip(turns, marks)],
        ))
    ident = json.dumps([seed, [[k.source, k.set_name, k.dialogue_id] for k in keys]])
    sheet_id = hashlib.sha256(ident.encode()).hexdigest()[:10]
    key = ReadingKey(sheet_id=sheet_id, created_at=time.time(), seed=seed, corpus=corpus, sets=list(sets),
                     reference=str(reference) if reference else "", reference_sha256=reference_sha256, accepted_only=accepted_only, items=keys)
    return items, key


def _wrap(text: str, lead: str, width: int = 96) -> str:
    return textwrap.fill(text, width=width, initial_indent=lead, subsequent_indent=" " * len(lead),
                         break_long_words=False, break_on_hyphens=False) if text else lead.rstrip()


def sheet_text(items: Sequence[SheetItem], sheet_id: str, setting: str | None = None) -> str:
    """The plain-text sheet: title, rubric and ratings format, then each dialogue with its goal and numbered turns."""
    rule = "=" * 96
    out = [f"DIALOGUE READING SHEET {sheet_id}: {len(items)} dialogues", "", rubric_text(setting),
           f'Put "sheet": "{sheet_id}" on that first line too, if you can.', ""]
    for it in items:
        out += [rule, f"DIALOGUE {it.item} of {len(items)}", "", _wrap(it.goal, "Goal: "), ""]
        width = len(str(len(it.turns)))
        for t in it.turns:
            out.append(_wrap(t.text, f"{t.turn:>{width}}  {SPEAKERS[t.speaker]}: "))
        out.append("")
    out += [rule, f"End of sheet {sheet_id}. One JSON line per dialogue, items 1 to {len(items)}."]
    return "\n".join(out) + "\n"


def write_key(key: ReadingKey, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key.model_dump_json(indent=1) + "\n")
