"""Benchmark: webhook deliveries per second and time from decision to delivery (p50/p95),
next to a raw HTTP POST loop to the same receiver in the same run.

    .venv/bin/python -m bench.notifications.webhooks [--decisions 300] [--concurrency 20]

It runs the notifications service in-process on its own database and bus prefix (real
PostgreSQL and RabbitMQ), a receiver in a separate process on a free loopback port, publishes
``instruction.decision.issued`` events as instruction would and measures, per decision, the
time from publishing the event to the receiver having verified the signed delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from eaps_contracts.base import exchange_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.events.instruction_v1 import DecisionIssuedV1
from eaps_kit.auth import INTERNAL_AUDIENCE
from eaps_kit.db import drop_database
from eaps_kit.testing import TestKeys, app_client, bearer, eventually, free_port, test_database_url
from notifications.adapters.orm import webhook_deliveries
from notifications.config import Settings
from notifications.main import create_app


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def decision(reg: str) -> DecisionIssuedV1:
    account = uuid.uuid4()
    return DecisionIssuedV1(
        decision_id=uuid.uuid4(), case_id=uuid.uuid4(), dossier_id=uuid.uuid4(), registration_number=reg,
        outcome="granted", issued_at=datetime.now(UTC),
        authorisation={
            "authorisation_id": uuid.uuid4(), "number": f"AIMG-{reg}", "type": "AIMG", "holder_account_id": account,
            "holder_name": "Armurerie du Centre", "flow": "IMP", "origin_country": "US", "destination_country": "FR",
            "valid_from": date(2026, 3, 1), "valid_until": date(2027, 2, 28), "status": "valid",
            "lines": [{"line_no": 1, "classification_code": "C-1", "designation": "Carabine", "quantity": 10}],
        },
    )


async def start_receiver(port: int, secret: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_WEBHOOK_SECRET": secret}
    proc = subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
        [sys.executable, "-m", "uvicorn", "bench.notifications.receiver:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env)

    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as c:
                return (await c.get(f"http://127.0.0.1:{port}/stats")).status_code == 200
        except httpx.HTTPError:
            return False
    await eventually(up, timeout=30)
    return proc


async def raw_post_loop(url: str, n: int, concurrency: int, secret: str) -> dict[str, float]:
    """Baseline: signed-like POSTs straight to the receiver (same body size), no service in between."""
    from notifications.webhook_signature import signature_headers

    body = Envelope.wrap(decision("RAW")).model_dump_json().encode()
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one(i: int) -> None:
            async with sem:
                headers = signature_headers([secret], f"msg_raw_{i}", int(time.time()), body)
                headers["x-bench-key"] = f"raw-{concurrency}-{i}"
                t0 = time.perf_counter()
                resp = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                resp.raise_for_status()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - started
    return {"rate": n / elapsed, "p50": pct(latencies, 50), "p95": pct(latencies, 95), "elapsed": elapsed}


async def _has(stats: Any, reg: str) -> bool:
    return reg in (await stats())["received"]


async def run(n: int, concurrency: int, paced: int) -> dict[str, Any]:
    settings = Settings(environment="test", database_url=test_database_url("notifications_bench"),
                        bus_prefix=f"b{uuid.uuid4().hex[:10]}.", smtp_port=free_port(),
                        sms_url=f"http://127.0.0.1:{free_port()}", log_json=False)
    keys = TestKeys()
    app = create_app(settings, token_verifier=keys.verifier())
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    results: dict[str, Any] = {"n": n, "concurrency": concurrency}
    receiver: subprocess.Popen[bytes] | None = None
    try:
        async with app_client(app) as client:
            runtime = app.state.runtime
            machine = bearer(keys.token("bench-admin", roles=["machine"], audience=INTERNAL_AUDIENCE,
                                        access_level=None, scope="decisions:read"))
            created = await client.post("/api/v1/webhooks/endpoints", headers=machine,
                                        json={"url": url, "event_types": ["decision.granted"]})
            created.raise_for_status()
            secret = created.json()["secret"]
            receiver = await start_receiver(port, secret)
            results["raw_sequential"] = await raw_post_loop(url, n, 1, secret)
            results["raw_concurrent"] = await raw_post_loop(url, n, concurrency, secret)
            async with httpx.AsyncClient() as rc:
                await rc.post(f"http://127.0.0.1:{port}/reset")

            async def publish(reg: str) -> None:
                env = Envelope.wrap(decision(reg))
                sent[reg] = time.time()
                await runtime.broker.publish(exchange_of(env.producer), env.routing_key,
                                             env.model_dump_json().encode(), message_id=str(env.event_id))

            async def stats() -> dict[str, Any]:
                async with httpx.AsyncClient() as rc:
                    return (await rc.get(f"http://127.0.0.1:{port}/stats")).json()  # type: ignore[no-any-return]

            # 1. Paced: one decision at a time, the next once the previous was delivered: the latency
            #    of the whole path (consumer, transaction, dispatcher wake-up, signed POST, verification).
            sent: dict[str, float] = {}
            for i in range(paced):
                reg = f"EAPS-P-{i:05d}"
                await publish(reg)
                await eventually(lambda reg=reg: _has(stats, reg), timeout=60, interval=0.01)
            received = (await stats())["received"]
            lat = [received[r] - sent[r] for r in sent]
            results["paced"] = {"p50": pct(lat, 50), "p95": pct(lat, 95), "max": max(lat), "n": paced}
            # Where the time goes: handler commit, dispatcher pick-up, POST until recorded.
            async with runtime.session_factory() as s:
                rows = (await s.execute(sa.select(
                    webhook_deliveries.c.payload["data"]["registration_number"].astext,
                    webhook_deliveries.c.created_at, webhook_deliveries.c.first_attempt_at,
                    webhook_deliveries.c.delivered_at))).all()
            stages: dict[str, list[float]] = {"consumed": [], "picked_up": [], "posted": []}
            for reg, created, first, _delivered in rows:
                if reg in sent:
                    stages["consumed"].append(created.timestamp() - sent[reg])
                    stages["picked_up"].append((first - created).total_seconds())
                    stages["posted"].append(received[reg] - first.timestamp())
            results["stages"] = {k: pct(v, 50) for k, v in stages.items()}

            # 2. Burst: n decisions published as fast as the broker confirms them; deliveries per second from
            #    the first publish to the last delivery, and each decision's time to delivery.
            sent = {}
            started = time.time()
            gate = asyncio.Semaphore(25)  # pipelined confirms, bounded so that none times out

            async def gated(reg: str) -> None:
                async with gate:
                    await publish(reg)
            await asyncio.gather(*(gated(f"EAPS-B-{i:05d}") for i in range(n)))
            publish_elapsed = time.time() - started

            async def all_received() -> dict[str, Any] | None:
                st = await stats()
                return st if sum(1 for k in st["received"] if k.startswith("EAPS-B-")) >= n else None
            final = await eventually(all_received, timeout=600, interval=0.5)
            received = final["received"]
            latencies = [received[reg] - sent[reg] for reg in sent]
            last = max(received[reg] for reg in sent)
            results["webhooks"] = {
                "rate": n / (last - started), "p50": pct(latencies, 50), "p95": pct(latencies, 95),
                "max": max(latencies), "mean": statistics.mean(latencies), "elapsed": last - started,
                "publish_elapsed": publish_elapsed, "rejected_by_receiver": final["rejected"],
            }
            # 3. Backlog drain: with the dispatcher stopped, n decisions are consumed into pending
            #    deliveries; then the dispatcher starts and the rate of signed, verified deliveries
            #    is measured alone (no broker or consumer on the critical path).
            dispatcher = runtime.extras["dispatcher"]
            await dispatcher.stop()
            sent = {}
            await asyncio.gather(*(gated(f"EAPS-D-{i:05d}") for i in range(n)))

            async def backlog() -> bool:
                async with runtime.session_factory() as s:
                    return (await s.execute(sa.select(sa.func.count()).select_from(webhook_deliveries).where(
                        webhook_deliveries.c.status == "pending"))).scalar_one() >= n
            await eventually(backlog, timeout=600, interval=0.5)
            drain_start = time.time()
            await dispatcher.start()

            async def drained() -> dict[str, Any] | None:
                st = await stats()
                return st if sum(1 for k in st["received"] if k.startswith("EAPS-D-")) >= n else None
            final = await eventually(drained, timeout=600, interval=0.2)
            last = max(v for k, v in final["received"].items() if k.startswith("EAPS-D-"))
            results["drain"] = {"rate": n / (last - drain_start), "elapsed": last - drain_start,
                                "rejected_by_receiver": final["rejected"]}
            await runtime.broker.delete_declared()
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(timeout=10)
        await drop_database(settings.database_url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--paced", type=int, default=30)
    args = parser.parse_args()
    r = asyncio.run(run(args.decisions, args.concurrency, args.paced))
    ms = 1000
    print(f"# notifications webhooks benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPU, Python {platform.python_version()}, {r['n']} decisions")
    print("| measure | deliveries/s | p50 (ms) | p95 (ms) |")
    print("|---|---|---|---|")
    w, p = r["webhooks"], r["paced"]
    print(f"| webhooks, {r['n']} decisions at once: event published → signed delivery verified | "
          f"{w['rate']:.1f} | {w['p50'] * ms:.0f} | {w['p95'] * ms:.0f} |")
    print(f"| webhooks, {p['n']} decisions one at a time: event published → delivery verified | "
          f"— | {p['p50'] * ms:.0f} | {p['p95'] * ms:.0f} |")
    for key, label in (("raw_sequential", "raw HTTP POST loop, 1 at a time (baseline)"),
                       ("raw_concurrent", f"raw HTTP POST loop, {r['concurrency']} in flight (baseline)")):
        b = r[key]
        print(f"| {label} | {b['rate']:.1f} | {b['p50'] * ms:.1f} | {b['p95'] * ms:.1f} |")
    d = r["drain"]
    print(f"| webhooks, backlog of {r['n']} deliveries drained by the dispatcher (signed POST, verified) | "
          f"{d['rate']:.1f} | — | — |")
    st = r["stages"]
    print(f"\none at a time, p50 per stage: event consumed and committed {st['consumed'] * ms:.0f} ms, "
          f"picked up by the dispatcher {st['picked_up'] * ms:.0f} ms, signed POST verified {st['posted'] * ms:.0f} ms")
    print(f"backlog drained in {d['elapsed']:.1f} s; refused by the receiver: {d['rejected_by_receiver']}")
    print(f"webhooks: max {w['max'] * ms:.0f} ms, mean {w['mean'] * ms:.0f} ms, total {w['elapsed']:.1f} s "
          f"(publishing the events took {w['publish_elapsed']:.1f} s); deliveries refused by the receiver: "
          f"{w['rejected_by_receiver']}")


if __name__ == "__main__":
    main()
