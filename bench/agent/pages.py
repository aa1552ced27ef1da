"""Officer portal page latency against the running local stack, next to its baseline: the API
calls the same page makes, sent directly through the same internal edge with the same token.

    .venv/bin/python -m bench.agent.pages [--n 60]

Needs the stack (`make run`) on the standard ports. Starts the current code's internal edge on a
free port, creates a supervisor account (identity's own code), files one dossier as the demo
hunter, then times, sequentially: the queues page vs GET cases/counts + GET cases; the case page
vs GET case + GET audit."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from agent_helpers import HUNTER, Applicant, create_staff, wait_for  # noqa: E402


def timed(fn, n: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for _ in range(5):
        fn()  # warm-up
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"median": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args()
    from eaps_kit.testing import free_port

    port, tag = free_port(), secrets.token_hex(4)
    env = {**os.environ, "GATEWAY_INTERNAL_PORT": str(port), "GATEWAY_ENVIRONMENT": "dev", "GATEWAY_LOG_JSON": "false",
           "GATEWAY_LOG_LEVEL": "WARNING", "GATEWAY_RATE_LIMIT_ENABLED": "false",
           "GATEWAY_PORTAL_SESSION_PREFIX": f"b{tag}:portal:"}
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "internal"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base), timeout=60)
        sup = create_staff([{"first_name": "Banc", "last_name": "Mesure", "roles": ["supervisor"]}])[0]
        hunter = Applicant("http://127.0.0.1:8000", *HUNTER)
        number = hunter.transmit(hunter.hunting_rifle_import())["registration_number"]

        browser = httpx.Client(base_url=base, timeout=30)
        page = browser.get("/agent/connexion")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = browser.post("/agent/connexion", data={"csrf_token": token, "email": sup.email, "password": sup.password,
                                                   "otp": sup.code(), "retour": "/agent/"})
        assert r.status_code == 303, r.text[:500]
        api = httpx.Client(base_url=base, timeout=30)
        tokens = api.post("/api/v1/identity/officers/sessions",
                          json={"email": sup.email, "password": sup.password, "otp": sup.code()}).json()
        h = {"Authorization": f"Bearer {tokens['access_token']}"}
        case = wait_for(lambda: api.get("/api/v1/instruction/cases", params={"registration_number": number},
                                        headers=h).json()["items"], timeout=60)[0]

        def queues_page() -> None:
            assert browser.get("/agent/files").status_code == 200

        def queues_api() -> None:
            assert api.get("/api/v1/instruction/cases/counts", headers=h).status_code == 200
            assert api.get("/api/v1/instruction/cases", params={"status": ["en_etude", "incomplet", "en_instruction",
                                                                            "en_decision"], "limit": 50},
                           headers=h).status_code == 200

        def case_page() -> None:
            assert browser.get(f"/agent/dossiers/{case['id']}").status_code == 200

        def case_api() -> None:
            assert api.get(f"/api/v1/instruction/cases/{case['id']}", headers=h).status_code == 200
            assert api.get(f"/api/v1/instruction/cases/{case['id']}/audit", headers=h).status_code == 200

        results = {"queues page (GET /agent/files)": timed(queues_page, args.n),
                   "baseline: its 2 API calls in sequence": timed(queues_api, args.n),
                   "case page (GET /agent/dossiers/{id})": timed(case_page, args.n),
                   "baseline: its 2 API calls in sequence ": timed(case_api, args.n)}
        print(f"n = {args.n} sequential requests each, after 5 warm-up requests")
        print(f"{'what':48} {'median ms':>10} {'p95 ms':>10}")
        for name, r_ in results.items():
            print(f"{name:48} {r_['median']:10.1f} {r_['p95']:10.1f}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
