"""Read-side queries. Every query is scoped to its owner: another owner's id is simply not found.
The supervisors' oversight queries (``all_endpoints``, ``endpoint_deliveries``) read across owners
and never return a secret."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.adapters.orm import in_app, webhook_attempts, webhook_deliveries, webhook_endpoints


def notification_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data.pop("recipient_account_id", None)
    data.pop("cause_event_id", None)
    data["read"] = data["read_at"] is not None
    return data


async def list_notifications(
    session: AsyncSession, account_id: uuid.UUID, *, unread_only: bool, limit: int, offset: int
) -> dict[str, Any]:
    mine = in_app.c.recipient_account_id == account_id
    query = sa.select(in_app).where(mine)
    if unread_only:
        query = query.where(in_app.c.read_at.is_(None))
    rows = (
        await session.execute(query.order_by(in_app.c.created_at.desc(), in_app.c.id).limit(limit).offset(offset))
    ).all()
    total = (await session.execute(sa.select(sa.func.count()).select_from(query.subquery()))).scalar_one()
    return {
        "items": [notification_dict(r) for r in rows],
        "total": total,
        "unread": await unread_count(session, account_id),
        "limit": limit,
        "offset": offset,
    }


async def unread_count(session: AsyncSession, account_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(in_app)
                .where(in_app.c.recipient_account_id == account_id, in_app.c.read_at.is_(None))
            )
        ).scalar_one()
    )


async def endpoint(session: AsyncSession, owner: str, endpoint_id: uuid.UUID) -> Any:
    return (
        await session.execute(
            sa.select(webhook_endpoints).where(
                webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.owner_client_id == owner
            )
        )
    ).first()


async def endpoints(session: AsyncSession, owner: str) -> list[Any]:
    return list(
        (
            await session.execute(
                sa.select(webhook_endpoints)
                .where(webhook_endpoints.c.owner_client_id == owner)
                .order_by(webhook_endpoints.c.created_at)
            )
        ).all()
    )


ENDPOINT_OVERSIGHT_COLUMNS = [
    webhook_endpoints.c.id, webhook_endpoints.c.owner_client_id.label("client_id"), webhook_endpoints.c.url,
    webhook_endpoints.c.event_types, webhook_endpoints.c.description, webhook_endpoints.c.enabled,
    webhook_endpoints.c.disabled_reason, webhook_endpoints.c.created_at, webhook_endpoints.c.updated_at,
]


async def all_endpoints(session: AsyncSession) -> list[dict[str, Any]]:
    """Every machine client's endpoint with its deliveries counted by status (oversight)."""
    d = webhook_deliveries
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for endpoint_id, status, n in (
        await session.execute(sa.select(d.c.endpoint_id, d.c.status, sa.func.count()).group_by(d.c.endpoint_id,
                                                                                              d.c.status))
    ).all():
        counts.setdefault(endpoint_id, {})[status] = int(n)
    rows = (
        await session.execute(
            sa.select(*ENDPOINT_OVERSIGHT_COLUMNS).order_by(
                webhook_endpoints.c.owner_client_id, webhook_endpoints.c.created_at, webhook_endpoints.c.id
            )
        )
    ).all()
    return [{**dict(r._mapping), "deliveries": counts.get(r.id, {})} for r in rows]


async def endpoint_for_oversight(session: AsyncSession, endpoint_id: uuid.UUID) -> dict[str, Any] | None:
    row = (
        await session.execute(sa.select(*ENDPOINT_OVERSIGHT_COLUMNS).where(webhook_endpoints.c.id == endpoint_id))
    ).first()
    return dict(row._mapping) if row else None


def delivery_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    if data["status"] != "pending":
        data["next_attempt_at"] = None
    return data


async def deliveries(
    session: AsyncSession, owner: str | None, endpoint_id: uuid.UUID, *, status: str | None, limit: int, offset: int
) -> dict[str, Any]:
    d = webhook_deliveries
    query = sa.select(d).where(d.c.endpoint_id == endpoint_id)
    if owner is not None:  # None: a supervisor's oversight, across owners
        query = query.where(d.c.owner_client_id == owner)
    if status:
        query = query.where(d.c.status == status)
    rows = (await session.execute(query.order_by(d.c.created_at.desc(), d.c.id).limit(limit).offset(offset))).all()
    total = (await session.execute(sa.select(sa.func.count()).select_from(query.subquery()))).scalar_one()
    return {"items": [delivery_dict(r) for r in rows], "total": total, "limit": limit, "offset": offset}


async def delivery(session: AsyncSession, owner: str, delivery_id: str) -> dict[str, Any] | None:
    d = webhook_deliveries
    row = (await session.execute(sa.select(d).where(d.c.id == delivery_id, d.c.owner_client_id == owner))).first()
    if row is None:
        return None
    attempts = (
        await session.execute(
            sa.select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id == delivery_id)
            .order_by(webhook_attempts.c.id)
        )
    ).all()
    data = delivery_dict(row)
    data["attempt_log"] = [dict(a._mapping) for a in attempts]
    return data
