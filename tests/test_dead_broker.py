"""Issue 24, item 6: a dead broker does not hang `run`. The embedded broker SIGKILLed mid-run, or a given
broker gone for longer than GOALCONVO_BROKER_UNREACHABLE_S: `run` stops within 30 s with a clear message
and its summary (exit code non-zero); SIGTERM and SIGINT end it within 10 s even while its broker hangs;
repeated connection errors are logged once per interval; the endpoint files are removed."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from goalconvo.sinks.query_server import endpoint_file, token_file

from polling import wait_for
from worker_procs import CLI, Proc, count

pytestmark = pytest.mark.slow


def _children(pid: int, name: str) -> list[int]:
    """Processes whose parent is ``pid`` and whose command line names ``name``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and name in cmd:
            out.append(int(entry.name))
    return out


def _run(db: Path, goals: int, *extra: str, **env: str) -> Proc:
    e = {**os.environ, "GOALCONVO_SESSION_TIMEOUT_S": "2", "GOALCONVO_LLM_DELAY_S": "0.2", **env}
    return Proc(CLI + ["run", "--goals", str(goals), "--llm", "scripted", "--db", str(db), *extra], e)


def _running_with_some_stored(db: Path, proc: Proc) -> None:
    assert wait_for(lambda: endpoint_file(db).exists() or proc.poll() is not None, 90, 0.2), proc.text()
    assert wait_for(lambda: count(db, "select count(*) from dialogues") >= 3 or proc.poll() is not None, 120, 0.5)
    assert proc.poll() is None, proc.text()


def _ended_within(proc: Proc, seconds: float) -> float:
    t = time.monotonic()
    try:
        proc.wait(timeout=seconds)
    except Exception:  # noqa: BLE001 - still running: that is the failure
        proc.kill()
        raise AssertionError(f"still running {seconds:.0f} s later; stderr: {proc.text()[-1500:]}") from None
    return time.monotonic() - t


def test_run_stops_with_its_summary_when_the_embedded_broker_dies(tmp_path: Path):
    db = tmp_path / "c.duckdb"
    run = _run(db, 30)
    _running_with_some_stored(db, run)
    (tansu,) = _children(run.p.pid, "tansu")
    os.kill(tansu, signal.SIGKILL)
    took = _ended_within(run, 45)
    err, out = Path(run.log.name).read_text(errors="replace"), run.stdout()
    assert took <= 32, f"took {took:.1f} s to notice"
    assert run.p.returncode == 1, (run.p.returncode, err[-1500:])
    assert "embedded broker exited" in err, err[-1500:]
    assert re.search(r"run run-\S+: 30 goals -> accepted \d+", out), out
    assert not endpoint_file(db).exists() and not token_file(db).exists()
    assert Path(run.log.name).stat().st_size < 100_000, "connection errors were logged without a bound"


def test_run_stops_when_a_given_broker_stays_unreachable(tmp_path: Path):
    db = tmp_path / "c.duckdb"
    env = {**os.environ, "GOALCONVO_SESSION_TIMEOUT_S": "2"}
    broker = Proc(CLI + ["broker", "--port", "0"], env)
    found = wait_for(lambda: re.search(r"127\.0\.0\.1:\d+", broker.stdout()) or broker.poll() is not None, 60, 0.1)
    assert isinstance(found, re.Match), broker.text()
    run = _run(db, 30, "--bootstrap-servers", found.group(0), GOALCONVO_BROKER_UNREACHABLE_S="5")
    try:
        _running_with_some_stored(db, run)
        for pid in _children(broker.p.pid, "tansu"):
            os.kill(pid, signal.SIGKILL)
        broker.kill()
        took = _ended_within(run, 60)
    finally:
        broker.kill()
    err = Path(run.log.name).read_text(errors="replace")
    assert took <= 5 + 32, f"took {took:.1f} s"
    assert run.p.returncode == 1 and "unreachable" in err, err[-1500:]
    assert re.search(r"run run-\S+: 30 goals -> accepted \d+", run.stdout()), run.stdout()
    assert not endpoint_file(db).exists() and not token_file(db).exists()
    unable = len(re.findall(r"Unable connect|Connection refused|KafkaConnectionError", err))
    assert unable <= 10, f"{unable} connection errors logged in {took:.0f} s"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_run_within_10_s_even_while_its_broker_hangs(tmp_path: Path, sig: int):
    db = tmp_path / "c.duckdb"
    run = _run(db, 30)
    _running_with_some_stored(db, run)
    (tansu,) = _children(run.p.pid, "tansu")
    os.kill(tansu, signal.SIGSTOP)  # frozen: every client call to it now waits
    try:
        time.sleep(1.0)
        run.signal(sig)
        took = _ended_within(run, 30)
    finally:
        try:
            os.kill(tansu, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert took <= 10, f"{signal.Signals(sig).name} took {took:.1f} s"
    assert run.p.returncode == 128 + sig, (run.p.returncode, run.text()[-1500:])
    assert not endpoint_file(db).exists() and not token_file(db).exists()
    assert wait_for(lambda: not Path(f"/proc/{tansu}").exists() or "Z" in Path(f"/proc/{tansu}/stat").read_text().split()[2], 10), \
        "the embedded broker outlived its run"
