"""A pack turn phrased by the LLM: its template rewritten, checked against the pack, the template backing up.

The same loop as the guided engine's realizer (``agents/guided/realizer.py``: a draft to
rewrite, a few cooler tries after a refusal, a copy of the draft kept as the template's), with
a prompt and a check that read only the pack:

- the prompt names the pack's desk (``the_setting``) and lists the values to keep: those of the
  turn's acts its template says word for word (a value the template words in the pack's own way,
  ``values."keeps dropping"``, is not listed: the template's wording carries it);
- the check refuses a candidate that drops a kept value, says a number, time or amount the
  template and the line before it do not, names an entity of the pack the template does not,
  speaks out of its role (``nlu/roles.py``'s cues, as the judge's role check reads them), echoes
  the line before (or one of its sentences), says the prompt's own words ("The customer said: ..."), asks where the
  template tells (or the other way round), says a day or month the template does not, adds a
  refusal or denial ("no", "sorry", "isn't") or drops the template's, or runs under half or over
  twice the template's length (a short one may run 8 words longer).
  Measured with the bundled 0.5B model on the clinic pack, the first version of this check (without
  the last three) let through prompt echoes and dropped acts: a floor, not a reader.

Off by default with the bundled CPU model, as the guided engine's phrasing is
(``phrasing_tries_for``): read blind, its rewordings lost dialogues readers kept.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from goalconvo.agents.guided.realizer import clean, same_text
from goalconvo.agents.pack.acts import Act
from goalconvo.llm.base import CallContext, ChatMessage, GenerationParams, LLMBackend
from goalconvo.nlu.roles import CUSTOMER_CUES, DESK_CUES, SELF_TALK, cues
from goalconvo.nlu.text import normalize, split_sentences
from goalconvo.packs.model import Pack

#: Stored in the dialogue's prompt version beside the planner's (``pack-1+pr1``) when turns are phrased.
PACK_PHRASING_VERSION = "pr1"
#: How the request names the two speakers.
ROLE_WORD = {"user": "customer", "bot": "clerk"}
_STOP = ("\n", "Customer:", "Clerk:", "User:", "Rewrite this")
#: The prompt's own words, which a line of the dialogue never says ("The customer said: ...").
PROMPT_WORDS = re.compile(r"\b(customer|clerk|rewrite|in other words|the line|this line|draft)\b", re.I)
#: A refusal or a denial: a rewrite that adds one, or drops the template's, turns the line's sense over.
_NEGATION = re.compile(r"\b(no|not|none|nothing|nobody|never|sorry|unfortunately|unable|cannot|can't|couldn't|don't"
                       r"|doesn't|isn't|aren't|won't|unavailable|afraid)\b")
#: Days and months: facts a rewrite may not add ("openings on Tuesday" for the template's Monday).
_CALENDAR = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|january|february"
                       r"|march|april|june|july|august|september|october|november|december)\b")
#: Numbers, clock times and amounts a line says ("9:15", "$1,630", "3").
_NUMBER = re.compile(r"(?<![\w.])[$£€]?\d[\d,]*(?:[.:]\d+)?")


def system_prompt(pack: Pack) -> str:
    """The constant first message: the same for both speakers, so a prefix cache serves both."""
    return (f"You rewrite lines of a dialogue between a customer and the clerk of {pack.meta.the_setting}. "
            "Keep all names, numbers, days and times exactly. Add no new facts. Reply with the new line only.")


def kept_values(acts: Sequence[Act], template: str) -> list[str]:
    """The acts' values the template says word for word, in order, once each."""
    said = normalize(template)
    out = []
    for a in acts:
        v = a.value.strip()
        if v and v.lower() not in ("true", "false", "dontcare") and _says(said, normalize(v).strip()) and v not in out:
            out.append(v)
    return out


def _says(text: str, value: str) -> bool:
    return bool(value) and re.search(rf"(?<![\w:.,]){re.escape(value)}(?![\w:]|[.,][0-9])", text) is not None


def request(speaker: str, template: str, keep: Sequence[str], persona: str, previous: str) -> str:
    """The variable part of the prompt: the line before, the speaker's persona, the values, the draft."""
    who, other = ROLE_WORD[speaker], ROLE_WORD["bot" if speaker == "user" else "user"]
    lines = [f'The {other} said: "{previous}"'] if previous else []
    if persona:
        lines.append(f"The {who} is {persona}.")
    lines.append(f"Rewrite this {who} line in other words." + (f" Keep: {', '.join(keep)}." if keep else ""))
    lines.append(template)
    return "\n".join(lines)


@dataclass(frozen=True)
class PackChecker:
    """What a phrased pack line may not do, read off the pack: its entities' values (names, sites,
    specialities, phones) are the facts it may not add where the template does not say them."""

    entity_names: tuple[str, ...]
    #: One alternation of them, longest first (an imported SGD pack may hold tens of thousands: one
    #: scan a line, not one search a name).
    names_rx: re.Pattern[str] | None = None

    @classmethod
    def for_pack(cls, pack: Pack) -> "PackChecker":
        names = set()
        for rows in pack.entities.values():
            for row in rows:
                for v in row.values():
                    n = normalize(v).strip()
                    if len(n) >= 4 and n not in ("true", "false", "none") and not _NUMBER.fullmatch(n):
                        names.add(n)
        ordered = tuple(sorted(names, key=lambda n: (-len(n), n)))
        rx = re.compile(rf"(?<![\w:.,])(?:{'|'.join(map(re.escape, ordered))})(?![\w:]|[.,][0-9])") if ordered else None
        return cls(ordered, rx)

    def named(self, text: str) -> list[str]:
        """The pack's entity values ``text`` (normalised) says."""
        return [m.group() for m in self.names_rx.finditer(text)] if self.names_rx else []

    def problems(self, speaker: str, text: str, template: str, keep: Sequence[str], previous: str) -> list[str]:
        """Why ``text`` may not stand for ``template`` (empty: it may)."""
        if not text.strip():
            return ["empty"]
        out = []
        said, drafted, before = normalize(text), normalize(template), normalize(previous)
        out += [f"drops {v!r}" for v in keep if not _says(said, normalize(v).strip())]
        numbers = {m.group().rstrip(".,") for m in _NUMBER.finditer(text)}
        known = {m.group().rstrip(".,") for m in _NUMBER.finditer(f"{template} {previous}")}
        out += [f"adds {n!r}" for n in sorted(numbers - known)]
        out += [f"names {n!r}" for n in dict.fromkeys(self.named(said)) if not _says(drafted, n) and not _says(before, n)]
        out += [f"says {w!r}, which the template does not" for w in dict.fromkeys(_CALENDAR.findall(said))
                if not _says(drafted, w) and not _says(before, w)]
        if bool(_NEGATION.search(said)) != bool(_NEGATION.search(drafted)):
            out.append("says no where the template does not" if _NEGATION.search(said) else "drops the template's no")
        for s in split_sentences(said):
            wrong = cues(s.text, DESK_CUES if speaker == "user" else CUSTOMER_CUES) + cues(s.text, SELF_TALK)
            out += [f"out of role: {label} ({words!r})" for label, words in wrong]
        if previous and same_text(text, previous):
            out.append("echoes the line before")
        elif previous:
            # "Could it be on Thursday? What time would suit you?": the desk repeating the User's words.
            out += [f"repeats the line before ({s.text!r})" for s in split_sentences(before)
                    if len(s.text.split()) >= 2 and s.text.strip(" .!?") in said and s.text.strip(" .!?") not in drafted]
        leak = PROMPT_WORDS.search(text)
        if leak and not PROMPT_WORDS.search(template):
            out.append(f"says the prompt's words ({leak.group()!r})")
        if ("?" in text) != ("?" in template):
            out.append("asks where the template tells" if "?" in text else "tells where the template asks")
        n, m = len(text.split()), len(template.split())
        if n > max(2 * m, m + 8) or 2 * n < m:
            out.append(f"{n} words for a {m}-word line")
        return out


@dataclass
class PackPhrasing:
    """A pack turn's text and how it came about (stored on the turn)."""

    text: str
    phrased_by: str = "template"
    refusals: list[str] = field(default_factory=list)
    llm_calls: int = 0


async def phrase_turn(llm: LLMBackend, pack: Pack, checker: PackChecker, speaker: str, acts: Sequence[Act],
                      template: str, *, persona: str, previous: str, seed: str, tries: int,
                      temperature: float = 0.7) -> PackPhrasing:
    """Up to ``tries`` LLM rewrites of ``template``, the first the check passes kept; else the template.

    A rewrite that copies the draft is the template's wording (kept as the template, one warmer try
    first). An ``LLMError`` (the server down after its own retries) propagates: the stage waits
    out outages or dead-letters, as for a guided turn.
    """
    out = PackPhrasing(template)
    keep = kept_values(acts, template)
    messages = [ChatMessage("system", system_prompt(pack)),
                ChatMessage("user", request(speaker, template, keep, persona, previous))]
    copies = 0
    for i in range(tries):
        params = GenerationParams(temperature=temperature, top_p=0.9, max_tokens=min(160, int(len(template.split()) * 2.2) + 16),
                                  stop=_STOP, seed=zlib.crc32(f"{seed}:{i}".encode()) % (2**31))
        comp = await llm.complete(messages, params, CallContext("phrase", {"speaker": speaker, "template": template, "try": i,
                                                                           "pack": pack.ref}))
        out.llm_calls += 1
        text = clean(comp.text)
        problems = checker.problems(speaker, text, template, keep, previous)
        if not problems and same_text(text, template):
            copies += 1
            if copies > 1:
                break
            out.refusals.append(f"try {i + 1}: copies the draft word for word")
            temperature = min(1.2, temperature + 0.3)
            continue
        if not problems:
            out.text, out.phrased_by = text, "llm"
            return out
        out.refusals.append(f"try {i + 1} (temperature {temperature}): {'; '.join(problems)} [{text[:80]!r}]")
        temperature = round(temperature * 0.5, 3)
    return out

