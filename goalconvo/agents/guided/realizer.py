"""Phrasing a planned turn: the LLM rewrites its template, the validator checks, the template backs up.

Input: the speaker, the turn's ``DialogueActs``, the persona (text), the previous
utterance, a few-shot pool of act->utterance examples, a seed.
Output: a :class:`Phrasing` — the text, who phrased it (``llm`` / ``template``),
why each refused try was refused, and the calls and tokens it cost.

The prompt is laid out for llama.cpp's prefix cache (one ``Llama`` object keeps
the KV cache of the longest common prompt prefix), so alternating User and
SupportBot calls only read their own last message:

1. system: one plain line (the task, keep every value, add nothing) — the same for both speakers;
2. the built-in ``in_prefix`` examples as request/answer pairs — constant too;
3. ``k_examples`` examples picked from the pool for these acts (0 by default: small
   models copied them, values included);
4. the request: the previous utterance, the persona, the values to keep, and the
   template phrasing as the draft to rewrite (M2M's paraphrase step).

Outputs are short (``max_tokens`` from the draft's length) and stop at a newline
or a speaker tag; the reply may not start with the draft's first token (where the
backend can bar it), so a small model rewords instead of copying. A refused phrasing is retried cooler; a word-for-word copy of
the draft is retried warmer, and if the model only copies, the turn is recorded
as the template (it is the template's wording). After ``tries`` the template is used.
"""

from __future__ import annotations

import importlib.resources
import json
import random
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from goalconvo.agents.guided import templates
from goalconvo.agents.guided.templates.phrases import PHRASING_CLERK
from goalconvo.agents.guided.acts import DialogueActs, split_key
from goalconvo.agents.guided.normalize import norm
from goalconvo.agents.guided.validator import validate
from goalconvo.llm.base import CallContext, ChatMessage, GenerationParams, LLMBackend, LLMError

Speaker = Literal["user", "bot"]
#: Bump when the prompt changes, so corpora phrased by different prompts stay apart.
PHRASING_PROMPT_VERSION = "r3"
#: Other wordings of the template tried when the first echoes the previous utterance.
TEMPLATE_REDRAWS = 6

#: The constant prefix: the same for User and SupportBot, so alternating calls share its KV cache.
#: Short and plain: a 135M model follows a one-line task, not a list of rules.
SYSTEM_PROMPT = (
    f"You rewrite lines of a dialogue between a customer and {PHRASING_CLERK}. "
    "Keep all names, numbers, days and times exactly. Add no new facts. Reply with the new line only."
)
#: How the request names the two speakers (the prompt's own words, not the record's).
ROLE_WORD: dict[str, str] = {"user": "customer", "bot": "clerk"}

_STOP = ("\n", "User:", "SupportBot:", "Customer:", "Clerk:", "Rewrite this")
_INTENT_WORDS = {
    "Inform": "say", "Request": "ask", "Recommend": "recommend", "Select": "offer a choice of",
    "NoOffer": "say there is no match for", "OfferBook": "offer to book", "OfferBooked": "say it is booked",
    "Book": "say it is booked", "NoBook": "say the booking failed for", "reqmore": "ask if they need anything else",
    "welcome": "say you are welcome", "bye": "say goodbye", "greet": "greet", "thank": "thank them",
}


@dataclass(frozen=True)
class PhrasingExample:
    """One act->utterance example of the few-shot pool."""

    example_id: str
    speaker: str
    acts: DialogueActs
    text: str
    source: str = "builtin"
    #: Shown in every prompt right after the system message (part of the cached prefix).
    in_prefix: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PhrasingExample":
        return cls(d["example_id"], d["speaker"], d["acts"], d["text"], d.get("source", "builtin"), bool(d.get("in_prefix")))


@dataclass
class Phrasing:
    """A turn's text and how it came about (stored per turn)."""

    text: str
    phrased_by: Literal["llm", "template"]
    refusals: list[str] = field(default_factory=list)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class RealizerConfig:
    """Knobs of the phrasing loop (defaults measured with SmolLM2-135M and Qwen2.5-Coder-0.5B on
    MultiWOZ val act sets: per-turn examples and a rules list lowered the share kept)."""

    #: LLM tries before the template is used.
    tries: int = 3
    #: Temperature of the first try; a refused try's retry multiplies it by ``cooling`` (fewer
    #: slips), a copy of the draft's retry adds ``warming`` (words of its own), up to ``max_temperature``.
    temperature: float = 0.7
    cooling: float = 0.5
    warming: float = 0.3
    max_temperature: float = 1.2
    #: Retries after a copy of the draft (a stand-in that only echoes costs 1 + this many calls).
    copy_retries: int = 1
    #: Bar the draft's first token as the reply's first (backends that can), so a word-for-word copy
    #: cannot happen: on 40 turns of the built-in goals with the bundled model it had in 33 of 72 calls
    #: (each retried); the share of LLM-phrased turns rose from 0.62 to 0.72 at the same cost, part of
    #: it light rewordings (benchmarks/quality.py counts them). Not for closings (thanks, bye), whose
    #: few wordings all start alike.
    bar_draft_start: bool = True
    top_p: float = 0.9
    #: Few-shot examples picked per turn (after the constant prefix examples).
    k_examples: int = 0
    #: Put the built-in ``in_prefix`` examples in every prompt (constant, so cached).
    prefix_examples: bool = True
    #: Give the template as a draft to rewrite (M2M's paraphrase step); else acts only.
    draft: bool = True
    #: Also show the acts (compact form) above the draft; with ``draft=False`` they are always shown.
    show_acts: bool = False
    #: Tell the model the speaker's persona (the User's style).
    persona: bool = True
    max_words: int = 60
    #: On LLMError use the template instead of raising (the stage normally waits out outages).
    template_on_error: bool = False


@lru_cache(maxsize=1)
def _builtin() -> tuple[PhrasingExample, ...]:
    raw = json.loads(importlib.resources.files("goalconvo.data").joinpath("phrasing_examples.json").read_text())
    return tuple(PhrasingExample.from_dict(e) for e in raw["examples"])


def builtin_examples() -> list[PhrasingExample]:
    """The built-in act->utterance examples that seed the few-shot pool."""
    return list(_builtin())


def prefix_examples() -> list[PhrasingExample]:
    """The examples every prompt starts with (after the system message)."""
    return [e for e in _builtin() if e.in_prefix]


def _act_signature(acts: DialogueActs) -> tuple[set[str], set[tuple[str, str]]]:
    keys = set(acts)
    intent_slots = {(split_key(k)[1], slot) for k, pairs in acts.items() for slot, _ in pairs}
    return keys, intent_slots


def pick_examples(
    pool: Iterable[PhrasingExample], speaker: str, acts: DialogueActs, k: int, seed: int | str
) -> list[PhrasingExample]:
    """``k`` examples of ``speaker`` most like ``acts`` (shared act keys, then shared intent+slot), ties by seed."""
    keys, intent_slots = _act_signature(acts)
    intents = {split_key(key)[1] for key in keys}
    rng = random.Random(f"examples:{seed}")
    scored = []
    for ex in pool:
        if ex.speaker != speaker or ex.in_prefix:
            continue
        ek, eis = _act_signature(ex.acts)
        score = 3 * len(keys & ek) + len(intent_slots & eis) + len(intents & {split_key(x)[1] for x in ek})
        scored.append((-score, rng.random(), ex))
    scored.sort(key=lambda t: (t[0], t[1]))
    chosen = [ex for _, _, ex in scored[:k]]
    return chosen[::-1]  # the most similar example last, nearest the request


def render_acts(acts: DialogueActs) -> str:
    """Acts in a compact, readable form: ``hotel: say choice=3, price=cheap; hotel: ask area``."""
    parts = []
    for key, pairs in acts.items():
        domain, intent = split_key(key)
        verb = "offer to book" if (domain, intent) == ("booking", "Inform") else _INTENT_WORDS.get(intent, intent.lower())
        slots = [(s, v) for s, v in pairs if s.lower() != "none"]
        if intent == "Request" or all(v == "?" for _, v in slots) and slots:
            items = ", ".join(templates.SLOT_NOUN.get(s, s.lower()) for s, _ in slots)
            parts.append(f"{domain}: ask {items}" if domain != "general" else f"ask {items}")
            continue
        items = ", ".join(f"{templates.SLOT_NOUN.get(s, s.lower())}={v}" for s, v in slots)
        where = "" if domain == "general" else f"{domain}: "
        parts.append(f"{where}{verb}" + (f" {items}" if items else ""))
    return "; ".join(parts)


def keep_list(acts: DialogueActs) -> str:
    """The values a phrasing must keep, as the prompt lists them: ``"golden wok, 01223355166"``."""
    values = [v for _, pairs in acts.items() for s, v in pairs if s.lower() != "none"]
    said = [v for v in values if norm(v) not in ("?", "none", "dontcare", "yes", "no", "")]
    return ", ".join(dict.fromkeys(said))


def _request(
    speaker: str, acts: DialogueActs, draft: str | None, persona: str = "", previous: str = "",
    show_acts: bool = False,
) -> str:
    """The variable part: who said what before, then the line to rewrite and the values to keep.

    ``The clerk said: "..."`` / ``The customer is chatty.`` /
    ``Rewrite this customer line in other words. Keep: north, 4.`` / the draft.
    Without a draft (``draft=None``) the line is written from the acts alone.
    """
    who, other = ROLE_WORD.get(speaker, speaker), ROLE_WORD["bot" if speaker == "user" else "user"]
    lines = []
    if previous:
        lines.append(f'The {other} said: "{previous}"')
    if persona:
        lines.append(f"The {who} is {persona}.")
    if show_acts or draft is None:
        lines.append(f"Acts: {render_acts(acts)}")
    keep = keep_list(acts)
    keep_note = f" Keep: {keep}." if keep else ""
    if draft is None:
        lines.append(f"Write this {who} line.{keep_note}")
    else:
        lines.append(f"Rewrite this {who} line in other words.{keep_note}")
        lines.append(draft)
    return "\n".join(lines)


def build_messages(
    speaker: str,
    acts: DialogueActs,
    persona: str,
    previous_utterance: str,
    examples: Sequence[PhrasingExample],
    draft: str | None,
    seed: int | str = 0,
    prefix: Sequence[PhrasingExample] = (),
    show_acts: bool = False,
) -> list[ChatMessage]:
    """System prompt and ``prefix`` examples (constant), this turn's examples, then its request.

    Examples are request/answer message pairs; an example's draft is its template
    rendered with a fixed seed, so the prefix is byte-identical on every call.
    """
    msgs = [ChatMessage("system", SYSTEM_PROMPT)]
    for ex in [*prefix, *examples]:
        ex_draft = templates.render(ex.speaker, ex.acts, random.Random(ex.example_id)) if draft is not None else None
        msgs.append(ChatMessage("user", _request(ex.speaker, ex.acts, ex_draft, show_acts=show_acts)))
        msgs.append(ChatMessage("assistant", ex.text))
    msgs.append(ChatMessage("user", _request(speaker, acts, draft, persona, previous_utterance, show_acts)))
    return msgs


_TAG = re.compile(r"^\s*(user|supportbot|support bot|customer|desk|assistant|bot|line|answer|rewrite|output)\s*:\s*", re.I)


def clean(text: str) -> str:
    """The model's reply as one utterance: first non-empty line, tags and wrapping quotes removed."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    t = lines[0] if lines else ""
    for _ in range(2):
        t = _TAG.sub("", t).strip()
        if len(t) >= 2 and t[0] in "\"'\u201c" and t[-1] in "\"'\u201d":
            t = t[1:-1].strip()
    return re.sub(r"\s+", " ", t)


def _max_tokens(acts: DialogueActs, draft: str | None) -> int:
    n_values = sum(len(p) for p in acts.values())
    budget = 20 + 10 * n_values
    if draft:
        budget = max(budget, int(len(draft.split()) * 2.2) + 12)
    return min(120, budget)


def _closing_only(acts: DialogueActs) -> bool:
    """Whether the turn only greets, thanks, welcomes, offers more help or says goodbye."""
    return bool(acts) and all(split_key(k)[0] == "general" for k in acts)


def _seed_int(seed: int | str, i: int) -> int:
    """A stable sampling seed per (turn seed, try): a replayed turn samples the same."""
    return zlib.crc32(f"{seed}:{i}".encode()) % (2**31)


async def realize(
    llm: LLMBackend | None,
    speaker: Speaker,
    acts: DialogueActs,
    persona: str = "",
    previous_utterance: str = "",
    examples: Sequence[PhrasingExample] | None = None,
    seed: int | str = 0,
    *,
    known_values: Iterable[str] = frozenset(),
    own_earlier: Sequence[str] = (),
    config: RealizerConfig = RealizerConfig(),
    context: templates.TurnContext | None = None,
    sense: Callable[[str], list[str]] | None = None,
) -> Phrasing:
    """Phrase ``acts`` as ``speaker``: LLM tries checked by the validator, then the template.

    ``llm=None`` (or ``config.tries == 0``) phrases by template only. ``sense`` (the judge's
    understanding of a candidate in its dialogue, ``nlu.check_phrasing``) refuses what the
    validator's fact and form checks let through. ``examples``
    is the few-shot pool (``None``: the built-in examples); ``known_values`` the
    venue names the validator must not see invented. The call context carries
    ``task="phrase"`` and ``speaker``, ``acts``, ``template``, ``try`` in its data,
    so a scripted backend can answer with the template.
    """
    known = known_values if isinstance(known_values, frozenset) else frozenset(known_values)
    template = templates.render(speaker, acts, random.Random(f"template:{seed}"), context)
    out = Phrasing(text=template, phrased_by="template")
    if llm is None or config.tries <= 0:
        return _template(out, speaker, acts, known, previous_utterance, own_earlier, config, seed, context)
    pool = builtin_examples() if examples is None else list(examples)
    shots = pick_examples(pool, speaker, acts, config.k_examples, seed)
    draft = template if config.draft else None
    prefix = prefix_examples() if config.prefix_examples else ()
    messages = build_messages(speaker, acts, persona if config.persona else "", previous_utterance, shots, draft, seed, prefix, config.show_acts)
    temperature = config.temperature
    copies = 0
    for i in range(config.tries):
        params = GenerationParams(
            temperature=temperature,
            top_p=config.top_p,
            max_tokens=_max_tokens(acts, draft),
            stop=_STOP,
            seed=_seed_int(seed, i),
            avoid_start=draft if config.bar_draft_start and draft and not _closing_only(acts) else None,
        )
        call = CallContext(
            "phrase",  # type: ignore[arg-type]  # CallContext.task gains "phrase" in llm/base.py
            {"speaker": speaker, "acts": acts, "template": template, "try": i},
        )
        try:
            comp = await llm.complete(messages, params, call)
        except LLMError as exc:
            if not config.template_on_error:
                raise
            out.refusals.append(f"try {i + 1}: the model failed ({exc})")
            break
        out.llm_calls += 1
        out.prompt_tokens += comp.prompt_tokens
        out.completion_tokens += comp.completion_tokens
        text = clean(comp.text)
        problems = validate(
            speaker, acts, text, known_values=known, previous_utterance=previous_utterance,
            own_earlier=own_earlier, max_words=config.max_words,
        )
        if not problems and sense is not None:
            # The judge's own reading of the candidate: out of role, a garbled fact, not following the
            # turn before, or an act dropped or added is refused here, before the dialogue carries it.
            problems = sense(text)
        if not problems and draft is not None and same_text(text, draft):
            # A copy of the draft is the template's wording: retry warmer for words of the model's own.
            copies += 1
            out.refusals.append(f"try {i + 1} (temperature {temperature}): copies the draft word for word")
            if copies > config.copy_retries:
                break
            temperature = round(min(config.max_temperature, temperature + config.warming), 3)
            continue
        if not problems:
            out.text, out.phrased_by = text, "llm"
            return out
        out.refusals.append(f"try {i + 1} (temperature {temperature}): {'; '.join(problems)} [{text[:80]!r}]")
        temperature = round(temperature * config.cooling, 3)
    if copies:  # the template's wording, said by the model: recorded as the template (no redraw needed)
        out.phrased_by = "template"
        return out
    return _template(out, speaker, acts, known, previous_utterance, own_earlier, config, seed, context)


def _template(
    out: Phrasing, speaker: str, acts: DialogueActs, known: frozenset[str], previous: str,
    own_earlier: Sequence[str], config: RealizerConfig, seed: int | str, context: templates.TurnContext | None = None,
) -> Phrasing:
    """Use the template; another wording where the first echoes or repeats (the judge refuses those).

    A template the validator still refuses is used all the same, and the reason kept.
    """
    out.phrased_by = "template"
    for attempt in range(TEMPLATE_REDRAWS):
        if attempt:
            out.text = templates.render(speaker, acts, random.Random(f"template:{seed}:{attempt}"), context)
        problems = validate(speaker, acts, out.text, known_values=known, previous_utterance=previous,
                            own_earlier=own_earlier, max_words=max(config.max_words, 200))
        if not problems:
            return out
        if attempt == 0:
            first = (out.text, problems)
    out.text = first[0]
    out.refusals.append(f"template: {'; '.join(first[1])}")
    return out


def same_text(a: str, b: str) -> bool:
    """Whether two utterances are the same up to case and punctuation (a copied draft)."""
    return norm(a) == norm(b)
