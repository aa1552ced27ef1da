"""The outbox relay: claims committed rows, publishes them with confirms, marks them sent.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so that several replicas share the work
without publishing a row twice at the same time. The relay wakes on ``LISTEN/NOTIFY`` and
polls as a fallback. A failed publish leaves the row pending with a growing delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eaps_kit import telemetry
from eaps_kit.db import asyncpg_dsn
from eaps_kit.messaging.broker import Broker
from eaps_kit.messaging.tables import OUTBOX_CHANNEL, outbox_table

log = logging.getLogger("eaps.outbox")
_outbox = outbox_table(sa.MetaData())


def backoff_seconds(attempts: int, *, base: float = 0.5, cap: float = 60.0) -> float:
    return min(cap, base * 2.0 ** max(0, attempts - 1))


class OutboxRelay:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], broker: Broker, database_url: str,
                 *, batch_size: int = 200, poll_seconds: float = 2.0) -> None:
        self.session_factory = session_factory
        self.broker = broker
        self.dsn = asyncpg_dsn(database_url)
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published_total = 0

    async def start(self) -> None:
        self._stopping = False
        self._listen_task = asyncio.create_task(self._listen(), name="outbox-listen")
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in (self._task, self._listen_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        while not self._stopping:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
                # A liveness check of the LISTEN connection, not a wait for an event.
                while not self._stopping and not conn.is_closed():  # noqa: ASYNC110
                    await asyncio.sleep(5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll fallback keeps working meanwhile
                log.warning("outbox LISTEN connection lost: %s", exc)
                await asyncio.sleep(2)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                n = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay pass failed: %s", exc)
                n = 0
            if n >= self.batch_size:
                continue
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def run_once(self) -> int:
        """Publish one batch of due rows; returns how many were published."""
        async with self.session_factory() as session, session.begin():
            rows = (await session.execute(
                sa.select(_outbox.c.seq, _outbox.c.event_id, _outbox.c.exchange, _outbox.c.routing_key,
                          _outbox.c.body, _outbox.c.headers, _outbox.c.attempts)
                .where(_outbox.c.published_at.is_(None), _outbox.c.next_attempt_at <= sa.func.now())
                .order_by(_outbox.c.seq)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )).all()
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish(r) for r in rows), return_exceptions=True)
            now = datetime.now(UTC)
            ok = [r.seq for r, res in zip(rows, results, strict=True) if res is None]
            if ok:
                await session.execute(sa.update(_outbox).where(_outbox.c.seq.in_(ok))
                                      .values(published_at=now, last_error=None))
            for r, res in zip(rows, results, strict=True):
                if res is not None:
                    attempts = r.attempts + 1
                    await session.execute(sa.update(_outbox).where(_outbox.c.seq == r.seq).values(
                        attempts=attempts, last_error=f"{res.__class__.__name__}: {res}"[:2000],
                        next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts))))
            failed = len(rows) - len(ok)
            if failed:
                log.warning("outbox: %d event(s) could not be published, will retry", failed)
            self.published_total += len(ok)
            return len(ok)

    async def _publish(self, row: sa.Row[Any]) -> None:
        headers = dict(row.headers or {})
        ctx = telemetry.extract_context(headers)
        with telemetry.tracer("eaps.outbox").start_as_current_span(
                f"{row.routing_key} publish", context=ctx, kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "rabbitmq", "messaging.destination.name": row.exchange,
                            "messaging.rabbitmq.destination.routing_key": row.routing_key,
                            "messaging.message.id": str(row.event_id)}):
            headers.update(telemetry.inject_headers())
            await self.broker.publish(row.exchange, row.routing_key, orjson.dumps(row.body),
                                      message_id=str(row.event_id), headers=headers,
                                      message_type=row.body.get("type"))

    async def backlog(self) -> int:
        async with self.session_factory() as session:
            return int((await session.execute(
                sa.select(sa.func.count()).select_from(_outbox).where(_outbox.c.published_at.is_(None)))).scalar_one())
