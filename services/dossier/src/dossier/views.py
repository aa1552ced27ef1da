"""Read side: renderable dossiers, baskets, history, thread, authorisations, search queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dossier.adapters.orm import authorisations, dossier_history, dossier_messages, dossiers
from dossier.adapters.repository import Scope, normalise
from dossier.domain import model
from dossier.domain.model import Dossier, Status
from dossier.domain.reference import Reference

PARIS = ZoneInfo("Europe/Paris")

ACTION_LABELS = {
    "save": "Sauvegarder ma saisie",
    "transmit": "Transmettre mon dossier",
    "modify": "Modifier le formulaire",
    "withdraw": "Retirer ma demande",
    "comment": "Ajouter un commentaire",
    "delete": "Supprimer le brouillon",
}


def etag(version: int) -> str:
    return f'"{version}"'


def _label(mapping: dict[str, str], code: str | None) -> str | None:
    return mapping.get(code, code) if code else None


def actions(d: Dossier, ref: Reference) -> list[dict[str, str]]:
    codes: list[str] = []
    if d.status == Status.BROUILLON:
        codes = ["save", "transmit", "delete"]
    elif d.status == Status.A_COMPLETER:
        codes = ["modify", "save", "transmit", "withdraw", "comment"]
    elif d.status in model.WITHDRAWABLE:
        codes = ["withdraw", "comment"]
    else:
        codes = ["comment"]
    return [{"code": c, "label": ACTION_LABELS[c]} for c in codes]


def dossier_read(d: Dossier, ref: Reference, doc_labels: dict[str, str], unread: int = 0) -> dict[str, Any]:
    """The whole dossier as every screen of the guide (§4, §6) draws it."""
    st = ref.status(d.status.value)
    g, p = d.general, d.parties
    kind, profile = g.get("applicant_kind"), g.get("profile")
    details = g.get("profile_details") or {}
    profile_fields = [
        {"code": name, "label": ref.profile_fields[name].label,
         "required": ref.field_required(name, kind, g.get("flow")), "value": details.get(name)}
        for name in (ref.fields_for(kind, profile, g.get("flow")) if kind else [])
    ]
    det = d.determination or {}
    step1, step2 = model.step1_errors(d, ref), model.step2_errors(d, ref)
    motive = p.get("motive")
    return {
        "id": str(d.id), "version": d.version, "etag": etag(d.version),
        "registration_number": d.registration_number, "submission_no": d.submission_no,
        "status": {"code": st.code, "label": st.label},
        "basket": {"code": st.basket, "label": ref.baskets[st.basket]},
        "editable": d.editable, "actions": actions(d, ref),
        "created_at": d.created_at, "updated_at": d.updated_at, "submitted_at": d.submitted_at,
        "first_submitted_at": d.first_submitted_at, "closed_at": d.closed_at,
        "owner_account_id": str(d.owner_account_id),
        "operator_id": str(d.operator_id) if d.operator_id else None,
        "steps": model.step_states(d, ref),
        "informations": {
            "applicant_kind": kind, "applicant_kind_label": ref.kind_label(kind),
            "profile": profile, "profile_label": ref.profile_label(kind, profile),
            "profile_details": details, "profile_fields": profile_fields,
            "flow": g.get("flow"), "flow_label": _label(ref.flows, g.get("flow")),
            "origin_country": g.get("origin_country"), "destination_country": g.get("destination_country"),
        },
        "lines": [{**ln.as_dict(), "total_value_eur": str(ln.total_value) if ln.total_value is not None else None}
                  for ln in d.lines],
        "authorisation": None if not det else {
            "type": det.get("authorisation"), "label": ref.authorisation_type_label(det.get("authorisation")),
            "ruleset_version": det.get("ruleset_version"), "explanation": det.get("explanation"),
            "exemptions": det.get("exemptions") or [],
            "message": f"Vous allez adresser à la DGDDI une demande de « "
                       f"{ref.authorisation_type_label(det.get('authorisation'))} » ({det.get('authorisation')}).",
        },
        "demandeur": {
            "applicant": p.get("applicant") or {}, "sender": p.get("sender"), "recipient": p.get("recipient"),
            "motive": motive, "motive_label": ref.motives[motive]["label"] if motive in ref.motives else None,
            "motive_details": p.get("motive_details"),
        },
        "justificatifs": [
            {"code": j.code, "label": doc_labels.get(j.code, j.code), "required": True, "state": j.state.value,
             "state_label": ref.justificatif_states[j.state.value],
             "document_id": str(j.document_id) if j.document_id else None, "filename": j.filename,
             "title": j.title, "rejection_reason": j.rejection_reason,
             "pinned_document_id": str(j.pinned_document_id) if j.pinned_document_id else None}
            for j in d.justificatifs.values()
        ],
        "completion_request": None if not d.completion else {
            "missing": d.completion.get("missing"), "message": d.completion.get("message"),
            "requested_at": d.completion.get("requested_at")},
        "validation": {"etape1": [e.as_dict() for e in step1], "etape2": [e.as_dict() for e in step2]},
        "ready_to_transmit": d.editable and not step1 and not step2,
        "unread_messages": unread,
    }


def summary(row: Any, ref: Reference, unread: int = 0) -> dict[str, Any]:
    st = ref.status(row.status)
    return {
        "id": str(row.id), "registration_number": row.registration_number,
        "status": {"code": st.code, "label": st.label}, "basket": {"code": st.basket, "label": ref.baskets[st.basket]},
        "authorisation_type": row.authorisation_type,
        "authorisation_type_label": ref.authorisation_type_label(row.authorisation_type),
        "flow": row.flow, "flow_label": _label(ref.flows, row.flow),
        "origin_country": row.origin_country, "destination_country": row.destination_country,
        "applicant_name": row.applicant_name, "lines_count": row.lines_count, "total_quantity": row.total_quantity,
        "classification_codes": list(row.classification_codes or []),
        "created_at": row.created_at, "updated_at": row.updated_at, "submitted_at": row.submitted_at,
        "action_expected": st.basket == "a_traiter", "unread_messages": unread,
    }


async def unread_counts(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    rows = (await session.execute(
        sa.select(dossier_messages.c.dossier_id, sa.func.count())
        .where(dossier_messages.c.dossier_id.in_(ids), dossier_messages.c.read_by_applicant_at.is_(None))
        .group_by(dossier_messages.c.dossier_id))).all()
    return {r[0]: int(r[1]) for r in rows}


async def basket_counts(session: AsyncSession, scope: Scope, ref: Reference) -> list[dict[str, Any]]:
    rows = (await session.execute(sa.select(dossiers.c.status, sa.func.count()).where(scope.dossier_clause())
                                  .group_by(dossiers.c.status))).all()
    counts = {code: 0 for code in ref.baskets}
    for status, n in rows:
        counts[ref.status(status).basket] += int(n)
    return [{"code": code, "label": label, "count": counts[code]} for code, label in ref.baskets.items()]


async def history(session: AsyncSession, dossier_id: uuid.UUID, ref: Reference) -> list[dict[str, Any]]:
    rows = (await session.execute(sa.select(dossier_history).where(dossier_history.c.dossier_id == dossier_id)
                                  .order_by(dossier_history.c.id))).all()
    return [{"at": r.at, "status": {"code": r.status, "label": ref.status(r.status).label},
             "by": {"kind": r.actor_kind, "label": ref.actors.get(r.actor_kind, r.actor_kind),
                    "account_id": str(r.actor_id) if r.actor_id and r.actor_kind == "applicant" else None},
             "note": r.note} for r in rows]


async def thread(session: AsyncSession, dossier_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (await session.execute(sa.select(dossier_messages).where(dossier_messages.c.dossier_id == dossier_id)
                                  .order_by(dossier_messages.c.posted_at, dossier_messages.c.id))).all()
    return [{"id": str(r.id), "author": {"kind": r.author_kind, "label": r.author_label},
             "body": r.body, "posted_at": r.posted_at,
             "document": None if not r.document_id else {
                 "document_id": str(r.document_id), "filename": r.filename,
                 "pinned_document_id": str(r.pinned_document_id) if r.pinned_document_id else None,
                 "href": f"/api/v1/documents/pinned/{r.pinned_document_id}/content" if r.pinned_document_id else None},
             "unread": r.read_by_applicant_at is None} for r in rows]


# --- authorisations ----------------------------------------------------------------------

def authorisation_read(row: Any, ref: Reference, today: date | None = None) -> dict[str, Any]:
    lines = [{**ln, "quantity_remaining": ln.get("quantity_remaining", ln.get("quantity"))} for ln in row.lines]
    return {
        "id": str(row.id), "number": row.number, "type": row.type,
        "type_label": ref.authorisation_type_label(row.type),
        "status": {"code": row.status, "label": ref.authorisation_status_label(row.status)},
        "dossier_id": str(row.dossier_id) if row.dossier_id else None,
        "registration_number": row.registration_number, "holder_name": row.holder_name,
        "flow": row.flow, "flow_label": _label(ref.flows, row.flow),
        "origin_country": row.origin_country, "destination_country": row.destination_country,
        "valid_from": row.valid_from, "valid_until": row.valid_until, "issued_at": row.issued_at,
        "lines": lines, "conditions": row.conditions,
        "pdf": None if not row.pdf_document_id else {
            "document_id": str(row.pdf_document_id),
            "href": f"/api/v1/documents/{row.pdf_document_id}/content"},
    }


# --- search ------------------------------------------------------------------------------

@dataclass
class DossierFilters:
    number: str | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    status: list[str] = field(default_factory=list)
    basket: str | None = None
    authorisation_type: str | None = None
    flow: str | None = None
    country: str | None = None
    classification: str | None = None
    q: str | None = None


@dataclass
class AuthorisationFilters:
    number: str | None = None
    valid_on: date | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    status: list[str] = field(default_factory=list)
    type: str | None = None
    flow: str | None = None
    country: str | None = None
    classification: str | None = None
    q: str | None = None


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=PARIS)


def _tsquery(q: str) -> sa.ColumnElement[Any]:
    # Prefix matching on every word: « beret 92 » finds « Beretta 92FS ».
    words = [w for w in "".join(c if c.isalnum() else " " for c in normalise(q)).split() if w]
    # No word at all (« % », « _ », a lone quote): an empty query, which matches nothing ("''" is not a tsquery).
    return sa.func.to_tsquery(sa.literal_column("'simple'"), " & ".join(f"{w}:*" for w in words))


DOSSIER_SORTS = {
    "date_depot": dossiers.c.submitted_at, "date_creation": dossiers.c.created_at,
    "mise_a_jour": dossiers.c.updated_at, "numero": dossiers.c.registration_number, "statut": dossiers.c.status,
}
AUTHORISATION_SORTS = {
    "date_delivrance": authorisations.c.issued_at, "numero": authorisations.c.number,
    "fin_validite": authorisations.c.valid_until, "statut": authorisations.c.status, "type": authorisations.c.type,
}


def order_by(sort: str, sorts: dict[str, Any], tie: Any) -> list[Any]:
    desc = sort.startswith("-")
    col = sorts[sort.lstrip("-")]
    return [col.desc().nulls_last() if desc else col.asc().nulls_last(), tie.desc() if desc else tie.asc()]


def dossier_where(scope: Scope, f: DossierFilters, ref: Reference) -> list[sa.ColumnElement[bool]]:
    c = dossiers.c
    where: list[sa.ColumnElement[bool]] = [scope.dossier_clause()]
    if f.number:
        where.append(c.registration_number.like(f.number.strip().upper().replace("%", "") + "%"))
    if f.submitted_from:
        where.append(c.submitted_at >= _day_start(f.submitted_from))
    if f.submitted_to:
        where.append(c.submitted_at < _day_start(f.submitted_to + timedelta(days=1)))
    if f.status:
        where.append(c.status.in_(f.status))
    if f.basket:
        where.append(c.status.in_(ref.statuses_in(f.basket)))
    if f.authorisation_type:
        where.append(c.authorisation_type == f.authorisation_type)
    if f.flow:
        where.append(c.flow == f.flow)
    if f.country:
        where.append(sa.or_(c.origin_country == f.country, c.destination_country == f.country))
    if f.classification:
        where.append(c.classification_codes.contains([f.classification]))
    if f.q and f.q.strip():
        where.append(c.search_vector.op("@@")(_tsquery(f.q)))
    return where


def authorisation_where(scope: Scope, f: AuthorisationFilters) -> list[sa.ColumnElement[bool]]:
    c = authorisations.c
    where: list[sa.ColumnElement[bool]] = [scope.authorisation_clause(authorisations)]
    if f.number:
        where.append(c.number.like(f.number.strip().upper().replace("%", "") + "%"))
    if f.valid_on:
        where.append(sa.and_(c.valid_from <= f.valid_on, c.valid_until >= f.valid_on))
    if f.issued_from:
        where.append(c.issued_at >= _day_start(f.issued_from))
    if f.issued_to:
        where.append(c.issued_at < _day_start(f.issued_to + timedelta(days=1)))
    if f.status:
        where.append(c.status.in_(f.status))
    if f.type:
        where.append(c.type == f.type)
    if f.flow:
        where.append(c.flow == f.flow)
    if f.country:
        where.append(sa.or_(c.origin_country == f.country, c.destination_country == f.country))
    if f.classification:
        where.append(c.classification_codes.contains([f.classification]))
    if f.q and f.q.strip():
        where.append(c.search_vector.op("@@")(_tsquery(f.q)))
    return where


SUMMARY_COLUMNS = [dossiers.c[n] for n in (
    "id", "registration_number", "status", "authorisation_type", "flow", "origin_country", "destination_country",
    "applicant_name", "lines_count", "total_quantity", "total_value_eur", "classification_codes", "created_at",
    "updated_at", "submitted_at", "motive")]


async def search_dossiers(session: AsyncSession, scope: Scope, f: DossierFilters, ref: Reference, *, page: int,
                          size: int, sort: str) -> dict[str, Any]:
    where = dossier_where(scope, f, ref)
    total = int((await session.execute(sa.select(sa.func.count()).select_from(dossiers).where(*where)))
                .scalar_one())
    rows = (await session.execute(sa.select(*SUMMARY_COLUMNS).where(*where)
                                  .order_by(*order_by(sort, DOSSIER_SORTS, dossiers.c.id))
                                  .limit(size).offset((page - 1) * size))).all()
    unread = await unread_counts(session, [r.id for r in rows])
    return {"items": [summary(r, ref, unread.get(r.id, 0)) for r in rows], "page": page, "size": size,
            "total": total, "pages": (total + size - 1) // size, "sort": sort}


async def search_authorisations(session: AsyncSession, scope: Scope, f: AuthorisationFilters, ref: Reference, *,
                                page: int, size: int, sort: str) -> dict[str, Any]:
    where = authorisation_where(scope, f)
    total = int((await session.execute(sa.select(sa.func.count()).select_from(authorisations).where(*where)))
                .scalar_one())
    rows = (await session.execute(sa.select(authorisations).where(*where)
                                  .order_by(*order_by(sort, AUTHORISATION_SORTS, authorisations.c.id))
                                  .limit(size).offset((page - 1) * size))).all()
    return {"items": [authorisation_read(r, ref) for r in rows], "page": page, "size": size, "total": total,
            "pages": (total + size - 1) // size, "sort": sort}
