"""Browser tests: Playwright for Python driving Debian's Chromium against the real stack.

The session fixture ``stack`` (tests/conftest.py) starts `make run`'s stack or reuses a running
one. ``portal_url`` serves the current code's public edge (applicant portal) on a free loopback
port in front of that stack's services, so the tests never depend on which revision an already
running stack was started from. Shared helpers for the applicant side (used by the officer
portal's tests too): register and verify an applicant through the sinks, sign in, file and
transmit a dossier, check accessibility with axe-core."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from portal_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port  # noqa: E402

# --- the portal under test --------------------------------------------------------------------

@pytest.fixture(scope="session")
def portal_url(stack: Any) -> Iterator[str]:
    port = free_port()
    tag = secrets.token_hex(4)
    env = {**os.environ, "GATEWAY_PUBLIC_PORT": str(port), "GATEWAY_ENVIRONMENT": "dev", "GATEWAY_LOG_JSON": "false",
           "GATEWAY_RATE_LIMIT_PREFIX": f"t{tag}:rl:", "GATEWAY_PORTAL_SESSION_PREFIX": f"t{tag}:portal:",
           # Every browser test registers and signs in people from 127.0.0.1: the strict per-address
           # sign-in limit (tested in gateway/tests and tests/security) would throttle the whole run.
           "GATEWAY_RATE_LIMIT_SIGN_IN": "1000",
           "PYTHONUNBUFFERED": "1"}
    log = open(ROOT / "var" / f"browser-portal-{tag}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "public"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the portal's edge stopped (code {proc.returncode}), see {log.name}")
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the portal's edge did not become ready")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The one Chromium of the run. Playwright's sync API runs its own event loop while it is open, so
    there is one instance per session, and `make test` runs the browser tests in a pytest invocation
    of their own (the asyncio tests must not find that loop running)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, portal_url: str) -> Iterator[Any]:
    # bypass_csp: axe-core is injected as an inline script, which the portal's policy forbids.
    context = browser.new_context(base_url=portal_url, locale="fr-FR", accept_downloads=True, bypass_csp=True,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    p = context.new_page()
    yield p
    context.close()


