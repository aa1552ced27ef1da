"""Writing what must go out, inside the caller's transaction: emails and SMS to send, in-app
notifications, webhook deliveries and the public decision event. Everything here is
idempotent per cause event (unique constraints), so a redelivered event has no second effect."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from eaps_contracts.events.notifications_v1 import PublicDecisionV1
from eaps_kit.messaging import add_event
from eaps_kit.messaging.outbox import current_envelope
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.adapters.orm import in_app, messages, webhook_deliveries, webhook_endpoints
from notifications.service_layer.rendering import Rendered


@dataclass(frozen=True)
class InAppLinks:
    dossier_id: uuid.UUID | None = None
    registration_number: str | None = None
    authorisation_id: uuid.UUID | None = None
    authorisation_number: str | None = None
    link: str | None = None


async def queue_email(
    session: AsyncSession,
    *,
    template: str,
    rendered: Rendered,
    to: str,
    account_id: uuid.UUID | None,
    cause: uuid.UUID,
    now: datetime,
) -> None:
    if not rendered.subject or not rendered.text:
        raise ValueError(f"template {template} has no email part")
    await session.execute(
        pg_insert(messages)
        .values(
            id=uuid.uuid4(),
            channel="email",
            template=template,
            recipient_account_id=account_id,
            address=to,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            cause_event_id=cause,
            next_attempt_at=now,
        )
        .on_conflict_do_nothing()
    )


async def queue_sms(
    session: AsyncSession,
    *,
    template: str,
    rendered: Rendered,
    to: str,
    account_id: uuid.UUID | None,
    cause: uuid.UUID,
    now: datetime,
) -> None:
    if not rendered.sms:
        raise ValueError(f"template {template} has no SMS part")
    await session.execute(
        pg_insert(messages)
        .values(
            id=uuid.uuid4(),
            channel="sms",
            template=template,
            recipient_account_id=account_id,
            address=to,
            body_text=rendered.sms,
            cause_event_id=cause,
            next_attempt_at=now,
        )
        .on_conflict_do_nothing()
    )


async def add_in_app(
    session: AsyncSession,
    *,
    template: str,
    rendered: Rendered,
    account_id: uuid.UUID,
    cause: uuid.UUID,
    links: InAppLinks,
    now: datetime,
) -> None:
    if not rendered.in_app_title or not rendered.in_app_body:
        raise ValueError(f"template {template} has no in-app part")
    await session.execute(
        pg_insert(in_app)
        .values(
            id=uuid.uuid4(),
            recipient_account_id=account_id,
            kind=template,
            title=rendered.in_app_title,
            body=rendered.in_app_body,
            dossier_id=links.dossier_id,
            registration_number=links.registration_number,
            authorisation_id=links.authorisation_id,
            authorisation_number=links.authorisation_number,
            link=links.link,
            cause_event_id=cause,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


def webhook_payload(event: PublicDecisionV1, event_type: str) -> dict[str, Any]:
    return {
        "type": event_type,
        "schema": event.routing_key(),
        "timestamp": event.occurred_at.isoformat(),
        "data": orjson.loads(event.model_dump_json()),
    }


async def publish_decision(session: AsyncSession, event: PublicDecisionV1, *, cause: uuid.UUID, now: datetime) -> int:
    """Stage the public event (exchange ``public.decisions``) and one webhook delivery per
    enabled endpoint subscribed to ``decision.<change>``; returns the number of deliveries."""
    # exchange_of("public") is the exchange reserved to other administrations (public.decisions).
    await add_event(session, event, causation_id=None if current_envelope.get() else cause)
    event_type = f"decision.{event.change}"
    endpoints = (
        await session.execute(
            sa.select(webhook_endpoints.c.id, webhook_endpoints.c.owner_client_id).where(
                webhook_endpoints.c.enabled.is_(True), webhook_endpoints.c.event_types.any(event_type)
            )
        )
    ).all()
    payload = webhook_payload(event, event_type)
    for ep in endpoints:
        await session.execute(
            pg_insert(webhook_deliveries)
            .values(
                id=f"msg_{uuid.uuid4().hex}",
                endpoint_id=ep.id,
                owner_client_id=ep.owner_client_id,
                event_type=event_type,
                payload=payload,
                cause_event_id=cause,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
    return len(endpoints)
