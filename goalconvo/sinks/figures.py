"""What one stored dialogue contributes to the corpus figures, computed once when it is stored.

``figures_of`` reads a dialogue's turns (n-grams, words, who phrased them); ``VerdictFacts``
and ``DialogueFacts`` hold what the figures take from its current verdict and from its row.
A ``Stored`` dialogue carries all three; ``tallies.py`` adds it to (or takes it out of) the
tallies the metrics read, so that metrics cost what was added, not what exists. For a dialogue
stored already, ``load_stored`` and ``current_verdicts`` read these back from the corpus (a
changed verdict, a backfill).

Tokenizer: lower-cased ``[a-z0-9']+`` words (MultiWOZ's README figures use it); n-grams
are taken within each utterance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from goalconvo.core.records import Dialogue, Verdict

_TOKEN = re.compile(r"[a-z0-9']+")

#: Orders of n-gram kept (distinct-1 and distinct-2).
ORDERS = (1, 2)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def ngrams(toks: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def ngram_text(gram: tuple[str, ...]) -> str:
    """An n-gram as one string (tokens never hold a space); the store keys it by ``md5_number_lower`` of it."""
    return " ".join(gram)


@dataclass
class DialogueFigures:
    """What one dialogue's turns contribute: its figures row and its distinct n-gram keys."""

    utterances: int
    words: int
    totals: dict[int, int]  #: n -> n-grams
    keys: dict[int, list[str]]  #: n -> distinct n-grams (as ``ngram_text``)
    llm_turns: int
    template_turns: int

    def row(self, dialogue_id: str, cell_id: int) -> list[Any]:
        return [dialogue_id, self.utterances, self.words, self.totals[1], len(self.keys[1]),
                self.totals[2], len(self.keys[2]), self.llm_turns, self.template_turns, cell_id]

    def ratio(self, n: int) -> float:
        """The dialogue's own distinct-n (0 when it has no n-gram)."""
        return len(self.keys[n]) / self.totals[n] if self.totals[n] else 0.0


def figures_of(texts: Sequence[str], phrased_by: Sequence[str | None] = ()) -> DialogueFigures:
    grams: dict[int, set[tuple[str, ...]]] = {n: set() for n in ORDERS}
    totals = dict.fromkeys(ORDERS, 0)
    words = 0
    for text in texts:
        toks = tokens(text)
        words += len(toks)
        for n in ORDERS:
            g = ngrams(toks, n)
            totals[n] += len(g)
            grams[n].update(g)
    return DialogueFigures(
        utterances=len(texts), words=words, totals=totals,
        keys={n: [ngram_text(g) for g in grams[n]] for n in ORDERS},
        llm_turns=sum(p == "llm" for p in phrased_by), template_turns=sum(p == "template" for p in phrased_by),
    )


@dataclass(frozen=True)
class VerdictFacts:
    """What the figures take from a dialogue's current verdict."""

    accepted: bool
    judge_error: bool = False
    goal_completion: float = 0.0
    failed: tuple[str, ...] = ()  #: the names of the checks it failed (the dashboard's rejection reasons)

    @classmethod
    def of(cls, v: Verdict) -> VerdictFacts:
        passed: dict[str, bool] = {}
        for c in v.checks:
            passed.setdefault(c.name, c.passed)  # the store keeps the first check of a name
        return cls(bool(v.accepted), bool(v.judge_error), float(v.scores.get("goal_completion") or 0.0),
                   tuple(sorted(name for name, ok in passed.items() if not ok)))


@dataclass(frozen=True)
class DialogueFacts:
    """What the figures take from a dialogue's row (generation cost and length)."""

    exchanges: int
    llm_calls: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    started_at: float | None
    ended_at: float | None

    @classmethod
    def of(cls, d: Dialogue) -> DialogueFacts:
        return cls(d.exchanges, d.llm_calls, d.prompt_tokens, d.completion_tokens, d.started_at, d.ended_at)


@dataclass
class Stored:
    """A stored dialogue as the tallies see it: where it belongs, what it says, how it was judged."""

    dialogue_id: str
    set_name: str
    domain_set: str
    model: str
    prompt_version: str | None
    mode: str | None
    pack: str | None
    figures: DialogueFigures
    facts: DialogueFacts
    verdict: VerdictFacts

    def cell(self, verdict: VerdictFacts | None = None) -> tuple[Any, ...]:
        """(set, domain set, model, prompt version, mode, pack, accepted): coalesced as ``metrics.GROUPS`` coalesces."""
        v = verdict or self.verdict
        return (self.set_name, self.domain_set, self.model, "" if self.prompt_version is None else self.prompt_version,
                "free" if self.mode is None else self.mode, self.pack or "", v.accepted)


#: A stored dialogue's current verdict, as ``VerdictFacts`` reads it (``v`` is the verdicts table).
_VERDICT_FACTS = """v.accepted, coalesce(v.judge_error, false),
    coalesce(cast(json_extract(v.scores, '$.goal_completion') as double), 0),
    (select list(c.name order by c.name) from verdict_checks c
      where c.dialogue_id = v.dialogue_id and c.judge_version = v.judge_version and not c.passed)"""


def _facts(row: Sequence[Any]) -> VerdictFacts:
    return VerdictFacts(bool(row[0]), bool(row[1]), float(row[2]), tuple(row[3] or ()))


def current_verdicts(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, VerdictFacts]:
    """Each dialogue's current (latest) verdict, as the figures see it."""
    rows = con.execute(
        f"""select v.dialogue_id, {_VERDICT_FACTS} from verdicts v where v.dialogue_id in (select unnest(?))
            qualify row_number() over (partition by v.dialogue_id order by v.judged_at desc, v.judge_version desc) = 1""",
        [list(ids)],
    ).fetchall()
    return {r[0]: _facts(r[1:]) for r in rows}


def load_stored(con: duckdb.DuckDBPyConnection, where: str, params: list[Any],
                verdicts: dict[str, VerdictFacts] | None = None) -> list[Stored]:
    """Stored dialogues (``where`` on ``d``) with their turns re-read and their current verdict
    (``verdicts``, when the caller has just read them with ``current_verdicts``)."""
    rows = con.execute(
        f"""select d.dialogue_id, d.set_name, d.domain_set, d.model, d.prompt_version, d.mode, d.pack,
                   d.exchanges, d.llm_calls, d.prompt_tokens, d.completion_tokens, d.started_at, d.ended_at,
                   (select list(t.text order by t.idx) from turns t where t.dialogue_id = d.dialogue_id),
                   (select list(t.phrased_by order by t.idx) from turns t where t.dialogue_id = d.dialogue_id)
            from dialogues d where {where}""",
        params,
    ).fetchall()
    if verdicts is None:
        verdicts = current_verdicts(con, [r[0] for r in rows])
    return [Stored(r[0], r[1], r[2], r[3], r[4], r[5], r[6], figures_of(r[13] or [], r[14] or []),
                   DialogueFacts(*r[7:13]), verdicts.get(r[0], VerdictFacts(False)))
            for r in rows]
