"""Routes for other services (never routed by the edges)."""

from __future__ import annotations

import uuid
from typing import Any

from eaps_kit.internal import require_internal
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dossier.adapters.repository import DossierRepository
from dossier.domain.errors import NotFound
from dossier.domain.reference import Reference
from dossier.entrypoints.api.deps import ref, sessions

router = APIRouter(prefix="/internal/dossiers", tags=["interne"], dependencies=[Depends(require_internal)])


@router.get("/{dossier_id}", summary="Le dossier tel que transmis (dernière transmission) et son statut")
async def internal_dossier(dossier_id: uuid.UUID, factory: async_sessionmaker[AsyncSession] = Depends(sessions),
                           reference: Reference = Depends(ref)) -> dict[str, Any]:
    async with factory() as session:
        repo = DossierRepository(session)
        d = await repo.get(dossier_id, None)
        snap = await repo.last_submission(dossier_id)
    if snap is None:
        raise NotFound("Ce dossier n'a pas encore été transmis.")
    st = reference.status(d.status.value)
    return {"dossier_id": str(d.id), "registration_number": d.registration_number,
            "status": {"code": st.code, "label": st.label}, "submission_no": d.submission_no,
            "owner_account_id": str(d.owner_account_id),
            "operator_id": str(d.operator_id) if d.operator_id else None, "snapshot": snap}
