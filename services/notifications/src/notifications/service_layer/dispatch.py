"""The dispatcher: sends what the handlers queued (emails, SMS, webhook deliveries) and records
each outcome. The retry schedule lives in the database (``next_attempt_at``), never in
in-memory sleeps: a restart, or another replica, picks up where this one left off.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` and leased (``next_attempt_at`` pushed to
now + lease) so the network call happens outside any transaction; a process that dies mid-send
lets the lease expire and the row is tried again. Times come from the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import sqlalchemy as sa
from eaps_contracts.events.notifications_v1 import NotificationDeliveredV1, NotificationFailedV1
from eaps_kit.db import asyncpg_dsn
from eaps_kit.messaging import add_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.adapters.mailer import SmtpMailer
from notifications.adapters.orm import (
    DISPATCH_CHANNEL,
    messages,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)
from notifications.adapters.sms import SmsProvider
from notifications.domain.clock import Clock
from notifications.domain.errors import PermanentDeliveryError, TransientDeliveryError
from notifications.domain.retry import next_delay
from notifications.webhook_signature import signature_headers

log = logging.getLogger("notifications.dispatch")

GONE_REASON = "Le point de terminaison a répondu 410 (Gone) : il a été désactivé."


@dataclass
class DispatchConfig:
    batch_size: int = 100
    poll_seconds: float = 1.0
    lease_seconds: float = 120.0
    message_delays: Sequence[float] = ()
    webhook_delays: Sequence[float] = ()
    webhook_timeout: float = 10.0


@dataclass
class _Outcome:
    ok: bool
    permanent: bool = False
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


class Dispatcher:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        database_url: str,
        clock: Clock,
        mailer: SmtpMailer,
        sms: SmsProvider,
        http: httpx.AsyncClient,
        config: DispatchConfig,
    ) -> None:
        self.session_factory = session_factory
        self.dsn = asyncpg_dsn(database_url)
        self.clock = clock
        self.mailer = mailer
        self.sms = sms
        self.http = http
        self.config = config
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._listen(), name="dispatch-listen"),
            asyncio.create_task(self._run(), name="dispatch-loop"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        while not self._stopping:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                await conn.add_listener(DISPATCH_CHANNEL, lambda *_: self._wake.set())
                while not self._stopping and not conn.is_closed():  # noqa: ASYNC110 (watching the connection)
                    await asyncio.sleep(5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll fallback keeps working meanwhile
                log.warning("dispatch LISTEN connection lost: %s", exc)
                await asyncio.sleep(2)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                n = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("dispatch pass failed: %s", exc)
                n = 0
            if n >= self.config.batch_size:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_seconds)

    async def run_once(self) -> int:
        """One pass over both queues; returns the most rows handled by either."""
        sent, delivered = await asyncio.gather(self.send_messages(), self.deliver_webhooks())
        return max(sent, delivered)

    # emails and SMS ----------------------------------------------------------
    async def send_messages(self) -> int:
        now = self.clock.now()
        lease = now + timedelta(seconds=self.config.lease_seconds)
        async with self.session_factory() as session, session.begin():
            due = (
                sa.select(messages.c.id)
                .where(messages.c.status == "pending", messages.c.next_attempt_at <= now)
                .order_by(messages.c.next_attempt_at)
                .limit(self.config.batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = (
                await session.execute(
                    sa.update(messages)
                    .where(messages.c.id.in_(due))
                    .values(attempts=messages.c.attempts + 1, next_attempt_at=lease)
                    .returning(*messages.c)
                )
            ).all()
        if not rows:
            return 0
        outcomes = await asyncio.gather(*(self._send_message(r) for r in rows))
        done = self.clock.now()
        async with self.session_factory() as session, session.begin():
            for row, outcome in zip(rows, outcomes, strict=True):
                await self._record_message(session, row, outcome, done)
        return len(rows)

    async def _send_message(self, row: Any) -> _Outcome:
        try:
            if row.channel == "email":
                await self.mailer.send(
                    message_id=str(row.id), to=row.address, subject=row.subject, text=row.body_text, html=row.body_html
                )
            else:
                await self.sms.send(message_id=str(row.id), to=row.address, text=row.body_text)
        except PermanentDeliveryError as exc:
            return _Outcome(ok=False, permanent=True, error=str(exc)[:2000])
        except TransientDeliveryError as exc:
            return _Outcome(ok=False, error=str(exc)[:2000])
        except Exception as exc:  # an adapter bug must not stop the dispatcher: retried like a transient error
            log.exception("unexpected error sending %s %s", row.channel, row.id)
            return _Outcome(ok=False, error=f"{exc.__class__.__name__}: {exc}"[:2000])
        return _Outcome(ok=True)

    async def _record_message(self, session: AsyncSession, row: Any, outcome: _Outcome, now: datetime) -> None:
        # Guarded by the attempt number: a lease that expired and was re-claimed is not overwritten.
        where = sa.and_(messages.c.id == row.id, messages.c.attempts == row.attempts, messages.c.status == "pending")
        if outcome.ok:
            await session.execute(
                sa.update(messages).where(where).values(status="delivered", delivered_at=now, last_error=None)
            )
            await add_event(
                session,
                NotificationDeliveredV1(
                    notification_id=row.id,
                    channel=row.channel,
                    template=row.template,
                    recipient_account_id=row.recipient_account_id,
                    cause_event_id=row.cause_event_id,
                    delivered_at=now,
                ),
            )
            return
        delay = None if outcome.permanent else next_delay(row.attempts, self.config.message_delays)
        if delay is not None:
            await session.execute(
                sa.update(messages).where(where).values(next_attempt_at=now + delay, last_error=outcome.error)
            )
            return
        log.warning("%s %s failed for good: %s", row.channel, row.id, outcome.error)
        await session.execute(sa.update(messages).where(where).values(status="failed", last_error=outcome.error))
        await add_event(
            session,
            NotificationFailedV1(
                notification_id=row.id,
                channel=row.channel,
                template=row.template,
                recipient_account_id=row.recipient_account_id,
                cause_event_id=row.cause_event_id,
                error=outcome.error or "échec",
                failed_at=now,
            ),
        )

    # webhooks ----------------------------------------------------------------
    async def deliver_webhooks(self) -> int:
        now = self.clock.now()
        lease = now + timedelta(seconds=self.config.lease_seconds)
        async with self.session_factory() as session, session.begin():
            due = (
                sa.select(webhook_deliveries.c.id)
                .where(webhook_deliveries.c.status == "pending", webhook_deliveries.c.next_attempt_at <= now)
                .order_by(webhook_deliveries.c.next_attempt_at)
                .limit(self.config.batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = (
                await session.execute(
                    sa.update(webhook_deliveries)
                    .where(webhook_deliveries.c.id.in_(due))
                    .values(
                        attempts=webhook_deliveries.c.attempts + 1,
                        next_attempt_at=lease,
                        last_attempt_at=now,
                        first_attempt_at=sa.func.coalesce(webhook_deliveries.c.first_attempt_at, now),
                    )
                    .returning(*webhook_deliveries.c)
                )
            ).all()
            if not rows:
                return 0
            endpoint_ids = {r.endpoint_id for r in rows}
            endpoints = {
                e.id: e
                for e in (
                    await session.execute(sa.select(webhook_endpoints).where(webhook_endpoints.c.id.in_(endpoint_ids)))
                ).all()
            }
        outcomes = await asyncio.gather(*(self._post(r, endpoints.get(r.endpoint_id), now) for r in rows))
        done = self.clock.now()
        async with self.session_factory() as session, session.begin():
            for row, outcome in zip(rows, outcomes, strict=True):
                await self._record_webhook(session, row, outcome, done)
        return len(rows)

    async def _post(self, row: Any, endpoint: Any, now: datetime) -> _Outcome | None:
        if endpoint is None or not endpoint.enabled:
            return None
        secrets = [endpoint.secret]
        if (
            endpoint.previous_secret
            and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > now
        ):
            secrets.append(endpoint.previous_secret)
        body = orjson.dumps(row.payload)
        headers = signature_headers(secrets, row.id, int(self.clock.now().timestamp()), body)
        headers["content-type"] = "application/json"
        headers["user-agent"] = "e-APS-webhooks/1"
        started = time.perf_counter()
        try:
            resp = await self.http.post(
                endpoint.url, content=body, headers=headers, timeout=self.config.webhook_timeout, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            return _Outcome(
                ok=False,
                error=f"{exc.__class__.__name__}: {exc}"[:2000] or exc.__class__.__name__,
                duration_ms=int((time.perf_counter() - started) * 1000),
            )
        duration = int((time.perf_counter() - started) * 1000)
        if 200 <= resp.status_code < 300:
            return _Outcome(ok=True, status_code=resp.status_code, duration_ms=duration)
        return _Outcome(
            ok=False,
            permanent=resp.status_code == 410,
            status_code=resp.status_code,
            error=f"HTTP {resp.status_code}",
            duration_ms=duration,
        )

    async def _record_webhook(self, session: AsyncSession, row: Any, outcome: _Outcome | None, now: datetime) -> None:
        d = webhook_deliveries
        where = sa.and_(d.c.id == row.id, d.c.attempts == row.attempts, d.c.status == "pending")
        if outcome is None:
            await session.execute(
                sa.update(d)
                .where(where)
                .values(status="cancelled", last_error="Le point de terminaison est désactivé ou supprimé.")
            )
            return
        await session.execute(
            sa.insert(webhook_attempts).values(
                delivery_id=row.id,
                attempted_at=row.last_attempt_at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        event_fields = {
            "notification_id": uuid.uuid5(uuid.NAMESPACE_URL, row.id),
            "channel": "webhook",
            "template": row.event_type,
            "cause_event_id": row.cause_event_id,
        }
        if outcome.ok:
            await session.execute(
                sa.update(d)
                .where(where)
                .values(status="delivered", delivered_at=now, last_status_code=outcome.status_code, last_error=None)
            )
            await add_event(session, NotificationDeliveredV1(delivered_at=now, **event_fields))
            return
        if outcome.permanent:  # 410 Gone: the receiver asks us to stop
            await session.execute(
                sa.update(webhook_endpoints)
                .where(webhook_endpoints.c.id == row.endpoint_id)
                .values(enabled=False, disabled_reason=GONE_REASON, updated_at=now)
            )
            await session.execute(
                sa.update(d)
                .where(d.c.endpoint_id == row.endpoint_id, d.c.status == "pending", d.c.id != row.id)
                .values(status="cancelled", last_error=GONE_REASON)
            )
        delay = None if outcome.permanent else next_delay(row.attempts, self.config.webhook_delays)
        if delay is not None:
            await session.execute(
                sa.update(d)
                .where(where)
                .values(next_attempt_at=now + delay, last_status_code=outcome.status_code, last_error=outcome.error)
            )
            return
        await session.execute(
            sa.update(d)
            .where(where)
            .values(
                status="dead",
                last_status_code=outcome.status_code,
                last_error=GONE_REASON if outcome.permanent else outcome.error,
            )
        )
        await add_event(session, NotificationFailedV1(error=outcome.error or "échec", failed_at=now, **event_fields))
