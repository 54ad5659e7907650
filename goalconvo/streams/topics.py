"""Every topic name GoalConvo uses, in one place.

Names are a prefix (``Settings.topic_prefix``) plus a fixed suffix, so two
deployments can share one Kafka cluster without colliding.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from goalconvo.core.dead_letters import DEAD_LETTER_MAX_BYTES

CHANGELOG_SUFFIX = "-changelog"
DEAD_LETTER_SUFFIX = ".dead-letter"


@dataclass(frozen=True)
class Topics:
    """The concrete topic names for one prefix."""

    goals: str
    turns_user: str
    turns_bot: str
    dialogues_completed: str
    dialogues_judged: str
    #: Dialogues that passed every other check, waiting for the near-duplicate check (one partition: see serial()).
    dialogues_dedup: str
    goals_dead_letter: str
    dialogues_dead_letter: str
    fewshot: str

    @classmethod
    def for_prefix(cls, prefix: str = "goalconvo.") -> "Topics":
        return cls(
            goals=f"{prefix}goals",
            turns_user=f"{prefix}turns.user",
            turns_bot=f"{prefix}turns.bot",
            dialogues_completed=f"{prefix}dialogues.completed",
            dialogues_judged=f"{prefix}dialogues.judged",
            dialogues_dedup=f"{prefix}dialogues.dedup",
            goals_dead_letter=f"{prefix}goals{DEAD_LETTER_SUFFIX}",
            dialogues_dead_letter=f"{prefix}dialogues{DEAD_LETTER_SUFFIX}",
            fewshot=f"{prefix}fewshot.examples",
        )

    def all(self) -> list[str]:
        return [getattr(self, f.name) for f in fields(self)]

    def dialogue_stages(self) -> list[str]:
        """The topics the stages that make and judge a dialogue read, goal to near-duplicate check
        (``streams.app``): once their group has committed these, no dialogue is half-way."""
        return [self.goals, self.turns_user, self.turns_bot, self.dialogues_completed, self.dialogues_dedup]

    def dead_letters(self) -> list[str]:
        return [self.goals_dead_letter, self.dialogues_dead_letter]

    def serial(self) -> list[str]:
        """Topics of one partition, read by one consumer in order: the near-duplicate check decides
        each dialogue against every one accepted before it (two near-duplicates never pass together)."""
        return [self.dialogues_dedup]


def changelog_topic(app_id: str, table_name: str) -> str:
    """The changelog topic Faust derives for a table (created up front, see broker.py)."""
    return f"{app_id}-{table_name}{CHANGELOG_SUFFIX}"


def topic_config(name: str, *, min_insync_replicas: int | None = None) -> dict[str, str]:
    """The topic-level Kafka configs a topic is created with (broker.ensure_topics).

    A Faust table's changelog is compacted: the latest value per key is the table,
    so time retention must not delete it and recovery reads one record per key, not
    the whole history. A dead-letter topic takes records bigger than the events it
    wraps. ``min_insync_replicas`` (a setting) goes on every topic created. Every other
    topic keeps the broker's defaults.
    """
    out: dict[str, str] = {}
    if name.endswith(CHANGELOG_SUFFIX):
        out["cleanup.policy"] = "compact"
    elif name.endswith(DEAD_LETTER_SUFFIX):
        out["max.message.bytes"] = str(DEAD_LETTER_MAX_BYTES)
    if min_insync_replicas is not None:
        out["min.insync.replicas"] = str(min_insync_replicas)
    return out


def assignor_topic(app_id: str) -> str:
    """Faust's leader-assignor topic (one partition)."""
    return f"{app_id}-__assignor-__leader"
