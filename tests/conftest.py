"""System tests: whole journeys through the edges with every service running.

The `stack` fixture starts `deploy/local/run.py` (what `make run` runs) once per test session,
or reuses a stack that already answers on the standard ports. A test may stop and start it
again (`Stack.restart()`); the fixture's teardown then stops the supervisor it holds at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "http://127.0.0.1:8000"
INTERNAL = "http://127.0.0.1:8001"
SERVICES = {"identity": 8101, "classification": 8102, "dossier": 8103, "documents": 8104,
            "instruction": 8105, "notifications": 8106}
# Every port the supervisor's processes bind: edges, services, S3, clamd, SMTP and SMS sinks.
STACK_PORTS = [8000, 8001, *SERVICES.values(), 9000, 3310, 1025, 1026]
READY_BOUND_SECONDS = 60  # issue 2: every /health/ready green within 60 s on this machine
STOP_BOUND_SECONDS = 90  # the supervisor gives each process 20 s before SIGKILL
LOG = ROOT / "var" / "system-tests-stack.log"


def _all_ready() -> bool:
    urls = [f"{PUBLIC}/health/ready", f"{INTERNAL}/health/ready"] + [
        f"http://127.0.0.1:{p}/health/ready" for p in SERVICES.values()]
    try:
        return all(httpx.get(u, timeout=2).status_code == 200 for u in urls)
    except httpx.HTTPError:
        return False


def listening_pids(port: int) -> list[int]:
    """Processes listening on this loopback TCP port (`ss -ltnp`)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    return sorted({int(p) for p in re.findall(r"pid=(\d+)", out)})


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _launch() -> tuple[subprocess.Popen[bytes] | None, float]:
    """Start deploy/local/run.py in its own process group and wait until every /health/ready answers
    and the demo accounts are seeded. Returns (supervisor, seconds to readiness); the supervisor is
    None when another session's stack, started at the same time on the same ports, answered instead.
    Never leaves a half-started stack: on any failure the new process group is stopped."""
    offset = LOG.stat().st_size if LOG.exists() else 0
    log = open(LOG, "ab") if LOG.parent.exists() else subprocess.DEVNULL
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "local" / "run.py"),
                             "--timeout", str(READY_BOUND_SECONDS)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready_after = None
        while time.monotonic() - started < READY_BOUND_SECONDS + 60:  # + seeding
            if _all_ready():
                ready_after = time.monotonic() - started
                break
            if proc.poll() is not None and time.monotonic() - started > READY_BOUND_SECONDS:
                # (before the bound, another session may be starting a stack on the same ports: ours then
                # stops at once and theirs is used when it answers)
                raise RuntimeError(f"the stack stopped while starting (code {proc.returncode}); see var/log/")
            time.sleep(0.5)
        if ready_after is None:
            raise RuntimeError("the stack did not become ready")
        if proc.poll() is not None:  # another session's stack answered: reuse it, as when it was already up
            return None, ready_after
        # The supervisor seeds the demo accounts after readiness; wait for its banner.
        banner_bound = time.monotonic() + 120
        while log is not subprocess.DEVNULL:
            with open(LOG, "rb") as f:
                f.seek(offset)
                if "e-APS est prêt" in f.read().decode("utf-8", "replace"):
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"the stack stopped while seeding (code {proc.returncode}); see var/log/")
            if time.monotonic() > banner_bound:
                break  # ready; the demo accounts' seeding may still be running
            time.sleep(0.5)
        return proc, ready_after
    except BaseException:
        _stop_group(proc)
        raise
    finally:
        if log is not subprocess.DEVNULL:
            log.close()


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        os.killpg(proc.pid, signal.SIGCONT)  # a supervisor a test froze handles SIGTERM once resumed
        proc.wait(timeout=STOP_BOUND_SECONDS)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class Stack:
    public: str
    internal: str
    var: Path
    started_here: bool
    ready_after: float | None
    proc: subprocess.Popen[bytes] | None = None  # the supervisor this session started, if any

    def supervisor_pid(self) -> int | None:
        """The running supervisor (deploy/local/run.py): ours, or the parent of the public edge."""
        if self.proc is not None and self.proc.poll() is None:
            return self.proc.pid
        for pid in listening_pids(8000):
            stat = _stat(pid)
            if stat and "deploy/local/run.py" in _cmdline(stat[1]):
                return stat[1]
        return None

    def owned_by_another_session(self) -> int | None:
        """The pid of another live pytest session whose fixture started the running stack."""
        sup = self.supervisor_pid()
        stat = _stat(sup) if sup is not None else None
        if stat is None or stat[1] == os.getpid():
            return None
        return stat[1] if "pytest" in _cmdline(stat[1]) and _alive(stat[1]) else None

    def service_pid(self, name: str) -> int:
        [pid] = listening_pids(SERVICES[name])
        return pid

    def listening_pids_of(self, name: str) -> list[int]:
        return listening_pids(SERVICES[name])

    def stop(self) -> None:
        """SIGTERM to the supervisor (which stops every process it started), wait until it has
        exited and no process listens on the stack's ports any more."""
        if self.proc is not None and self.proc.poll() is None:
            _stop_group(self.proc)
        else:
            sup = self.supervisor_pid()
            if sup is not None:
                for sig in (signal.SIGTERM, signal.SIGCONT):
                    try:
                        os.kill(sup, sig)
                    except ProcessLookupError:
                        pass
                bound = time.monotonic() + STOP_BOUND_SECONDS
                while _alive(sup):
                    if time.monotonic() > bound:
                        raise RuntimeError(f"the stack's supervisor {sup} did not stop")
                    time.sleep(0.3)
        self.proc = None
        bound = time.monotonic() + 30
        while busy := [p for p in STACK_PORTS if listening_pids(p)]:
            if self.supervisor_pid() is not None:
                return  # another session started a stack meanwhile (same data): start() will reuse it
            if time.monotonic() > bound:
                raise RuntimeError(f"ports still bound after the stack stopped: {busy}")
            time.sleep(0.3)

    def start(self) -> None:
        self.proc, self.ready_after = _launch()

    def restart(self) -> None:
        """Stop the whole stack and start it again (the data lives in var/, PostgreSQL and RabbitMQ).
        The fixture stops the new supervisor at the end if it started the first one; a stack it
        reused is restarted in its own process group and left running, as it was found."""
        self.stop()
        self.start()

    def ensure_running(self) -> None:
        """After a fault: a stack whose every /health/ready answers, not a half-stopped one."""
        if self.supervisor_pid() is not None and _all_ready():
            return
        self.restart()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if _all_ready():
        yield Stack(PUBLIC, INTERNAL, ROOT / "var", False, None)
        return
    if LOG.exists():
        LOG.write_bytes(b"")  # one session's log
    proc, ready_after = _launch()
    if proc is None:  # another session's stack answered: reuse it, as when it was already up
        yield Stack(PUBLIC, INTERNAL, ROOT / "var", False, None)
        return
    s = Stack(PUBLIC, INTERNAL, ROOT / "var", True, ready_after, proc)
    try:
        yield s
    finally:
        if s.proc is not None:  # the supervisor started last (a test may have restarted the stack)
            _stop_group(s.proc)
