"""Instruction benchmark: time from transmission to the case in the officers' queue (p50/p95),
decision throughput (proposal + four-eyes signature), next to the raw broker round trip measured
in the same run.

    .venv/bin/python -m bench.instruction.queue_and_decisions [--cases 200] [--decisions 100]

Uses the local PostgreSQL and RabbitMQ with a throw-away database and bus prefix (like the tests)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import sqlalchemy as sa
from eaps_contracts.base import exchange_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.events.common import MaterialLine
from eaps_contracts.events.dossier_v1 import ApplicantSnapshot, DossierSnapshot, DossierSubmittedV1
from eaps_kit.db import drop_database
from eaps_kit.messaging import Broker
from eaps_kit.testing import TestKeys, app_client, bearer, test_database_url, unique_suffix
from instruction.adapters.orm import cases
from instruction.config import Settings
from instruction.main import create_app

AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.1f} ms, p95 {pct(values, 95) * 1000:.1f} ms (n={len(values)})"


async def broker_round_trip(prefix: str, n: int, *, quorum: bool) -> list[float]:
    """Publish with confirms through the kit's Broker, receive on a consumer: the floor of any event hop.
    Services consume from durable quorum queues (Raft log written before the confirm)."""
    broker = Broker(AMQP, prefix)
    await broker.connect()
    conn = await aio_pika.connect_robust(AMQP)
    ch = await conn.channel()
    if quorum:
        queue = await ch.declare_queue(f"{prefix}bench.rtt", durable=True, arguments={"x-queue-type": "quorum"})
    else:
        queue = await ch.declare_queue(exclusive=True, auto_delete=True)
    arrived: dict[str, float] = {}
    waiter: asyncio.Future[None] | None = None

    async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        await msg.ack()
        arrived[str(msg.message_id)] = time.perf_counter()
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    await queue.consume(on_message)
    times = []
    for _ in range(n):
        mid = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        await broker.publish("", queue.name, b'{"ping": true}', message_id=mid)
        await waiter
        times.append(arrived[mid] - t0)
    if quorum:
        await queue.delete(if_unused=False, if_empty=False)
    await conn.close()
    await broker.close()
    return times


def snapshot(i: int) -> DossierSnapshot:
    return DossierSnapshot(
        dossier_id=uuid.uuid4(), registration_number=f"BENCH-{unique_suffix()}-{i}", submission_no=1,
        submitted_at=datetime.now(UTC),
        applicant=ApplicantSnapshot(account_id=uuid.uuid4(), kind="professional", profile="armurier",
                                    company_name="Armurerie du Banc d'essai"),
        flow="IMP", origin_country="US", destination_country="FR", authorisation_type="AIMG",
        ruleset_version="2026-01", motive="achat",
        lines=[MaterialLine(line_no=1, classification_code="B-1", designation="Pistolet", quantity=10,
                            unit_value_eur="450.00")])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    prefix = f"b{uuid.uuid4().hex[:10]}."
    keys = TestKeys()
    settings = Settings(database_url=test_database_url("instruction"), bus_prefix=prefix, environment="test",
                        log_json=False, run_jobs=False, documents_url="http://127.0.0.1:9",
                        outbox_poll_seconds=1.0)
    app = create_app(settings, token_verifier=keys.verifier())
    officer_id = uuid.uuid4()
    officer = bearer(keys.officer(officer_id, ttl=3600))
    supervisor = bearer(keys.officer(roles=["supervisor"], ttl=3600))
    results: dict[str, Any] = {}
    try:
        results["broker"] = await broker_round_trip(prefix, args.cases, quorum=False)
        results["broker_quorum"] = await broker_round_trip(prefix, args.cases, quorum=True)
        async with app_client(app) as client:
            publisher = Broker(AMQP, prefix)
            await publisher.connect()

            # 1. Transmission -> visible in the queue (GET /cases), one at a time.
            latencies, committed, case_ids = [], [], []
            sessions = app.state.runtime.session_factory
            for i in range(args.cases):
                snap = snapshot(i)
                env = Envelope.wrap(DossierSubmittedV1(dossier=snap))
                t0 = time.perf_counter()
                await publisher.publish(exchange_of("dossier"), DossierSubmittedV1.routing_key(),
                                        env.model_dump_json().encode(), message_id=str(env.event_id))
                # First the commit of the consumer's transaction (a cheap SQL poll), then the officers' API.
                while True:
                    async with sessions() as session:
                        found = (await session.execute(sa.select(cases.c.id).where(
                            cases.c.registration_number == snap.registration_number))).first()
                    if found is not None:
                        committed.append(time.perf_counter() - t0)
                        break
                    await asyncio.sleep(0.001)
                while True:
                    r = await client.get("/api/v1/instruction/cases", headers=officer,
                                         params={"registration_number": snap.registration_number})
                    body = r.json()
                    if body["total"]:
                        latencies.append(time.perf_counter() - t0)
                        case_ids.append(body["items"][0]["id"])
                        break
                    await asyncio.sleep(0.005)
            results["queue"] = latencies
            results["committed"] = committed

            # 2. Decisions: cases made ready first (taken, admissible), then proposal + signature timed.
            ready = case_ids[: args.decisions]
            for cid in ready:
                await client.post(f"/api/v1/instruction/cases/{cid}/take", headers=officer)
                await client.post(f"/api/v1/instruction/cases/{cid}/admissibility", headers=officer,
                                  json={"decision": "recevable"})
            sem = asyncio.Semaphore(args.concurrency)
            per_decision: list[float] = []

            async def decide(cid: str) -> None:
                async with sem:
                    t0 = time.perf_counter()
                    r = await client.post(f"/api/v1/instruction/cases/{cid}/proposals", headers=officer,
                                          json={"outcome": "granted"})
                    assert r.status_code == 201, r.text
                    r = await client.post(f"/api/v1/instruction/cases/{cid}/proposals/{r.json()['id']}/signature",
                                          headers=supervisor)
                    assert r.status_code == 201, r.text
                    per_decision.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            await asyncio.gather(*(decide(c) for c in ready))
            elapsed = time.perf_counter() - t0
            results["decisions"] = (len(ready), elapsed, per_decision)

            # 3. The PDF of one authorisation (rendering only; storage is the documents service's).
            from instruction.adapters.pdf import render_authorisation_pdf
            sample = {"number": "AIMG-2026-000001", "type": "AIMG", "type_name": "Autorisation d'importation",
                      "legal_basis": "R316-29 CSI", "holder_name": "Armurerie", "holder_address": None,
                      "flow": "IMP", "origin_country": "US", "destination_country": "FR",
                      "valid_from": datetime.now(UTC).date(), "valid_until": datetime.now(UTC).date(),
                      "conditions": None, "registration_number": "X", "issued_at": datetime.now(UTC),
                      "verification_code": "ABCDE-FGHJK", "quantity_limited": True,
                      "lines": [{"line_no": i, "classification_code": "B-1", "designation": "Pistolet",
                                 "calibre": "9x19", "quantity": 1, "value_eur": 450} for i in range(1, 21)]}
            pdf_times = []
            for _ in range(30):
                t = time.perf_counter()
                render_authorisation_pdf(sample)
                pdf_times.append(time.perf_counter() - t)
            results["pdf"] = pdf_times
            await publisher.close()
            await app.state.runtime.broker.delete_declared()
    finally:
        await drop_database(settings.database_url)

    n, elapsed, per = results["decisions"]
    print(f"# instruction benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPU")
    print(f"raw broker round trip, classic queue (publish with confirm -> consumer): {ms(results['broker'])}")
    print(f"raw broker round trip, quorum queue (as the services use):               {ms(results['broker_quorum'])}")
    print(f"transmission -> case committed by the consumer:        {ms(results['committed'])}")
    print(f"transmission -> case in the officers' queue (API):     {ms(results['queue'])}")
    print(f"decisions (proposal + signature, concurrency {args.concurrency}): {n} in {elapsed:.2f} s = "
          f"{n / elapsed:.1f} decisions/s; per decision {ms(per)}")
    print(f"PDF rendering (20 lines): {ms(results['pdf'])}; mean {statistics.mean(results['pdf']) * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
