"""Rule filters: small named checks, each with its threshold in Settings.

A check returns a CheckResult; ``passed=False`` rejects the dialogue and its
reason is stored, so a user can see (and tune) why the corpus looks as it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from goalconvo.core.records import CheckResult, Dialogue
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.core.roles import RIDE
from goalconvo.packs.builtin import default_pack, pack_toml

Rule = Callable[[Dialogue, Settings, VenueDB], CheckResult]

_WORD = re.compile(r"[a-z0-9']+")
_LEAK = re.compile(
    r"(\[end\]|facts from the database|your goal:|customer's first sentence|^\s*(user|assistant|system|customer|desk)\s*:)",
    re.I | re.M,
)
#: A phone number as the default pack's locale writes one (shapes.toml ``[rules]``).
_PHONE = re.compile(pack_toml(default_pack(), "shapes")["rules"]["phone"])
_STOPWORDS = frozenset("the a an to i you is for and of in it we be can that have this what on with".split())


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _turn_check(name: str, *findings: tuple[list[int], str]) -> CheckResult:
    """A check that fails when any finding lists turns; each non-empty finding adds its message."""
    reasons = [message.format(turns) for turns, message in findings if turns]
    return CheckResult(name=name, passed=not reasons, reason="; ".join(reasons))


def exchange_count(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    n = d.exchanges
    ok = s.min_exchanges <= n <= s.max_exchanges
    return CheckResult(
        name="exchanges",
        passed=ok,
        reason="" if ok else f"{n} exchanges, allowed {s.min_exchanges}..{s.max_exchanges}",
        score=float(n),
    )


_TRUNCATED_END = re.compile(r"([,:;(\-]|\b(the|a|an|and|or|to|of|for|with|at|in|on|my|your|is|are))\s*$", re.I)


def empty_utterance(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    """No words at all, or cut off mid-sentence (ends on a comma or a function word)."""
    empty = [t.index for t in d.turns if not _WORD.search(t.text.lower())]
    cut = [t.index for t in d.turns if t.index not in empty and _TRUNCATED_END.search(t.text.strip())]
    return _turn_check("empty_utterance", (empty, "turns {} have no words"), (cut, "turns {} stop mid-sentence"))


def _trigrams(text: str) -> set[tuple[str, ...]]:
    w = _WORD.findall(text.lower())
    return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}


def _overlap(a: set, b: set) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def repetition(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    """Repeats within a speaker (an utterance whose trigrams mostly occurred in one of
    the speaker's earlier ones) and echoes across speakers (one side parroting the other)."""
    grams = [(t, _trigrams(t.text)) for t in d.turns]
    worst, who = 0.0, ""
    for speaker in ("user", "bot"):
        mine = [(t, g) for t, g in grams if t.speaker == speaker]
        if len(mine) < 2:
            continue
        repeats = sum(
            1
            for i, (t, g) in enumerate(mine)
            if any(
                (_norm(t.text) == _norm(u.text)) or (len(g) >= 3 and _overlap(g, h) >= s.max_ngram_overlap)
                for u, h in mine[:i]
            )
        )
        share = repeats / len(mine)
        if share > worst:
            worst, who = share, speaker
    echoes = [
        b.index for (a, ga), (b, gb) in zip(grams, grams[1:])
        if len(ga) >= 3 and len(gb) >= 3 and _overlap(ga, gb) >= s.max_ngram_overlap
    ]
    ok = worst <= s.max_repeat_ratio and not echoes
    reason = ""
    if worst > s.max_repeat_ratio:
        reason = f"{who} repeats {worst:.0%} of utterances"
    elif echoes:
        reason = f"turns {echoes} echo the other speaker"
    return CheckResult(name="repetition", passed=ok, reason=reason, score=worst)


_BOT_LINES = re.compile(
    r"(how (can|may) i (help|assist) you|your reference (number )?is|i have (booked|reserved) (it|that|a|your)"
    r"|is there anything else i can (help|do))",
    re.I,
)
_USER_LINES = re.compile(
    r"(^|[.!?]\s)(i am|i'm) looking for (a|an) (hotel|restaurant|train|taxi|guesthouse|place to)|can you help me find",
    re.I,
)


def role_confusion(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    """Tags or prompt text in an utterance, or one side speaking the other's lines."""
    leaks = [t.index for t in d.turns if _LEAK.search(t.text)]
    swapped = [
        t.index for t in d.turns
        if (t.speaker == "user" and _BOT_LINES.search(t.text)) or (t.speaker == "bot" and _USER_LINES.search(t.text))
    ]
    return _turn_check(
        "role_confusion", (leaks, "speaker tags or prompt text in turns {}"), (swapped, "turns {} speak the other role's lines")
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
    """Phone numbers the bot states must exist in the venue database, or be a taxi's.

    Taxi contact numbers are made up per booking (MultiWOZ's wizards and our
    ``VenueDB.taxi_for`` alike), so a mobile number (07...) passes in a dialogue
    whose goal has a taxi.
    """
    known = db.known_facts
    taxi_phones = {str(t.meta.get(RIDE, {}).get("phone", "")) for t in d.turns}
    has_taxi = RIDE in d.goal.domains
    bad = sorted(
        {
            p for t in d.turns if t.speaker == "bot" for p in _PHONE.findall(t.text)
            if p not in known and p not in taxi_phones and not (has_taxi and p.startswith("07"))
        }
    )
    return CheckResult(name="grounded_facts", passed=not bad, reason=f"phone numbers not in the database: {bad}" if bad else "")


def ended_properly(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    ok = d.stop_reason == "goal_done"
    return CheckResult(name="ended_properly", passed=ok, reason="" if ok else f"stopped by {d.stop_reason} before the user was done")


RULES: tuple[Rule, ...] = (exchange_count, empty_utterance, repetition, role_confusion, language, grounded_facts, ended_properly)


def run_rules(d: Dialogue, s: Settings, db: VenueDB) -> list[CheckResult]:
    return [rule(d, s, db) for rule in RULES]
