"""What a turn's wording may depend on besides its own acts: what was said before.

People answer the question they were asked ("Four of us."), say "it" for a place
already named, say "also" when they move to a second thing, and do not greet twice.
A template that sees only its acts cannot do that, so the engine gives it a
:class:`TurnContext` built from the dialogue so far (acts only: the text is never
read back, so a replayed turn renders the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from goalconvo.agents.guided.acts import DialogueActs, split_key

_NOT_TOPICS = ("general", "booking")


class _TurnLike(Protocol):
    speaker: str
    acts: DialogueActs


def _domains(acts: DialogueActs) -> list[str]:
    out: list[str] = []
    for key in acts:
        d = split_key(key)[0]
        if d not in _NOT_TOPICS and d not in out:
            out.append(d)
    return out


def _names(acts: DialogueActs) -> set[str]:
    return {v.lower() for k, pairs in acts.items() for s, v in pairs if s in ("Name", "Id") and v not in ("?", "none")}


@dataclass(frozen=True)
class TurnContext:
    """The dialogue before this turn, as the templates need it.

    ``previous``: the other speaker's last acts; ``own_previous``: this speaker's last acts;
    ``named``: venue names and train ids already said (lower case), ``own_named`` those this
    speaker said; ``topics``: the domains
    talked about before, in order; ``turn``: this turn's index (0 opens the dialogue);
    ``greeted``: whether this speaker greeted already.
    """

    previous: DialogueActs = field(default_factory=dict)
    own_previous: DialogueActs = field(default_factory=dict)
    named: frozenset[str] = frozenset()
    own_named: frozenset[str] = frozenset()
    topics: tuple[str, ...] = ()
    turn: int = 0
    greeted: bool = False

    @classmethod
    def from_turns(cls, turns: Sequence[_TurnLike], speaker: str) -> "TurnContext":
        """The context of the next turn of ``speaker`` after ``turns``."""
        previous = next((t.acts for t in reversed(turns) if t.speaker != speaker), {})
        own = next((t.acts for t in reversed(turns) if t.speaker == speaker), {})
        named: set[str] = set()
        own_named: set[str] = set()
        topics: list[str] = []
        greeted = False
        for t in turns:
            named |= _names(t.acts)
            if t.speaker == speaker:
                own_named |= _names(t.acts)
            topics += [d for d in _domains(t.acts) if d not in topics]
            greeted = greeted or (t.speaker == speaker and "general-greet" in t.acts)
        return cls(dict(previous), dict(own), frozenset(named), frozenset(own_named), tuple(topics), len(turns), greeted)

    # -- questions about the previous turn ---------------------------------------------
    def asked(self, domain: str | None = None) -> set[str]:
        """Slots the other speaker just asked for (``Request`` with ``?``), in ``domain`` or any."""
        out = set()
        for key, pairs in self.previous.items():
            d, intent = split_key(key)
            if intent == "Request" and (domain is None or d in (domain, "booking")):
                out |= {s for s, v in pairs if v == "?"}
        return out

    def previous_intents(self, domain: str | None = None) -> set[str]:
        return {split_key(k)[1] for k in self.previous if domain is None or split_key(k)[0] in (domain, "booking")}

    @property
    def topic(self) -> str | None:
        """The domain being talked about: the last one named before this turn."""
        prev = _domains(self.previous) or _domains(self.own_previous)
        return prev[-1] if prev else (self.topics[-1] if self.topics else None)

    def is_new_topic(self, domain: str) -> bool:
        return domain not in self.topics

    def offered(self, domain: str) -> bool:
        """Whether the other speaker's last turn offered a venue or train of ``domain`` (named it)."""
        for key, pairs in self.previous.items():
            d, intent = split_key(key)
            if d == domain and intent in ("Inform", "Recommend", "Select") and any(s in ("Name", "Id") for s, _ in pairs):
                return True
        return False

    def own_choice(self, domain: str) -> str | None:
        """The number of matches this speaker gave for ``domain`` in its last turn ("I have 5 theatres"),
        so the next turn does not say the same count again."""
        for key, pairs in self.own_previous.items():
            if split_key(key)[0] == domain:
                for s, v in pairs:
                    if s == "Choice":
                        return v.lower()
        return None

    def offered_booking(self) -> bool:
        return bool(self.previous_intents() & {"OfferBook"}) or "Booking-Inform" in self.previous
