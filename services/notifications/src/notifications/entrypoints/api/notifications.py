"""In-app notifications: each person reads and marks only their own."""

from __future__ import annotations

import uuid
from typing import Any, cast

import sqlalchemy as sa
from eaps_kit.auth import Principal
from eaps_kit.problems import ProblemError
from fastapi import APIRouter, Depends, Query
from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import views
from notifications.adapters.orm import in_app
from notifications.domain.clock import Clock
from notifications.entrypoints.api.deps import clock, require_person, session
from notifications.entrypoints.api.schemas import MarkedRead, NotificationPage, NotificationRead, UnreadCount

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])

NOT_FOUND = "Cette notification n'existe pas."


@router.get("", response_model=NotificationPage, summary="Mes notifications, les plus récentes d'abord")
async def list_notifications(
    unread_only: bool = Query(False, description="Seulement les notifications non lues"),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
    p: Principal = Depends(require_person),
    s: AsyncSession = Depends(session),
) -> dict[str, object]:
    return await views.list_notifications(s, p.account_id, unread_only=unread_only, limit=limit, offset=offset)


@router.get("/unread-count", response_model=UnreadCount, summary="Nombre de notifications non lues")
async def unread_notifications_count(
    p: Principal = Depends(require_person), s: AsyncSession = Depends(session)
) -> UnreadCount:
    return UnreadCount(unread=await views.unread_count(s, p.account_id))


@router.post("/read-all", response_model=MarkedRead, summary="Marquer toutes mes notifications comme lues")
async def mark_all_notifications_read(
    p: Principal = Depends(require_person), s: AsyncSession = Depends(session), now: Clock = Depends(clock)
) -> MarkedRead:
    result = cast(CursorResult[Any], await s.execute(
        sa.update(in_app)
        .where(in_app.c.recipient_account_id == p.account_id, in_app.c.read_at.is_(None))
        .values(read_at=now.now())
    ))
    return MarkedRead(marked=result.rowcount or 0)


@router.post("/{notification_id}/read", response_model=NotificationRead, summary="Marquer une notification comme lue")
async def mark_notification_read(
    notification_id: uuid.UUID,
    p: Principal = Depends(require_person),
    s: AsyncSession = Depends(session),
    now: Clock = Depends(clock),
) -> dict[str, object]:
    mine = sa.and_(in_app.c.id == notification_id, in_app.c.recipient_account_id == p.account_id)
    await s.execute(sa.update(in_app).where(mine, in_app.c.read_at.is_(None)).values(read_at=now.now()))
    row = (await s.execute(sa.select(in_app).where(mine))).first()
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return views.notification_dict(row)
