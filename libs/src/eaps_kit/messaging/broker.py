"""Connection to RabbitMQ and the names of exchanges and queues."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from eaps_kit.db import StartupError

log = logging.getLogger("eaps.broker")


class Broker:
    """One robust connection per process; channels per purpose."""

    def __init__(self, url: str, prefix: str = "") -> None:
        self.url = url
        self.prefix = prefix
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._lock = asyncio.Lock()
        self.declared_queues: set[str] = set()
        self.declared_exchanges: set[str] = set()

    # names -------------------------------------------------------------
    def exchange_name(self, name: str) -> str:
        """``name`` is an exchange's full name, e.g. ``exchange_of("dossier")``."""
        return f"{self.prefix}{name}"

    def queue_name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    # connection --------------------------------------------------------
    async def connect(self, timeout: float = 10.0) -> AbstractRobustConnection:
        if self._connection is None or self._connection.is_closed:
            try:
                self._connection = await aio_pika.connect_robust(self.url, timeout=timeout)
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
                raise StartupError(f"message broker unreachable at {_safe(self.url)} "
                                   f"({exc.__class__.__name__}: {exc})") from None
        return self._connection

    async def channel(self, *, prefetch: int | None = None) -> AbstractChannel:
        conn = await self.connect()
        ch = await conn.channel(publisher_confirms=True)
        if prefetch:
            await ch.set_qos(prefetch_count=prefetch)
        return ch

    async def publish_channel(self) -> AbstractChannel:
        async with self._lock:
            if self._publish_channel is None or self._publish_channel.is_closed:
                self._publish_channel = await self.channel()
                self._exchanges.clear()
            return self._publish_channel

    async def exchange(self, name: str) -> AbstractExchange:
        """A durable topic exchange, declared once per channel."""
        ch = await self.publish_channel()
        full = self.exchange_name(name)
        ex = self._exchanges.get(full)
        if ex is None:
            ex = await ch.declare_exchange(full, aio_pika.ExchangeType.TOPIC, durable=True)
            self._exchanges[full] = ex
            self.declared_exchanges.add(full)
        return ex

    async def publish(self, exchange: str, routing_key: str, body: bytes, *, message_id: str,
                      headers: dict[str, Any] | None = None, timeout: float = 10.0,
                      content_type: str = "application/json", message_type: str | None = None) -> None:
        """Publish a persistent message and wait for the broker's confirm."""
        if exchange == "":
            ch = await self.publish_channel()
            target: AbstractExchange = ch.default_exchange
        else:
            target = await self.exchange(exchange)
        msg = aio_pika.Message(body=body, message_id=message_id, headers=headers or {},
                               content_type=content_type, type=message_type,
                               delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await asyncio.wait_for(target.publish(msg, routing_key=routing_key), timeout=timeout)

    async def ping(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def delete_declared(self) -> None:
        """Tests: remove what this broker declared (its names carry the test prefix)."""
        if not self.prefix:
            raise RuntimeError("refusing to delete topology without a prefix")
        ch = await self.channel()
        for q in sorted(self.declared_queues):
            await ch.queue_delete(q, if_unused=False, if_empty=False)
        for ex in sorted(self.declared_exchanges):
            await ch.exchange_delete(ex)
        await ch.close()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._publish_channel = None


def _safe(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
