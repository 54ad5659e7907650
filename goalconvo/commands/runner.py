"""Running the pipeline: the bus (embedded or given), a worker, and the one-shot run.

``goalconvo run`` and ``goalconvo worker`` call these; tests call the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from goalconvo.core.goals import builtin_goals, load_goal_source, parse_domain_mix, sample_goals
from goalconvo.core.records import Goal, encode
from goalconvo.core.settings import Settings
from goalconvo.llm import LLMBackend, create_backend
from goalconvo.sinks.consumer import DuckDBSink
from goalconvo.sinks.query_server import QueryServer
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.app import Pipeline, topic_partitions
from goalconvo.streams.broker import BrokerError, EmbeddedBroker, ensure_topics
from goalconvo.streams.topics import Topics

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def message_bus(settings: Settings) -> AsyncIterator[str]:
    """Yield bootstrap servers with every topic created: the given Kafka, or an embedded broker."""
    if settings.bootstrap_servers:
        await ensure_topics(settings.bootstrap_servers, topic_partitions(settings))
        yield settings.bootstrap_servers
        return
    broker = EmbeddedBroker(binary=settings.embedded_broker_bin)
    await broker.start()
    try:
        await ensure_topics(broker.bootstrap_servers, topic_partitions(settings))
        yield broker.bootstrap_servers
    finally:
        await broker.stop()


async def publish(bootstrap_servers: str, topic: str, events: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Send (key, value) events to ``topic``; returns how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=5)
    try:
        await producer.start()
    except Exception as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc
    n = 0
    try:
        futures = []
        for key, value in events:
            futures.append(await producer.send(topic, key=key, value=value))
            n += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return n


def goals_for_run(n: int, run_id: str, source: Sequence[Goal] | None = None) -> list[Goal]:
    """N goals cycled from ``source`` (built-in by default), each tagged with the run."""
    pool = list(source) if source else builtin_goals()
    out = []
    for i in range(n):
        g = pool[i % len(pool)].model_copy(deep=True)
        if i >= len(pool):
            g.goal_id = f"{g.goal_id}#{i // len(pool)}"
        g.run_id = run_id
        out.append(g)
    return out


def goals_from_settings(settings: Settings, n: int, run_id: str) -> list[Goal]:
    """A run's goals under the user's knobs: source, domain mix, complexity, failing first requests."""
    return sample_goals(
        n,
        run_id,
        load_goal_source(settings.goal_source),
        seed=settings.seed,
        domain_mix=parse_domain_mix(settings.domain_mix),
        min_domains=settings.min_domains,
        max_domains=settings.max_domains,
        fail_first_rate=settings.fail_first_rate,
    )


def goal_events(goals: Iterable[Goal]) -> Iterable[tuple[bytes, bytes]]:
    return ((g.goal_id.encode(), encode(g)) for g in goals)


class Worker:
    """The stages, the DuckDB sink and its query endpoint, in one process."""

    def __init__(self, settings: Settings, bootstrap_servers: str, *, llm: LLMBackend | None = None, sink: bool = True):
        self.settings = settings
        self.bootstrap_servers = bootstrap_servers
        self.pipeline = Pipeline(settings, llm or create_backend(settings), bootstrap_servers)
        self.store: CorpusStore | None = CorpusStore(settings.db) if sink else None
        self.sink = DuckDBSink(settings, bootstrap_servers, self.store) if self.store else None
        self.query_server = QueryServer(self.store, settings.query_host, settings.query_port) if self.store else None

    async def start(self) -> None:
        if self.query_server:
            await self.query_server.start()
        if self.sink:
            await self.sink.start()
        await self.pipeline.start()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.pipeline.stop()
        if self.sink:
            with contextlib.suppress(Exception):
                await self.sink.stop()
        if self.query_server:
            await self.query_server.stop()
        if self.store:
            self.store.close()

    async def __aenter__(self) -> "Worker":
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@dataclass
class RunSummary:
    run_id: str
    goals: int
    accepted: int
    rejected: int
    dead_lettered: int
    seconds: float
    db: str
    model: str

    @property
    def finished(self) -> bool:
        return self.accepted + self.rejected + self.dead_lettered >= self.goals


ProgressFn = Callable[[dict[str, int]], None]


async def run_goals(
    settings: Settings,
    n_goals: int,
    *,
    goals: Sequence[Goal] | None = None,
    llm: LLMBackend | None = None,
    progress: ProgressFn | None = None,
    timeout_s: float | None = None,
) -> RunSummary:
    """The one command: bus, worker, N goals in, wait until all are stored or dead-lettered."""
    run_id = time.strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    t0 = time.monotonic()
    batch = goals_for_run(n_goals, run_id, goals) if goals is not None else goals_from_settings(settings, n_goals, run_id)
    async with message_bus(settings) as bootstrap:
        async with Worker(settings, bootstrap, llm=llm) as worker:
            assert worker.store is not None
            backend = worker.pipeline.llm
            worker.store.record_run(run_id, n_goals, settings.llm, backend.model_name, settings.model_dump(mode="json"))
            await publish(bootstrap, Topics.for_prefix(settings.topic_prefix).goals, goal_events(batch))
            counts = {"accepted": 0, "rejected": 0, "dead_lettered": 0}
            loop = asyncio.get_running_loop()
            while sum(counts.values()) < n_goals:
                if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                    log.error("run %s timed out after %.0fs", run_id, timeout_s)
                    break
                await asyncio.sleep(0.5)
                counts = await loop.run_in_executor(None, worker.store.run_progress, run_id)
                if progress:
                    progress(counts)
            return RunSummary(
                run_id=run_id,
                goals=n_goals,
                seconds=time.monotonic() - t0,
                db=str(settings.db),
                model=backend.model_name,
                **counts,
            )


async def serve_worker(settings: Settings, *, sink: bool = True, stop: asyncio.Event | None = None) -> None:
    """A long-running worker against ``settings.bootstrap_servers`` (or an embedded broker)."""
    stop = stop or asyncio.Event()
    async with message_bus(settings) as bootstrap:
        async with Worker(settings, bootstrap, sink=sink):
            log.info("worker ready on %s", bootstrap)
            await stop.wait()
