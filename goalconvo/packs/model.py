"""What a domain pack is, as typed records: SGD's schema plus what SGD's schema cannot say.

A pack is a folder: ``schema.json`` in the Schema-Guided Dialogue layout (services, slots,
intents), entity rows per searched service (CSV or JSON Lines), and ``pack.toml`` for the
rest: name, version, licence and attribution, the desk's setting, locale formats, per-slot
bounds and semantics, how failures happen, per-user state, results made per call, and
diagnosis tables. The loader (``loader.py``) builds these records and refuses a pack whose
parts do not fit together, naming the file, the service and the field.

Nothing here knows any domain: MultiWOZ is one pack among others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


class PackError(ValueError):
    """A pack that cannot be used; ``problems`` holds every reason, each naming file, service and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = "\n  ".join(self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the pack:\n  {shown}")


@dataclass(frozen=True)
class Slot:
    """One slot of a service, as SGD's schema describes it."""

    name: str
    description: str
    is_categorical: bool
    possible_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intent:
    """One intent: what the user asks the service to do, with the slots it needs and returns."""

    name: str
    description: str
    is_transactional: bool
    required_slots: tuple[str, ...]
    #: slot -> default value (SGD's ``optional_slots``).
    optional_slots: dict[str, str]
    result_slots: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    """One service of the schema, with its slots and intents in schema order."""

    name: str
    description: str
    slots: tuple[Slot, ...]
    intents: tuple[Intent, ...]

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slots)


#: How a slot's value is compared with an entity's: equal, the entity's at or after it
#: ("leave after 17:00"), or at or before it ("arrive by 17:00").
Compare = Literal["equal", "at_or_after", "by"]
#: Value formats the validator knows; ``text`` takes any short text.
Format = Literal["text", "count", "time", "date", "weekday", "phone", "postcode", "price", "money", "reference"]


@dataclass(frozen=True)
class SlotRule:
    """What the schema does not say about one slot: its format, bounds and semantics."""

    format: Format = "text"
    minimum: int | None = None
    maximum: int | None = None
    compare: Compare = "equal"
    #: ``Service.slot`` names whose value, from an entity settled earlier in the dialogue, may fill
    #: this slot (a taxi from the restaurant).
    from_slots: tuple[str, ...] = ()
    #: The service makes this value on a call (a reference, a confirmation number).
    generated: bool = False
    #: What a ``count`` counts, as a refusal says it ("nights"); empty: the slot's name.
    unit: str = ""


@dataclass(frozen=True)
class Locale:
    """How the pack's world writes phones, postcodes, prices, dates and times (regular expressions)."""

    phone: str = r"\+?[0-9][0-9 ()-]{5,18}[0-9]"
    postcode: str = r"[A-Za-z0-9][A-Za-z0-9 -]{1,9}"
    price: str = r"[0-9]+(\.[0-9]{2})?"
    date: str = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    time: str = r"[0-9]{1,2}:[0-9]{2}"
    currency: str = ""
    #: How turns say a time whose value is H:MM (values stay so): ``24h`` as it is ("15:30"), ``12h``
    #: as a US desk does ("3:30 pm"; SGD's people say it so, its calls carry 15:30).
    clock: str = "24h"


FailureKind = Literal["no_match", "refused", "notify_failure"]


@dataclass(frozen=True)
class Failure:
    """How an intent can fail: no entity matches, a booking is refused, or SGD's NOTIFY_FAILURE."""

    service: str
    intent: str
    kind: FailureKind
    #: The desk offers another value of these slots after the failure (SGD's alternative).
    alternative_slots: tuple[str, ...] = ()
    #: The share of goals drawn with this failure.
    rate: float = 0.0


@dataclass(frozen=True)
class UserState:
    """Per-user records a goal is drawn from and a dialogue changes consistently.

    ``rows`` are the records (a user's appointments, accounts with balances); ``key`` names the
    column that identifies a record; ``intents`` are the intents that read or change them.
    """

    service: str
    rows: tuple[dict[str, str], ...]
    key: str
    intents: tuple[str, ...]
    #: For a transfer: the column that moves (``balance``) and the intent's slot with the amount.
    amount_column: str = ""
    amount_slot: str = ""


@dataclass(frozen=True)
class DiagnosisRow:
    """One row of a diagnosis table: when the informed facts match ``when``, the next step."""

    when: dict[str, str]
    step: str
    #: True when the step fixes the fault; False when it is one more thing to try.
    fixes: bool


@dataclass(frozen=True)
class Diagnosis:
    """A table from informed facts to the next step, asked step by step until a row decides.

    ``asks`` are the slots the desk asks for, in order; when no row decides, the desk runs
    ``fallback_intent`` (opening a ticket).
    """

    service: str
    asks: tuple[str, ...]
    rows: tuple[DiagnosisRow, ...]
    fallback_intent: str
    #: The service's slot that carries the step the desk tells the user.
    step_slot: str = "step"

    def row_for(self, facts: dict[str, str]) -> DiagnosisRow | None:
        """The first row every fact fits (an empty cell fits any value), as the desk reads the table."""
        return next((r for r in self.rows if all(not v or facts.get(k, "").lower() == v.lower() for k, v in r.when.items())), None)


#: What a desk hands over, for a pack that does not say (``delivers`` in ``[pack]``).
GENERIC_DELIVERS = "what was searched for, the facts asked about, each transaction made or refused with its outcome"


@dataclass(frozen=True)
class PackMeta:
    """Who made the pack and what it may be used for; exports and the dataset card carry these."""

    name: str
    version: str
    licence: str
    attribution: str
    #: The desk's setting, as prompts say it: "a dental clinic's booking line".
    setting: str
    description: str = ""
    #: What the desk hands over that the LLM judge's task_completion asks about ("venues, requested
    #: facts, booking references"); empty: :data:`GENERIC_DELIVERS`.
    delivers: str = ""

    @property
    def delivered(self) -> str:
        """What the LLM judge asks the desk to have given: the pack's words, else a domain-free default."""
        return self.delivers or GENERIC_DELIVERS

    @property
    def the_setting(self) -> str:
        """The setting named as the one desk ("the dental clinic's booking line"), for "You are the ... assistant"."""
        for article in ("a ", "an ", "A ", "An "):
            if self.setting.startswith(article):
                return "the " + self.setting[len(article):]
        return self.setting


@dataclass(frozen=True)
class Pack:
    """A loaded, checked pack. ``content_hash`` is SHA-256 over every file of the pack folder."""

    meta: PackMeta
    services: tuple[Service, ...]
    #: service -> entity rows (searched services only).
    entities: dict[str, tuple[dict[str, str], ...]]
    #: Services whose results are made per call rather than looked up (a balance).
    per_call: frozenset[str]
    locale: Locale
    #: ``Service.slot`` -> its rule.
    slot_rules: dict[str, SlotRule]
    failures: tuple[Failure, ...]
    user_states: tuple[UserState, ...]
    diagnoses: tuple[Diagnosis, ...]
    content_hash: str
    #: Where the pack was read from (a folder); empty for a pack built in memory.
    root: str = ""
    #: Files of the pack beside the required ones (goal files, templates, seed dialogues).
    extras: dict[str, str] = field(default_factory=dict)
    #: service -> its entity table's file, relative to ``root`` (problems with a row name it).
    entity_files: dict[str, str] = field(default_factory=dict)
    #: service -> entity columns that are not slots (a database's row ids, map locations).
    extra_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: service -> the words people use for it ("hotel", "place to stay"), for reading their requests.
    service_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: slot -> how people name it ("phone number", "star rating"), for reading and writing requests.
    slot_words: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``name@version#hash12``: what a goal names so a worker can tell it holds this pack."""
        return f"{self.meta.name}@{self.meta.version}#{self.content_hash[:12]}"

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def rule(self, service: str, slot: str) -> SlotRule:
        return self.slot_rules.get(f"{service}.{slot}", SlotRule())
