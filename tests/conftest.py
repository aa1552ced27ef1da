"""System tests: whole journeys through the edges with every service running.

The `stack` fixture starts `deploy/local/run.py` (what `make run` runs) once per test session,
or reuses a stack that already answers on the standard ports."""

from __future__ import annotations

import os
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
READY_BOUND_SECONDS = 60  # issue 2: every /health/ready green within 60 s on this machine


@dataclass
class Stack:
    public: str
    internal: str
    var: Path
    started_here: bool
    ready_after: float | None


def _all_ready() -> bool:
    urls = [f"{PUBLIC}/health/ready", f"{INTERNAL}/health/ready"] + [
        f"http://127.0.0.1:{p}/health/ready" for p in SERVICES.values()]
    try:
        return all(httpx.get(u, timeout=2).status_code == 200 for u in urls)
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if _all_ready():
        yield Stack(PUBLIC, INTERNAL, ROOT / "var", False, None)
        return
    log = open(ROOT / "var" / "system-tests-stack.log", "wb") if (ROOT / "var").exists() else subprocess.DEVNULL
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
            yield Stack(PUBLIC, INTERNAL, ROOT / "var", False, None)
            return
        # The supervisor seeds the demo accounts after readiness; wait for its banner.
        banner_bound = time.monotonic() + 120
        while log is not subprocess.DEVNULL and time.monotonic() < banner_bound:
            if "e-APS est prêt" in (ROOT / "var" / "system-tests-stack.log").read_text("utf-8", "replace"):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"the stack stopped while seeding (code {proc.returncode}); see var/log/")
            time.sleep(0.5)
        yield Stack(PUBLIC, INTERNAL, ROOT / "var", True, ready_after)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
