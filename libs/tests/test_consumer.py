"""Idempotent consumers, retries with delays, dead letters and replay, graceful shutdown —
against real PostgreSQL and RabbitMQ, messages really delivered twice."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
import sqlalchemy as sa
from eaps_contracts.base import exchange_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.events.documents_v1 import DocumentDeletedV1
from eaps_kit.messaging import Broker, ConsumerRunner, DeadLetters, MessageContext, PermanentError, Subscription
from eaps_kit.messaging.deadletters import main as dlq_main
from eaps_kit.testing import eventually

pytestmark = pytest.mark.usefixtures("clean_tables")

effects = sa.Table("effects", sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True),
                   sa.Column("message_id", sa.Text), sa.Column("note", sa.Text))


def event(note: str = "") -> Envelope:
    return Envelope.wrap(DocumentDeletedV1(document_id=uuid.uuid4(), owner_account_id=uuid.uuid4()))


async def publish(broker: Broker, env: Envelope, *, message_id: str | None = None) -> None:
    await broker.publish(exchange_of("documents"), env.routing_key, env.model_dump_json().encode(),
                         message_id=message_id or str(env.event_id), message_type=env.type)


async def effect_rows(session_factory) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with session_factory() as s:
        rows = (await s.execute(sa.select(effects.c.message_id, effects.c.note).order_by(effects.c.id))).all()
        return [tuple(r) for r in rows]


def recording_handler(note: str = "done"):  # type: ignore[no-untyped-def]
    async def handler(ctx: MessageContext) -> None:
        await ctx.session.execute(sa.insert(effects).values(message_id=str(ctx.envelope.event_id), note=note))
    return handler


async def runner_for(broker, session_factory, handler, *, delays=(0.2, 0.4), purpose="test-events"):  # type: ignore[no-untyped-def]
    runner = ConsumerRunner(broker, session_factory, "kit", [
        Subscription(purpose=purpose, events=[DocumentDeletedV1], handler=handler, retry_delays=delays)])
    await runner.start()
    return runner


async def test_message_delivered_twice_has_one_effect(broker, session_factory) -> None:
    runner = await runner_for(broker, session_factory, recording_handler())
    try:
        env = event()
        await publish(broker, env)
        await publish(broker, env)  # the same message id, really delivered twice
        other = event()
        await publish(broker, other)
        await eventually(lambda: _count(session_factory, 2))
        await asyncio.sleep(0.5)
        rows = await effect_rows(session_factory)
        assert sorted(r[0] for r in rows) == sorted([str(env.event_id), str(other.event_id)])
    finally:
        await runner.stop()


async def _count(session_factory, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await effect_rows(session_factory)) >= n


async def test_transient_failure_is_retried_after_a_delay_and_rolls_back_its_effects(broker, session_factory) -> None:
    calls: list[float] = []

    async def flaky(ctx: MessageContext) -> None:
        calls.append(asyncio.get_running_loop().time())
        await ctx.session.execute(sa.insert(effects).values(message_id=str(ctx.envelope.event_id),
                                                            note=f"try {len(calls)}"))
        if len(calls) < 3:
            raise ConnectionError("downstream not ready")

    runner = await runner_for(broker, session_factory, flaky, delays=(0.3, 0.6))
    try:
        env = event()
        await publish(broker, env)
        await eventually(lambda: _count(session_factory, 1))
        # Failed attempts left nothing behind; only the third, successful one did.
        assert await effect_rows(session_factory) == [(str(env.event_id), "try 3")]
        assert len(calls) == 3
        # The retries waited in the delay queues (0.3 s then 0.6 s) before coming back.
        assert calls[1] - calls[0] >= 0.25 and calls[2] - calls[1] >= 0.5
    finally:
        await runner.stop()


async def test_poison_message_is_dead_lettered_while_later_messages_flow_then_replayed(broker, session_factory) -> None:
    poison_ids: set[str] = set()
    healed = False

    async def handler(ctx: MessageContext) -> None:
        if str(ctx.envelope.event_id) in poison_ids and not healed:
            raise ValueError("cannot handle this one")
        await ctx.session.execute(sa.insert(effects).values(message_id=str(ctx.envelope.event_id), note="ok"))

    runner = await runner_for(broker, session_factory, handler, delays=(0.1, 0.2))
    try:
        poison = event()
        poison_ids.add(str(poison.event_id))
        await publish(broker, poison)
        later = [event() for _ in range(5)]
        for env in later:
            await publish(broker, env)
        await eventually(lambda: _count(session_factory, 5))
        dl = DeadLetters(broker)
        letters = await eventually(lambda: dl.list("kit.test-events"))
        assert [d.message_id for d in letters] == [str(poison.event_id)]
        assert "cannot handle this one" in (letters[0].error or "")
        assert letters[0].origin_queue == broker.queue_name("kit.test-events")
        assert str(poison.event_id) not in [r[0] for r in await effect_rows(session_factory)]
        # Listing does not consume them.
        assert len(await dl.list("kit.test-events")) == 1

        healed = True
        assert await dl.replay("kit.test-events") == 1
        await eventually(lambda: _count(session_factory, 6))
        assert str(poison.event_id) in [r[0] for r in await effect_rows(session_factory)]
        assert await dl.list("kit.test-events") == []
    finally:
        await runner.stop()


async def test_unparseable_and_permanent_errors_go_straight_to_the_dead_letter_queue(broker, session_factory) -> None:
    attempts = 0

    async def handler(ctx: MessageContext) -> None:
        nonlocal attempts
        attempts += 1
        raise PermanentError("document inconnu")

    runner = await runner_for(broker, session_factory, handler, delays=(5.0, 5.0))
    try:
        await broker.publish(exchange_of("documents"), "documents.document.deleted.v1", b"not json",
                             message_id="garbage-1")
        bad_data = event().model_dump(mode="json")
        bad_data["data"] = {"document_id": "not-a-uuid"}
        await broker.publish(exchange_of("documents"), "documents.document.deleted.v1", orjson.dumps(bad_data),
                             message_id="bad-data-1")
        env = event()
        await publish(broker, env)
        dl = DeadLetters(broker)
        letters = await eventually(lambda: _at_least(dl, 3))
        assert {d.message_id for d in letters} == {"garbage-1", "bad-data-1", str(env.event_id)}
        assert attempts == 1  # no retry for a permanent error
    finally:
        await runner.stop()


async def _at_least(dl: DeadLetters, n: int):  # type: ignore[no-untyped-def]
    letters = await dl.list("kit.test-events")
    return letters if len(letters) >= n else None


async def test_graceful_shutdown_lets_in_flight_handlers_finish_and_acks_nothing_early(broker, session_factory) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(ctx: MessageContext) -> None:
        started.set()
        await release.wait()
        await ctx.session.execute(sa.insert(effects).values(message_id=str(ctx.envelope.event_id), note="slow"))

    runner = await runner_for(broker, session_factory, slow)
    env = event()
    await publish(broker, env)
    await asyncio.wait_for(started.wait(), timeout=20)
    stopping = asyncio.create_task(runner.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done()  # waits for the in-flight handler
    release.set()
    await stopping
    assert await effect_rows(session_factory) == [(str(env.event_id), "slow")]
    # Nothing is redelivered to a new consumer: the message was acked after its commit.
    runner2 = await runner_for(broker, session_factory, recording_handler("second"))
    try:
        nxt = event()
        await publish(broker, nxt)
        await eventually(lambda: _count(session_factory, 2))
        assert [r[1] for r in await effect_rows(session_factory)] == ["slow", "second"]
    finally:
        await runner2.stop()


async def test_unacked_message_of_a_crashed_consumer_is_redelivered_without_double_effect(
        broker, session_factory, caplog) -> None:
    """A consumer that dies after its commit but before its ack: the redelivery finds the inbox row."""
    from eaps_kit.messaging import consumer as consumer_module

    runner = await runner_for(broker, session_factory, recording_handler("first"))
    original_ack = None
    crashed = asyncio.Event()

    # Close the channel right after the transaction committed, before acking.
    async def crash_instead_of_ack(self):  # type: ignore[no-untyped-def]
        crashed.set()
        raise ConnectionResetError("process died")

    import aio_pika.message as m
    original_ack = m.IncomingMessage.ack
    m.IncomingMessage.ack = crash_instead_of_ack  # type: ignore[method-assign]
    try:
        env = event()
        await publish(broker, env)
        await asyncio.wait_for(crashed.wait(), timeout=20)
    finally:
        m.IncomingMessage.ack = original_ack  # type: ignore[method-assign]
    for ch in runner._channels:
        await ch.close()  # the unacked message goes back to the queue
    await runner.stop()
    caplog.set_level("INFO", logger=consumer_module.log.name)
    runner2 = await runner_for(broker, session_factory, recording_handler("second"))
    try:
        # The broker redelivers it; the second consumer recognises it from the inbox.
        await eventually(lambda: any(f"duplicate message {env.event_id}" in r.getMessage() for r in caplog.records))
        assert await effect_rows(session_factory) == [(str(env.event_id), "first")]
    finally:
        await runner2.stop()


async def test_dead_letter_command_lists_and_replays(broker, session_factory, capsys) -> None:
    async def always_fails(ctx: MessageContext) -> None:
        raise PermanentError("refusé")

    runner = await runner_for(broker, session_factory, always_fails)
    env = event()
    await publish(broker, env)
    await eventually(lambda: DeadLetters(broker).list("kit.test-events"))
    await runner.stop()
    args = ["--prefix", broker.prefix]
    await asyncio.to_thread(dlq_main, args + ["list", "kit.test-events"])
    out = capsys.readouterr()
    assert str(env.event_id) in out.out and "refusé" in out.out
    await asyncio.to_thread(dlq_main, args + ["replay", "kit.test-events", "--message-id", str(env.event_id)])
    assert "1 message(s) replayed" in capsys.readouterr().err
    q = await (await broker.channel()).declare_queue(broker.queue_name("kit.test-events"), passive=True)
    assert q.declaration_result.message_count == 1
