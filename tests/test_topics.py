"""Topic configs: what ``ensure_topics`` creates, and that the compose file's Kafka agrees (issue 14, item 2)."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from goalconvo.core.dead_letters import DEAD_LETTER_MAX_BYTES
from goalconvo.core.settings import Settings
from goalconvo.streams.app import FEWSHOT_TABLE, NEAR_DUP_TABLE, PROGRESS_TABLE, topic_partitions
from goalconvo.streams.broker import EmbeddedBroker, ensure_topics, topic_configs
from goalconvo.streams.topics import Topics, changelog_topic, topic_config

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.kafka.yml"


async def _configs(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await topic_configs(admin, names)
    finally:
        await admin.close()


def test_changelogs_are_created_compacted_and_dead_letter_topics_take_whole_events(settings: Settings, broker: EmbeddedBroker):
    wanted = topic_partitions(settings)
    asyncio.run(ensure_topics(broker.bootstrap_servers, wanted))
    topics = Topics.for_prefix(settings.topic_prefix)
    changelogs = [changelog_topic(settings.app_id, t) for t in (PROGRESS_TABLE, FEWSHOT_TABLE, NEAR_DUP_TABLE)]
    got = asyncio.run(_configs(broker.bootstrap_servers, changelogs + topics.dead_letters()))
    for name in changelogs:
        assert got[name].get("cleanup.policy") == "compact", (name, got[name])
    for name in topics.dead_letters():
        assert got[name].get("max.message.bytes") == str(DEAD_LETTER_MAX_BYTES), (name, got[name])
    # Every other topic keeps the broker's defaults (turns and goals age out).
    plain = [n for n in wanted if n not in changelogs and n not in topics.dead_letters()]
    assert plain and all(topic_config(n) == {} for n in plain)


def test_an_existing_changelog_without_compaction_is_named_in_a_warning(settings: Settings, broker: EmbeddedBroker, caplog):
    name = changelog_topic(settings.app_id, PROGRESS_TABLE)

    async def scenario():
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, settings.partitions, 1)])  # as the old ensure_topics did
        finally:
            await admin.close()
        with caplog.at_level(logging.WARNING, logger="goalconvo.streams.broker"):
            await ensure_topics(broker.bootstrap_servers, topic_partitions(settings))

    asyncio.run(scenario())
    warned = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert warned and "cleanup.policy" in warned[0] and "kafka-configs.sh" in warned[0], caplog.text


def _compose_env() -> dict[str, str]:
    """The kafka service's environment (a small reader: ``KEY: value`` lines under ``environment:``)."""
    env, inside = {}, False
    for line in COMPOSE.read_text().splitlines():
        if re.match(r"^\s+environment:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s{6}([A-Z_]+):\s*(.*?)\s*$", line)
            if m:
                env[m.group(1)] = m.group(2).strip('"')
            elif line.strip() and not line.strip().startswith("#"):
                inside = False
    return env


def test_the_compose_kafka_agrees_with_ensure_topics():
    env = _compose_env()
    assert env, f"no environment read from {COMPOSE}"
    # Compaction of the changelogs that ensure_topics asks for runs only with the log cleaner on,
    # and the broker-wide policy must not compact (or delete-and-compact) goals and turns.
    assert env.get("KAFKA_LOG_CLEANER_ENABLE") == "true", env
    assert env.get("KAFKA_LOG_CLEANUP_POLICY", "delete") == "delete", env
    assert topic_config(changelog_topic("any-app", PROGRESS_TABLE)) == {"cleanup.policy": "compact"}
    assert "topic_config" in COMPOSE.read_text() and "compact" in COMPOSE.read_text()
