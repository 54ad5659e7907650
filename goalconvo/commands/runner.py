"""Running the pipeline: a worker, the one-shot run, and the served worker and broker (the bus is ``bus.py``).

``goalconvo run`` and ``goalconvo worker`` call these; tests call the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from goalconvo.commands.bus import open_bus, publish
from goalconvo.commands.goal_batches import goal_events, goals_for_run, goals_from_settings
from goalconvo.core.records import Goal
from goalconvo.core.settings import Settings
from goalconvo.llm import LLMBackend, create_backend
from goalconvo.sinks.consumer import DuckDBSink
from goalconvo.sinks.query_server import QueryServer
from goalconvo.sinks.opening import open_store_waiting
from goalconvo.sinks.store import CorpusStore
from goalconvo.streams.app import Pipeline, topic_partitions
from goalconvo.streams.broker import BrokerError, BusWatch, EmbeddedBroker, ensure_topics, saying_goodbye
from goalconvo.streams.kafka import Bus, for_settings
from goalconvo.streams.topics import Topics

log = logging.getLogger(__name__)

#: How long each part of a worker may take to stop before the rest goes on without it (a broker that is
#: gone makes Faust's and aiokafka's clients retry their goodbyes).
PART_STOP_S = 10.0
#: The same when the broker is known to be gone.
GONE_STOP_S = 2.0


def run_namespace(settings: Settings, store: CorpusStore) -> Settings:
    """The settings a ``run`` uses on a broker it shares: topics and groups of its corpus file's own.

    ``<topic_prefix>f<10 hex>.`` and ``<app_id>-f<10 hex>``, from the file's resolved path and the id
    it got at creation (as ``consumer.sink_group``). Two runs into two files share nothing on the
    broker (no consumer group, no topic, no table: each has its own near-duplicate index and few-shot
    pool); runs into one file, one after another, share them, as the dialogues of one corpus should.
    A run on its own embedded broker needs no namespace.
    """
    if not settings.bootstrap_servers:
        return settings
    tag = "f" + hashlib.sha1(f"{store.path.resolve()}\0{store.corpus_id}".encode()).hexdigest()[:10]
    return settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}{tag}.",
                                       "app_id": f"{settings.app_id}-{tag}"})


class WorkerFailed(RuntimeError):
    """A part of the worker died on its own (the sink): the worker stops and says why."""


class Worker:
    """The stages, the DuckDB sink and its query endpoint, in one process.

    A sink that dies (its store refuses writes, say) or stages that crash are not left
    dead behind a running worker: ``failure`` keeps the error, ``failed`` is set, and
    ``wait``/``raise_if_failed`` raise :class:`WorkerFailed`, which stops ``worker`` and
    ``run`` with the reason.
    """

    def __init__(self, settings: Settings, bootstrap_servers: Bus, *, llm: LLMBackend | None = None, sink: bool = True,
                 store: CorpusStore | None = None):
        self.settings = settings
        self.kafka = for_settings(settings, bootstrap_servers)
        self.bootstrap_servers = self.kafka.bootstrap_servers
        self.pipeline = Pipeline(settings, llm or create_backend(settings), self.kafka)
        # The sink's store answers others' queries: no file access on it (see CorpusStore, sql.run_read).
        self.store: CorpusStore | None = store or (open_store_waiting(settings.db, file_access=False) if sink else None)
        self.sink = DuckDBSink(settings, self.kafka, self.store) if self.store else None
        self.query_server = QueryServer(
            self.store, settings.query_host, settings.query_port,
            allowed_hosts=[h for h in settings.http_allowed_hosts.split(",") if h.strip()],
            timeout_s=settings.query_timeout_s, max_rows=settings.query_max_rows,
        ) if self.store else None
        self.failure: WorkerFailed | None = None
        self.failed = asyncio.Event()
        #: Set when the broker is known to be gone: the stop does not wait for its goodbyes.
        self.broker_gone = False
        self.started_at = time.monotonic()
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.query_server:
            await self.query_server.start()
        # The sink and the stages each wait for their consumer group's join (Tansu holds a join for half
        # the session timeout): wait for both at once; whichever fails is raised once both are done.
        starting = [asyncio.ensure_future(self.pipeline.start())]
        if self.sink:
            starting.append(asyncio.ensure_future(self.sink.start()))
        results = await asyncio.gather(*starting, return_exceptions=True)
        if self.sink and self.sink.task is not None:
            self.sink.task.add_done_callback(self._sink_ended)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self._watch = asyncio.create_task(self._watch_stages(), name="stages-watch")

    async def _watch_stages(self) -> None:
        """A Faust service that crashes (table recovery, say) leaves the worker holding partitions
        it no longer processes: stop it with the reason instead, so they go to another worker."""
        while self.failure is None:
            reason = self.pipeline.crash_reason()
            if reason is not None:
                self.failure = WorkerFailed(f"the stages stopped: {type(reason).__name__}: {reason}")
                log.error("%s; stopping the worker", self.failure)
                self.failed.set()
                return
            await asyncio.sleep(0.5)

    def _sink_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return  # stopped by us
        exc = task.exception()
        what = f"{type(exc).__name__}: {exc}" if exc is not None else "its loop returned"
        self.failure = WorkerFailed(f"the DuckDB sink ({self.settings.db}) stopped: {what}")
        log.error("%s; stopping the worker", self.failure)
        self.failed.set()

    def raise_if_failed(self) -> None:
        if self.failure is not None:
            raise self.failure

    async def wait(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set (returns) or a part of the worker dies (raises WorkerFailed)."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.failed.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        self.raise_if_failed()

    def summary(self) -> dict[str, float | int | None]:
        """What this worker did: turns processed, dialogues stranded by its watchdog, what its sink stored."""
        p = self.pipeline
        return {
            "seconds": round(time.monotonic() - self.started_at, 1),
            "turns": p.turns_marked,
            "stranded": p.watchdog_stats["stranded"],
            "stored": self.sink.stored if self.sink else None,
            "dead_letters": self.sink.dead_lettered if self.sink else None,
        }

    async def stop(self) -> None:
        """Stop every part in order, each within ``PART_STOP_S``: a part that hangs (its broker gone) is left
        behind, and the endpoint files and the store are closed whatever happened before."""
        if self._watch is not None:
            self._watch.cancel()
        try:
            # A broker that is gone cannot take goodbyes (commits, leaving the group): do not wait long for them,
            # nor print the clients' tracebacks about it (the reason was said once).
            bound = GONE_STOP_S if self.broker_gone else PART_STOP_S
            saying_goodbye(self.bootstrap_servers)  # the clients' goodbyes race the stop: not errors of the run
            if self.broker_gone:
                for name in ("faust", "mode", "aiokafka", "asyncio"):
                    logging.getLogger(name).setLevel(logging.CRITICAL)
            await _bounded(self.pipeline.stop(), "the stages", bound)
            if self.sink:
                await _bounded(self.sink.stop(), "the sink", bound)
        finally:
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


async def _bounded(stopping: Any, what: str, seconds: float = 10.0) -> None:
    """Await a part's stop for at most ``PART_STOP_S``. Not ``wait_for``: cancelling a client's stop makes it
    raise CancelledError from its own cleanup (aiokafka's fetcher awaits the tasks it cancels), which would
    look like our task being cancelled. A stop that overruns is left to end with the event loop."""
    task = asyncio.ensure_future(stopping)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        log.warning("%s did not stop within %.0f s (the broker is gone?); going on without them", what, seconds)
    elif not task.cancelled() and task.exception() is not None:
        log.debug("%s stopped with %s", what, task.exception())


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
    #: Of the dead-lettered: dialogues the watchdog found stranded (no progress for stranded_after_s).
    stranded: int = 0
    #: Why the run stopped before every goal was accounted for (its broker gone), else None.
    stopped_by: str | None = None

    @property
    def finished(self) -> bool:
        return self.accepted + self.rejected + self.dead_lettered >= self.goals


ProgressFn = Callable[[dict[str, int]], None]

#: How often ``run`` asks whether its broker is still there (a TCP connect to a given one).
BUS_CHECK_S = 2.0


async def run_goals(
    settings: Settings,
    n_goals: int,
    *,
    goals: Sequence[Goal] | None = None,
    llm: LLMBackend | None = None,
    progress: ProgressFn | None = None,
    timeout_s: float | None = None,
) -> RunSummary:
    """The one command: bus, worker, N goals in, wait until all are stored or dead-lettered.

    On a given broker the run works in its corpus file's namespace (``run_namespace``). It stops
    early, with its counts so far and ``stopped_by`` set, when its broker is gone (``BusWatch``):
    the embedded broker exited, or a given one was unreachable for ``broker_unreachable_s``.
    """
    run_id = time.strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    t0 = time.monotonic()
    batch = goals_for_run(n_goals, run_id, goals) if goals is not None else goals_from_settings(settings, n_goals, run_id)
    counts = {"accepted": 0, "rejected": 0, "dead_lettered": 0, "stranded": 0}
    stopped_by: str | None = None
    model = settings.model or settings.llm
    async with contextlib.AsyncExitStack() as stack:
        # The file first: on a shared broker its identity names the run's topics and groups.
        store = open_store_waiting(settings.db, file_access=False)
        try:
            settings = run_namespace(settings, store)
            kafka, watch = await stack.enter_async_context(open_bus(settings))
            worker = Worker(settings, kafka, llm=llm, store=store)  # closes the store from here on
        except BaseException:
            store.close()
            raise
        async with worker:
            backend = worker.pipeline.llm
            # What phrased the dialogues: the guided engine's label ("template" when the model phrases nothing).
            model = getattr(worker.pipeline.engine, "model_label", backend.model_name)
            worker.store.record_run(run_id, n_goals, settings.llm, model, settings.model_dump(mode="json"))
            # The sink read its start offsets when it started: every goal from here on is this run's to store.
            await publish(kafka, Topics.for_prefix(settings.topic_prefix).goals, goal_events(batch))
            loop = asyncio.get_running_loop()
            next_check = 0.0
            # Every goal ends stored or dead-lettered: a stranded dialogue too, by the watchdog.
            while counts["accepted"] + counts["rejected"] + counts["dead_lettered"] < n_goals:
                if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                    log.error("run %s timed out after %.0fs", run_id, timeout_s)
                    break
                await asyncio.sleep(0.5)
                if worker.failure is not None:
                    raise WorkerFailed(
                        f"{worker.failure}; run {run_id} stopped with {counts['accepted']} accepted, "
                        f"{counts['rejected']} rejected, {counts['dead_lettered']} dead-lettered of {n_goals} goals"
                    )
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + BUS_CHECK_S
                    stopped_by = await watch.gone()
                counts = await loop.run_in_executor(None, worker.store.run_progress, run_id)
                counts["stranded"] = await loop.run_in_executor(None, worker.store.run_stranded, run_id)
                if progress:
                    progress(counts)
                if stopped_by is not None:
                    log.error("run %s stops: %s", run_id, stopped_by)
                    worker.broker_gone = True
                    break
    return RunSummary(
        run_id=run_id,
        goals=n_goals,
        seconds=time.monotonic() - t0,
        db=str(settings.db),
        model=model,
        stopped_by=stopped_by,
        **counts,
    )


async def serve_worker(
    settings: Settings, *, sink: bool = True, stop: asyncio.Event | None = None
) -> dict[str, float | int | None]:
    """A long-running worker against ``settings.bootstrap_servers`` (or an embedded broker).

    Returns its summary once ``stop`` is set (a requested stop); raises WorkerFailed if its sink dies
    or its embedded broker exits (a given broker that goes away is waited for: clients reconnect).
    """
    stop = stop or asyncio.Event()
    async with open_bus(settings) as (kafka, watch):
        async with Worker(settings, kafka, sink=sink) as worker:
            log.info("worker ready on %s", kafka.bootstrap_servers)
            watcher = asyncio.create_task(_fail_when_embedded_broker_exits(worker, watch), name="bus-watch")
            try:
                await worker.wait(stop)
            finally:
                watcher.cancel()
            return worker.summary()


async def _fail_when_embedded_broker_exits(worker: Worker, watch: BusWatch) -> None:
    if watch.embedded is None:
        return
    while worker.failure is None:
        reason = await watch.gone()
        if reason is not None:
            worker.failure = WorkerFailed(reason)
            worker.broker_gone = True
            worker.failed.set()
            return
        await asyncio.sleep(BUS_CHECK_S)


async def serve_broker(
    settings: Settings, port: int, *, stop: asyncio.Event, on_ready: Callable[[str], None], topics: bool = True
) -> float:
    """The embedded broker on its own until ``stop`` is set; returns how long it ran.

    Creates the pipeline's topics for ``settings`` (prefix, app id, partitions) before it
    says it is ready, so a producer that comes first (``goals produce``) cannot make the
    broker auto-create a topic with another partition count. Workers create what is
    missing too (idempotent), so workers of another app id can share this broker.
    """
    t0 = time.monotonic()
    if port:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                raise BrokerError(f"port {port} on 127.0.0.1 is taken ({exc.strerror}); pick another with --port") from None
    broker = EmbeddedBroker(binary=settings.embedded_broker_bin, port=port or None)
    await broker.start()
    try:
        if topics:
            await ensure_topics(broker.bootstrap_servers, topic_partitions(settings))
        on_ready(broker.bootstrap_servers)
        while not stop.is_set():
            code = broker.exited()
            if code is not None:
                raise BrokerError(f"the embedded broker exited on its own (code {code}); every topic in it is lost")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        await broker.stop()
    return time.monotonic() - t0
