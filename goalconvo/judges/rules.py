"""Rule filters: small named checks, each with its threshold in Settings.

A check returns a CheckResult; ``passed=False`` rejects the dialogue and its
reason is stored, so a user can see (and tune) why the corpus looks as it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from goalconvo.agents.venues import VenueDB
from goalconvo.settings import Settings
from goalconvo.streams.schemas import CheckResult, Dialogue

Rule = Callable[[Dialogue, Settings, VenueDB], CheckResult]

_WORD = re.compile(r"[a-z0-9']+")
_LEAK = re.compile(
    r"(\[end\]|facts from the database|your goal:|customer's first sentence|^\s*(user|assistant|system|customer|desk)\s*:)",
    re.I | re.M,
)
_PHONE = re.compile(r"\b0\d{9,10}\b")
_STOPWORDS = frozenset("the a an to i you is for and of in it we be can that have this what on with".split())


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def exchange_count(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    n = d.exchanges
    ok = s.min_exchanges <= n <= s.max_exchanges
    return CheckResult(
        name="exchanges",
        passed=ok,
        reason="" if ok else f"{n} exchanges, allowed {s.min_exchanges}..{s.max_exchanges}",
        score=float(n),
    )


def empty_utterance(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    empty = [t.index for t in d.turns if not _WORD.search(t.text.lower())]
    return CheckResult(name="empty_utterance", passed=not empty, reason=f"turns {empty} have no words" if empty else "")


def repetition(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    """Share of a speaker's utterances that repeat an earlier one, and user-bot echoes."""
    worst, who = 0.0, ""
    for speaker in ("user", "bot"):
        texts = [_norm(t.text) for t in d.turns if t.speaker == speaker]
        if len(texts) >= 2:
            share = 1 - len(set(texts)) / len(texts)
            if share > worst:
                worst, who = share, speaker
    echoes = sum(1 for a, b in zip(d.turns, d.turns[1:]) if len(_norm(a.text)) > 10 and _norm(a.text) == _norm(b.text))
    ok = worst <= s.max_repeat_ratio and echoes == 0
    reason = ""
    if not ok:
        reason = f"{who} repeats {worst:.0%} of utterances" if worst > s.max_repeat_ratio else f"{echoes} utterances echo the other speaker"
    return CheckResult(name="repetition", passed=ok, reason=reason, score=worst)


def role_confusion(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    leaks = [t.index for t in d.turns if _LEAK.search(t.text)]
    return CheckResult(
        name="role_confusion", passed=not leaks, reason=f"speaker tags or prompt text in turns {leaks}" if leaks else ""
    )


def language(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    text = " ".join(t.text for t in d.turns)
    letters = [c for c in text if c.isalpha()]
    ascii_share = sum(c.isascii() for c in letters) / max(1, len(letters))
    words = _WORD.findall(text.lower())
    stop_share = sum(w in _STOPWORDS for w in words) / max(1, len(words))
    ok = ascii_share >= 0.9 and stop_share >= 0.08
    return CheckResult(
        name="language",
        passed=ok,
        reason="" if ok else f"does not read as English (ascii letters {ascii_share:.0%}, function words {stop_share:.0%})",
        score=stop_share,
    )


def grounded_facts(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    """Phone numbers the bot states must exist in the venue database (or be its taxi's)."""
    known = db.known_facts
    taxi_phones = {str(t.meta.get("taxi", {}).get("phone", "")) for t in d.turns}
    bad = sorted(
        {p for t in d.turns if t.speaker == "bot" for p in _PHONE.findall(t.text) if p not in known and p not in taxi_phones}
    )
    return CheckResult(name="grounded_facts", passed=not bad, reason=f"phone numbers not in the database: {bad}" if bad else "")


def ended_properly(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    ok = d.stop_reason == "goal_done"
    return CheckResult(name="ended_properly", passed=ok, reason="" if ok else f"stopped by {d.stop_reason} before the user was done")


RULES: tuple[Rule, ...] = (exchange_count, empty_utterance, repetition, role_confusion, language, grounded_facts, ended_properly)


def run_rules(d: Dialogue, s: Settings, db: VenueDB) -> list[CheckResult]:
    return [rule(d, s, db) for rule in RULES]
