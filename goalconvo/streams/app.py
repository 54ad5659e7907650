"""The Faust app: the paper's pipeline as stages between topics.

    goals -> experience -> turns.user -> user -> turns.bot -> supportbot
          -> (turns.user | dialogues.completed) -> judge -> dialogues.judged

Every event carries the whole dialogue state, keyed by dialogue id, so one
dialogue's turns stay in one partition and a worker that dies mid-dialogue
loses at most the turn in flight. A table of turns already processed makes a
replayed turn event a no-op; a stage writes it only after the broker acknowledged
the dialogue's next event, so a recovered table never skips a turn whose next
event was lost. A watchdog in each worker dead-letters dialogues stranded anyway
and purges finished ones from the table (``watchdog.py``, deciding by ``progress.py``). Events that cannot be
decoded or processed go to a dead-letter topic with the reason (``dead_lettering.py``); nothing else stops.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from faust.tables import TableManager

from goalconvo.agents import fewshot
from goalconvo.agents.dialogue import DialogueEngine
from goalconvo.agents.guided.engine import GuidedEngine
from goalconvo.agents.pack.engine import PackEngine
from goalconvo.core.pack_goals import goal_problem
from goalconvo.packs.builtin import default_pack
from goalconvo.packs.registry import find_pack_to_run
from goalconvo.agents.guided.realizer import PhrasingExample
from goalconvo.agents.guided.realizer import builtin_examples as builtin_phrasings
from goalconvo.core import dead_letters, records
from goalconvo.core.records import (
    KNOWN_DOMAINS,
    CheckResult,
    Dialogue,
    DialogueState,
    FewShotExample,
    Goal,
    JudgedDialogue,
    dialogue_id_for,
)
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges import near_duplicate as nd
from goalconvo.judges.judge import Judge
from goalconvo.llm import LLMBackend
from goalconvo.streams import faust_consumer
from goalconvo.streams import progress as marks
from goalconvo.streams.broker import leave_group_at_generation_zero
from goalconvo.streams.kafka import Bus, for_settings
from goalconvo.streams.topics import Topics, assignor_topic, changelog_topic
from goalconvo.streams.dead_lettering import DeadLettering
from goalconvo.streams.watchdog import StrandedWatchdog

log = logging.getLogger(__name__)

PROGRESS_TABLE = "progress"
FEWSHOT_TABLE = "fewshot"
NEAR_DUP_TABLE = "neardup"


def topic_partitions(settings: Settings) -> dict[str, int]:
    """Every topic the pipeline needs, with its partition count (see broker.ensure_topics)."""
    topics = Topics.for_prefix(settings.topic_prefix)
    wanted = {name: settings.partitions for name in topics.all()}
    wanted[changelog_topic(settings.app_id, PROGRESS_TABLE)] = settings.partitions
    wanted[changelog_topic(settings.app_id, FEWSHOT_TABLE)] = settings.partitions
    for name in topics.serial():
        wanted[name] = 1
    wanted[changelog_topic(settings.app_id, NEAR_DUP_TABLE)] = 1
    wanted[assignor_topic(settings.app_id)] = 1
    return wanted


class _TableManager(TableManager):
    """Faust's table manager without the 1 s it sleeps at start for tables declared late: the
    pipeline declares every table before the app starts (``Pipeline.__init__``)."""

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


class Pipeline(DeadLettering, StrandedWatchdog):
    """Builds the Faust app and its stages for one set of settings."""

    def __init__(self, settings: Settings, llm: LLMBackend, bus: Bus, venues: VenueDB | None = None):
        self.settings = settings
        self.kafka = for_settings(settings, bus)
        self.llm = llm
        self.topics = Topics.for_prefix(settings.topic_prefix)
        self.venues = venues or VenueDB.load(settings.multiwoz_db)
        self.engine: DialogueEngine = (
            GuidedEngine(llm, self.venues, settings, pool=self.phrasing_pool)
            if settings.mode == "guided"
            else DialogueEngine(llm, self.venues, settings)
        )
        #: The domain pack this worker holds (``--pack``); a goal naming another pack or version is dead-lettered.
        self.pack = find_pack_to_run(settings.pack) if settings.pack else None
        self.pack_engine = PackEngine(self.pack, settings, llm) if self.pack is not None else None
        self.judge = Judge(settings, self.venues, llm, pack=self.pack)
        self._builtin_shots: dict[str, list[dict]] = {}
        for ex in fewshot.builtin_examples():
            self._builtin_shots.setdefault(ex.domain, []).append(ex.model_dump(mode="json"))
        session = settings.session_timeout_s
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{b.strip()}" for b in self.kafka.bootstrap_servers.split(",")],
            # TLS / SASL of the cluster, for Faust's consumer, producer and the client it creates topics with.
            broker_credentials=self.kafka.faust_credentials(),
            topic_replication_factor=settings.topic_replication_factor,
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
            producer_max_request_size=dead_letters.DEAD_LETTER_MAX_BYTES,
            TableManager=_TableManager,
        )
        self._topic = {
            name: self.app.topic(
                name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=1 if name in self.topics.serial() else settings.partitions,
            )
            for name in self.topics.all()
        }
        # Faust would commit past events it skipped at a rebalance, and fixes its fetches' wait at 1.5 s
        # (on Tansu, the latency of every hop between stages): see faust_consumer.py.
        faust_consumer.install(self.app, settings.fetch_max_wait_s, kafka=self.kafka)
        leave_group_at_generation_zero()
        # Dialogue id -> progress entry (streams/progress.py): skips replayed turns, feeds the watchdog.
        self.progress = self.app.Table(PROGRESS_TABLE, default=int, partitions=settings.partitions)
        self.progress.on_recover(self._on_progress_recovered)
        self._held_since: dict[int, float] = {}
        self._marks = 0
        self._crash_at = marks.parse_fault(settings.fault_crash_at, "after_mark")
        self._drop_at = marks.parse_fault(settings.fault_drop_at, "next_event")
        self._next_events = 0
        self.watchdog_stats = {"stranded": 0, "purged": 0, "waiting": 0}
        # Accepted openings per domain; global so every worker samples from all of it.
        self.fewshot = self.app.GlobalTable(FEWSHOT_TABLE, default=list, partitions=settings.partitions)
        # Accepted dialogue id -> its MinHash signature and goal key: the near-duplicate check's state,
        # one partition like its input (dialogues.dedup), so one worker at a time decides, in order.
        self.near_dups = self.app.Table(NEAR_DUP_TABLE, default=None, partitions=1)
        self.near_dups.on_recover(self._on_near_dups_recovered)
        self._nd_index: nd.NearDuplicateIndex | None = None
        self._define_agents()

    # -- helpers -------------------------------------------------------------
    @property
    def turns_marked(self) -> int:
        """Turns this worker processed (progress marks written) since it started."""
        return self._marks

    def _already_done(self, state: DialogueState) -> bool:
        """A replayed turn event: this many turns were processed before."""
        return marks.turns_done(self.progress.get(state.dialogue_id)) > len(state.turns)

    async def _mark(self, state: DialogueState, st: str = marks.ACTIVE, sent: Any = None) -> None:
        """Write the dialogue's progress entry, after the broker acknowledged its next event (``sent``)."""
        msg = faust.current_event().message
        which = "u" if msg.topic == self.topics.turns_user else "b"
        old = self.progress.get(state.dialogue_id)
        entry = marks.mark(
            old, turns=len(state.turns), st=st, source=(which, msg.partition, msg.offset), now=time.time(),
            run_id=state.run_id, goal_id=state.goal.goal_id,
            sent=(sent.topic, sent.partition, sent.offset) if sent is not None else None,
        )
        if marks.advances(old, entry):
            self.progress[state.dialogue_id] = entry
        self._marks += 1
        if self._crash_at is not None and self._marks >= self._crash_at:
            await self._crash(f"after_mark:{self._marks}")

    async def _crash(self, where: str) -> None:
        """Fault injection (tests only): make what was produced durable, then die like a SIGKILL."""
        await self.app.producer.flush()
        log.error("fault injection: crashing %s", where)
        os._exit(137)

    async def _send_next(self, topic: str, state: DialogueState | Dialogue) -> Any:
        """Send a dialogue's next event and wait for the broker's acknowledgement (the fault hook may lose it)."""
        if topic == self.topics.dialogues_completed:
            return await self.send(topic, state.dialogue_id, state)
        self._next_events += 1
        if self._drop_at is not None and self._next_events == self._drop_at:
            log.error("fault injection: losing the next event of %s", state.dialogue_id)
            return None
        return await self.send(topic, state.dialogue_id, state)

    # -- stages --------------------------------------------------------------
    def few_shot_pool(self, domains: Sequence[str] = KNOWN_DOMAINS) -> dict[str, list[dict]]:
        """Built-in examples plus the accepted ones in the table, for ``domains``."""
        version = self.engine.prompt_version
        return {d: self._builtin_shots.get(d, []) + fewshot.openings(self.fewshot.get(d) or [], version) for d in domains}

    def phrasing_pool(self, domains: Sequence[str]) -> list[PhrasingExample]:
        """Guided mode: built-in act->utterance examples plus accepted LLM phrasings of ``domains``."""
        accepted = [e for d in domains for e in fewshot.phrasing_examples(self.fewshot.get(d) or [], self.engine.prompt_version)]
        return builtin_phrasings() + accepted

    def _engine_for(self, goal: Goal) -> DialogueEngine:
        """The pack engine for a goal of this worker's pack; MultiWOZ's engine for a MultiWOZ goal.

        A goal that names another pack or version, or a pack goal on a worker without one (or the
        other way round), raises with the reason: the stage dead-letters it.
        """
        if self.pack is None:
            if goal.names_a_pack:
                raise ValueError(f"goal {goal.goal_id} names pack {goal.pack}; this worker holds no pack "
                                 "(MultiWOZ): start it with --pack")
            if goal.pack is not None and goal.pack != default_pack().ref:
                raise ValueError(f"goal {goal.goal_id} names pack {goal.pack}; this worker holds {default_pack().ref}: "
                                 "run workers of the goalconvo version that produced the goal")
            return self.engine
        problem = goal_problem(goal, self.pack)
        if problem:
            raise ValueError(problem)
        return self.pack_engine  # type: ignore[return-value]

    async def on_goal(self, goal: Goal) -> None:
        run_id = goal.run_id or "adhoc"
        engine = self._engine_for(goal)
        if engine is self.pack_engine:
            state = await engine.start(goal, run_id)
            await self.send(self.topics.turns_user, state.dialogue_id, state)
            return
        examples = fewshot.sample(
            self.few_shot_pool(goal.domain_names), goal.domain_names, self.settings.few_shot_k,
            f"{self.settings.seed}:{dialogue_id_for(run_id, goal.goal_id)}",
        )
        state = await self.engine.start(goal, run_id, examples)
        await self.send(self.topics.turns_user, state.dialogue_id, state)

    async def on_user_turn(self, state: DialogueState) -> None:
        if self._already_done(state):
            return
        new = await self._engine_for(state.goal).user_turn(state)
        sent = await self._send_next(self.topics.turns_bot, new)
        await self._mark(new, sent=sent)

    async def on_bot_turn(self, state: DialogueState) -> None:
        if self._already_done(state):
            return
        step = await self._engine_for(state.goal).bot_turn(state)
        if step.finished is not None:
            await self._send_next(self.topics.dialogues_completed, step.finished)
            await self._mark(step.state, marks.DONE)
        else:
            sent = await self._send_next(self.topics.turns_user, step.state)
            await self._mark(step.state, sent=sent)

    async def on_completed(self, dialogue: Dialogue) -> None:
        """Rules, goal check, LLM judge; a rejected dialogue's verdict is final, a passing one goes on
        to the near-duplicate check (``dialogues.dedup``), which publishes its verdict."""
        judged = await self.judge.judge(dialogue)
        if judged.verdict.accepted:
            await self.send(self.topics.dialogues_dedup, dialogue.dialogue_id, judged)
        else:
            await self.send(self.topics.dialogues_judged, dialogue.dialogue_id, judged)

    def _near_dup_index(self) -> nd.NearDuplicateIndex:
        """The in-memory LSH index over the table (rebuilt after a recovery or if the table moved on)."""
        data = self.near_dups.data
        if self._nd_index is None or len(self._nd_index) != len(data):
            index = nd.NearDuplicateIndex(
                self.settings.near_duplicate_threshold, same_goal=self.settings.near_duplicate_same_goal
            )
            for key, entry in data.items():
                if isinstance(entry, dict) and entry.get("v") == nd.SCHEME:
                    index.add(key, nd.decode_signature(entry["s"]), entry.get("g"))
            self._nd_index = index
        return self._nd_index

    async def _on_near_dups_recovered(self) -> None:
        self._nd_index = None

    async def on_dedup(self, judged: JudgedDialogue) -> None:
        """The near-duplicate check, one dialogue at a time against every accepted one before it.

        Reads: a JudgedDialogue that passed every other check. Adds: the ``near_duplicate`` check
        (judges/near_duplicate.py); publishes the verdict to ``dialogues.judged``; if accepted, its
        signature to the table (after the verdict was acknowledged: a replay decides the same, its own
        entry excluded) and its openings/phrasings to the few-shot pool.
        """
        d = judged.dialogue
        sig, goal = nd.dialogue_signature(d), nd.goal_key(d.goal)
        index = self._near_dup_index()
        if self.settings.near_duplicate_filter:
            check = nd.check(index.query(sig, exclude=d.dialogue_id, goal=goal), self.settings.near_duplicate_threshold)
        else:
            check = CheckResult(name=nd.CHECK_NAME, passed=True, reason="skipped: near-duplicate filter off")
        v = judged.verdict
        verdict = v.model_copy(update={"checks": [*v.checks, check], "accepted": v.accepted and check.passed})
        await self.send(self.topics.dialogues_judged, d.dialogue_id, JudgedDialogue(dialogue=d, verdict=verdict))
        if verdict.accepted:
            self.near_dups[d.dialogue_id] = {"s": nd.encode_signature(sig), "g": goal, "v": nd.SCHEME}
            index.add(d.dialogue_id, sig, goal)
            for ex in fewshot.examples_from(d):
                await self.send(self.topics.fewshot, ex.domain, ex)

    async def on_fewshot(self, example: FewShotExample) -> None:
        """Keep the newest accepted openings of a domain (no await between read and write)."""
        entries = list(self.fewshot.get(example.domain) or [])
        self.fewshot[example.domain] = fewshot.add_example(entries, example, self.settings.few_shot_pool_size)

    def crash_reason(self) -> BaseException | None:
        """Why the Faust app or its table recovery crashed, if one did: the worker then processes nothing."""
        for service in (self.app, self.app.tables.recovery):
            if service.crashed:
                return service.crash_reason or RuntimeError(f"{type(service).__name__} crashed")
        return None

    def _define_agents(self) -> None:
        t, conc = self.topics, self.settings.concurrency
        interval = min(15.0, max(0.5, self.settings.stranded_after_s / 4))
        self.app.timer(interval, name="goalconvo.watchdog")(self._watchdog_tick)

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
        stage("dedup", t.dialogues_dedup, t.dialogues_dead_letter, JudgedDialogue, self.on_dedup, concurrency=1)

    async def start(self) -> None:
        await self.llm.start()
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()
        await self.llm.close()
