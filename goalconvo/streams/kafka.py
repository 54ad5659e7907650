"""How every Kafka client is built: the bootstrap servers and the cluster's security, in one place.

A shared cluster wants TLS (the broker's certificate checked against a CA and the host name,
a client certificate where it asks for one) and SASL (PLAIN, SCRAM-SHA-256/512). Every client
GoalConvo makes goes through :class:`KafkaAccess`: Faust's (``faust_credentials``), the
producers (``goals produce``, ``run``, ``replay``, backfill), the consumers (the sink, replay,
the end-offset probe) and the admin client that creates topics. A bare ``"host:port"`` string
means plaintext; the embedded broker is always plaintext on loopback.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from goalconvo.core.settings import Settings, secret


@dataclass(frozen=True)
class KafkaAccess:
    """Bootstrap servers plus what a client needs to be let in (never printed: the password is not in repr)."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    key_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, bootstrap_servers: str | None = None) -> "KafkaAccess":
        """The settings' security for ``bootstrap_servers`` (default: the settings' own)."""
        servers = bootstrap_servers or settings.bootstrap_servers
        if not servers:
            raise ValueError("no Kafka bootstrap servers given")
        sasl = settings.kafka_security_protocol.startswith("SASL")
        return cls(
            bootstrap_servers=servers,
            security_protocol=settings.kafka_security_protocol,
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
            certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
            keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            key_password=secret(settings.kafka_ssl_key_password),
            check_hostname=settings.kafka_ssl_check_hostname,
            sasl_mechanism=settings.kafka_sasl_mechanism if sasl else None,
            sasl_username=settings.kafka_sasl_username if sasl else None,
            sasl_password=secret(settings.kafka_sasl_password) if sasl else None,
        )

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of every connection (None for plaintext): CA, client certificate, host name check."""
        if not self.uses_tls:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cafile)
        ctx.check_hostname = self.check_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED
        if self.certfile:
            ctx.load_cert_chain(self.certfile, self.keyfile, password=self.key_password)
        return ctx

    def client_kwargs(self) -> dict[str, Any]:
        """What an aiokafka producer, consumer or admin client takes for this cluster."""
        kw: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers, "security_protocol": self.security_protocol}
        ctx = self.ssl_context()
        if ctx is not None:
            kw["ssl_context"] = ctx
        if self.sasl_mechanism:
            kw.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                      sasl_plain_password=self.sasl_password)
        return kw

    def producer(self, **kw: Any) -> AIOKafkaProducer:
        return AIOKafkaProducer(**self.client_kwargs(), **kw)

    def consumer(self, *topics: str, **kw: Any) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(*topics, **self.client_kwargs(), **kw)

    def admin(self, **kw: Any) -> AIOKafkaAdminClient:
        return AIOKafkaAdminClient(**self.client_kwargs(), **kw)

    def faust_credentials(self) -> Any:
        """``broker_credentials`` for ``faust.App`` (None for plaintext)."""
        import faust

        ctx = self.ssl_context()
        if self.sasl_mechanism:
            return faust.SASLCredentials(username=self.sasl_username, password=self.sasl_password,
                                         ssl_context=ctx, mechanism=self.sasl_mechanism)
        if ctx is not None:
            return faust.SSLCredentials(ctx)
        return None


Bus = KafkaAccess | str


def access(bus: Bus) -> KafkaAccess:
    """A ``KafkaAccess`` as it is, a bare ``host:port[,...]`` string as plaintext access to it."""
    return bus if isinstance(bus, KafkaAccess) else KafkaAccess(bootstrap_servers=bus)


def servers(bus: Bus) -> str:
    return access(bus).bootstrap_servers


def for_settings(settings: Settings, bus: Bus) -> KafkaAccess:
    """``bus`` as it is when it is a ``KafkaAccess``; a servers string with the settings' security."""
    return bus if isinstance(bus, KafkaAccess) else KafkaAccess.from_settings(settings, bus)
