"""The transactional outbox and its relay, against real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika
import pytest
import sqlalchemy as sa
from eaps_contracts.base import exchange_of
from eaps_contracts.events.documents_v1 import DocumentDeletedV1
from eaps_kit.messaging import Broker, OutboxRelay, add_event
from eaps_kit.testing import TcpProxy, eventually

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
widgets = sa.Table("widgets", sa.MetaData(), sa.Column("id", sa.Uuid, primary_key=True), sa.Column("name", sa.Text))

pytestmark = pytest.mark.usefixtures("clean_tables")


def deleted(n: int = 0) -> DocumentDeletedV1:
    return DocumentDeletedV1(document_id=uuid.uuid4(), owner_account_id=uuid.uuid4())


class Collector:
    """What a consuming service would see on the documents exchange."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.messages: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def start(self) -> None:
        self.conn = await aio_pika.connect(AMQP_URL)
        ch = await self.conn.channel()
        ex = await ch.declare_exchange(self.broker.exchange_name(exchange_of("documents")),
                                       aio_pika.ExchangeType.TOPIC, durable=True)
        self.broker.declared_exchanges.add(ex.name)
        q = await ch.declare_queue(exclusive=True)
        await q.bind(ex, routing_key="#")
        await q.consume(self._on)

    async def _on(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.messages.append(msg)
        await msg.ack()

    @property
    def ids(self) -> list[str]:
        return [str(m.message_id) for m in self.messages]

    async def stop(self) -> None:
        await self.conn.close()


@pytest.fixture
async def collector(broker: Broker):  # type: ignore[no-untyped-def]
    c = Collector(broker)
    await c.start()
    yield c
    await c.stop()


async def test_state_change_and_event_commit_together(session_factory, broker, db_url, collector) -> None:
    relay = OutboxRelay(session_factory, broker, db_url, poll_seconds=0.5)
    await relay.start()
    try:
        wid = uuid.uuid4()
        async with session_factory() as s, s.begin():
            await s.execute(sa.insert(widgets).values(id=wid, name="committed"))
            env = await add_event(s, deleted())
        await eventually(lambda: str(env.event_id) in collector.ids)
        msg = collector.messages[0]
        body = json.loads(msg.body)
        assert body["type"] == "documents.document.deleted" and body["version"] == 1
        assert msg.routing_key == "documents.document.deleted.v1"
        assert msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        async with session_factory() as s:
            assert (await s.execute(sa.select(widgets.c.name).where(widgets.c.id == wid))).scalar_one() == "committed"
    finally:
        await relay.stop()


async def test_rolled_back_transaction_publishes_nothing(session_factory, broker, db_url, collector) -> None:
    relay = OutboxRelay(session_factory, broker, db_url, poll_seconds=0.2)
    await relay.start()
    try:
        with pytest.raises(RuntimeError):
            async with session_factory() as s, s.begin():
                await s.execute(sa.insert(widgets).values(id=uuid.uuid4(), name="rolled back"))
                await add_event(s, deleted())
                raise RuntimeError("business rule failed")
        # A later committed event is published: the relay is alive and saw no other row.
        async with session_factory() as s, s.begin():
            later = await add_event(s, deleted())
        await eventually(lambda: str(later.event_id) in collector.ids)
        assert collector.ids == [str(later.event_id)]
        async with session_factory() as s:
            assert (await s.execute(sa.select(sa.func.count()).select_from(widgets))).scalar_one() == 0
    finally:
        await relay.stop()


async def test_broker_unreachable_events_wait_then_all_delivered_once(
        session_factory, prefix, db_url, collector) -> None:
    """The relay reaches RabbitMQ through a proxy that the test cuts: events stay in the outbox,
    then each is delivered exactly once when the broker is reachable again."""
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    relay_broker = Broker(f"amqp://guest:guest@127.0.0.1:{proxy.port}/", prefix)
    await relay_broker.connect()
    relay = OutboxRelay(session_factory, relay_broker, db_url, poll_seconds=0.3)
    await relay.start()
    try:
        await proxy.cut()
        ids = []
        for _ in range(20):
            async with session_factory() as s, s.begin():
                ids.append(str((await add_event(s, deleted())).event_id))
        # They wait in the outbox while the broker is cut off.
        await eventually(lambda: _attempted(session_factory), timeout=30)
        assert await relay.backlog() == 20
        assert collector.ids == []
        await proxy.restore()
        await eventually(lambda: len(collector.ids) >= 20, timeout=60)
        await asyncio.sleep(1.0)  # let any duplicate that would be sent arrive before counting
        assert sorted(collector.ids) == sorted(ids)
        assert await relay.backlog() == 0
    finally:
        await relay.stop()
        await proxy.close()
        await relay_broker.close()


async def _attempted(session_factory) -> bool:  # type: ignore[no-untyped-def]
    async with session_factory() as s:
        n = (await s.execute(
            sa.text("SELECT count(*) FROM outbox WHERE attempts > 0 AND published_at IS NULL"))).scalar_one()
    return n > 0


async def test_two_relays_share_rows_without_double_publish(session_factory, broker, db_url, collector) -> None:
    ids = []
    async with session_factory() as s, s.begin():
        for _ in range(300):
            ids.append(str((await add_event(s, deleted())).event_id))
    relays = [OutboxRelay(session_factory, broker, db_url, batch_size=25, poll_seconds=0.2) for _ in range(2)]
    for r in relays:
        await r.start()
    try:
        await eventually(lambda: len(collector.ids) >= 300, timeout=60)
        await asyncio.sleep(0.5)
        assert sorted(collector.ids) == sorted(ids)
        assert sum(r.published_total for r in relays) == 300
    finally:
        for r in relays:
            await r.stop()


async def test_notify_wakes_the_relay_before_the_poll(session_factory, broker, db_url, collector) -> None:
    relay = OutboxRelay(session_factory, broker, db_url, poll_seconds=3600)
    await relay.start()
    try:
        await asyncio.sleep(0.5)  # LISTEN connection established
        async with session_factory() as s, s.begin():
            env = await add_event(s, deleted())
        # With an hour-long poll, only LISTEN/NOTIFY can have woken it.
        await eventually(lambda: str(env.event_id) in collector.ids, timeout=30)
    finally:
        await relay.stop()
