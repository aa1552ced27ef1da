"""The running system seen from its two edges: how long an applicant's transmission takes to
appear in the officer's queue, and a supervisor's signature to reach the applicant's dossier,
next to a raw RabbitMQ publish→consume round trip and an edge's /health/live round trip measured
in the same run.

    .venv/bin/python -m bench.system.edges_journey [--n 15]

Uses the stack answering on 8000/8001 (`make run`), or starts deploy/local/run.py and stops it.
The demo hunter files the requests (its three justificatifs are uploaded once and reused from
the library); the demo officer and supervisor sign in with password + TOTP."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "system"))

from system_testkit import (  # noqa: E402
    HUNTER,
    OFFICER,
    SUPERVISOR,
    Applicant,
    bearer,
    hunter_draft,
    parties,
    seeded_totp_secrets,
    sign_in_applicant,
    sign_in_staff,
    upload_document,
    wait_step_valid,
)

PUBLIC, INTERNAL = "http://127.0.0.1:8000", "http://127.0.0.1:8001"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
POLL = 0.01


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.0f} ms, p95 {pct(values, 95) * 1000:.0f} ms (n={len(values)})"


def ready() -> bool:
    try:
        return all(httpx.get(f"{u}/health/ready", timeout=2).status_code == 200 for u in (PUBLIC, INTERNAL))
    except httpx.HTTPError:
        return False


async def broker_round_trip(n: int) -> list[float]:
    conn = await aio_pika.connect_robust(AMQP)
    ch = await conn.channel(publisher_confirms=True)
    queue = await ch.declare_queue(f"bench-system-{uuid.uuid4().hex[:8]}", durable=True,
                                   arguments={"x-queue-type": "quorum"})
    arrived: asyncio.Queue[float] = asyncio.Queue()

    async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        await msg.ack()
        arrived.put_nowait(time.perf_counter())

    await queue.consume(on_message)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        await ch.default_exchange.publish(aio_pika.Message(b"{}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                          routing_key=queue.name)
        times.append(await arrived.get() - t0)
    await queue.delete(if_unused=False, if_empty=False)
    await conn.close()
    return times


async def until(check: Any, bound: float = 60) -> float:
    t_end = time.perf_counter() + bound
    while time.perf_counter() < t_end:
        if await check():
            return time.perf_counter()
        await asyncio.sleep(POLL)
    raise TimeoutError("condition not met")


async def run(n: int) -> dict[str, list[float]]:
    secrets = seeded_totp_secrets()
    out: dict[str, list[float]] = {"transmission_to_queue": [], "signature_to_applicant": [], "edge_live": []}
    async with httpx.AsyncClient(base_url=PUBLIC, timeout=30) as pub, \
            httpx.AsyncClient(base_url=INTERNAL, timeout=30) as inn:
        hunter = Applicant(HUNTER[0], HUNTER[1], "", "Jean", "Dupont")
        hunter.token = await sign_in_applicant(pub, hunter.email, hunter.password)
        off = (await sign_in_staff(inn, *OFFICER, secrets[OFFICER[0]]))["access_token"]
        sup = (await sign_in_staff(inn, *SUPERVISOR, secrets[SUPERVISOR[0]]))["access_token"]
        library: dict[str, str] = {}
        for _ in range(n):
            t0 = time.perf_counter()
            await pub.get("/health/live")
            out["edge_live"].append(time.perf_counter() - t0)
            d = (await hunter_draft(pub, hunter))["dossier"]
            r = await pub.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=bearer(hunter.token))
            r = await pub.put(f"/api/v1/dossiers/{d['id']}/demandeur", json=parties(hunter),
                              headers=bearer(hunter.token, r.json()["version"]))
            d = r.json()
            for j in d["justificatifs"]:
                if j["code"] not in library:
                    library[j["code"]] = (await upload_document(pub, hunter.token, j["code"], j["label"]))["id"]
                r = await pub.put(f"/api/v1/dossiers/{d['id']}/justificatifs/{j['code']}", headers=bearer(
                    hunter.token, d["version"]), json={"document_id": library[j["code"]]})
                d = r.json()
            d = await wait_step_valid(pub, hunter.token, d["id"])
            t0 = time.perf_counter()
            r = await pub.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=bearer(hunter.token, d["version"]))
            number = r.json()["registration_number"]
            found: dict[str, Any] = {}

            async def in_queue(number: str = number, found: dict[str, Any] = found) -> bool:
                r = await inn.get("/api/v1/instruction/cases", headers=bearer(off),
                                  params={"registration_number": number, "status": "en_etude"})
                items = r.json()["items"]
                if items:
                    found["case"] = items[0]
                return bool(items)
            out["transmission_to_queue"].append(await until(in_queue) - t0)
            c = f"/api/v1/instruction/cases/{found['case']['id']}"
            await inn.post(f"{c}/take", headers=bearer(off))
            await inn.post(f"{c}/admissibility", json={"decision": "recevable"}, headers=bearer(off))
            r = await inn.post(f"{c}/proposals", json={"outcome": "granted"}, headers=bearer(off))
            t0 = time.perf_counter()
            r = await inn.post(f"{c}/proposals/{r.json()['id']}/signature", headers=bearer(sup))
            assert r.status_code == 201, r.text

            async def granted(dossier_id: str = d["id"]) -> bool:
                r = await pub.get(f"/api/v1/dossiers/{dossier_id}", headers=bearer(hunter.token))
                return bool(r.json()["status"]["code"] == "accordee")
            out["signature_to_applicant"].append(await until(granted) - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=15)
    args = parser.parse_args()
    proc = None
    if not ready():
        proc = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "local" / "run.py")], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        t_end = time.monotonic() + 150
        while not ready() and time.monotonic() < t_end:
            time.sleep(1)
        time.sleep(15)  # the demo seed runs after readiness
    try:
        results = asyncio.run(run(args.n))
        rtt = asyncio.run(broker_round_trip(200))
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    print(f"# system benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs")
    print(f"transmission (public edge) -> case in the officer's queue (internal edge): "
          f"{ms(results['transmission_to_queue'])}")
    print(f"signature (internal edge) -> dossier « Accordée » for the applicant (public edge): "
          f"{ms(results['signature_to_applicant'])}")
    print(f"baseline: raw RabbitMQ publish (confirm) -> consume, quorum queue: {ms(rtt)}")
    print(f"baseline: GET /health/live through the public edge: {ms(results['edge_live'])}")
    print(f"(polling every {POLL * 1000:.0f} ms adds up to that much to the two journeys)")


if __name__ == "__main__":
    main()
