"""The records that travel on the topics, and their wire format.

Every record is a pydantic model with a ``schema_version``; the wire format is
orjson. ``decode`` turns any failure (bad JSON, wrong shape, unknown domain, a
newer schema) into a :class:`DecodeError` whose message is readable enough to
put in a dead-letter record as it is.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from goalconvo.core.slots import slot_value_problem
from goalconvo.core.text import escape_controls, has_controls, id_problem

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


#: The most characters of an id (goal, run): it names a record and travels in every event of it.
MAX_ID_CHARS = 200
#: The most characters of a slot name, and of the requests (reqt) a domain may list.
MAX_SLOT_NAME_CHARS = 50
MAX_REQUESTS = 30
#: A goal's message, all its lines together: MultiWOZ's run to about 1,000 characters. Every turn event
#: carries the goal (and the Experience Generator's objective repeats the message), so this bounds them.
MAX_MESSAGE_CHARS = 4000
#: A whole goal, serialised: far below an event's limit, whatever the turns add to it.
MAX_GOAL_BYTES = 32 * 1024


def _check_id(value: str | None, what: str) -> str | None:
    if value is not None:
        problem = id_problem(value)
        if problem is not None:
            raise ValueError(f"{what} {problem}")
    return value


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

    @field_validator("info", "book", "fail_info", "fail_book")
    @classmethod
    def _typed_values(cls, v: dict[str, str]) -> dict[str, str]:
        """Each value fits its slot's type (``core.slots``: people and nights counted within bounds,
        clock times, days of the week); names and values hold no control characters."""
        for slot, value in v.items():
            if len(slot) > MAX_SLOT_NAME_CHARS or id_problem(slot) is not None:
                raise ValueError(f"slot name {escape_controls(slot[:60])!r} is not a slot name")
            if has_controls(value):
                raise ValueError(f"{slot}: the value holds control characters")
            problem = slot_value_problem(slot, value)
            if problem is not None:
                raise ValueError(problem)
        return v

    @field_validator("reqt")
    @classmethod
    def _requests(cls, v: list[str]) -> list[str]:
        if len(v) > MAX_REQUESTS:
            raise ValueError(f"{len(v)} requests (at most {MAX_REQUESTS})")
        for r in v:
            if len(r) > MAX_SLOT_NAME_CHARS or id_problem(r) is not None:
                raise ValueError(f"request {escape_controls(r[:60])!r} is not a slot name")
        return v


#: How a pack task ended in the dialogue it came from (or is meant to end): SGD's NOTIFY_SUCCESS,
#: NOTIFY_FAILURE, or no call at all (a search the user only asked about).
TaskOutcome = Literal["success", "failure", "none"]
#: The most tasks a pack goal may hold.
MAX_TASKS = 12


class PackTask(BaseModel):
    """One task of a pack goal: an intent of a service with the values the user gives and asks for.

    ``failed_first``: the service refuses once (the desk offers an alternative the user takes);
    ``record``: the key of the user's own record the task is about (an appointment, an account).
    """

    model_config = ConfigDict(extra="ignore")

    service: str = Field(min_length=1, max_length=MAX_SLOT_NAME_CHARS)
    intent: str = Field(min_length=1, max_length=MAX_SLOT_NAME_CHARS)
    inform: dict[str, str] = Field(default_factory=dict)
    request: list[str] = Field(default_factory=list)
    outcome: TaskOutcome = "success"
    failed_first: bool = False
    record: str | None = Field(None, max_length=MAX_ID_CHARS)

    @field_validator("inform", mode="before")
    @classmethod
    def _inform_strings(cls, v: Any) -> Any:
        return _strings(v) if isinstance(v, dict) else v

    @field_validator("inform")
    @classmethod
    def _inform_values(cls, v: dict[str, str]) -> dict[str, str]:
        for slot, value in v.items():
            if len(slot) > MAX_SLOT_NAME_CHARS or id_problem(slot) is not None:
                raise ValueError(f"slot name {escape_controls(slot[:60])!r} is not a slot name")
            if has_controls(value) or len(value) > 200:
                raise ValueError(f"{slot}: the value holds control characters or runs over 200 characters")
        return v

    @field_validator("request")
    @classmethod
    def _task_requests(cls, v: list[str]) -> list[str]:
        return DomainGoal._requests(v)  # type: ignore[operator]


class Goal(Record):
    """What the simulated user wants: constraints, requested attributes, bookings.

    A MultiWOZ goal names its domains (``domains``). A pack goal also names its pack
    (``pack``: ``name@version#hash12``, so a worker holding another version refuses it) and
    lists its tasks in order; its ``domains`` are the tasks' services, each an empty
    ``DomainGoal`` (the pack's slots are checked by the worker that holds the pack).
    """

    goal_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    domains: dict[str, DomainGoal]
    message: list[str] = Field(default_factory=list)
    source: str = Field("builtin", max_length=MAX_ID_CHARS)
    run_id: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS)
    pack: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS)
    tasks: list[PackTask] = Field(default_factory=list, max_length=MAX_TASKS)
    #: The pack's user whose records (appointments, accounts) the goal is drawn from.
    user: str | None = Field(None, max_length=MAX_ID_CHARS)

    @model_validator(mode="before")
    @classmethod
    def _pack_domains(cls, data: Any) -> Any:
        """A pack goal's domains are its tasks' services (filled in when the goal does not list them)."""
        if isinstance(data, dict) and data.get("pack") and not data.get("domains") and isinstance(data.get("tasks"), list):
            data = {**data, "domains": {str(t.get("service")): {} for t in data["tasks"] if isinstance(t, dict)}}
        return data

    @field_validator("goal_id")
    @classmethod
    def _goal_id(cls, v: str) -> str:
        return _check_id(v, "goal_id")  # type: ignore[return-value]

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, v: str | None) -> str | None:
        return _check_id(v, "run_id")

    @field_validator("message")
    @classmethod
    def _message(cls, v: list[str]) -> list[str]:
        total = sum(len(m) for m in v)
        if total > MAX_MESSAGE_CHARS:
            raise ValueError(f"a message of {total} characters (at most {MAX_MESSAGE_CHARS})")
        if any(has_controls(m) for m in v):
            raise ValueError("the message holds control characters")
        return v

    @model_validator(mode="after")
    def _bounded(self) -> "Goal":
        size = len(orjson.dumps(self.model_dump(mode="json")))
        if size > MAX_GOAL_BYTES:
            raise ValueError(f"a goal of {size} bytes serialised (at most {MAX_GOAL_BYTES})")
        return self

    @model_validator(mode="after")
    def _known_domains(self) -> "Goal":
        if not self.domains:
            raise ValueError("a goal needs at least one domain")
        if self.pack is None:
            if self.tasks:
                raise ValueError("a goal with tasks names its pack (pack: name@version#hash)")
            unknown = sorted(set(self.domains) - set(KNOWN_DOMAINS))
            if unknown:
                raise ValueError(f"unknown domain(s) {unknown}; known: {list(KNOWN_DOMAINS)} (a goal of another domain names its pack)")
            return self
        if not self.tasks:
            raise ValueError(f"a goal of pack {self.pack} needs at least one task")
        services = {t.service for t in self.tasks}
        if set(self.domains) != services:
            raise ValueError(f"domains {sorted(self.domains)} are not the tasks' services {sorted(services)}")
        for name in self.domains:
            if len(name) > MAX_SLOT_NAME_CHARS or id_problem(name) is not None:
                raise ValueError(f"service name {escape_controls(name[:60])!r} is not a name")
        return self

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

    dialogue_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    run_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
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

    @field_validator("dialogue_id", "run_id")
    @classmethod
    def _ids(cls, v: str, info: Any) -> str:
        return _check_id(v, info.field_name)  # type: ignore[return-value]

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
    #: The whole source event as text (``replay --unwrap`` publishes it again), unless ``payload_truncated``.
    payload: str = ""
    #: The source event's bytes in base64 when they are not UTF-8 (``payload`` then shows them with U+FFFD).
    payload_base64: str | None = None
    #: The event was too large to carry whole: ``payload`` holds its first bytes only (see ``fit``).
    payload_truncated: bool = False
    #: The source event's size in bytes (set when it was truncated).
    payload_bytes: int | None = None
    run_id: str | None = None
    goal_id: str | None = None
    dialogue_id: str | None = None
    at: float = Field(default_factory=time.time)

    def original_value(self) -> bytes:
        """The source event's value, byte for byte (a truncated payload cannot give it: ValueError)."""
        if self.payload_truncated:
            raise ValueError(f"the dead letter holds only the first bytes of a {self.payload_bytes}-byte event")
        if self.payload_base64 is not None:
            return base64.b64decode(self.payload_base64)
        return self.payload.encode("utf-8")

    def fit(self, limit: int | None = None) -> "DeadLetter":
        """This dead letter, or a copy whose payload is cut so that it serialises within ``limit`` bytes.

        An event too large to carry whole (a 10 MB goal the broker took) is still dead-lettered,
        with its ids and the reason, never lost: its first ``TRUNCATED_PAYLOAD_BYTES`` stay.
        """
        limit = limit or DEAD_LETTER_MAX_BYTES
        if len(encode(self)) <= limit:
            return self
        raw = self.original_value() if not self.payload_truncated else self.payload.encode("utf-8", "replace")
        keep = min(TRUNCATED_PAYLOAD_BYTES, limit // 8)
        while True:
            head = raw[:keep].decode("utf-8", errors="ignore")
            cut = self.model_copy(update={
                "payload": head, "payload_base64": None, "payload_truncated": True,
                "payload_bytes": self.payload_bytes or len(raw),
                "reason": self.reason if "payload truncated" in self.reason
                else f"{self.reason} (payload truncated to its first {len(head.encode())} of {len(raw)} bytes)",
            })
            if len(encode(cut)) <= limit:
                return cut
            if keep < 64:  # a key that large is no key: cut it too
                return cut.model_copy(update={"key": (cut.key or "")[:MAX_ID_CHARS]})
            keep //= 2

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
#: What a dead letter keeps of an event too large to carry whole.
TRUNCATED_PAYLOAD_BYTES = 256 * 1024


class EventTooLarge(ValueError):
    """An event that would exceed ``MAX_EVENT_BYTES``: refused before it is produced."""


def check_event_size(value: bytes, what: str = "event") -> bytes:
    """``value`` if an event may carry it, else EventTooLarge naming its size and the limit."""
    if len(value) > MAX_EVENT_BYTES:
        raise EventTooLarge(f"{what} of {len(value)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit of an event")
    return value


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


#: The id fields a dead letter carries, found in an event even when it does not decode.
_ID_FIELDS = ("goal_id", "run_id", "dialogue_id")
#: Only this much of an undecodable event is parsed or searched for its ids.
_SALVAGE_PARSE_BYTES = 16 * 1024 * 1024
_SALVAGE_SCAN_BYTES = 64 * 1024
_ID_PATTERN = re.compile(rb'"(goal_id|run_id|dialogue_id)"\s*:\s*"((?:[^"\\]|\\.){1,400})"')


def _usable(value: Any) -> str | None:
    """An id as a dead letter may carry it: a string, cut to MAX_ID_CHARS, control characters escaped."""
    if not isinstance(value, str) or not value:
        return None
    return escape_controls(value)[:MAX_ID_CHARS]


def salvage_ids(raw: bytes | str | None) -> dict[str, str]:
    """The goal, run and dialogue ids an event names, read even when the event does not decode.

    Reads the JSON where it parses (a Goal's own ids, a turn event's and its goal's, a judged
    dialogue's), else searches the event's first and last bytes for the id fields. Every dead
    letter carries what this finds, so ``run`` counts a dead-lettered goal of its own run.
    """
    if not raw:
        return {}
    data = raw.encode("utf-8", "replace") if isinstance(raw, str) else raw
    found: dict[str, str] = {}
    obj: Any = None
    if len(data) <= _SALVAGE_PARSE_BYTES:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
    if isinstance(obj, dict):
        dialogue = obj.get("dialogue") if isinstance(obj.get("dialogue"), dict) else {}
        places = [obj, obj.get("goal"), dialogue, dialogue.get("goal")]
        for place in places:
            if isinstance(place, dict):
                for name in _ID_FIELDS:
                    value = _usable(place.get(name))
                    if value is not None:
                        found.setdefault(name, value)
        return found
    for chunk in (data[:_SALVAGE_SCAN_BYTES], data[-_SALVAGE_SCAN_BYTES:]):
        for m in _ID_PATTERN.finditer(chunk):
            try:
                value = _usable(orjson.loads(b'"' + m.group(2) + b'"'))
            except orjson.JSONDecodeError:
                continue
            if value is not None:
                found.setdefault(m.group(1).decode(), value)
    return found


def dialogue_id_for(run_id: str, goal_id: str) -> str:
    """Deterministic id: a replayed goal event maps to the same dialogue (idempotence)."""
    return hashlib.sha1(f"{run_id}\x00{goal_id}".encode()).hexdigest()[:20]
