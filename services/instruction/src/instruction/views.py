"""Read-side queries for the officers' portal."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from instruction.adapters.orm import (
    audit_log,
    authorisation_lines,
    authorisations,
    case_versions,
    cases,
    completion_requests,
    consultations,
    decisions,
    imputations,
    messages,
    notes,
    proposals,
)
from instruction.domain.errors import Invalid, NotFound
from instruction.domain.model import AUTHORISATION_STATUS_LABELS, CASE_STATUS_LABELS, AuthorisationStatus, CaseStatus
from instruction.service_layer.cases import clock_of


def _case_summary(row: Any, today: date) -> dict[str, Any]:
    clock = clock_of(row)
    closed = row.closed_at is not None
    return {
        "id": row.id, "dossier_id": row.dossier_id, "registration_number": row.registration_number,
        "authorisation_type": row.authorisation_type, "status": row.status,
        "status_label": CASE_STATUS_LABELS[CaseStatus(row.status)], "applicant_name": row.applicant_name,
        "applicant_kind": row.applicant_kind, "applicant_profile": row.applicant_profile, "flow": row.flow,
        "origin_country": row.origin_country, "destination_country": row.destination_country,
        "assigned_to": row.assigned_to, "opened_at": row.opened_at, "closed_at": row.closed_at,
        "submission_no": row.submission_no,
        "ageing_working_days": clock.elapsed(today),
        "deadline": row.deadline, "deadline_working_days": row.deadline_days,
        "deadline_extended": row.deadline_extended,
        "remaining_working_days": None if closed else clock.remaining(today),
        "clock_stopped": row.clock_paused_since is not None,
    }


async def list_cases(session: AsyncSession, today: date, *, me: uuid.UUID,
                     statuses: list[str] | None = None, authorisation_type: str | None = None,
                     assigned: str | None = None, registration_number: str | None = None,
                     limit: int = 50, offset: int = 0) -> dict[str, Any]:
    conds: list[Any] = []
    if statuses:
        conds.append(cases.c.status.in_(statuses))
    if authorisation_type:
        conds.append(cases.c.authorisation_type == authorisation_type)
    if assigned == "me":
        conds.append(cases.c.assigned_to == me)
    elif assigned == "none":
        conds.append(cases.c.assigned_to.is_(None))
    elif assigned:
        try:
            conds.append(cases.c.assigned_to == uuid.UUID(assigned))
        except ValueError:
            raise Invalid("Le filtre « assigned » attend me, none ou l'identifiant d'un agent.",
                          errors=[{"field": "assigned", "message": "Un identifiant (UUID) est attendu."}]) from None
    if registration_number:
        conds.append(cases.c.registration_number.ilike(f"%{registration_number}%"))
    where = sa.and_(sa.true(), *conds)
    total = (await session.execute(sa.select(sa.func.count()).select_from(cases).where(where))).scalar_one()
    rows = (await session.execute(sa.select(cases).where(where).order_by(cases.c.opened_at, cases.c.id)
                                  .limit(limit).offset(offset))).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [_case_summary(r, today) for r in rows]}


async def case_counts(session: AsyncSession, authorisation_type: str | None = None) -> dict[str, Any]:
    q = sa.select(cases.c.authorisation_type, cases.c.status, sa.func.count()).group_by(
        cases.c.authorisation_type, cases.c.status)
    if authorisation_type:
        q = q.where(cases.c.authorisation_type == authorisation_type)
    by_status: dict[str, int] = {s.value: 0 for s in CaseStatus}
    by_type: dict[str, dict[str, int]] = {}
    for t, s, n in (await session.execute(q)).all():
        by_status[s] += n
        by_type.setdefault(t, {})[s] = n
    return {"by_status": by_status, "by_type": by_type}


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result.all()]


async def case_detail(session: AsyncSession, case_id: uuid.UUID, today: date) -> dict[str, Any]:
    row = (await session.execute(sa.select(cases).where(cases.c.id == case_id))).first()
    if row is None:
        raise NotFound("Ce dossier n'existe pas dans les files d'instruction.")
    out = _case_summary(row, today)
    out["dossier"] = row.snapshot
    out["closing_reason"] = row.closing_reason
    out["versions"] = _rows(await session.execute(
        sa.select(case_versions.c.submission_no, case_versions.c.received_at, case_versions.c.changes,
                  case_versions.c.changed_fields)
        .where(case_versions.c.case_id == case_id).order_by(case_versions.c.submission_no)))
    out["changes_since_last_version"] = out["versions"][-1]["changes"] if len(out["versions"]) > 1 else []
    out["completion_requests"] = _rows(await session.execute(
        sa.select(completion_requests).where(completion_requests.c.case_id == case_id)
        .order_by(completion_requests.c.requested_at)))
    out["notes"] = _rows(await session.execute(
        sa.select(notes).where(notes.c.case_id == case_id).order_by(notes.c.created_at)))
    out["consultations"] = _rows(await session.execute(
        sa.select(consultations).where(consultations.c.case_id == case_id).order_by(consultations.c.requested_on)))
    out["messages"] = _rows(await session.execute(
        sa.select(messages).where(messages.c.case_id == case_id).order_by(messages.c.posted_at)))
    out["proposals"] = _rows(await session.execute(
        sa.select(proposals).where(proposals.c.case_id == case_id).order_by(proposals.c.proposed_at)))
    decision = (await session.execute(sa.select(decisions).where(decisions.c.case_id == case_id))).first()
    out["decision"] = dict(decision._mapping) if decision else None
    auth = (await session.execute(sa.select(authorisations.c.id, authorisations.c.number, authorisations.c.status)
                                  .where(authorisations.c.case_id == case_id))).first()
    out["authorisation"] = dict(auth._mapping) if auth else None
    return out


async def audit_trail(session: AsyncSession, *, case_id: uuid.UUID | None = None,
                      authorisation_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    q = sa.select(audit_log).order_by(audit_log.c.id)
    if case_id is not None:
        exists = (await session.execute(sa.select(cases.c.id).where(cases.c.id == case_id))).first()
        if exists is None:
            raise NotFound("Ce dossier n'existe pas dans les files d'instruction.")
        q = q.where(audit_log.c.case_id == case_id)
    if authorisation_id is not None:
        q = q.where(audit_log.c.authorisation_id == authorisation_id)
    return _rows(await session.execute(q))


def _auth_summary(row: Any) -> dict[str, Any]:
    d = {k: v for k, v in row._mapping.items() if k not in ("pdf_attempts", "pdf_last_error")}
    d["status_label"] = AUTHORISATION_STATUS_LABELS[AuthorisationStatus(row.status)]
    return d


async def list_authorisations(session: AsyncSession, *, status: str | None = None, type_: str | None = None,
                              number: str | None = None, verification_code: str | None = None,
                              limit: int = 50, offset: int = 0) -> dict[str, Any]:
    conds: list[Any] = []
    if status:
        conds.append(authorisations.c.status == status)
    if type_:
        conds.append(authorisations.c.type == type_)
    if number:
        conds.append(authorisations.c.number.ilike(f"%{number}%"))
    if verification_code:
        conds.append(authorisations.c.verification_code == verification_code.upper())
    where = sa.and_(sa.true(), *conds)
    total = (await session.execute(sa.select(sa.func.count()).select_from(authorisations).where(where))).scalar_one()
    rows = (await session.execute(sa.select(authorisations).where(where).order_by(authorisations.c.issued_at.desc())
                                  .limit(limit).offset(offset))).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [_auth_summary(r) for r in rows]}


async def authorisation_detail(session: AsyncSession, authorisation_id: uuid.UUID) -> dict[str, Any]:
    row = (await session.execute(sa.select(authorisations).where(authorisations.c.id == authorisation_id))).first()
    if row is None:
        raise NotFound("Cette autorisation n'existe pas.")
    out = _auth_summary(row)
    lines = _rows(await session.execute(sa.select(authorisation_lines).where(
        authorisation_lines.c.authorisation_id == authorisation_id).order_by(authorisation_lines.c.line_no)))
    for line in lines:
        line.pop("authorisation_id")
        line["quantity_remaining"] = line["quantity"] - line["quantity_used"] if row.quantity_limited else None
    out["lines"] = lines
    out["imputations"] = _rows(await session.execute(sa.select(imputations).where(
        imputations.c.authorisation_id == authorisation_id).order_by(imputations.c.reported_at)))
    return out
