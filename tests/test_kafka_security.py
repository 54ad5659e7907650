"""Issue 24, item 3: real Kafka can be secured. TLS (CA, client certificate and key, host name check) and
SASL (PLAIN, SCRAM-SHA-256/512) come from settings and GOALCONVO_* variables and reach Faust and every
producer, consumer and admin client; created topics take a replication factor and min.insync.replicas.

Tansu 0.6.0 serves no TLS itself, so the pipeline test puts a TLS-terminating proxy (tests/tls_proxy.py)
on loopback as the broker's advertised listener and runs `run` through it: every client speaks TLS
with the client certificate, none reaches the broker's plaintext port. Tansu's --authentication does
SCRAM, but its users are created through an authenticated connection and its storage is memory only,
so no user can exist when authentication is on: a successful SCRAM login cannot be set up against it.
Its refusal of our SCRAM client is tested, and that each client is built with the SASL settings.
"""

from __future__ import annotations

import ast
import asyncio
import os
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from goalconvo.core.settings import Settings
from goalconvo.streams.broker import BrokerError, EmbeddedBroker, ensure_topics, free_port, tansu_binary
from goalconvo.streams.kafka import KafkaAccess

from conftest import TEST_SESSION_TIMEOUT_S
from tls_proxy import PASSPHRASE, DirectWatch, TLSProxy, make_certs

PACKAGE = Path(__file__).resolve().parents[1] / "goalconvo"


def _settings(base: Settings, **security: object) -> Settings:
    """The test's settings (its own file, topics and group) with ``security`` on top, through validation."""
    keep = ("db", "app_id", "topic_prefix", "llm", "partitions", "session_timeout_s", "concurrency")
    return Settings(**{k: getattr(base, k) for k in keep}, **security)


def test_the_pipeline_runs_through_tls_only(settings: Settings, tmp_path: Path):
    from goalconvo.commands.runner import run_goals

    certs = make_certs(tmp_path / "certs")
    broker_port = free_port()
    with TLSProxy(certs, broker_port) as proxy:
        broker = EmbeddedBroker(port=broker_port, advertised=f"127.0.0.1:{proxy.port}")
        asyncio.run(broker.start())  # its readiness check connects to its own port: before the watch starts
        try:
            s = _settings(settings, bootstrap_servers=f"127.0.0.1:{proxy.port}", kafka_security_protocol="SSL",
                          kafka_ssl_cafile=certs.ca, kafka_ssl_certfile=certs.client_cert,
                          kafka_ssl_keyfile=certs.client_key, kafka_ssl_key_password_file=certs.passphrase_file)
            with DirectWatch(broker_port, proxy.seen.upstream_ports) as watch:
                summary = asyncio.run(run_goals(s, 3, timeout_s=180))
        finally:
            asyncio.run(broker.stop())
    seen = proxy.seen
    assert summary.finished and summary.accepted + summary.rejected == 3, summary
    assert seen.plaintext_requests == 0 and not seen.failed_handshakes, seen
    # The admin client, the goals' producer, Faust's consumer, producer and client, the sink, the end-offset probes.
    assert seen.tls_sessions >= 5, seen
    assert seen.client_subjects == {"goalconvo-client"}, "every session showed the client certificate"
    assert watch.samples > 20 and not watch.strangers, f"plaintext connections to the broker: {watch.strangers}"


def test_a_client_without_tls_is_turned_away_by_the_tls_listener(tmp_path: Path):
    certs = make_certs(tmp_path / "certs")
    with TLSProxy(certs, free_port()) as proxy:
        with pytest.raises(BrokerError, match="cannot reach Kafka"):
            asyncio.run(ensure_topics(f"127.0.0.1:{proxy.port}", {"t": 1}, timeout_s=5))
    assert proxy.seen.plaintext_requests >= 1 and proxy.seen.tls_sessions == 0


def test_the_host_name_is_checked(settings: Settings, tmp_path: Path):
    """The server certificate names 127.0.0.1 and localhost; reached as 127.0.0.2 it is refused, unless the
    check is turned off (kafka_ssl_check_hostname=false), which lets the same handshake through."""
    certs = make_certs(tmp_path / "certs")
    sessions = []
    for check in (True, False):
        with TLSProxy(certs, free_port(), host="127.0.0.2") as proxy:
            s = _settings(settings, bootstrap_servers=f"127.0.0.2:{proxy.port}", kafka_security_protocol="SSL",
                          kafka_ssl_cafile=certs.ca, kafka_ssl_certfile=certs.client_cert,
                          kafka_ssl_keyfile=certs.client_key, kafka_ssl_key_password_file=certs.passphrase_file,
                          kafka_ssl_check_hostname=check)
            with pytest.raises(BrokerError):  # no broker behind this proxy either way
                asyncio.run(ensure_topics(KafkaAccess.from_settings(s), {"t": 1}, timeout_s=3))
            sessions.append(proxy.seen.tls_sessions)
    assert sessions[0] == 0 and sessions[1] >= 1, sessions


def _client_of(client: object) -> object:
    return getattr(client, "client", None) or getattr(client, "_client")


def test_every_client_is_built_with_the_sasl_and_tls_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from goalconvo.llm.scripted import ScriptedBackend
    from goalconvo.sinks.consumer import DuckDBSink
    from goalconvo.sinks.store import CorpusStore
    from goalconvo.streams.app import Pipeline

    certs = make_certs(tmp_path / "certs")
    password = tmp_path / "sasl-password"
    password.write_text("s3cr3t-sasl\n")
    for k, v in {"GOALCONVO_BOOTSTRAP_SERVERS": "127.0.0.1:9", "GOALCONVO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                 "GOALCONVO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "GOALCONVO_KAFKA_SASL_USERNAME": "gc",
                 "GOALCONVO_KAFKA_SASL_PASSWORD_FILE": str(password), "GOALCONVO_KAFKA_SSL_CAFILE": str(certs.ca),
                 "GOALCONVO_KAFKA_SSL_CERTFILE": str(certs.client_cert),
                 "GOALCONVO_KAFKA_SSL_KEYFILE": str(certs.client_key),
                 "GOALCONVO_KAFKA_SSL_KEY_PASSWORD": PASSPHRASE}.items():
        monkeypatch.setenv(k, v)
    s = Settings(db=tmp_path / "c.duckdb", llm="scripted")
    kafka = KafkaAccess.from_settings(s)
    assert "s3cr3t" not in repr(kafka) and PASSPHRASE not in repr(kafka)

    def check(client: object) -> None:
        c = _client_of(client)
        assert (c._security_protocol, c._sasl_mechanism, c._sasl_plain_username, c._sasl_plain_password) == (
            "SASL_SSL", "SCRAM-SHA-256", "gc", "s3cr3t-sasl")
        ctx: ssl.SSLContext = c._ssl_context
        assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.get_ca_certs()

    async def build() -> None:
        for client in (kafka.producer(), kafka.consumer(), kafka.admin()):
            check(client)
        store = CorpusStore(s.db)
        try:
            check(DuckDBSink(s, s.bootstrap_servers, store).consumer)
        finally:
            store.close()
        creds = Pipeline(s, ScriptedBackend(), s.bootstrap_servers).app.conf.broker_credentials
        assert (creds.protocol.value, creds.mechanism.value, creds.username, creds.password) == (
            "SASL_SSL", "SCRAM-SHA-256", "gc", "s3cr3t-sasl")
        assert creds.ssl_context.check_hostname and creds.ssl_context.get_ca_certs()

    asyncio.run(build())


def test_no_kafka_client_is_built_anywhere_else():
    """Every producer, consumer and admin client of the package comes from KafkaAccess (streams/kafka.py)."""
    constructors = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "kafka.py" and path.parent.name == "streams":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if name in constructors:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
    assert not found, found


def test_created_topics_take_the_replication_settings(settings: Settings, broker: EmbeddedBroker,
                                                      monkeypatch: pytest.MonkeyPatch):
    """GOALCONVO_TOPIC_REPLICATION_FACTOR and ..._MIN_INSYNC_REPLICAS reach every CreateTopics request the
    pipeline sends (Tansu, one broker, takes any factor, so the request is what is checked) and the configs."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from goalconvo.commands.bus import open_bus

    sent = []
    create = AIOKafkaAdminClient.create_topics

    async def recording(self, new_topics, *args, **kw):
        sent.extend(new_topics)
        return await create(self, new_topics, *args, **kw)

    monkeypatch.setattr(AIOKafkaAdminClient, "create_topics", recording)
    s = settings.model_copy(update={"bootstrap_servers": broker.bootstrap_servers, "topic_replication_factor": 3,
                                    "topic_min_insync_replicas": 2})

    async def scenario():
        async with open_bus(s):
            pass
        admin = KafkaAccess(broker.bootstrap_servers).admin()
        await admin.start()
        try:
            (resp,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{s.topic_prefix}goals")])
            return {e[0]: e[1] for r in resp.resources for e in r[4]}
        finally:
            await admin.close()

    configs = asyncio.run(scenario())
    assert len(sent) >= 9 and {t.replication_factor for t in sent} == {3}
    assert all(t.topic_configs.get("min.insync.replicas") == "2" for t in sent)
    assert configs.get("min.insync.replicas") == "2"


def test_tansu_refuses_our_scram_client_at_authentication(tmp_path: Path):
    """Tansu's --authentication takes SCRAM: our client gets through the mechanism to the login, which it
    refuses (no user can exist there), with a readable error; a client without SASL is refused too."""
    port = free_port()
    log = tmp_path / "tansu.log"
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen([tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--authentication"], stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        scram = KafkaAccess(f"127.0.0.1:{port}", "SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                            sasl_username="gc", sasl_password="pw")
        with pytest.raises(BrokerError, match="SASL authentication failed"):
            asyncio.run(ensure_topics(scram, {"t": 1}, timeout_s=5))

        async def plain() -> None:
            p = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000)
            try:
                await asyncio.wait_for(p.start(), 5)
            finally:
                await p.stop()

        with pytest.raises(Exception):
            asyncio.run(plain())
    finally:
        proc.terminate()
        proc.wait(10)
    text = log.read_text()
    assert "NotAuthenticated" in text, text[-2000:]
    assert os.path.exists(log)
