"""The LLM judge: one call per dialogue, a JSON verdict that a schema validates.

The reply must be an object with four scores (1-5) and a short rationale. On
vLLM the schema is sent as structured output, so a well-behaved server cannot
answer otherwise; any backend's reply is still validated here. A malformed reply
is retried; after the retries the dialogue gets a ``judge_error`` mark, never a
silent pass. A call that fails (``LLMError``: the server is down, overloaded or
timing out, after the backend's own retries and outage wait) says nothing about
the dialogue, so it is raised, never turned into a verdict: the stage
dead-letters the dialogue whole, and ``replay --unwrap`` judges it again later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from goalconvo.core.records import CheckResult, Dialogue
from goalconvo.judges import prompts
from goalconvo.llm import CallContext, ChatMessage, GenerationParams, LLMBackend
from goalconvo.packs.builtin import default_pack
from goalconvo.packs.model import Pack

SCORE_NAMES = ("goal_relevance", "coherence", "fluency", "task_completion")


class JudgeScores(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal_relevance: int = Field(ge=1, le=5)
    coherence: int = Field(ge=1, le=5)
    fluency: int = Field(ge=1, le=5)
    task_completion: int = Field(ge=1, le=5)
    rationale: str = Field(max_length=600)


#: Sent as structured output; what vLLM's server accepts in ``response_format.json_schema.schema``.
JUDGE_SCHEMA: dict = {
    "type": "object",
    "properties": {
        **{name: {"type": "integer", "minimum": 1, "maximum": 5} for name in SCORE_NAMES},
        "rationale": {"type": "string", "maxLength": 300},
    },
    "required": [*SCORE_NAMES, "rationale"],
    "additionalProperties": False,
}

_OBJECT = re.compile(r"\{.*\}", re.S)


class JudgeReplyError(ValueError):
    """The judge's reply is not a valid verdict."""


def parse_reply(text: str) -> JudgeScores:
    """The first JSON object in ``text``, validated; small models wrap JSON in prose."""
    match = _OBJECT.search(text)
    if not match:
        raise JudgeReplyError(f"no JSON object in the judge's reply: {text[:120]!r}")
    try:
        return JudgeScores.model_validate(orjson.loads(match.group(0)))
    except orjson.JSONDecodeError as exc:
        raise JudgeReplyError(f"judge reply is not valid JSON ({exc}): {text[:120]!r}") from None
    except ValidationError as exc:
        errs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:4])
        raise JudgeReplyError(f"judge reply does not fit the schema: {errs}") from None


def transcript(dialogue: Dialogue) -> str:
    return "\n".join(f"{'Customer' if t.speaker == 'user' else 'Desk'}: {t.text}" for t in dialogue.turns)


@dataclass
class LLMJudgeResult:
    check: CheckResult
    scores: dict[str, float]
    error: bool
    calls: int


class LLMJudge:
    def __init__(self, llm: LLMBackend, *, min_score: int = 3, retries: int = 2, max_tokens: int = 160):
        self.llm = llm
        self.min_score = min_score
        self.retries = retries
        self.max_tokens = max_tokens

    async def judge(self, dialogue: Dialogue, pack: Pack | None = None) -> LLMJudgeResult:
        """Judge ``dialogue`` as a dialogue at ``pack``'s desk (MultiWOZ's by default)."""
        meta = (pack or default_pack()).meta
        system = prompts.JUDGE_SYSTEM.format(desk=meta.setting, delivers=meta.delivered,
                                             objective=dialogue.scenario.objective)
        msgs = [ChatMessage("system", system), ChatMessage("user", transcript(dialogue))]
        problem = ""
        for attempt in range(self.retries + 1):
            params = GenerationParams(
                temperature=0.0 if attempt == 0 else 0.3,
                max_tokens=self.max_tokens,
                seed=attempt,
                json_schema=JUDGE_SCHEMA,
            )
            # An LLMError (outage) propagates: only the model's answer is a judgement.
            comp = await self.llm.complete(msgs, params, CallContext("judge", {"dialogue": dialogue}))
            try:
                scores = parse_reply(comp.text)
            except JudgeReplyError as exc:
                problem = str(exc)
                continue
            values = {name: float(getattr(scores, name)) for name in SCORE_NAMES}
            low = [f"{n} {int(v)}" for n, v in values.items() if v < self.min_score]
            reason = f"scores below {self.min_score}: {', '.join(low)} ({scores.rationale})" if low else ""
            return LLMJudgeResult(
                CheckResult(name="llm_judge", passed=not low, reason=reason, score=min(values.values())),
                values,
                False,
                attempt + 1,
            )
        return LLMJudgeResult(
            CheckResult(name="llm_judge", passed=False, reason=f"judge_error after {self.retries + 1} tries: {problem}"),
            {},
            True,
            self.retries + 1,
        )
