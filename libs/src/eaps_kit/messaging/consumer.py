"""Idempotent consumers with an inbox, retry queues with growing delays and a dead-letter queue.

For a subscription ``purpose`` of service ``svc`` the topology is:

- ``svc.purpose``: quorum queue bound to the producers' exchanges by routing key;
- ``svc.purpose.retry.<i>``: durable queues whose TTL is the i-th delay and which
  dead-letter back into ``svc.purpose``;
- ``svc.purpose.dlq``: quorum queue of messages that failed every retry, or that can
  never succeed (unparseable, or a :class:`PermanentError`), with the error in headers.

The handler runs inside one database transaction together with the inbox insert; the
message is acked only after that transaction committed. A redelivered message finds its
id in the inbox and has no second effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import orjson
import sqlalchemy as sa
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from eaps_contracts.base import Event, exchange_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.registry import REGISTRY
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eaps_kit import telemetry
from eaps_kit.messaging.broker import Broker
from eaps_kit.messaging.outbox import current_envelope
from eaps_kit.messaging.tables import inbox_table

log = logging.getLogger("eaps.consumer")
_inbox = inbox_table(sa.MetaData())

ATTEMPT_HEADER = "x-eaps-attempt"
ERROR_HEADER = "x-eaps-error"
ORIGIN_HEADER = "x-eaps-origin-queue"
FAILED_AT_HEADER = "x-eaps-failed-at"


class PermanentError(Exception):
    """The message can never be handled: dead-letter it at once, without retries."""


@dataclass
class MessageContext:
    session: AsyncSession
    envelope: Envelope
    event: Event | None
    attempt: int


Handler = Callable[[MessageContext], Awaitable[None]]


@dataclass
class Subscription:
    purpose: str
    events: Sequence[type[Event]]
    handler: Handler
    retry_delays: Sequence[float] = (1.0, 5.0, 30.0)
    prefetch: int = 16
    # Extra (exchange, routing key pattern) bindings, for raw subscriptions.
    bindings: Sequence[tuple[str, str]] = field(default_factory=tuple)


class ConsumerRunner:
    def __init__(self, broker: Broker, session_factory: async_sessionmaker[AsyncSession], service: str,
                 subscriptions: Sequence[Subscription]) -> None:
        self.broker = broker
        self.session_factory = session_factory
        self.service = service
        self.subscriptions = list(subscriptions)
        self._channels: list[AbstractChannel] = []
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False

    def queue_name(self, sub: Subscription) -> str:
        return self.broker.queue_name(f"{self.service}.{sub.purpose}")

    async def declare(self, sub: Subscription, channel: AbstractChannel) -> AbstractQueue:
        qname = self.queue_name(sub)
        dlq = await channel.declare_queue(f"{qname}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
        queue = await channel.declare_queue(qname, durable=True, arguments={
            "x-queue-type": "quorum",
            # Safety net if a process dies on a message again and again before acking it.
            "x-delivery-limit": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq.name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        })
        self.broker.declared_queues.update({qname, dlq.name})
        for i, delay in enumerate(sub.retry_delays):
            rq = f"{qname}.retry.{i}"
            await channel.declare_queue(rq, durable=True, arguments={
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": qname,
            })
            self.broker.declared_queues.add(rq)
        bindings = [(exchange_of(e.producer()), e.routing_key()) for e in sub.events] + list(sub.bindings)
        for exch, key in bindings:
            full = self.broker.exchange_name(exch)
            ex = await channel.declare_exchange(full, aio_pika.ExchangeType.TOPIC, durable=True)
            self.broker.declared_exchanges.add(full)
            await queue.bind(ex, routing_key=key)
        return queue

    async def start(self) -> None:
        self._stopping = False
        for sub in self.subscriptions:
            channel = await self.broker.channel(prefetch=sub.prefetch)
            self._channels.append(channel)
            queue = await self.declare(sub, channel)
            tag = await queue.consume(self._make_callback(sub, queue.name))
            self._consumers.append((queue, tag))

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop taking messages, let in-flight handlers finish, then close (unacked are redelivered)."""
        self._stopping = True
        for queue, tag in self._consumers:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        self._consumers.clear()
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=timeout)
        for ch in self._channels:
            with contextlib.suppress(Exception):
                await ch.close()
        self._channels.clear()

    def _make_callback(self, sub: Subscription, qname: str) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        async def on_message(message: AbstractIncomingMessage) -> None:
            if self._stopping:
                # Not started: the broker redelivers it after the channel closes.
                return
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                await self._handle(sub, qname, message)
            finally:
                if task is not None:
                    self._inflight.discard(task)

        return on_message

    async def _handle(self, sub: Subscription, qname: str, message: AbstractIncomingMessage) -> None:
        headers: dict[str, Any] = dict(message.headers or {})  # AMQP field values of any kind
        attempt = int(headers.get(ATTEMPT_HEADER, 0) or 0)
        ctx = telemetry.extract_context(headers)
        with telemetry.tracer("eaps.consumer").start_as_current_span(
                f"{qname} process", context=ctx, kind=SpanKind.CONSUMER,
                attributes={"messaging.system": "rabbitmq", "messaging.destination.name": qname,
                            "messaging.message.id": str(message.message_id)}):
            try:
                envelope = Envelope.model_validate(orjson.loads(message.body))
                cls = REGISTRY.get((envelope.type, envelope.version))
                event = cls.parse_consumed(envelope.data) if cls is not None else None
            except (ValueError, ValidationError) as exc:
                await self._dead_letter(qname, message, f"message illisible : {exc}")
                return
            message_id = str(message.message_id or envelope.event_id)
            try:
                async with self.session_factory() as session, session.begin():
                    inserted = (await session.execute(
                        pg_insert(_inbox).values(consumer=qname.removeprefix(self.broker.prefix), message_id=message_id,
                                                 event_type=envelope.type)
                        .on_conflict_do_nothing().returning(_inbox.c.message_id))).first()
                    if inserted is not None:
                        token = current_envelope.set(envelope)
                        try:
                            await sub.handler(MessageContext(session, envelope, event, attempt))
                        finally:
                            current_envelope.reset(token)
                    else:
                        log.info("duplicate message %s on %s ignored", message_id, qname)
            except PermanentError as exc:
                await self._dead_letter(qname, message, f"{exc.__class__.__name__}: {exc}")
                return
            except Exception as exc:
                log.warning("handler failed on %s (attempt %d): %s", qname, attempt + 1, exc)
                await self._retry_or_dead_letter(sub, qname, message, attempt, exc)
                return
            await message.ack()

    async def _retry_or_dead_letter(self, sub: Subscription, qname: str, message: AbstractIncomingMessage,
                                    attempt: int, exc: Exception) -> None:
        error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        if attempt < len(sub.retry_delays):
            try:
                await self._republish(message, f"{qname}.retry.{attempt}",
                                      {ATTEMPT_HEADER: attempt + 1, ERROR_HEADER: error})
            except Exception as pub_exc:
                log.error("cannot schedule retry (%s); message requeued", pub_exc)
                await message.nack(requeue=True)
                return
            await message.ack()
        else:
            await self._dead_letter(qname, message, error)

    async def _dead_letter(self, qname: str, message: AbstractIncomingMessage, error: str) -> None:
        log.error("message %s dead-lettered from %s: %s", message.message_id, qname, error)
        try:
            await self._republish(message, f"{qname}.dlq", {
                ERROR_HEADER: error[:2000], ORIGIN_HEADER: qname,
                FAILED_AT_HEADER: datetime.now(UTC).isoformat()})
        except Exception as pub_exc:
            log.error("cannot dead-letter (%s); message requeued", pub_exc)
            await message.nack(requeue=True)
            return
        await message.ack()

    async def _republish(self, message: AbstractIncomingMessage, queue: str, extra: dict[str, Any]) -> None:
        headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-death")}
        headers.update(extra)
        await self.broker.publish("", queue, message.body, message_id=str(message.message_id),
                                  headers=headers, content_type=message.content_type or "application/json",
                                  message_type=message.type)
