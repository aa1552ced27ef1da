"""Messaging benchmark: outbox relay throughput and commit-to-consumer-commit latency,
next to the raw aio-pika publish-with-confirms rate and the raw PostgreSQL single-row
commit rate measured in the same run.

    .venv/bin/python -m bench.messaging.latency [--events 2000] [--latency-samples 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

import aio_pika
import asyncpg
from eaps_contracts.events.documents_v1 import DocumentDeletedV1
from eaps_kit.db import asyncpg_dsn, drop_database, make_engine, make_session_factory, migrate
from eaps_kit.messaging import Broker, ConsumerRunner, MessageContext, OutboxRelay, Subscription, add_event
from eaps_kit.testing import test_database_url, unique_suffix
from sqlalchemy import event as sa_event

MIGRATIONS = Path(__file__).resolve().parents[2] / "libs" / "tests" / "migrations_fixture"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def raw_publish_rate(n: int) -> tuple[float, float]:
    conn = await aio_pika.connect(AMQP)
    ch = await conn.channel(publisher_confirms=True)
    ex = await ch.declare_exchange(f"bench-{unique_suffix()}", aio_pika.ExchangeType.TOPIC, auto_delete=True)
    q = await ch.declare_queue(exclusive=True)
    await q.bind(ex, "#")
    body = b'{"x":' + b"1" * 400 + b"}"
    t = time.perf_counter()
    for _ in range(n):
        await ex.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key="a.b")
    sequential = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, n, 200):
        await asyncio.gather(*(ex.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                          routing_key="a.b") for _ in range(min(200, n - start))))
    batched = n / (time.perf_counter() - t)
    await conn.close()
    return sequential, batched


async def raw_commit_rate(dsn: str, n: int) -> float:
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TEMP TABLE bench_rows (id uuid primary key, body jsonb)")
    t = time.perf_counter()
    for _ in range(n):
        async with conn.transaction():
            await conn.execute("INSERT INTO bench_rows VALUES ($1, '{}'::jsonb)", uuid.uuid4())
    rate = n / (time.perf_counter() - t)
    await conn.close()
    return rate


async def main_async(args: argparse.Namespace) -> None:
    url = test_database_url("bench")
    await migrate(MIGRATIONS, url)
    engine = make_engine(url)
    sf = make_session_factory(engine)
    broker = Broker(AMQP, f"bench{unique_suffix()}.")
    await broker.connect()
    try:
        raw_seq, raw_batch = await raw_publish_rate(args.events)
        raw_commit = await raw_commit_rate(asyncpg_dsn(url), args.events)

        # Relay throughput: a backlog of N committed events, drained by one relay.
        async with sf() as s, s.begin():
            for _ in range(args.events):
                await add_event(s, DocumentDeletedV1(document_id=uuid.uuid4(), owner_account_id=uuid.uuid4()))
        relay = OutboxRelay(sf, broker, url, batch_size=200, poll_seconds=0.05)
        t = time.perf_counter()
        await relay.start()
        # Polls the table the relay drains: there is no event to wait on.
        while await relay.backlog():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        relay_rate = args.events / (time.perf_counter() - t)

        # Latency: producer commit -> consumer's transaction committed (relay and consumer running).
        committed_at: dict[str, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()

        async def handler(ctx: MessageContext) -> None:
            eid = str(ctx.envelope.event_id)

            def after_commit(_session: object) -> None:
                if eid in committed_at:
                    latencies.append(time.perf_counter() - committed_at[eid])
                    if len(latencies) >= args.latency_samples:
                        done.set()

            sa_event.listen(ctx.session.sync_session, "after_commit", after_commit, once=True)

        runner = ConsumerRunner(broker, sf, "bench", [Subscription("latency", [DocumentDeletedV1], handler)])
        await runner.start()
        await asyncio.sleep(0.5)
        for _ in range(args.latency_samples):
            async with sf() as s, s.begin():
                env = await add_event(s, DocumentDeletedV1(document_id=uuid.uuid4(), owner_account_id=uuid.uuid4()))
            committed_at[str(env.event_id)] = time.perf_counter()
            await asyncio.sleep(0.01)  # one event at a time, like a user's actions
        await asyncio.wait_for(done.wait(), timeout=120)
        await runner.stop()
        await relay.stop()
        ms = [x * 1000 for x in latencies]
        print(f"raw aio-pika publish with confirms, sequential : {raw_seq:8.0f} msg/s")
        print(f"raw aio-pika publish with confirms, 200 in flight: {raw_batch:8.0f} msg/s")
        print(f"raw PostgreSQL single-row commit               : {raw_commit:8.0f} commits/s")
        print(f"outbox relay throughput (backlog of {args.events})      : {relay_rate:8.0f} events/s")
        print(f"commit-to-consumer-commit latency ({len(ms)} events): p50 {statistics.median(ms):.1f} ms, "
              f"p95 {pct(ms, 95):.1f} ms, max {max(ms):.1f} ms")
    finally:
        await broker.delete_declared()
        await broker.close()
        await engine.dispose()
        await drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=300)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
