"""Determination latency of the classification service: in process (the engine alone), over
HTTP straight to the service, and through the public gateway edge under concurrent load, next
to a plain ``GET /health/live`` through the same gateway in the same run.

    .venv/bin/python -m bench.classification.determination [--requests 2000] [--concurrency 16]

Starts its own processes on free loopback ports and stops them at the end: the classification
service (uvicorn, a throwaway database and bus prefix) and the public gateway edge routing to
it (rate limit kept on, with a ceiling the load cannot reach, so its Redis round trip is measured).
The load generator runs on the same machine as the servers."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from classification.adapters.ruleset_files import PACKAGED_RULESETS, load_all
from classification.domain.engine import DeterminationRequest, RequestedItem, determine
from classification.domain.reference import Versions
from eaps_kit.db import drop_database
from eaps_kit.testing import free_port, unique_suffix

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

# A realistic mix: single lines, several lines, an exemption, an outside-scope answer.
BODIES: list[dict[str, Any]] = [
    {"flow": "IMP", "origin_country": "US", "destination_country": "FR",
     "applicant": {"kind": "individual", "profile": "chasseur"},
     "items": [{"classification_code": "C-1-c", "quantity": 1}]},
    {"flow": "INT", "origin_country": "DE", "destination_country": "FR",
     "applicant": {"kind": "individual", "profile": "tireur_sportif"},
     "items": [{"classification_code": "B-1", "quantity": 2}, {"classification_code": "B-10", "quantity": 500},
               {"classification_code": "C-1-b", "quantity": 1}]},
    {"flow": "EXP", "origin_country": "FR", "destination_country": "CH",
     "applicant": {"kind": "professional", "profile": "armurier"},
     "items": [{"classification_code": "B-1", "quantity": 5, "goods_code": "B-1-pistolet-annulaire"}]},
    {"flow": "INT", "origin_country": "BE", "destination_country": "FR",
     "applicant": {"kind": "individual", "profile": "chasseur"}, "motive": "voyage_chasse",
     "items": [{"classification_code": "C-1-c", "quantity": 2}, {"classification_code": "C-7", "quantity": 200}]},
    {"flow": "EXD", "origin_country": "FR", "destination_country": "IT",
     "applicant": {"kind": "professional", "profile": "fabricant"},
     "items": [{"classification_code": "C-1-c", "quantity": 20}, {"classification_code": "C-2", "quantity": 40}]},
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(name: str, latencies: list[float], wall: float | None = None) -> dict[str, Any]:
    ms = [v * 1000 for v in latencies]
    row = {"name": name, "n": len(ms), "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "mean_ms": statistics.fmean(ms)}
    if wall:
        row["rps"] = len(ms) / wall
    return row


def in_process(n: int) -> dict[str, Any]:
    versions = Versions(load_all([PACKAGED_RULESETS]))
    ref = versions.in_force(date.today())
    reqs = [DeterminationRequest(
        flow=b["flow"], origin_country=b["origin_country"], destination_country=b["destination_country"],
        kind=b["applicant"]["kind"], profile=b["applicant"]["profile"], motive=b.get("motive"),
        items=[RequestedItem(i["classification_code"], i["quantity"], i.get("goods_code")) for i in b["items"]])
        for b in BODIES]
    for r in reqs:
        determine(ref, r, today=date.today())
    lat = []
    for k in range(n):
        t = time.perf_counter()
        determine(ref, reqs[k % len(reqs)], today=date.today())
        lat.append(time.perf_counter() - t)
    return summary("moteur en processus (determine)", lat)


async def load(url: str, method: str, n: int, concurrency: int, name: str) -> dict[str, Any]:
    lat: list[float] = []
    errors = 0
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for k in range(concurrency):  # warm-up: open the connections
            await (client.post(url, json=BODIES[k % len(BODIES)]) if method == "POST" else client.get(url))

        async def worker() -> None:
            nonlocal errors
            for k in counter:
                t = time.perf_counter()
                if method == "POST":
                    r = await client.post(url, json=BODIES[k % len(BODIES)])
                else:
                    r = await client.get(url)
                lat.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    row = summary(name, lat, wall)
    row["errors"] = errors
    return row


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{url} did not become ready")
        time.sleep(0.3)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    db_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_classification_bench_{unique_suffix()}"
    svc_port, gw_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    rows: list[dict[str, Any]] = []
    try:
        rows.append(in_process(args.requests * 5))
        env = {**os.environ, "CLASSIFICATION_PORT": str(svc_port), "CLASSIFICATION_DATABASE_URL": db_url,
               "CLASSIFICATION_BUS_PREFIX": f"bench{unique_suffix()}.", "CLASSIFICATION_LOG_LEVEL": "WARNING"}
        svc = subprocess.Popen([PY, "-m", "classification"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        procs.append(svc)
        svc_base = f"http://127.0.0.1:{svc_port}"
        wait_ready(f"{svc_base}/health/ready", svc)
        gw_env = {**os.environ, "GATEWAY_PUBLIC_PORT": str(gw_port), "GATEWAY_CLASSIFICATION_URL": svc_base,
                  "GATEWAY_LOG_LEVEL": "WARNING", "GATEWAY_RATE_LIMIT_DEFAULT": "100000000",
                  "GATEWAY_RATE_LIMIT_PREFIX": f"bench:{unique_suffix()}:"}
        gw = subprocess.Popen([PY, "-m", "gateway", "public"], env=gw_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        procs.append(gw)
        gw_base = f"http://127.0.0.1:{gw_port}"
        wait_ready(f"{gw_base}/health/live", gw)
        det = "/api/v1/classification/determinations"
        n, c = args.requests, args.concurrency
        rows.append(asyncio.run(load(f"{gw_base}/health/live", "GET", n, c,
                                     "référence : GET /health/live via la passerelle")))
        rows.append(asyncio.run(load(f"{gw_base}/api/v1/classification/flows", "GET", n, c,
                                     "référence : GET /api/v1/classification/flows via la passerelle")))
        rows.append(asyncio.run(load(f"{svc_base}{det}", "POST", n, c, "POST determinations direct au service")))
        rows.append(asyncio.run(load(f"{gw_base}{det}", "POST", n, c, "POST determinations via la passerelle")))
    finally:
        for p in reversed(procs):
            stop(p)
        asyncio.run(drop_database(db_url))

    print(f"# classification determination benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# machine: {os.cpu_count()} cœurs, {platform.python_implementation()} {platform.python_version()}, "
          f"{args.requests} requêtes HTTP par mesure, concurrence {args.concurrency}")
    print("| mesure | n | p50 (ms) | p99 (ms) | moyenne (ms) | débit (req/s) | erreurs |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rps = f"{r['rps']:.0f}" if "rps" in r else "—"
        print(f"| {r['name']} | {r['n']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['mean_ms']:.3f} | {rps} | "
              f"{r.get('errors', '—')} |")


if __name__ == "__main__":
    main()
