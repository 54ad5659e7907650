"""Workers and brokers as real `goalconvo` subprocesses, the way an operator runs them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from goalconvo.core.settings import Settings
from goalconvo.sinks.query_server import endpoint_file, run_query

from polling import wait_for

CLI = [sys.executable, "-m", "goalconvo.commands"]


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GOALCONVO_APP_ID": settings.app_id,
        "GOALCONVO_TOPIC_PREFIX": settings.topic_prefix,
        "GOALCONVO_PARTITIONS": str(settings.partitions),
        "GOALCONVO_SESSION_TIMEOUT_S": str(settings.session_timeout_s),
        "GOALCONVO_CONCURRENCY": str(settings.concurrency),
    }
    env.update(extra)
    return env


class Proc:
    """A subprocess whose stderr goes to a file (no pipe to fill up), read back on failure."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.log = tempfile.NamedTemporaryFile(prefix="goalconvo-", suffix=".log", delete=False)
        self.out = tempfile.NamedTemporaryFile(prefix="goalconvo-", suffix=".out", delete=False)
        self.p = subprocess.Popen(args, env=env, stdout=self.out, stderr=self.log)

    def text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stdout(self) -> str:
        return Path(self.out.name).read_text(errors="replace")

    def poll(self) -> int | None:
        return self.p.poll()

    def signal(self, sig: int) -> None:
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        return self.p.wait(timeout=timeout)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.p.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it does not stop in 30 s."""
        self.signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9


def worker(settings: Settings, bus: str, *, sink: bool = True, delay: float = 0.0, **env: str) -> Proc:
    args = CLI + ["worker", "--bootstrap-servers", bus, "--db", str(settings.db), "--llm", "scripted"]
    if not sink:
        args.append("--no-sink")
    return Proc(args, cli_env(settings, GOALCONVO_LLM_DELAY_S=str(delay), **env))


def broker(settings: Settings) -> tuple[Proc, str]:
    """`goalconvo broker --port 0`; returns the process and its address once it prints it."""
    proc = Proc(CLI + ["broker", "--port", "0"], cli_env(settings))
    found = wait_for(lambda: re.search(r"127\.0\.0\.1:\d+", proc.stdout()) or proc.poll() is not None, 60, 0.1)
    if not isinstance(found, re.Match):
        proc.kill()
        raise AssertionError(f"goalconvo broker printed no address: {proc.stdout()} {proc.text()}")
    return proc, found.group(0)


def endpoint_text(db: Path) -> str:
    try:
        return endpoint_file(db).read_text()
    except OSError:
        return ""


def wait_for_sink(db: Path, proc: Proc, stale: str = "", timeout_s: float = 90) -> None:
    """Until ``proc``'s sink answers for ``db`` (its endpoint file, not ``stale``, one a killed sink left).

    Until then nothing may open the file directly: DuckDB's lock, taken by a reader just
    as the new sink opens the file, would stop that sink at start.
    """
    up = wait_for(lambda: (endpoint_text(db) not in ("", stale)) or proc.poll() is not None, timeout_s, 0.1)
    assert up and proc.poll() is None, f"the sink worker did not come up: {proc.text()}"


def count(db: Path, sql: str) -> int:
    """A figure from the corpus (through the running sink, or the file), -1 while it is unreadable."""
    try:
        return run_query(db, sql).rows[0][0]
    except Exception:  # noqa: BLE001 - the sink is starting or the file is being replaced
        return -1


def stored_once(db: Path, run_id: str) -> tuple[int, int, int]:
    """(rows, distinct dialogues, distinct goals) of a run."""
    assert "'" not in run_id
    rows = run_query(
        db,
        f"select count(*), count(distinct dialogue_id), count(distinct goal_id) from dialogues where run_id = '{run_id}'",
    ).rows[0]
    return tuple(rows)  # type: ignore[return-value]
