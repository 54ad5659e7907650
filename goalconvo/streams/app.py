"""The Faust app: the paper's pipeline as stages between topics.

    goals -> experience -> turns.user -> user -> turns.bot -> supportbot
          -> (turns.user | dialogues.completed) -> judge -> dialogues.judged

Every event carries the whole dialogue state, keyed by dialogue id, so one
dialogue's turns stay in one partition and a worker that dies mid-dialogue
loses at most the turn in flight. A table of turns already processed makes a
replayed turn event a no-op. Events that cannot be decoded or processed go to
a dead-letter topic with the reason; nothing else stops.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from faust.types import EventT

from goalconvo.agents import fewshot
from goalconvo.agents.dialogue import DialogueEngine
from goalconvo.agents.guided.engine import GuidedEngine
from goalconvo.agents.guided.realizer import PhrasingExample
from goalconvo.agents.guided.realizer import builtin_examples as builtin_phrasings
from goalconvo.core import records
from goalconvo.core.records import (
    KNOWN_DOMAINS,
    DeadLetter,
    DecodeError,
    Dialogue,
    DialogueState,
    FewShotExample,
    Goal,
    dialogue_id_for,
    encode,
)
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge
from goalconvo.llm import LLMBackend
from goalconvo.streams.topics import Topics, assignor_topic, changelog_topic

log = logging.getLogger(__name__)

PROGRESS_TABLE = "progress"
FEWSHOT_TABLE = "fewshot"


def topic_partitions(settings: Settings) -> dict[str, int]:
    """Every topic the pipeline needs, with its partition count (see broker.ensure_topics)."""
    topics = Topics.for_prefix(settings.topic_prefix)
    wanted = {name: settings.partitions for name in topics.all()}
    wanted[changelog_topic(settings.app_id, PROGRESS_TABLE)] = settings.partitions
    wanted[changelog_topic(settings.app_id, FEWSHOT_TABLE)] = settings.partitions
    wanted[assignor_topic(settings.app_id)] = 1
    return wanted


def _key_text(key: Any) -> str | None:
    if key is None:
        return None
    return key.decode("utf-8", errors="replace") if isinstance(key, bytes) else str(key)


class Pipeline:
    """Builds the Faust app and its stages for one set of settings."""

    def __init__(self, settings: Settings, llm: LLMBackend, bootstrap_servers: str, venues: VenueDB | None = None):
        self.settings = settings
        self.llm = llm
        self.topics = Topics.for_prefix(settings.topic_prefix)
        self.venues = venues or VenueDB.load(settings.multiwoz_db)
        self.engine: DialogueEngine = (
            GuidedEngine(llm, self.venues, settings, pool=self.phrasing_pool)
            if settings.mode == "guided"
            else DialogueEngine(llm, self.venues, settings)
        )
        self.judge = Judge(settings, self.venues, llm)
        self._builtin_shots: dict[str, list[dict]] = {}
        for ex in fewshot.builtin_examples():
            self._builtin_shots.setdefault(ex.domain, []).append(ex.model_dump(mode="json"))
        session = settings.session_timeout_s
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{b.strip()}" for b in bootstrap_servers.split(",")],
            store="memory://",
            autodiscover=False,
            web_enabled=False,
            topic_partitions=settings.partitions,
            topic_allow_declare=True,
            broker_session_timeout=session,
            broker_heartbeat_interval=max(0.3, session / 6),
            broker_rebalance_timeout=session,
            broker_commit_interval=1.0,
            consumer_auto_offset_reset="earliest",
            # Bounded buffers: events wait in Kafka, not in the worker's memory.
            stream_buffer_maxsize=max(8, settings.concurrency * 2),
            # A dead letter carries its whole event, JSON-escaped: more than the event's own limit.
            producer_max_request_size=records.DEAD_LETTER_MAX_BYTES,
        )
        self._topic = {
            name: self.app.topic(
                name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.partitions,
            )
            for name in self.topics.all()
        }
        self.progress = self.app.Table(PROGRESS_TABLE, default=int, partitions=settings.partitions)
        # Accepted openings per domain; global so every worker samples from all of it.
        self.fewshot = self.app.GlobalTable(FEWSHOT_TABLE, default=list, partitions=settings.partitions)
        self._define_agents()

    # -- helpers -------------------------------------------------------------
    async def send(self, topic: str, key: str, record: records.Record) -> None:
        await self._topic[topic].send(key=key.encode(), value=encode(record))

    async def dead_letter(self, dl_topic: str, event: EventT, stage: str, reason: str, exc: BaseException | None, **ids: Any) -> None:
        msg = event.message
        raw = event.value
        record = DeadLetter(
            source_topic=msg.topic,
            source_partition=msg.partition,
            source_offset=msg.offset,
            stage=stage,
            reason=reason,
            error_type=type(exc).__name__ if exc else "Rejected",
            key=_key_text(event.key),
            **records.payload_fields(raw),
            **ids,
        )
        log.warning("dead-letter from %s at %s: %s", msg.topic, stage, reason)
        await self.send(dl_topic, record.key or record.dead_letter_id, record)

    async def _guarded(
        self,
        event: EventT,
        stage: str,
        dl_topic: str,
        record_type: type[records.Record],
        handle: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Decode, handle, and dead-letter anything that fails; never raise."""
        try:
            record = records.decode(record_type, event.value)
        except DecodeError as exc:
            await self.dead_letter(dl_topic, event, stage, str(exc), exc)
            return
        try:
            await handle(record)
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the stage
            ids: dict[str, Any] = {}
            if isinstance(record, Goal):
                ids = {"goal_id": record.goal_id, "run_id": record.run_id}
            elif isinstance(record, DialogueState):
                ids = {"goal_id": record.goal.goal_id, "run_id": record.run_id, "dialogue_id": record.dialogue_id}
            await self.dead_letter(dl_topic, event, stage, f"{type(exc).__name__}: {exc}", exc, **ids)

    def _already_done(self, state: DialogueState) -> bool:
        """A replayed turn event: this many turns were processed before."""
        return self.progress[state.dialogue_id] > len(state.turns)

    def _mark(self, state: DialogueState) -> None:
        self.progress[state.dialogue_id] = len(state.turns)

    # -- stages --------------------------------------------------------------
    def few_shot_pool(self, domains: Sequence[str] = KNOWN_DOMAINS) -> dict[str, list[dict]]:
        """Built-in examples plus the accepted ones in the table, for ``domains``."""
        return {d: self._builtin_shots.get(d, []) + fewshot.openings(self.fewshot.get(d) or []) for d in domains}

    def phrasing_pool(self, domains: Sequence[str]) -> list[PhrasingExample]:
        """Guided mode: built-in act->utterance examples plus accepted LLM phrasings of ``domains``."""
        accepted = [e for d in domains for e in fewshot.phrasing_examples(self.fewshot.get(d) or [])]
        return builtin_phrasings() + accepted

    async def on_goal(self, goal: Goal) -> None:
        run_id = goal.run_id or "adhoc"
        examples = fewshot.sample(
            self.few_shot_pool(goal.domain_names), goal.domain_names, self.settings.few_shot_k,
            f"{self.settings.seed}:{dialogue_id_for(run_id, goal.goal_id)}",
        )
        state = await self.engine.start(goal, run_id, examples)
        await self.send(self.topics.turns_user, state.dialogue_id, state)

    async def on_user_turn(self, state: DialogueState) -> None:
        if self._already_done(state):
            return
        new = await self.engine.user_turn(state)
        self._mark(new)
        await self.send(self.topics.turns_bot, new.dialogue_id, new)

    async def on_bot_turn(self, state: DialogueState) -> None:
        if self._already_done(state):
            return
        step = await self.engine.bot_turn(state)
        self._mark(step.state)
        if step.finished is not None:
            await self.send(self.topics.dialogues_completed, step.state.dialogue_id, step.finished)
        else:
            await self.send(self.topics.turns_user, step.state.dialogue_id, step.state)

    async def on_completed(self, dialogue: Dialogue) -> None:
        judged = await self.judge.judge(dialogue)
        await self.send(self.topics.dialogues_judged, dialogue.dialogue_id, judged)
        if judged.verdict.accepted:
            for ex in fewshot.examples_from(dialogue):
                await self.send(self.topics.fewshot, ex.domain, ex)

    async def on_fewshot(self, example: FewShotExample) -> None:
        """Keep the newest accepted openings of a domain (no await between read and write)."""
        entries = list(self.fewshot.get(example.domain) or [])
        self.fewshot[example.domain] = fewshot.add_example(entries, example, self.settings.few_shot_pool_size)

    def _define_agents(self) -> None:
        t, conc = self.topics, self.settings.concurrency

        def stage(
            name: str,
            source: str,
            dl_topic: str,
            record_type: type[records.Record],
            handle: Callable[[Any], Awaitable[None]],
            concurrency: int = conc,
        ) -> None:
            async def agent(stream: faust.StreamT) -> None:
                async for event in stream.events():
                    await self._guarded(event, name, dl_topic, record_type, handle)

            agent.__name__ = name
            agent.__qualname__ = f"goalconvo.{name}"
            self.app.agent(self._topic[source], name=f"goalconvo.{name}", concurrency=concurrency)(agent)

        stage("experience", t.goals, t.goals_dead_letter, Goal, self.on_goal)
        stage("user", t.turns_user, t.dialogues_dead_letter, DialogueState, self.on_user_turn)
        stage("supportbot", t.turns_bot, t.dialogues_dead_letter, DialogueState, self.on_bot_turn)
        stage("judge", t.dialogues_completed, t.dialogues_dead_letter, Dialogue, self.on_completed)
        stage("fewshot", t.fewshot, t.dialogues_dead_letter, FewShotExample, self.on_fewshot, concurrency=1)

    async def start(self) -> None:
        await self.llm.start()
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()
        await self.llm.close()
