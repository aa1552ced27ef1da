"""Webhook endpoints of other administrations (machine clients, scope ``decisions:read``).

Each endpoint belongs to the machine client that registered it: another client's endpoint or
delivery answers 404, exactly like one that does not exist."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from eaps_contracts.events.notifications_v1 import PublicDecisionV1
from eaps_kit.auth import Principal
from eaps_kit.problems import ProblemError
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import views
from notifications.adapters.orm import webhook_deliveries, webhook_endpoints
from notifications.config import Settings
from notifications.domain.clock import Clock
from notifications.domain.labels import webhook_event_types
from notifications.entrypoints.api.deps import clock, require_machine, session, settings
from notifications.entrypoints.api.schemas import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    EventTypeRead,
    SecretRotate,
    SecretRotated,
)
from notifications.webhook_signature import generate_secret

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

ENDPOINT_NOT_FOUND = "Ce point de terminaison n'existe pas."
DELIVERY_NOT_FOUND = "Cette livraison n'existe pas."


def _check_https(url: str, cfg: Settings) -> None:
    if cfg.webhook_require_https and urlsplit(url).scheme != "https":
        raise ProblemError(
            422,
            "Une adresse en https est exigée pour recevoir les décisions.",
            errors=[{"field": "url", "message": "Une adresse en https est exigée.", "type": "url_scheme"}],
        )


async def _own_endpoint(s: AsyncSession, p: Principal, endpoint_id: uuid.UUID) -> Any:
    row = await views.endpoint(s, p.sub, endpoint_id)
    if row is None:
        raise ProblemError(404, ENDPOINT_NOT_FOUND)
    return row


def _read(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data.pop("secret", None)
    data.pop("previous_secret", None)
    return data


@router.get("/event-types", response_model=list[EventTypeRead], summary="Types d'événements disponibles")
async def list_webhook_event_types(p: Principal = Depends(require_machine)) -> list[dict[str, str]]:
    return [{"type": t, "schema_": PublicDecisionV1.routing_key()} for t in webhook_event_types()]


@router.post(
    "/endpoints", response_model=EndpointCreated, status_code=201, summary="Enregistrer un point de terminaison"
)
async def create_webhook_endpoint(
    body: EndpointCreate,
    p: Principal = Depends(require_machine),
    s: AsyncSession = Depends(session),
    now: Clock = Depends(clock),
    cfg: Settings = Depends(settings),
) -> dict[str, Any]:
    _check_https(body.url, cfg)
    secret = body.secret or generate_secret()
    ts = now.now()
    row = (
        await s.execute(
            sa.insert(webhook_endpoints)
            .values(
                id=uuid.uuid4(),
                owner_client_id=p.sub,
                url=body.url,
                event_types=body.event_types,
                description=body.description,
                secret=secret,
                created_at=ts,
                updated_at=ts,
            )
            .returning(*webhook_endpoints.c)
        )
    ).one()
    return {**_read(row), "secret": secret}


@router.get("/endpoints", response_model=list[EndpointRead], summary="Mes points de terminaison")
async def list_webhook_endpoints(
    p: Principal = Depends(require_machine), s: AsyncSession = Depends(session)
) -> list[dict[str, Any]]:
    return [_read(r) for r in await views.endpoints(s, p.sub)]


@router.get("/endpoints/{endpoint_id}", response_model=EndpointRead, summary="Un point de terminaison")
async def get_webhook_endpoint(
    endpoint_id: uuid.UUID, p: Principal = Depends(require_machine), s: AsyncSession = Depends(session)
) -> dict[str, Any]:
    return _read(await _own_endpoint(s, p, endpoint_id))


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointRead,
    summary="Modifier, désactiver ou réactiver un point de terminaison",
)
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointUpdate,
    p: Principal = Depends(require_machine),
    s: AsyncSession = Depends(session),
    now: Clock = Depends(clock),
    cfg: Settings = Depends(settings),
) -> dict[str, Any]:
    await _own_endpoint(s, p, endpoint_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] is None or "event_types" in changes and changes["event_types"] is None:
        raise ProblemError(422, "L'adresse et les types d'événements ne peuvent pas être vides.")
    if changes.get("url"):
        _check_https(changes["url"], cfg)
    if changes.get("enabled") is True:
        changes["disabled_reason"] = None
    elif changes.get("enabled") is False:
        changes["disabled_reason"] = "Désactivé par l'administration abonnée."
    if "enabled" in changes and changes["enabled"] is None:
        del changes["enabled"]
    row = (
        await s.execute(
            sa.update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(**changes, updated_at=now.now())
            .returning(*webhook_endpoints.c)
        )
    ).one()
    return _read(row)


@router.delete("/endpoints/{endpoint_id}", status_code=204, summary="Supprimer un point de terminaison")
async def delete_webhook_endpoint(
    endpoint_id: uuid.UUID, p: Principal = Depends(require_machine), s: AsyncSession = Depends(session)
) -> Response:
    await _own_endpoint(s, p, endpoint_id)
    await s.execute(sa.delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))
    return Response(status_code=204)


@router.post(
    "/endpoints/{endpoint_id}/secret/rotate",
    response_model=SecretRotated,
    summary="Changer le secret ; l'ancien reste valable pendant la période de recouvrement",
)
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID,
    body: SecretRotate | None = None,
    p: Principal = Depends(require_machine),
    s: AsyncSession = Depends(session),
    now: Clock = Depends(clock),
) -> SecretRotated:
    body = body or SecretRotate()
    row = await _own_endpoint(s, p, endpoint_id)
    new_secret = body.secret or generate_secret()
    if new_secret == row.secret:
        raise ProblemError(422, "Le nouveau secret doit être différent de l'actuel.")
    ts = now.now()
    until = ts + timedelta(hours=body.overlap_hours)
    await s.execute(
        sa.update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(secret=new_secret, previous_secret=row.secret, previous_secret_expires_at=until, updated_at=ts)
    )
    return SecretRotated(endpoint_id=endpoint_id, secret=new_secret, previous_secret_expires_at=until)


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    response_model=DeliveryPage,
    summary="Journal des livraisons d'un point de terminaison",
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID,
    status: DeliveryStatus | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
    p: Principal = Depends(require_machine),
    s: AsyncSession = Depends(session),
) -> dict[str, Any]:
    await _own_endpoint(s, p, endpoint_id)
    return await views.deliveries(s, p.sub, endpoint_id, status=status, limit=limit, offset=offset)


@router.get(
    "/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="Une livraison, son contenu et ses tentatives"
)
async def get_webhook_delivery(
    delivery_id: str, p: Principal = Depends(require_machine), s: AsyncSession = Depends(session)
) -> dict[str, Any]:
    found = await views.delivery(s, p.sub, delivery_id)
    if found is None:
        raise ProblemError(404, DELIVERY_NOT_FOUND)
    return found


@router.post(
    "/deliveries/{delivery_id}/replay",
    response_model=DeliveryRead,
    status_code=202,
    summary="Rejouer une livraison (même identifiant, nouvelle signature)",
)
async def replay_webhook_delivery(
    delivery_id: str,
    p: Principal = Depends(require_machine),
    s: AsyncSession = Depends(session),
    now: Clock = Depends(clock),
) -> dict[str, Any]:
    d = webhook_deliveries
    row = (
        await s.execute(sa.select(d).where(d.c.id == delivery_id, d.c.owner_client_id == p.sub).with_for_update())
    ).first()
    if row is None:
        raise ProblemError(404, DELIVERY_NOT_FOUND)
    if row.status == "pending":
        raise ProblemError(409, "Cette livraison est déjà en cours : elle sera tentée de nouveau automatiquement.")
    ep = await _own_endpoint(s, p, row.endpoint_id)
    if not ep.enabled:
        raise ProblemError(409, "Le point de terminaison est désactivé : réactivez-le avant de rejouer la livraison.")
    # A new schedule from now: the attempt log keeps the earlier attempts.
    updated = (
        await s.execute(
            sa.update(d)
            .where(d.c.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=now.now(), delivered_at=None)
            .returning(*d.c)
        )
    ).one()
    return views.delivery_dict(updated)
