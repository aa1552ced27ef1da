"""Officers' routes on cases: queues, admissibility, completion, instruction, decisions."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, status

from instruction import views
from instruction.domain.model import CaseStatus
from instruction.entrypoints.api import schemas as s
from instruction.entrypoints.api.deps import context, officer, supervisor, unit_of_work
from instruction.service_layer import cases as handlers
from instruction.service_layer import decisions
from instruction.service_layer.authorisations import store_pending_pdfs
from instruction.service_layer.context import Actor

router = APIRouter(prefix="/api/v1/instruction", tags=["instruction — dossiers"])


@router.get("/cases", summary="Files d'instruction : dossiers filtrés par type, statut et agent")
async def list_cases(request: Request, actor: Actor = Depends(officer),
                     status_: list[CaseStatus] | None = Query(default=None, alias="status"),
                     authorisation_type: str | None = Query(default=None, max_length=16),
                     assigned: str | None = Query(default=None, pattern="^(me|none|[0-9a-fA-F-]{36})$"),
                     registration_number: str | None = Query(default=None, max_length=64),
                     limit: int = Query(default=50, ge=1, le=200), offset: int = Query(default=0, ge=0)) -> Any:
    async with unit_of_work(request) as session:
        return await views.list_cases(
            session, context(request).clock.today(), me=actor.uuid,
            statuses=[x.value for x in status_] if status_ else None, authorisation_type=authorisation_type,
            assigned=assigned, registration_number=registration_number, limit=limit, offset=offset)


@router.get("/cases/counts", summary="Nombre de dossiers par statut (et par type d'autorisation)")
async def case_counts(request: Request, _: Actor = Depends(officer),
                      authorisation_type: str | None = Query(default=None, max_length=16)) -> Any:
    async with unit_of_work(request) as session:
        return await views.case_counts(session, authorisation_type)


@router.get("/cases/{case_id}", summary="Un dossier instruit, avec son historique et ses échanges")
async def get_case(case_id: uuid.UUID, request: Request, _: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        return await views.case_detail(session, case_id, context(request).clock.today())


@router.get("/cases/{case_id}/audit", summary="Journal d'audit du dossier")
async def case_audit(case_id: uuid.UUID, request: Request, _: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        return await views.audit_trail(session, case_id=case_id)


@router.get("/cases/{case_id}/validity", summary="Dates de validité proposées et bornes légales pour ce dossier")
async def validity_defaults(case_id: uuid.UUID, request: Request, _: Actor = Depends(officer)) -> Any:
    ctx = context(request)
    async with unit_of_work(request) as session:
        row = await handlers.load_case(session, case_id, lock=False)
    rule = ctx.rules.for_type(row.authorisation_type)
    start, end = ctx.rules.default_validity(rule.code, row.applicant_kind, ctx.clock.today())
    return {"valid_from": start, "valid_until": end, "min_months": rule.min_months,
            "max_months": rule.max_months(row.applicant_kind), "rules_version": ctx.rules.version,
            "consulted_ministries": rule.consulted_ministries(
                [x["classification_code"] for x in row.snapshot.get("lines", [])])}


@router.post("/cases/{case_id}/take", status_code=status.HTTP_204_NO_CONTENT, summary="Prendre le dossier en charge")
async def take_case(case_id: uuid.UUID, request: Request, actor: Actor = Depends(officer)) -> None:
    async with unit_of_work(request) as session:
        await handlers.take(session, context(request), actor, case_id)


@router.post("/cases/{case_id}/assignment", status_code=status.HTTP_204_NO_CONTENT,
             summary="Attribuer le dossier à un agent (superviseur)")
async def assign_case(case_id: uuid.UUID, body: s.AssignmentCreate, request: Request,
                      actor: Actor = Depends(supervisor)) -> None:
    async with unit_of_work(request) as session:
        await handlers.assign(session, context(request), actor, case_id, body.officer_id)


@router.post("/cases/{case_id}/admissibility", status_code=status.HTTP_204_NO_CONTENT,
             summary="Statuer sur la recevabilité (recevable ou irrecevable avec motif)")
async def decide_admissibility(case_id: uuid.UUID, body: s.AdmissibilityDecision, request: Request,
                               actor: Actor = Depends(officer)) -> None:
    async with unit_of_work(request) as session:
        await handlers.decide_admissibility(session, context(request), actor, case_id,
                                            admissible=body.decision == "recevable", reason=body.reason)


@router.post("/cases/{case_id}/completion-requests", status_code=status.HTTP_201_CREATED,
             summary="Demander au demandeur de compléter son dossier")
async def request_completion(case_id: uuid.UUID, body: s.CompletionRequestCreate, request: Request,
                             actor: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        rid = await handlers.request_completion(session, context(request), actor, case_id,
                                                missing=[m.to_contract() for m in body.missing],
                                                message=body.message)
    return {"id": rid}


@router.post("/cases/{case_id}/notes", status_code=status.HTTP_201_CREATED,
             summary="Ajouter une note interne (jamais montrée au demandeur)")
async def add_note(case_id: uuid.UUID, body: s.NoteCreate, request: Request, actor: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        return {"id": await handlers.add_note(session, context(request), actor, case_id, body.body)}


@router.post("/cases/{case_id}/consultations", status_code=status.HTTP_201_CREATED,
             summary="Consulter un ministère (Intérieur, Affaires étrangères, Armées)")
async def request_consultation(case_id: uuid.UUID, body: s.ConsultationCreate, request: Request,
                               actor: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        cid = await handlers.request_consultation(session, context(request), actor, case_id, ministry=body.ministry,
                                                  due_on=body.due_on, question=body.question)
    return {"id": cid}


@router.post("/cases/{case_id}/consultations/{consultation_id}/opinion", status_code=status.HTTP_204_NO_CONTENT,
             summary="Enregistrer l'avis d'un ministère consulté")
async def record_opinion(case_id: uuid.UUID, consultation_id: uuid.UUID, body: s.OpinionCreate, request: Request,
                         actor: Actor = Depends(officer)) -> None:
    async with unit_of_work(request) as session:
        await handlers.record_opinion(session, context(request), actor, case_id, consultation_id,
                                      opinion=body.opinion, text=body.text)


@router.post("/cases/{case_id}/messages", status_code=status.HTTP_201_CREATED,
             summary="Écrire au demandeur sur le fil du dossier")
async def post_message(case_id: uuid.UUID, body: s.MessageCreate, request: Request,
                       actor: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        return {"id": await handlers.post_message(session, context(request), actor, case_id, body.body)}


@router.post("/cases/{case_id}/deadline-extension", status_code=status.HTTP_204_NO_CONTENT,
             summary="Prolonger le délai légal d'instruction (cas exceptionnels, superviseur)")
async def extend_deadline(case_id: uuid.UUID, body: s.ReasonBody, request: Request,
                          actor: Actor = Depends(supervisor)) -> None:
    async with unit_of_work(request) as session:
        await handlers.extend_deadline(session, context(request), actor, case_id, body.reason)


@router.post("/cases/{case_id}/proposals", status_code=status.HTTP_201_CREATED,
             summary="Proposer une décision (octroi ou refus) à la signature")
async def propose_decision(case_id: uuid.UUID, body: s.ProposalCreate, request: Request,
                           actor: Actor = Depends(officer)) -> Any:
    async with unit_of_work(request) as session:
        pid = await decisions.propose(
            session, context(request), actor, case_id, outcome=body.outcome, valid_from=body.valid_from,
            valid_until=body.valid_until,
            lines=[line.model_dump() for line in body.lines] if body.lines is not None else None,
            conditions=body.conditions, reasons=body.reasons, legal_basis=body.legal_basis)
    return {"id": pid}


@router.post("/cases/{case_id}/proposals/{proposal_id}/signature", status_code=status.HTTP_201_CREATED,
             summary="Signer la décision proposée (superviseur, quatre yeux)")
async def sign_decision(case_id: uuid.UUID, proposal_id: uuid.UUID, request: Request,
                        actor: Actor = Depends(supervisor)) -> Any:
    ctx = context(request)
    async with unit_of_work(request) as session:
        result = await decisions.sign(session, ctx, actor, case_id, proposal_id)
    if result["authorisation"] is not None:
        runtime = request.app.state.runtime
        runtime.spawn(store_pending_pdfs(runtime.session_factory, ctx,
                                         only=uuid.UUID(str(result["authorisation"]["authorisation_id"]))),
                      name="authorisation-pdf")
    return result


@router.post("/cases/{case_id}/proposals/{proposal_id}/send-back", status_code=status.HTTP_204_NO_CONTENT,
             summary="Renvoyer la proposition à l'agent instructeur (superviseur)")
async def send_back(case_id: uuid.UUID, proposal_id: uuid.UUID, body: s.SendBack, request: Request,
                    actor: Actor = Depends(supervisor)) -> None:
    async with unit_of_work(request) as session:
        await decisions.send_back(session, context(request), actor, case_id, proposal_id, body.comment)


