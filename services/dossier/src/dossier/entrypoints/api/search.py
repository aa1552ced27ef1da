"""« Afficher mes autorisations » and « Recherche avancée » with spreadsheet export (guide §7)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from eaps_kit.problems import ProblemError
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dossier import exports, views
from dossier.adapters.orm import authorisations
from dossier.domain.reference import Reference
from dossier.entrypoints.api.deps import actor, ref, sessions
from dossier.service_layer.handlers import Actor

search_router = APIRouter(prefix="/api/v1/search", tags=["recherche avancée"])
authorisations_router = APIRouter(prefix="/api/v1/authorisations", tags=["mes autorisations"])

DOSSIER_SORT = r"^-?(date_depot|date_creation|mise_a_jour|numero|statut)$"
AUTH_SORT = r"^-?(date_delivrance|numero|fin_validite|statut|type)$"
COUNTRY = r"^[A-Z]{2}$"
FLOW = Literal["IMP", "INT", "EXP", "EXD"]
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _check_dates(start: date | None, end: date | None, names: tuple[str, str]) -> None:
    if start and end and start > end:
        raise ProblemError(422, "La date de début est postérieure à la date de fin.",
                           errors=[{"field": names[0], "message": "Doit précéder la date de fin."}])


def dossier_filters(
    reference: Reference = Depends(ref),
    number: str | None = Query(None, max_length=20, description="Numéro d'enregistrement (ou son début)"),
    submitted_from: date | None = Query(None, description="Transmis à partir du (AAAA-MM-JJ)"),
    submitted_to: date | None = Query(None, description="Transmis jusqu'au (AAAA-MM-JJ)"),
    status: list[str] = Query([], description="Statut(s)"),
    basket: Literal["a_traiter", "en_attente", "termines"] | None = Query(None),
    authorisation_type: str | None = Query(None, max_length=20),
    flow: FLOW | None = Query(None),
    country: str | None = Query(None, pattern=COUNTRY, description="Pays de provenance ou de destination"),
    classification: str | None = Query(None, max_length=40),
    q: str | None = Query(None, max_length=200, description="Texte libre"),
) -> views.DossierFilters:
    unknown = [s for s in status if s not in reference.statuses]
    if unknown:
        raise ProblemError(422, "Statut inconnu : " + ", ".join(unknown) + ".", errors=[
            {"field": "status", "message": "Statuts possibles : " + ", ".join(reference.statuses) + "."}])
    _check_dates(submitted_from, submitted_to, ("submitted_from", "submitted_to"))
    return views.DossierFilters(number=number, submitted_from=submitted_from, submitted_to=submitted_to,
                                status=status, basket=basket, authorisation_type=authorisation_type, flow=flow,
                                country=country, classification=classification, q=q)


def authorisation_filters(
    reference: Reference = Depends(ref),
    number: str | None = Query(None, max_length=30),
    valid_on: date | None = Query(None, description="Valide à cette date"),
    issued_from: date | None = Query(None), issued_to: date | None = Query(None),
    status: list[str] = Query([]),
    type: str | None = Query(None, max_length=20),
    flow: FLOW | None = Query(None),
    country: str | None = Query(None, pattern=COUNTRY),
    classification: str | None = Query(None, max_length=40),
    q: str | None = Query(None, max_length=200),
) -> views.AuthorisationFilters:
    unknown = [s for s in status if s not in reference.authorisation_statuses]
    if unknown:
        raise ProblemError(422, "Statut d'autorisation inconnu : " + ", ".join(unknown) + ".", errors=[
            {"field": "status", "message": "Statuts possibles : " + ", ".join(reference.authorisation_statuses) + "."}])
    _check_dates(issued_from, issued_to, ("issued_from", "issued_to"))
    return views.AuthorisationFilters(number=number, valid_on=valid_on, issued_from=issued_from,
                                      issued_to=issued_to, status=status, type=type, flow=flow, country=country,
                                      classification=classification, q=q)


@search_router.get("/dossiers", summary="Recherche avancée de dossiers (paginée, triée)")
async def search_dossiers(
    f: views.DossierFilters = Depends(dossier_filters), a: Actor = Depends(actor),
    factory: async_sessionmaker[AsyncSession] = Depends(sessions), reference: Reference = Depends(ref),
    page: int = Query(1, ge=1, le=100_000), size: int = Query(20, ge=1, le=100),
    sort: str = Query("-mise_a_jour", pattern=DOSSIER_SORT),
) -> dict[str, Any]:
    async with factory() as session:
        result = await views.search_dossiers(session, a.scope, f, reference, page=page, size=size, sort=sort)
    result["filters"] = {k: v for k, v in asdict(f).items() if v not in (None, [])}
    return result


def _export(gen: Any, fmt: str, kind: str) -> StreamingResponse:
    return StreamingResponse(gen, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{exports.filename(kind, fmt)}"'})


@search_router.get("/dossiers/export", summary="« Exporter » les dossiers trouvés (XLSX ou CSV)")
async def export_dossiers(
    f: views.DossierFilters = Depends(dossier_filters), a: Actor = Depends(actor),
    factory: async_sessionmaker[AsyncSession] = Depends(sessions), reference: Reference = Depends(ref),
    format: Literal["xlsx", "csv"] = Query("xlsx"), sort: str = Query("-mise_a_jour", pattern=DOSSIER_SORT),
) -> StreamingResponse:
    query = exports.dossier_export_query(a.scope, f, reference, sort)
    columns = exports.dossier_columns(reference)
    gen = exports.stream_csv(factory, query, columns) if format == "csv" else \
        exports.stream_xlsx(factory, query, columns, "Dossiers")
    return _export(gen, format, "dossiers")


@search_router.get("/authorisations", summary="Recherche avancée d'autorisations (paginée, triée)")
async def search_authorisations(
    f: views.AuthorisationFilters = Depends(authorisation_filters), a: Actor = Depends(actor),
    factory: async_sessionmaker[AsyncSession] = Depends(sessions), reference: Reference = Depends(ref),
    page: int = Query(1, ge=1, le=100_000), size: int = Query(20, ge=1, le=100),
    sort: str = Query("-date_delivrance", pattern=AUTH_SORT),
) -> dict[str, Any]:
    async with factory() as session:
        return await views.search_authorisations(session, a.scope, f, reference, page=page, size=size, sort=sort)


@search_router.get("/authorisations/export", summary="« Exporter » les autorisations trouvées (XLSX ou CSV)")
async def export_authorisations(
    f: views.AuthorisationFilters = Depends(authorisation_filters), a: Actor = Depends(actor),
    factory: async_sessionmaker[AsyncSession] = Depends(sessions), reference: Reference = Depends(ref),
    format: Literal["xlsx", "csv"] = Query("xlsx"), sort: str = Query("-date_delivrance", pattern=AUTH_SORT),
) -> StreamingResponse:
    query = exports.authorisation_export_query(a.scope, f, sort)
    columns = exports.authorisation_columns(reference)
    gen = exports.stream_csv(factory, query, columns) if format == "csv" else \
        exports.stream_xlsx(factory, query, columns, "Autorisations")
    return _export(gen, format, "autorisations")


@authorisations_router.get("", summary="« Afficher mes autorisations » : tableau synthétique")
async def list_authorisations(
    a: Actor = Depends(actor), factory: async_sessionmaker[AsyncSession] = Depends(sessions),
    reference: Reference = Depends(ref), page: int = Query(1, ge=1, le=100_000),
    size: int = Query(20, ge=1, le=100), sort: str = Query("-date_delivrance", pattern=AUTH_SORT),
) -> dict[str, Any]:
    async with factory() as session:
        return await views.search_authorisations(session, a.scope, views.AuthorisationFilters(), reference,
                                                 page=page, size=size, sort=sort)


@authorisations_router.get("/{authorisation_id}", summary="Une autorisation : numéro, validité, biens, quantités")
async def get_authorisation(
    authorisation_id: uuid.UUID = Path(), a: Actor = Depends(actor),
    factory: async_sessionmaker[AsyncSession] = Depends(sessions), reference: Reference = Depends(ref),
) -> dict[str, Any]:
    async with factory() as session:
        row = (await session.execute(sa.select(authorisations).where(
            authorisations.c.id == authorisation_id, a.scope.authorisation_clause(authorisations)))).first()
    if row is None:
        raise ProblemError(404, "Cette autorisation n'existe pas ou vous n'y avez pas accès.")
    return views.authorisation_read(row, reference)
