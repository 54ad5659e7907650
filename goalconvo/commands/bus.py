"""The message bus a command talks to: the given Kafka or an embedded broker, its topics made, and publishing.

``run``, ``worker``, ``goals produce`` and the tests open it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from goalconvo.core.wire import check_event_size
from goalconvo.core.settings import Settings
from goalconvo.streams.app import topic_partitions
from goalconvo.streams.broker import BrokerError, BusWatch, EmbeddedBroker, describe_error, ensure_topics
from goalconvo.streams.kafka import Bus, KafkaAccess, access


@contextlib.asynccontextmanager
async def open_bus(settings: Settings) -> AsyncIterator[tuple[KafkaAccess, BusWatch]]:
    """The bus with every topic created: the given Kafka (with the settings' TLS/SASL) or an embedded
    broker (plaintext on loopback), and a watch that says when it is gone."""
    topics = topic_partitions(settings)
    replication = {"replication_factor": settings.topic_replication_factor,
                   "min_insync_replicas": settings.topic_min_insync_replicas}
    if settings.bootstrap_servers:
        kafka = KafkaAccess.from_settings(settings)
        await ensure_topics(kafka, topics, **replication)
        yield kafka, BusWatch(kafka.bootstrap_servers, None, settings.broker_unreachable_s)
        return
    broker = EmbeddedBroker(binary=settings.embedded_broker_bin)
    await broker.start()
    try:
        kafka = KafkaAccess(broker.bootstrap_servers)
        await ensure_topics(kafka, topics)
        yield kafka, BusWatch(kafka.bootstrap_servers, broker, settings.broker_unreachable_s)
    finally:
        await broker.stop()


@contextlib.asynccontextmanager
async def message_bus(settings: Settings) -> AsyncIterator[KafkaAccess]:
    """The bus with every topic created (``open_bus`` without its watch)."""
    async with open_bus(settings) as (kafka, _):
        yield kafka


async def publish(bus: Bus, topic: str, events: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Send (key, value) events to ``topic``; returns how many were sent.

    Each value is checked against an event's size limit before anything is produced
    (``EventTooLarge``, a ValueError), so a file is refused whole rather than half sent.
    """
    kafka = access(bus)
    events = [(key, value if value is None else check_event_size(value, f"event {i}"))
              for i, (key, value) in enumerate(events, start=1)]
    producer = kafka.producer(linger_ms=5)
    try:
        await producer.start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise BrokerError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {describe_error(exc)}") from exc
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
