"""The records that travel on the topics, and their wire format.

Every record is a pydantic model with a ``schema_version``; the wire format is
orjson. ``decode`` turns any failure (bad JSON, wrong shape, unknown domain, a
newer schema) into a :class:`DecodeError` whose message is readable enough to
put in a dead-letter record as it is.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: 2: turns carry dialogue acts, belief state and who phrased them; dialogues a mode.
SCHEMA_VERSION = 2

#: The MultiWOZ domains a goal may name.
KNOWN_DOMAINS: tuple[str, ...] = (
    "attraction",
    "hospital",
    "hotel",
    "police",
    "restaurant",
    "taxi",
    "train",
)

Speaker = Literal["user", "bot"]
#: guided: code plans dialogue acts, the LLM phrases them; free: the paper's role-play.
Mode = Literal["guided", "free"]
#: Who wrote a turn's text: the LLM phrasing acts, a template, or the LLM role-playing.
PhrasedBy = Literal["llm", "template", "role-play"]
#: MultiWOZ's ``dialog_act`` form: ``{"Restaurant-Inform": [["Food", "italian"]]}``.
DialogueActs = dict[str, list[list[str]]]


class Record(BaseModel):
    """Base of every record that travels: versioned, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _supported_version(cls, v: int) -> int:
        if v > SCHEMA_VERSION or v < 1:
            raise ValueError(f"schema_version {v} is not supported (this build reads 1..{SCHEMA_VERSION})")
        return v


def _strings(d: dict[str, Any]) -> dict[str, str]:
    """MultiWOZ mixes strings with booleans (``invalid: false``); keep the slot values only."""
    return {str(k): str(v) for k, v in d.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}


class DomainGoal(BaseModel):
    """One domain of a goal, in MultiWOZ's structure."""

    model_config = ConfigDict(extra="ignore")

    info: dict[str, str] = Field(default_factory=dict)
    reqt: list[str] = Field(default_factory=list)
    book: dict[str, str] = Field(default_factory=dict)
    fail_info: dict[str, str] = Field(default_factory=dict)
    fail_book: dict[str, str] = Field(default_factory=dict)

    @field_validator("info", "book", "fail_info", "fail_book", mode="before")
    @classmethod
    def _slot_strings(cls, v: Any) -> Any:
        return _strings(v) if isinstance(v, dict) else v


class Goal(Record):
    """What the simulated user wants: constraints, requested attributes, bookings."""

    goal_id: str = Field(min_length=1, max_length=200)
    domains: dict[str, DomainGoal]
    message: list[str] = Field(default_factory=list)
    source: str = "builtin"
    run_id: str | None = None

    @field_validator("domains")
    @classmethod
    def _known_domains(cls, v: dict[str, DomainGoal]) -> dict[str, DomainGoal]:
        if not v:
            raise ValueError("a goal needs at least one domain")
        unknown = sorted(set(v) - set(KNOWN_DOMAINS))
        if unknown:
            raise ValueError(f"unknown domain(s) {unknown}; known: {list(KNOWN_DOMAINS)}")
        return v

    @property
    def domain_names(self) -> list[str]:
        return sorted(self.domains)


class Persona(BaseModel):
    name: str
    style: str
    patience: str
    verbosity: str


class Scenario(Record):
    """The Experience Generator's output: who the user is and how they open."""

    persona: Persona
    objective: str
    first_utterance: str
    few_shot_ids: list[str] = Field(default_factory=list)


class FewShotExample(Record):
    """One example of the few-shot pool (keyed by domain on the wire).

    ``opening``: a first utterance for the Experience Generator (free mode);
    ``phrasing``: an accepted LLM phrasing of ``acts`` by ``speaker`` (guided mode).
    """

    example_id: str
    domain: str
    opening: str
    reply: str = ""
    source: Literal["builtin", "accepted"] = "accepted"
    kind: Literal["opening", "phrasing"] = "opening"
    speaker: Speaker | None = None
    acts: DialogueActs = Field(default_factory=dict)
    #: The prompt version of the dialogue it came from: an accepted example is shown only to
    #: dialogues generated with that same prompt (older versions' phrasings never feed back).
    prompt_version: str = ""


class Turn(BaseModel):
    index: int
    speaker: Speaker
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)
    #: The turn's dialogue acts (guided mode; empty in free mode).
    acts: DialogueActs = Field(default_factory=dict)
    #: MultiWOZ ``metadata``: the belief state after a system turn (guided mode).
    belief: dict[str, Any] | None = None
    phrased_by: PhrasedBy = "role-play"
    #: Why LLM phrasings of this turn were refused before the one kept.
    refusals: list[str] = Field(default_factory=list)


class DialogueState(Record):
    """A dialogue in flight; one event per turn carries the whole state."""

    dialogue_id: str
    run_id: str
    goal: Goal
    scenario: Scenario
    turns: list[Turn] = Field(default_factory=list)
    model: str
    prompt_version: str
    mode: Mode = "free"
    #: Guided mode: the planner's state (``user``: the agenda, ``bot``: the policy's state).
    plan: dict[str, Any] = Field(default_factory=dict)
    started_at: float = Field(default_factory=time.time)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    user_done: bool = False

    @property
    def exchanges(self) -> int:
        """User-system exchanges so far (a user turn and the bot's answer)."""
        return sum(1 for t in self.turns if t.speaker == "bot")

    def next_index(self) -> int:
        return len(self.turns)


class Dialogue(DialogueState):
    """A finished dialogue, as the judge and the sink see it."""

    stop_reason: str
    ended_at: float = Field(default_factory=time.time)


class CheckResult(BaseModel):
    name: str
    passed: bool
    reason: str = ""
    score: float | None = None


class Verdict(Record):
    dialogue_id: str
    accepted: bool
    checks: list[CheckResult]
    scores: dict[str, float] = Field(default_factory=dict)
    judge_model: str
    judge_version: str
    #: The LLM judge could not give a valid verdict (after retries): rejected, not accepted silently.
    judge_error: bool = False
    judged_at: float = Field(default_factory=time.time)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.reason}" for c in self.checks if not c.passed]


class JudgedDialogue(Record):
    dialogue: Dialogue
    verdict: Verdict


class DeadLetter(Record):
    """An event that could not be decoded or processed, with the reason."""

    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    stage: str
    reason: str
    error_type: str
    key: str | None = None
    #: The whole source event as text (never cut: ``replay --unwrap`` publishes it again).
    payload: str = ""
    #: The source event's bytes in base64 when they are not UTF-8 (``payload`` then shows them with U+FFFD).
    payload_base64: str | None = None
    run_id: str | None = None
    goal_id: str | None = None
    dialogue_id: str | None = None
    at: float = Field(default_factory=time.time)

    def original_value(self) -> bytes:
        """The source event's value, byte for byte."""
        if self.payload_base64 is not None:
            return base64.b64decode(self.payload_base64)
        return self.payload.encode("utf-8")

    @property
    def dead_letter_id(self) -> str:
        """Stable across replays of the same source event (the sink stores it once)."""
        if self.source_offset is not None:
            return f"{self.source_topic}:{self.source_partition}:{self.source_offset}"
        return hashlib.sha1(f"{self.source_topic}\x00{self.key}\x00{self.payload}".encode()).hexdigest()[:24]


class DecodeError(ValueError):
    """An event's bytes are not a valid record of the expected type."""


R = TypeVar("R", bound=Record)

MAX_EVENT_BYTES = 1_000_000
#: A dead letter wraps a whole event (JSON-escaped, or base64 beside its text): its topics
#: (``max.message.bytes``) and the producers that write them allow this much.
DEAD_LETTER_MAX_BYTES = 8 * 1024 * 1024


def encode(record: Record) -> bytes:
    return orjson.dumps(record.model_dump(mode="json"))


def decode(cls: type[R], raw: bytes | str | None) -> R:
    """Parse and validate ``raw`` as ``cls``, or raise a readable DecodeError."""
    if raw is None:
        raise DecodeError("empty event (no value)")
    limit = DEAD_LETTER_MAX_BYTES if issubclass(cls, DeadLetter) else MAX_EVENT_BYTES
    if len(raw) > limit:
        raise DecodeError(f"event of {len(raw)} bytes exceeds the {limit}-byte limit")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DecodeError(f"expected a JSON object for {cls.__name__}, got {type(obj).__name__}")
    try:
        return cls.model_validate(obj)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or cls.__name__
            parts.append(f"{where}: {err['msg']}")
        raise DecodeError(f"invalid {cls.__name__}: " + "; ".join(parts)) from None


def payload_text(raw: bytes | str | None) -> str:
    """A dead-letter-safe rendering of raw bytes, whole (never raises)."""
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def payload_fields(raw: bytes | str | None) -> dict[str, str | None]:
    """``payload`` and ``payload_base64`` of a DeadLetter: the whole event, restorable byte for byte."""
    exact = None
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            exact = base64.b64encode(raw).decode("ascii")
    return {"payload": payload_text(raw), "payload_base64": exact}


def dialogue_id_for(run_id: str, goal_id: str) -> str:
    """Deterministic id: a replayed goal event maps to the same dialogue (idempotence)."""
    return hashlib.sha1(f"{run_id}\x00{goal_id}".encode()).hexdigest()[:20]
