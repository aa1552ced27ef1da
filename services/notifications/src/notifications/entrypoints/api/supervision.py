"""Supervisors' read-only view of other administrations' webhook subscriptions (internal edge):
every machine client's endpoints and each endpoint's delivery log. Secrets are never read."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from eaps_kit.auth import Principal
from eaps_kit.problems import ProblemError
from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import views
from notifications.adapters.orm import webhook_deliveries
from notifications.entrypoints.api.deps import require_oversight, session
from notifications.entrypoints.api.schemas import DeliveryPage, DeliveryStatus, SupervisedEndpointRead

router = APIRouter(prefix="/api/v1/webhooks/supervision", tags=["webhooks (supervision)"])

ENDPOINT_NOT_FOUND = "Ce point de terminaison n'existe pas."


@router.get(
    "/endpoints",
    response_model=list[SupervisedEndpointRead],
    summary="Abonnements des autres administrations (lecture, superviseurs)",
)
async def list_supervised_endpoints(
    p: Principal = Depends(require_oversight), s: AsyncSession = Depends(session)
) -> list[dict[str, Any]]:
    return await views.all_endpoints(s)


@router.get(
    "/endpoints/{endpoint_id}",
    response_model=SupervisedEndpointRead,
    summary="Un abonnement d'une autre administration (lecture, superviseurs)",
)
async def get_supervised_endpoint(
    endpoint_id: uuid.UUID, p: Principal = Depends(require_oversight), s: AsyncSession = Depends(session)
) -> dict[str, Any]:
    found = await views.endpoint_for_oversight(s, endpoint_id)
    if found is None:
        raise ProblemError(404, ENDPOINT_NOT_FOUND)
    d = webhook_deliveries
    counts = (
        await s.execute(
            sa.select(d.c.status, sa.func.count()).where(d.c.endpoint_id == endpoint_id).group_by(d.c.status)
        )
    ).all()
    return {**found, "deliveries": {status: int(n) for status, n in counts}}


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    response_model=DeliveryPage,
    summary="Journal des livraisons d'un abonnement (lecture, superviseurs)",
)
async def list_supervised_deliveries(
    endpoint_id: uuid.UUID,
    status: DeliveryStatus | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
    p: Principal = Depends(require_oversight),
    s: AsyncSession = Depends(session),
) -> dict[str, Any]:
    if await views.endpoint_for_oversight(s, endpoint_id) is None:
        raise ProblemError(404, ENDPOINT_NOT_FOUND)
    return await views.deliveries(s, None, endpoint_id, status=status, limit=limit, offset=offset)
