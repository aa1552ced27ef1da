"""Routes for other services (``X-Internal-Token``), never routed by the edges."""

from __future__ import annotations

import uuid

from eaps_kit.internal import require_internal
from fastapi import APIRouter, Depends, Request

from documents.bootstrap import Deps
from documents.domain.model import Owner
from documents.entrypoints.api.deps import get_deps, problems
from documents.entrypoints.api.schemas import DocumentRead, PinnedRead, PinRequest, ReconcileReport
from documents.service_layer import handlers

router = APIRouter(prefix="/internal/documents", tags=["interne"], dependencies=[Depends(require_internal)])


@router.post("/generated", status_code=201, response_model=DocumentRead,
             summary="Enregistrer un document produit par l'administration (PDF d'autorisation)")
async def store_generated(request: Request, deps: Deps = Depends(get_deps)) -> DocumentRead:
    with problems(deps.settings.retry_after_seconds):
        row = await handlers.store_generated(deps, content_type=request.headers.get("content-type"),
                                             content_length=request.headers.get("content-length"),
                                             body=request.stream())
    return DocumentRead.of(row)


@router.post("/{document_id}/pins", status_code=201, response_model=PinnedRead,
             summary="Figer une copie du document pour un dossier transmis")
async def pin_document(document_id: uuid.UUID, body: PinRequest, deps: Deps = Depends(get_deps)) -> PinnedRead:
    owner = Owner(body.owner_account_id, body.owner_operator_id)
    with problems(deps.settings.retry_after_seconds):
        row = await handlers.pin_document(deps, owner, document_id, body.dossier_id)
    return PinnedRead.of(row)


@router.post("/reconciliation", response_model=ReconcileReport,
             summary="Rapprocher le stockage et les métadonnées maintenant")
async def run_reconciliation(deps: Deps = Depends(get_deps)) -> ReconcileReport:
    with problems(deps.settings.retry_after_seconds):
        report = await handlers.reconcile(deps, grace_seconds=deps.settings.reconcile_grace_seconds)
    return ReconcileReport(**report)
