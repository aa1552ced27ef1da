"""Officers' routes on authorisations, and the imputation API of other administrations."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from instruction import views
from instruction.domain.model import AuthorisationStatus
from instruction.entrypoints.api import schemas as s
from instruction.entrypoints.api.deps import context, imputation_client, officer, supervisor, unit_of_work
from instruction.service_layer import authorisations as handlers
from instruction.service_layer.context import Actor

router = APIRouter(prefix="/api/v1/instruction", tags=["instruction — autorisations"])


@router.get("/authorisations", summary="Autorisations délivrées")
async def list_authorisations(request: Request, _: Actor = Depends(officer),
                              status_: AuthorisationStatus | None = Query(default=None, alias="status"),
                              type: str | None = Query(default=None, max_length=16),
                              number: str | None = Query(default=None, max_length=64),
                              verification_code: str | None = Query(default=None, max_length=16),
                              limit: int = Query(default=50, ge=1, le=200),
                              offset: int = Query(default=0, ge=0)) -> Any:
    async with unit_of_work(request) as session:
        return await views.list_authorisations(session, status=status_.value if status_ else None, type_=type,
                                               number=number, verification_code=verification_code, limit=limit,
                                               offset=offset)


@router.get("/authorisations/{authorisation_id}", summary="Une autorisation, ses lignes et ses imputations")
async def get_authorisation(authorisation_id: uuid.UUID, request: Request, _: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        return await views.authorisation_detail(session, authorisation_id)


@router.get("/authorisations/{authorisation_id}/audit", summary="Journal d'audit de l'autorisation")
async def authorisation_audit(authorisation_id: uuid.UUID, request: Request, _: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        await views.authorisation_detail(session, authorisation_id)
        return await views.audit_trail(session, authorisation_id=authorisation_id)


@router.post("/authorisations/{authorisation_id}/suspension", summary="Suspendre l'autorisation (superviseur)")
async def suspend(authorisation_id: uuid.UUID, body: s.SuspensionCreate, request: Request,
                  actor: Actor = Depends(supervisor)) -> Any:
    async with unit_of_work(request) as session:
        new = await handlers.suspend(session, context(request), actor, authorisation_id, reason=body.reason,
                                     from_date=body.from_date, until=body.until)
    return {"status": new}


@router.post("/authorisations/{authorisation_id}/suspension/lift",
             summary="Lever la suspension de l'autorisation (superviseur)")
async def lift_suspension(authorisation_id: uuid.UUID, body: s.ReasonBody, request: Request,
                          actor: Actor = Depends(supervisor)) -> Any:
    async with unit_of_work(request) as session:
        return {"status": await handlers.lift_suspension(session, context(request), actor, authorisation_id,
                                                         reason=body.reason)}


@router.post("/authorisations/{authorisation_id}/revocation", summary="Abroger l'autorisation (superviseur)")
async def revoke(authorisation_id: uuid.UUID, body: s.ReasonBody, request: Request,
                 actor: Actor = Depends(supervisor)) -> Any:
    async with unit_of_work(request) as session:
        return {"status": await handlers.revoke(session, context(request), actor, authorisation_id,
                                                reason=body.reason)}


@router.post("/imputations", status_code=status.HTTP_201_CREATED,
             summary="Imputer un passage en douane sur une autorisation (administrations, scope imputations:write)",
             description="Idempotent sur (autorisation, référence de déclaration, ligne) : un nouvel envoi "
                         "identique répond 200 avec l'imputation existante.")
async def create_imputation(body: s.ImputationCreate, request: Request, response: Response,
                            actor: Actor = Depends(imputation_client)) -> Any:
    async with unit_of_work(request) as session:
        result, created = await handlers.impute(session, context(request), actor, **body.model_dump())
    if not created:
        response.status_code = status.HTTP_200_OK
    return result


@router.post("/imputations/{imputation_id}/reversal", summary="Annuler une imputation, avec un motif")
async def reverse_imputation(imputation_id: uuid.UUID, body: s.ReasonBody, request: Request,
                             actor: Actor = Depends(imputation_client)) -> Any:
    async with unit_of_work(request) as session:
        return await handlers.reverse_imputation(session, context(request), actor, imputation_id, body.reason)
