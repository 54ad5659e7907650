"""Issue 24, item 2: secrets (the LLM API key, a SASL password, a TLS key passphrase) are never stored in
the corpus, logged or printed; they come from environment variables or files, not flags; the settings
stored with a run show them redacted, and a file an older version wrote is redacted when opened."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb

from goalconvo.sinks.store import CorpusStore

from worker_procs import CLI

API_KEY = "sk-live-3f9a2c71-not-for-the-corpus"
SASL_PASSWORD = "sasl-pw-8d1e-not-for-the-corpus"
KEY_PASSPHRASE = "tls-pass-5b7c-not-for-the-corpus"


def test_a_run_stores_logs_and_prints_no_secret(tmp_path: Path):
    db = tmp_path / "c.duckdb"
    passphrase = tmp_path / "key-passphrase"
    passphrase.write_text(KEY_PASSPHRASE + "\n")
    env = {**os.environ, "GOALCONVO_SESSION_TIMEOUT_S": "2", "GOALCONVO_LLM_API_KEY": API_KEY,
           "GOALCONVO_KAFKA_SASL_PASSWORD": SASL_PASSWORD, "GOALCONVO_KAFKA_SSL_KEY_PASSWORD_FILE": str(passphrase)}
    out = subprocess.run(CLI + ["run", "--goals", "2", "--llm", "scripted", "--db", str(db), "--json", "--verbose"],
                         env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    for secret in (API_KEY, SASL_PASSWORD, KEY_PASSPHRASE):
        assert secret not in out.stdout and secret not in out.stderr, f"{secret} was printed or logged"
    con = duckdb.connect(str(db), read_only=True)
    (settings,) = con.execute("select settings from runs").fetchone()
    con.close()
    stored = json.loads(settings)
    assert stored["llm_api_key"] == "**********"
    assert stored["kafka_sasl_password"] == "**********" and stored["kafka_ssl_key_password"] == "**********"
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("c.duckdb*"))
    for secret in (API_KEY, SASL_PASSWORD, KEY_PASSPHRASE):
        assert secret.encode() not in raw, f"{secret} is in the corpus file"


def test_secrets_are_not_flags(tmp_path: Path):
    helps = [subprocess.run(CLI + [*cmd, "--help"], capture_output=True, text=True, timeout=60).stdout
             for cmd in (["run"], ["worker"], ["goals", "produce"], ["replay"], ["backfill", "sink"])]
    for text in helps:
        assert "api-key" not in text and "password" not in text.lower(), text
    out = subprocess.run(CLI + ["run", "--llm-api-key", API_KEY, "--db", str(tmp_path / "x.duckdb")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "No such option" in out.stderr


def test_a_secret_and_its_file_together_are_refused_plainly(tmp_path: Path):
    key = tmp_path / "key"
    key.write_text(API_KEY)
    env = {**os.environ, "GOALCONVO_LLM_API_KEY": API_KEY, "GOALCONVO_LLM_API_KEY_FILE": str(key)}
    out = subprocess.run(CLI + ["run", "--goals", "1", "--llm", "scripted", "--db", str(tmp_path / "c.duckdb")],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not both" in out.stderr and "Traceback" not in out.stderr
    assert API_KEY not in out.stderr and API_KEY not in out.stdout


def test_a_file_an_older_version_wrote_is_redacted_when_opened(tmp_path: Path):
    db = tmp_path / "old.duckdb"
    CorpusStore(db).close()
    con = duckdb.connect(str(db))
    con.execute("insert into runs values ('r-old', 0, 1, 'vllm', 'm', ?)",
                [json.dumps({"llm_api_key": API_KEY, "seed": 3, "max_tokens": 96})])
    con.close()
    CorpusStore(db).close()
    con = duckdb.connect(str(db), read_only=True)
    stored = json.loads(con.execute("select settings from runs where run_id = 'r-old'").fetchone()[0])
    con.close()
    assert stored == {"llm_api_key": "**********", "seed": 3, "max_tokens": 96}
