"""The records that travel on the topics (their wire format: ``core.wire``; dead letters: ``core.dead_letters``).

Every record is a pydantic model with a ``schema_version``; the validators here say what a
record may hold (known domains, a goal's pack and tasks, a newer schema refused), and
``core.wire.decode`` turns any of their failures into a readable ``DecodeError``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from goalconvo.core.slots import slot_value_problem
from goalconvo.core.text import escape_controls, has_controls, id_problem
from goalconvo.packs.builtin import DEFAULT_PACK, default_pack

#: 2: turns carry dialogue acts, belief state and who phrased them; dialogues a mode.
SCHEMA_VERSION = 2

#: The domains a goal without a pack may name: the default (MultiWOZ) pack's services, sorted.
KNOWN_DOMAINS: tuple[str, ...] = tuple(sorted(s.name for s in default_pack().services))

Speaker = Literal["user", "bot"]
#: guided: code plans dialogue acts, the LLM phrases them; free: the paper's role-play.
Mode = Literal["guided", "free"]
#: Who wrote a turn's text: the LLM phrasing acts, a template, or the LLM role-playing.
PhrasedBy = Literal["llm", "template", "role-play"]
#: MultiWOZ's ``dialog_act`` form: ``{"Restaurant-Inform": [["Food", "italian"]]}``.
DialogueActs = dict[str, list[list[str]]]


#: The most bytes an event may carry (a dead letter, wrapping a whole event, may carry more: its own limit).
MAX_EVENT_BYTES = 1_000_000


class Record(BaseModel):
    """Base of every record that travels: versioned, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore")
    #: ``core.wire.decode`` refuses an event of this record type larger than this.
    max_event_bytes: ClassVar[int] = MAX_EVENT_BYTES

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
        if not self.names_a_pack:
            if self.tasks:
                raise ValueError("a goal with tasks names its pack (pack: name@version#hash); MultiWOZ's goals name their "
                                 "domains, not tasks")
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

    @property
    def names_a_pack(self) -> bool:
        """A domain pack's goal (tasks of a pack's services), not a goal of the shipped MultiWOZ pack, which
        names it (``multiwoz@2.1#...``, stamped when published) or nothing (older goal files)."""
        return self.pack is not None and self.pack.partition("@")[0] != DEFAULT_PACK


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


def dialogue_id_for(run_id: str, goal_id: str) -> str:
    """Deterministic id: a replayed goal event maps to the same dialogue (idempotence)."""
    return hashlib.sha1(f"{run_id}\x00{goal_id}".encode()).hexdigest()[:20]
