"""Authorisations after a grant: number, status on its dates, administrative acts,
quantities imputed at the border, and the PDF stored through the documents service."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from eaps_contracts.events.common import AuthorisationLine
from eaps_contracts.events.instruction_v1 import (
    AuthorisationDocumentIssuedV1,
    AuthorisationSnapshot,
    AuthorisationStatusChangedV1,
)
from eaps_kit.messaging import add_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from instruction.adapters.orm import authorisation_counters, authorisation_lines, authorisations, imputations
from instruction.domain.errors import Conflict, Invalid, NotFound
from instruction.domain.model import (
    AUTHORISATION_STATUS_LABELS,
    AuthorisationState,
    AuthorisationStatus,
    authorisation_number,
)
from instruction.service_layer import audit
from instruction.service_layer.context import JOB, Actor, Context

log = logging.getLogger("instruction.authorisations")

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper


def verification_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _state(row: Any, lines: list[Any]) -> AuthorisationState:
    exhausted = bool(row.quantity_limited) and all(line.quantity_used >= line.quantity for line in lines)
    return AuthorisationState(valid_from=row.valid_from, valid_until=row.valid_until,
                              revoked=row.revoked_at is not None, exhausted=exhausted,
                              suspended_from=row.suspended_from, suspended_until=row.suspended_until)


def contract_lines(lines: list[Any], quantity_limited: bool) -> list[AuthorisationLine]:
    return [AuthorisationLine(
        line_no=line.line_no, classification_code=line.classification_code, designation=line.designation,
        calibre=line.calibre, quantity=line.quantity, value_eur=line.value_eur,
        quantity_remaining=(line.quantity - line.quantity_used) if quantity_limited else None) for line in lines]


async def _lines(session: AsyncSession, authorisation_id: uuid.UUID, lock: bool = False) -> list[Any]:
    q = sa.select(authorisation_lines).where(authorisation_lines.c.authorisation_id == authorisation_id) \
        .order_by(authorisation_lines.c.line_no)
    if lock:
        q = q.with_for_update()
    return list((await session.execute(q)).all())


async def load(session: AsyncSession, authorisation_id: uuid.UUID | None = None, *, number: str | None = None,
               lock: bool = True) -> Any:
    q = sa.select(authorisations)
    q = q.where(authorisations.c.id == authorisation_id) if authorisation_id else \
        q.where(authorisations.c.number == number)
    if lock:
        q = q.with_for_update()
    row = (await session.execute(q)).first()
    if row is None:
        raise NotFound("Cette autorisation n'existe pas.")
    return row


async def _next_number(session: AsyncSession, type_code: str, year: int) -> str:
    seq = (await session.execute(
        pg_insert(authorisation_counters).values(type=type_code, year=year, last=1)
        .on_conflict_do_update(index_elements=["type", "year"],
                               set_={"last": authorisation_counters.c.last + 1})
        .returning(authorisation_counters.c.last))).scalar_one()
    return authorisation_number(type_code, year, seq)


def _address(snapshot: dict[str, Any]) -> str | None:
    addr = (snapshot.get("applicant") or {}).get("address") or {}
    parts = [addr.get(k) for k in ("line1", "line2")] + [
        " ".join(p for p in (addr.get("postal_code"), addr.get("city")) if p), addr.get("country")]
    text = ", ".join(p for p in parts if p)
    return text or None


async def create_authorisation(session: AsyncSession, ctx: Context, actor: Actor, case: Any, proposal: Any,
                               decision_id: uuid.UUID) -> AuthorisationSnapshot:
    rule = ctx.rules.for_type(case.authorisation_type)
    now, today = ctx.clock.now(), ctx.clock.today()
    number = await _next_number(session, rule.code, today.year)
    aid = uuid.uuid4()
    state = AuthorisationState(valid_from=proposal.valid_from, valid_until=proposal.valid_until)
    status = state.status_on(today)
    await session.execute(sa.insert(authorisations).values(
        id=aid, number=number, case_id=case.id, decision_id=decision_id, dossier_id=case.dossier_id,
        registration_number=case.registration_number, type=rule.code, holder_account_id=case.applicant_account_id,
        holder_operator_id=case.applicant_operator_id, holder_name=case.applicant_name,
        holder_address=_address(case.snapshot), flow=case.flow, origin_country=case.origin_country,
        destination_country=case.destination_country, valid_from=proposal.valid_from,
        valid_until=proposal.valid_until, conditions=proposal.conditions, quantity_limited=rule.quantity_limited,
        status=status, verification_code=verification_code(), issued_at=now, signed_by=actor.uuid))
    await session.execute(sa.insert(authorisation_lines), [
        {"authorisation_id": aid, "line_no": line["line_no"], "classification_code": line["classification_code"],
         "designation": line["designation"], "calibre": line.get("calibre"), "quantity": line["quantity"],
         "value_eur": None if line.get("value_eur") is None else Decimal(line["value_eur"])}
        for line in proposal.lines])
    lines = await _lines(session, aid)
    await audit.record(session, actor=actor, action="authorisation.issued", at=now, case_id=case.id,
                       authorisation_id=aid, after={"number": number, "status": status,
                                                    "valid_from": proposal.valid_from,
                                                    "valid_until": proposal.valid_until})
    return AuthorisationSnapshot(
        authorisation_id=aid, number=number, type=rule.code, holder_account_id=case.applicant_account_id,
        holder_operator_id=case.applicant_operator_id, holder_name=case.applicant_name, flow=case.flow,
        origin_country=case.origin_country, destination_country=case.destination_country,
        valid_from=proposal.valid_from, valid_until=proposal.valid_until,
        lines=contract_lines(lines, rule.quantity_limited), conditions=proposal.conditions, status=status)


async def _apply_status(session: AsyncSession, ctx: Context, actor: Actor, row: Any, *, action: str,
                        reason: str | None = None, values: dict[str, Any] | None = None,
                        details: dict[str, Any] | None = None, always_emit: bool = False) -> str:
    """Write the new facts, recompute the status, record it and tell the other services."""
    values = dict(values or {})
    if values:
        row = (await session.execute(sa.update(authorisations).where(authorisations.c.id == row.id)
                                     .values(**values).returning(*authorisations.c))).one()
    lines = await _lines(session, row.id)
    old = row.status
    new = _state(row, lines).status_on(ctx.clock.today()).value
    if new != old:
        await session.execute(sa.update(authorisations).where(authorisations.c.id == row.id).values(
            status=new, status_reason=reason if reason is not None else row.status_reason))
    now = ctx.clock.now()
    if new != old or always_emit:
        await audit.record(session, actor=actor, action=action, at=now, case_id=row.case_id,
                           authorisation_id=row.id, before={"status": old},
                           after={"status": new}, details={"reason": reason, **(details or {})})
        await add_event(session, AuthorisationStatusChangedV1(
            authorisation_id=row.id, number=row.number, dossier_id=row.dossier_id,
            holder_account_id=row.holder_account_id, holder_operator_id=row.holder_operator_id, old_status=old,
            new_status=new, reason=reason, changed_at=now, lines=contract_lines(lines, row.quantity_limited)))
    return new


async def suspend(session: AsyncSession, ctx: Context, actor: Actor, authorisation_id: uuid.UUID, *, reason: str,
                  from_date: date | None, until: date | None) -> str:
    row = await load(session, authorisation_id)
    if row.status not in (AuthorisationStatus.VALIDE, AuthorisationStatus.NON_ENCORE_VALIDE):
        raise Conflict(f"Une autorisation « {AUTHORISATION_STATUS_LABELS[AuthorisationStatus(row.status)]} » "
                       "ne peut pas être suspendue.")
    today = ctx.clock.today()
    start = from_date or today
    if start < today:
        raise Invalid("La suspension ne peut pas commencer dans le passé.",
                      errors=[{"field": "from_date", "message": "Date passée."}])
    if until is not None and until < start:
        raise Invalid("La fin de la suspension précède son début.",
                      errors=[{"field": "until", "message": "Date antérieure au début."}])
    return await _apply_status(session, ctx, actor, row, action="authorisation.suspended", reason=reason,
                               values={"suspended_from": start, "suspended_until": until}, always_emit=True,
                               details={"from": start, "until": until})


async def lift_suspension(session: AsyncSession, ctx: Context, actor: Actor, authorisation_id: uuid.UUID, *,
                          reason: str) -> str:
    row = await load(session, authorisation_id)
    if row.suspended_from is None or row.revoked_at is not None:
        raise Conflict("Cette autorisation n'est pas suspendue.")
    return await _apply_status(session, ctx, actor, row, action="authorisation.suspension_lifted", reason=reason,
                               values={"suspended_from": None, "suspended_until": None}, always_emit=True)


async def revoke(session: AsyncSession, ctx: Context, actor: Actor, authorisation_id: uuid.UUID, *,
                 reason: str) -> str:
    row = await load(session, authorisation_id)
    if row.status in (AuthorisationStatus.ABROGEE, AuthorisationStatus.EXPIREE, AuthorisationStatus.SOLDEE):
        raise Conflict(f"Une autorisation « {AUTHORISATION_STATUS_LABELS[AuthorisationStatus(row.status)]} » "
                       "ne peut plus être abrogée.")
    return await _apply_status(session, ctx, actor, row, action="authorisation.revoked", reason=reason,
                               values={"revoked_at": ctx.clock.now()})


async def refresh_statuses(session: AsyncSession, ctx: Context, limit: int = 500) -> int:
    """The scheduled job: move authorisations on their dates (start, end, end of a suspension)."""
    rows = (await session.execute(
        sa.select(authorisations).where(authorisations.c.status.in_([
            AuthorisationStatus.VALIDE, AuthorisationStatus.NON_ENCORE_VALIDE, AuthorisationStatus.SUSPENDUE]))
        .order_by(authorisations.c.issued_at).limit(limit).with_for_update(skip_locked=True))).all()
    changed = 0
    today = ctx.clock.today()
    for row in rows:
        lines = await _lines(session, row.id)
        if _state(row, lines).status_on(today).value != row.status:
            await _apply_status(session, ctx, JOB, row, action="authorisation.status_refreshed",
                                reason="Changement de statut à la date prévue.")
            changed += 1
    return changed


# --- imputations ---------------------------------------------------------------------------------

def _imputation_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "authorisation_id": row.authorisation_id, "declaration_reference": row.declaration_reference,
            "line_no": row.line_no, "crossing_date": row.crossing_date, "office": row.office, "flow": row.flow,
            "country": row.country, "quantity": row.quantity, "value_eur": row.value_eur,
            "reported_by": row.reported_by, "reported_at": row.reported_at, "reversed_at": row.reversed_at,
            "reversal_reason": row.reversal_reason}


async def impute(session: AsyncSession, ctx: Context, actor: Actor, *, authorisation_number: str,
                 declaration_reference: str, crossing_date: date, office: str, flow: str, country: str,
                 line_no: int, quantity: int, value_eur: Decimal | None) -> tuple[dict[str, Any], bool]:
    """Write off a border crossing against an authorisation. Returns (imputation, created)."""
    row = await load(session, number=authorisation_number)
    given = {"crossing_date": crossing_date, "office": office, "flow": flow, "country": country,
             "quantity": quantity, "value_eur": value_eur}
    existing = (await session.execute(sa.select(imputations).where(
        imputations.c.authorisation_id == row.id, imputations.c.declaration_reference == declaration_reference,
        imputations.c.line_no == line_no))).first()
    if existing is not None:
        same = all(getattr(existing, k) == v for k, v in given.items() if k != "value_eur") and (
            (existing.value_eur is None and value_eur is None)
            or (existing.value_eur is not None and value_eur is not None
                and Decimal(existing.value_eur) == Decimal(value_eur)))
        if not same:
            raise Conflict(f"La déclaration {declaration_reference} a déjà été imputée sur la ligne {line_no} "
                           "avec d'autres valeurs.")
        return _imputation_view(existing), False
    if crossing_date > ctx.clock.today():
        raise Invalid("La date du passage en douane ne peut pas être dans le futur.",
                      errors=[{"field": "crossing_date", "message": "Date future."}])
    if flow != row.flow:
        raise Invalid(f"Le flux déclaré ({flow}) ne correspond pas à celui de l'autorisation ({row.flow}).",
                      errors=[{"field": "flow", "message": "Flux différent de celui de l'autorisation."}])
    expected_country = row.destination_country if row.flow in ("EXP", "EXD") else row.origin_country
    if country.upper() != expected_country.upper():
        raise Invalid(f"Le pays déclaré ({country}) ne correspond pas à celui de l'autorisation "
                      f"({expected_country}).", errors=[{"field": "country", "message": "Pays différent."}])
    lines = await _lines(session, row.id, lock=True)
    state = _state(row, lines)
    if not state.usable_on(crossing_date):
        label = AUTHORISATION_STATUS_LABELS[state.status_on(crossing_date)]
        raise Conflict(f"L'autorisation {row.number} n'est pas valide le {crossing_date.strftime('%d/%m/%Y')} "
                       f"(statut à cette date : {label.lower()}).")
    line = next((x for x in lines if x.line_no == line_no), None)
    if line is None:
        raise Invalid(f"L'autorisation {row.number} n'a pas de ligne {line_no}.",
                      errors=[{"field": "line_no", "message": "Ligne inconnue."}])
    if row.quantity_limited:
        remaining = line.quantity - line.quantity_used
        if quantity > remaining:
            raise Conflict(f"La quantité restante sur la ligne {line_no} ({remaining}) ne permet pas d'imputer "
                           f"{quantity}.")
        if value_eur is not None and line.value_eur is not None and \
                Decimal(line.value_used) + Decimal(value_eur) > Decimal(line.value_eur):
            raise Conflict(f"La valeur restante sur la ligne {line_no} "
                           f"({Decimal(line.value_eur) - Decimal(line.value_used)} €) ne permet pas d'imputer "
                           f"{value_eur} €.")
    iid, now = uuid.uuid4(), ctx.clock.now()
    new = (await session.execute(sa.insert(imputations).values(
        id=iid, authorisation_id=row.id, declaration_reference=declaration_reference, line_no=line_no,
        reported_by=actor.id, reported_at=now, **given).returning(*imputations.c))).one()
    await session.execute(sa.update(authorisation_lines).where(
        authorisation_lines.c.authorisation_id == row.id, authorisation_lines.c.line_no == line_no).values(
        quantity_used=authorisation_lines.c.quantity_used + quantity,
        value_used=authorisation_lines.c.value_used + (value_eur or 0)))
    await audit.record(session, actor=actor, action="imputation.recorded", at=now, case_id=row.case_id,
                       authorisation_id=row.id, before={"line_no": line_no, "quantity_used": line.quantity_used},
                       after={"line_no": line_no, "quantity_used": line.quantity_used + quantity},
                       details=_imputation_view(new))
    await _apply_status(session, ctx, actor, row, action="authorisation.quantities_changed", always_emit=True,
                        reason="Imputation de la déclaration " + declaration_reference,
                        details={"imputation_id": iid})
    return _imputation_view(new), True


async def reverse_imputation(session: AsyncSession, ctx: Context, actor: Actor, imputation_id: uuid.UUID,
                             reason: str) -> dict[str, Any]:
    imp = (await session.execute(sa.select(imputations).where(imputations.c.id == imputation_id)
                                 .with_for_update())).first()
    if imp is None:
        raise NotFound("Cette imputation n'existe pas.")
    if imp.reversed_at is not None:
        raise Conflict("Cette imputation a déjà été annulée.")
    row = await load(session, imp.authorisation_id)
    if row.revoked_at is not None:
        raise Conflict("L'autorisation est abrogée : ses imputations ne peuvent plus être annulées.")
    now = ctx.clock.now()
    new = (await session.execute(sa.update(imputations).where(imputations.c.id == imputation_id).values(
        reversed_at=now, reversed_by=actor.id, reversal_reason=reason).returning(*imputations.c))).one()
    await session.execute(sa.update(authorisation_lines).where(
        authorisation_lines.c.authorisation_id == row.id, authorisation_lines.c.line_no == imp.line_no).values(
        quantity_used=authorisation_lines.c.quantity_used - imp.quantity,
        value_used=authorisation_lines.c.value_used - (imp.value_eur or 0)))
    await audit.record(session, actor=actor, action="imputation.reversed", at=now, case_id=row.case_id,
                       authorisation_id=row.id, before=_imputation_view(imp), after=_imputation_view(new),
                       details={"reason": reason})
    await _apply_status(session, ctx, actor, row, action="authorisation.quantities_changed", always_emit=True,
                        reason=f"Annulation de l'imputation {imp.declaration_reference} : {reason}",
                        details={"imputation_id": imputation_id})
    return _imputation_view(new)


# --- the PDF --------------------------------------------------------------------------------------

async def pdf_payload(session: AsyncSession, ctx: Context, row: Any) -> dict[str, Any]:
    lines = await _lines(session, row.id)
    rule = ctx.rules.for_type(row.type)
    return {"number": row.number, "type": row.type, "type_name": rule.name, "legal_basis": rule.legal_basis,
            "holder_name": row.holder_name, "holder_address": row.holder_address, "flow": row.flow,
            "origin_country": row.origin_country, "destination_country": row.destination_country,
            "valid_from": row.valid_from, "valid_until": row.valid_until, "conditions": row.conditions,
            "registration_number": row.registration_number, "issued_at": row.issued_at,
            "verification_code": row.verification_code, "quantity_limited": row.quantity_limited,
            "lines": [{"line_no": x.line_no, "classification_code": x.classification_code,
                       "designation": x.designation, "calibre": x.calibre, "quantity": x.quantity,
                       "value_eur": x.value_eur} for x in lines]}


async def store_pending_pdfs(session_factory: async_sessionmaker[AsyncSession], ctx: Context,
                             limit: int = 20, only: uuid.UUID | None = None) -> int:
    """Generate and store the PDF of authorisations that have none yet (or of ``only``, right
    after its signature); failures are retried by the scheduled job."""
    from instruction.adapters.pdf import render_authorisation_pdf

    stored = 0
    query = sa.select(authorisations).where(authorisations.c.pdf_document_id.is_(None))
    if only is not None:
        query = query.where(authorisations.c.id == only)
    async with session_factory() as session, session.begin():
        rows = (await session.execute(
            query.order_by(authorisations.c.issued_at).limit(limit).with_for_update(skip_locked=True))).all()
        for row in rows:
            try:
                # Rendering is CPU work: keep it off the event loop.
                content = await asyncio.to_thread(render_authorisation_pdf, await pdf_payload(session, ctx, row))
                doc_id = await ctx.documents.store_generated(
                    content=content, filename=f"{row.number}.pdf", owner_account_id=row.holder_account_id,
                    owner_operator_id=row.holder_operator_id, title=f"Autorisation {row.number}",
                    document_type="AUTORISATION")
            except Exception as exc:
                log.warning("PDF of %s not stored yet: %s", row.number, exc)
                await session.execute(sa.update(authorisations).where(authorisations.c.id == row.id).values(
                    pdf_attempts=authorisations.c.pdf_attempts + 1,
                    pdf_last_error=f"{exc.__class__.__name__}: {exc}"[:1000]))
                continue
            now = ctx.clock.now()
            await session.execute(sa.update(authorisations).where(authorisations.c.id == row.id).values(
                pdf_document_id=doc_id, pdf_attempts=authorisations.c.pdf_attempts + 1, pdf_last_error=None))
            await audit.record(session, actor=JOB, action="authorisation.document_issued", at=now,
                               case_id=row.case_id, authorisation_id=row.id, after={"document_id": doc_id})
            await add_event(session, AuthorisationDocumentIssuedV1(
                authorisation_id=row.id, number=row.number, dossier_id=row.dossier_id,
                holder_account_id=row.holder_account_id, holder_operator_id=row.holder_operator_id,
                document_id=doc_id, verification_code=row.verification_code, issued_at=now))
            stored += 1
    return stored
