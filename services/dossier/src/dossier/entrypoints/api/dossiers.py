"""Applicant routes of the request wizard, baskets, history and dialogue (user guide §3, §4, §6)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dossier import views
from dossier.adapters.repository import DossierRepository
from dossier.domain.model import Dossier
from dossier.domain.reference import Reference
from dossier.entrypoints.api.deps import actor, ref, service, sessions
from dossier.entrypoints.api.schemas import (
    DemandeurIn,
    InformationsIn,
    JustificatifIn,
    LineIn,
    MessageIn,
    WithdrawalIn,
)
from dossier.service_layer.handlers import Actor, DossierService

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

IfMatch = Header(None, alias="If-Match", description="ETag de la dernière lecture du dossier (ex. \"3\").")
DossierId = Path(description="Identifiant du dossier")
SORT_PATTERN = r"^-?(date_depot|date_creation|mise_a_jour|numero|statut)$"


async def render(request: Request, d: Dossier, svc: DossierService, reference: Reference,
                 status_code: int = 200, extra: dict[str, Any] | None = None) -> JSONResponse:
    labels = await svc.classification.document_types()
    async with svc.session_factory() as session:
        unread = (await views.unread_counts(session, [d.id])).get(d.id, 0)
    body = views.dossier_read(d, reference, labels, unread)
    if extra:
        body = {**extra, "dossier": body}
    headers = {"ETag": views.etag(d.version)}
    if status_code == 201 and not extra:
        headers["Location"] = f"/api/v1/dossiers/{d.id}"
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)


@router.get("", summary="Mes dossiers, par corbeille (« À traiter », « En attente », « Traités »)")
async def list_dossiers(
    a: Actor = Depends(actor), factory: async_sessionmaker[AsyncSession] = Depends(sessions),
    reference: Reference = Depends(ref),
    basket: Literal["a_traiter", "en_attente", "termines"] | None = Query(None, description="Corbeille"),
    page: int = Query(1, ge=1, le=100_000), size: int = Query(20, ge=1, le=100),
    sort: str = Query("-mise_a_jour", pattern=SORT_PATTERN),
) -> dict[str, Any]:
    async with factory() as session:
        result = await views.search_dossiers(session, a.scope, views.DossierFilters(basket=basket), reference,
                                             page=page, size=size, sort=sort)
        result["baskets"] = await views.basket_counts(session, a.scope, reference)
    return result


@router.get("/reference", summary="Listes et libellés des formulaires (profils, motifs, flux, statuts)")
async def form_reference(reference: Reference = Depends(ref), _: Actor = Depends(actor)) -> dict[str, Any]:
    return {
        "version": reference.version, "steps": reference.steps,
        "flows": [{"code": k, "label": v} for k, v in reference.flows.items()],
        "applicant_kinds": [
            {"code": kind, "label": spec["label"],
             "profiles": [{"code": code, "label": p["label"],
                           "fields": [{"code": f, "label": reference.profile_fields[f].label}
                                      for f in reference.fields_for(kind, code, None)]}
                          for code, p in spec["profiles"].items()]}
            for kind, spec in reference.kinds.items()],
        "motives": [{"code": k, "label": v["label"], "details_required": bool(v.get("details_required"))}
                    for k, v in reference.motives.items()],
        "statuses": [{"code": s.code, "label": s.label, "basket": s.basket} for s in reference.statuses.values()],
        "baskets": [{"code": k, "label": v} for k, v in reference.baskets.items()],
    }


@router.post("", status_code=201, summary="Déposer un nouveau dossier (brouillon)")
async def create_dossier(request: Request, body: InformationsIn | None = None, a: Actor = Depends(actor),
                         svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    general = body.model_dump(exclude_none=True) if body else {}
    d = await svc.create_draft(a, general)
    return await render(request, d, svc, reference, 201)


@router.get("/{dossier_id}", summary="Un dossier, prêt à afficher (étapes, lignes, justificatifs, statut)")
async def get_dossier(request: Request, dossier_id: uuid.UUID = DossierId, a: Actor = Depends(actor),
                      svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    return await render(request, await svc.get(a, dossier_id), svc, reference)


@router.get("/{dossier_id}/recapitulatif", summary="Étape 3 : récapitulatif (lecture seule)")
async def recapitulatif(request: Request, dossier_id: uuid.UUID = DossierId, a: Actor = Depends(actor),
                        svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    d = await svc.refresh_justificatifs(a, dossier_id)
    return await render(request, d, svc, reference)


@router.delete("/{dossier_id}", status_code=204, summary="Supprimer un brouillon")
async def delete_dossier(dossier_id: uuid.UUID = DossierId, if_match: str | None = IfMatch,
                         a: Actor = Depends(actor), svc: DossierService = Depends(service)) -> Response:
    await svc.delete_draft(a, dossier_id, if_match)
    return Response(status_code=204)


@router.put("/{dossier_id}/informations", summary="Étape 1 : informations générales (sauvegarde partielle)")
async def put_informations(request: Request, body: InformationsIn, dossier_id: uuid.UUID = DossierId,
                           if_match: str | None = IfMatch, a: Actor = Depends(actor),
                           svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    d = await svc.update_general(a, dossier_id, if_match, body.model_dump(exclude_unset=True))
    return await render(request, d, svc, reference)


@router.post("/{dossier_id}/lines", status_code=201, summary="« J'ajoute ce matériel à ma demande »")
async def add_line(request: Request, body: LineIn, dossier_id: uuid.UUID = DossierId,
                   if_match: str | None = IfMatch, a: Actor = Depends(actor),
                   svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    d, line = await svc.add_line(a, dossier_id, if_match, body.model_dump())
    label = reference.authorisation_type_label(d.authorisation_type)
    message = (f"Ce matériel a été ajouté à votre demande. Vous allez adresser à la DGDDI une demande de "
               f"« {label} » ({d.authorisation_type}).")
    return await render(request, d, svc, reference, 201, extra={"line_no": line.line_no, "message": message,
                                                                "authorisation_type": d.authorisation_type})


@router.put("/{dossier_id}/lines/{line_no}", summary="Modifier une ligne de matériel")
async def put_line(request: Request, body: LineIn, dossier_id: uuid.UUID = DossierId,
                   line_no: int = Path(ge=1, le=100_000), if_match: str | None = IfMatch,
                   a: Actor = Depends(actor), svc: DossierService = Depends(service),
                   reference: Reference = Depends(ref)) -> Response:
    d = await svc.update_line(a, dossier_id, if_match, line_no, body.model_dump())
    return await render(request, d, svc, reference)


@router.delete("/{dossier_id}/lines/{line_no}", summary="Retirer une ligne de matériel")
async def delete_line(request: Request, dossier_id: uuid.UUID = DossierId, line_no: int = Path(ge=1, le=100_000),
                      if_match: str | None = IfMatch, a: Actor = Depends(actor),
                      svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    d = await svc.delete_line(a, dossier_id, if_match, line_no)
    return await render(request, d, svc, reference)


@router.put("/{dossier_id}/demandeur", summary="Étape 2 : demandeur, expéditeur, destinataire, motif")
async def put_demandeur(request: Request, body: DemandeurIn, dossier_id: uuid.UUID = DossierId,
                        if_match: str | None = IfMatch, a: Actor = Depends(actor),
                        svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    d = await svc.update_parties(a, dossier_id, if_match, body.model_dump(mode="json", exclude_unset=True))
    return await render(request, d, svc, reference)


@router.put("/{dossier_id}/justificatifs/{code}", summary="Joindre un document de la bibliothèque à un justificatif")
async def put_justificatif(request: Request, body: JustificatifIn, dossier_id: uuid.UUID = DossierId,
                           code: str = Path(max_length=40), if_match: str | None = IfMatch,
                           a: Actor = Depends(actor), svc: DossierService = Depends(service),
                           reference: Reference = Depends(ref)) -> Response:
    d = await svc.attach_justificatif(a, dossier_id, if_match, code, body.document_id)
    return await render(request, d, svc, reference)


@router.delete("/{dossier_id}/justificatifs/{code}", summary="Retirer le document joint à un justificatif")
async def delete_justificatif(request: Request, dossier_id: uuid.UUID = DossierId, code: str = Path(max_length=40),
                              if_match: str | None = IfMatch, a: Actor = Depends(actor),
                              svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    d = await svc.detach_justificatif(a, dossier_id, if_match, code)
    return await render(request, d, svc, reference)


@router.post("/{dossier_id}/steps/{step}/validation", summary="Valider une étape avant de passer à la suivante")
async def validate_step(request: Request, dossier_id: uuid.UUID = DossierId, step: int = Path(ge=1, le=3),
                        a: Actor = Depends(actor), svc: DossierService = Depends(service),
                        reference: Reference = Depends(ref)) -> Response:
    d = await svc.validate_step(a, dossier_id, step)
    return await render(request, d, svc, reference)


@router.post("/{dossier_id}/transmission", summary="Étape 4 : « Transmettre mon dossier »")
async def transmit(request: Request, dossier_id: uuid.UUID = DossierId, if_match: str | None = IfMatch,
                   a: Actor = Depends(actor), svc: DossierService = Depends(service),
                   reference: Reference = Depends(ref)) -> Response:
    d, resubmission = await svc.transmit(a, dossier_id, if_match)
    message = (f"Votre dossier complété n° {d.registration_number} a été transmis à nouveau au service instructeur."
               if resubmission else
               f"Votre demande a été transmise. Son numéro d'enregistrement est {d.registration_number}. "
               f"Vous la retrouverez dans la corbeille « Dossiers en attente ».")
    return await render(request, d, svc, reference, extra={
        "registration_number": d.registration_number, "resubmission": resubmission, "message": message})


@router.post("/{dossier_id}/withdrawal", summary="Retirer une demande qui n'a pas encore fait l'objet d'une décision")
async def withdraw(request: Request, body: WithdrawalIn | None = None, dossier_id: uuid.UUID = DossierId,
                   if_match: str | None = IfMatch, a: Actor = Depends(actor),
                   svc: DossierService = Depends(service), reference: Reference = Depends(ref)) -> Response:
    d = await svc.withdraw(a, dossier_id, if_match, body.reason if body else None)
    return await render(request, d, svc, reference)


@router.get("/{dossier_id}/history", summary="Historique du dossier (statut, date, auteur)")
async def get_history(dossier_id: uuid.UUID = DossierId, a: Actor = Depends(actor),
                      factory: async_sessionmaker[AsyncSession] = Depends(sessions),
                      reference: Reference = Depends(ref)) -> dict[str, Any]:
    async with factory() as session:
        await DossierRepository(session).get(dossier_id, a.scope)
        return {"items": await views.history(session, dossier_id, reference)}


@router.get("/{dossier_id}/messages", summary="Fil des commentaires avec le service instructeur")
async def get_messages(dossier_id: uuid.UUID = DossierId, a: Actor = Depends(actor),
                       factory: async_sessionmaker[AsyncSession] = Depends(sessions)) -> dict[str, Any]:
    async with factory() as session:
        await DossierRepository(session).get(dossier_id, a.scope)
        items = await views.thread(session, dossier_id)
    return {"items": items, "unread": sum(1 for m in items if m["unread"])}


@router.post("/{dossier_id}/messages", status_code=201, summary="« Ajouter un commentaire »")
async def post_message(body: MessageIn, dossier_id: uuid.UUID = DossierId, a: Actor = Depends(actor),
                       svc: DossierService = Depends(service)) -> dict[str, Any]:
    posted = await svc.post_message(a, dossier_id, body.body, body.document_id)
    return {"id": str(posted["id"]), "posted_at": posted["posted_at"],
            "message": "Votre commentaire a été transmis au service instructeur."}


@router.post("/{dossier_id}/messages/read", summary="Marquer les commentaires comme lus")
async def read_messages(dossier_id: uuid.UUID = DossierId, a: Actor = Depends(actor),
                        svc: DossierService = Depends(service)) -> dict[str, Any]:
    return {"marked_read": await svc.mark_read(a, dossier_id)}
