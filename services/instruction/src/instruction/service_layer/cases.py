"""Handlers of a case's life before the decision: opening, assignment, admissibility,
completion requests, notes, consultations, the thread with the applicant, the deadline."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from eaps_contracts.events.dossier_v1 import (
    DossierMessagePostedV1,
    DossierResubmittedV1,
    DossierSnapshot,
    DossierSubmittedV1,
    DossierWithdrawnV1,
)
from eaps_contracts.events.instruction_v1 import (
    CaseOpenedV1,
    CaseStageChangedV1,
    CompletionRequestedV1,
    DecisionIssuedV1,
    DossierAdmissibleV1,
    DossierInadmissibleV1,
    MessagePostedV1,
    MissingItem,
)
from eaps_kit.messaging import PermanentError, add_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from instruction.adapters.orm import (
    case_versions,
    cases,
    completion_requests,
    consultations,
    decisions,
    messages,
    notes,
    proposals,
)
from instruction.domain.errors import Conflict, Forbidden, Invalid, NotFound
from instruction.domain.model import (
    CLOCK_RUNNING,
    OPEN_STATUSES,
    CaseStatus,
    LegalClock,
    diff_snapshots,
    require_status,
)
from instruction.domain.workdays import add_working_days
from instruction.service_layer import audit
from instruction.service_layer.context import JOB, Actor, Context, jsonable


def applicant_name(snapshot: DossierSnapshot) -> str:
    a = snapshot.applicant
    if a.kind == "professional" and a.company_name:
        return a.company_name
    name = " ".join(p for p in (a.first_name, a.last_name) if p)
    return name or a.company_name or str(a.account_id)


def clock_of(row: Any) -> LegalClock:
    return LegalClock(limit=row.deadline_days, started_on=row.clock_started_on,
                      elapsed_before=row.clock_elapsed_before, paused_since=row.clock_paused_since)


def clock_values(clock: LegalClock) -> dict[str, Any]:
    return {"clock_started_on": clock.started_on, "clock_elapsed_before": clock.elapsed_before,
            "clock_paused_since": clock.paused_since, "deadline": clock.deadline()}


def state_of(row: Any) -> dict[str, Any]:
    """The fields the audit trail records before and after an action on a case."""
    return {"status": row.status, "assigned_to": row.assigned_to, "deadline": row.deadline,
            "submission_no": row.submission_no}


async def load_case(session: AsyncSession, case_id: uuid.UUID, *, lock: bool = True) -> Any:
    q = sa.select(cases).where(cases.c.id == case_id)
    if lock:
        q = q.with_for_update()
    row = (await session.execute(q)).first()
    if row is None:
        raise NotFound("Ce dossier n'existe pas dans les files d'instruction.")
    return row


async def _update_case(session: AsyncSession, ctx: Context, case_id: uuid.UUID, **values: Any) -> Any:
    values["updated_at"] = ctx.clock.now()
    return (await session.execute(
        sa.update(cases).where(cases.c.id == case_id).values(**values).returning(*cases.c))).one()


def require_assignee(row: Any, actor: Actor) -> None:
    if row.assigned_to is None:
        raise Conflict("Prenez d'abord ce dossier en charge (ou faites-le attribuer par un superviseur).")
    if str(row.assigned_to) != actor.id:
        raise Forbidden("Ce dossier est attribué à un autre agent instructeur.")


# --- reactions to the dossier service's events ----------------------------------------

async def open_case(session: AsyncSession, ctx: Context, event: DossierSubmittedV1) -> uuid.UUID:
    """Open the case of a transmitted dossier; a second delivery (or a replay) opens nothing."""
    snap = event.dossier
    existing = (await session.execute(sa.select(cases.c.id).where(cases.c.dossier_id == snap.dossier_id))).scalar()
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    now, today = ctx.clock.now(), ctx.clock.today()
    rule = ctx.rules.types.get(snap.authorisation_type)
    limit = rule.deadline.working_days if rule and rule.deadline else None
    clock = LegalClock(limit=limit, started_on=today)
    case_id = uuid.uuid4()
    inserted = (await session.execute(
        pg_insert(cases).values(
            id=case_id, dossier_id=snap.dossier_id, registration_number=snap.registration_number,
            authorisation_type=snap.authorisation_type, status=CaseStatus.EN_ETUDE,
            applicant_account_id=snap.applicant.account_id, applicant_operator_id=snap.applicant.operator_id,
            applicant_kind=snap.applicant.kind, applicant_profile=snap.applicant.profile,
            applicant_name=applicant_name(snap), flow=snap.flow, origin_country=snap.origin_country,
            destination_country=snap.destination_country, submission_no=snap.submission_no,
            snapshot=jsonable(snap), opened_at=now, updated_at=now, deadline_days=limit, **clock_values(clock))
        .on_conflict_do_nothing(index_elements=["dossier_id"]).returning(cases.c.id))).scalar()
    if inserted is None:  # a concurrent delivery won the race
        return (await session.execute(  # type: ignore[no-any-return]
            sa.select(cases.c.id).where(cases.c.dossier_id == snap.dossier_id))).scalar_one()
    await session.execute(sa.insert(case_versions).values(
        case_id=case_id, submission_no=snap.submission_no, snapshot=jsonable(snap), received_at=now))
    applicant = Actor(str(snap.applicant.account_id), "applicant")
    await audit.record(session, actor=applicant, action="case.opened", at=now, case_id=case_id,
                       after={"status": CaseStatus.EN_ETUDE, "deadline": clock.deadline(),
                              "submission_no": snap.submission_no})
    await add_event(session, CaseOpenedV1(
        case_id=case_id, dossier_id=snap.dossier_id, registration_number=snap.registration_number,
        authorisation_type=snap.authorisation_type, opened_at=now, deadline=clock.deadline()))
    return case_id


async def resume_after_completion(session: AsyncSession, ctx: Context, event: DossierResubmittedV1) -> None:
    snap = event.dossier
    row = (await session.execute(
        sa.select(cases).where(cases.c.dossier_id == snap.dossier_id).with_for_update())).first()
    if row is None:
        # The submission may not have been handled yet: retry later.
        raise LookupError(f"no case for dossier {snap.dossier_id} yet")
    if snap.submission_no <= row.submission_no:
        return  # already applied
    if row.status != CaseStatus.INCOMPLET:
        raise PermanentError(f"dossier {snap.dossier_id} resubmitted while its case is {row.status}")
    now, today = ctx.clock.now(), ctx.clock.today()
    previous = row.snapshot
    new = jsonable(snap)
    changes = diff_snapshots(previous, new)
    await session.execute(sa.insert(case_versions).values(
        case_id=row.id, submission_no=snap.submission_no, snapshot=new, changes=jsonable(changes),
        changed_fields=list(event.changed_fields), received_at=now))
    clock = clock_of(row)
    clock.resume(today)
    after = await _update_case(session, ctx, row.id, status=CaseStatus.EN_ETUDE, snapshot=new,
                               submission_no=snap.submission_no, applicant_name=applicant_name(snap),
                               **clock_values(clock))
    await session.execute(sa.update(completion_requests).where(
        completion_requests.c.case_id == row.id, completion_requests.c.answered_at.is_(None)).values(
        answered_at=now, answered_submission_no=snap.submission_no))
    await audit.record(session, actor=Actor(str(snap.applicant.account_id), "applicant"),
                       action="case.resubmitted", at=now, case_id=row.id, before=state_of(row),
                       after=state_of(after), details={"changes": changes})
    await add_event(session, CaseStageChangedV1(case_id=row.id, dossier_id=row.dossier_id,
                                                stage="en_etude", changed_at=now))


async def close_on_withdrawal(session: AsyncSession, ctx: Context, event: DossierWithdrawnV1) -> None:
    row = (await session.execute(
        sa.select(cases).where(cases.c.dossier_id == event.dossier_id).with_for_update())).first()
    if row is None:
        raise LookupError(f"no case for dossier {event.dossier_id} yet")
    if row.status not in OPEN_STATUSES:
        return  # already closed (decided, or this event was replayed)
    now = ctx.clock.now()
    clock = clock_of(row)
    clock.pause(ctx.clock.today())
    after = await _update_case(session, ctx, row.id, status=CaseStatus.RETIREE, closed_at=now,
                               closing_reason=event.reason, **clock_values(clock))
    await session.execute(sa.update(proposals).where(proposals.c.case_id == row.id, proposals.c.state == "proposed")
                          .values(state="lapsed"))
    await audit.record(session, actor=Actor(str(event.withdrawn_by), "applicant"), action="case.withdrawn", at=now,
                       case_id=row.id, before=state_of(row), after=state_of(after), details={"reason": event.reason})


async def add_applicant_message(session: AsyncSession, ctx: Context, event: DossierMessagePostedV1) -> None:
    case_id = (await session.execute(sa.select(cases.c.id).where(cases.c.dossier_id == event.dossier_id))).scalar()
    if case_id is None:
        raise LookupError(f"no case for dossier {event.dossier_id} yet")
    inserted = (await session.execute(pg_insert(messages).values(
        id=event.message_id, case_id=case_id, direction="applicant", author_id=event.author_account_id,
        body=event.body, document_id=event.document_id, posted_at=event.posted_at,
    ).on_conflict_do_nothing().returning(messages.c.id))).scalar()
    if inserted is not None:
        await audit.record(session, actor=Actor(str(event.author_account_id), "applicant"), action="message.received",
                           at=ctx.clock.now(), case_id=case_id, after={"message_id": event.message_id})


# --- officers' actions -------------------------------------------------------------------

async def take(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID) -> None:
    row = await load_case(session, case_id)
    require_status(row.status, OPEN_STATUSES, "prendre ce dossier en charge")
    if row.assigned_to is not None and str(row.assigned_to) != actor.id:
        raise Conflict("Ce dossier est déjà pris en charge par un autre agent ; un superviseur peut le réattribuer.")
    if row.assigned_to is not None:
        return
    after = await _update_case(session, ctx, case_id, assigned_to=actor.uuid, assigned_at=ctx.clock.now())
    await audit.record(session, actor=actor, action="case.taken", at=ctx.clock.now(), case_id=case_id,
                       before=state_of(row), after=state_of(after))


async def assign(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID,
                 officer_id: uuid.UUID) -> None:
    row = await load_case(session, case_id)
    require_status(row.status, OPEN_STATUSES, "attribuer ce dossier")
    after = await _update_case(session, ctx, case_id, assigned_to=officer_id, assigned_at=ctx.clock.now())
    await audit.record(session, actor=actor, action="case.assigned", at=ctx.clock.now(), case_id=case_id,
                       before=state_of(row), after=state_of(after))


async def decide_admissibility(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID, *,
                               admissible: bool, reason: str | None) -> None:
    row = await load_case(session, case_id)
    require_status(row.status, (CaseStatus.EN_ETUDE,), "statuer sur la recevabilité")
    require_assignee(row, actor)
    now = ctx.clock.now()
    if admissible:
        after = await _update_case(session, ctx, case_id, status=CaseStatus.EN_INSTRUCTION)
        await add_event(session, DossierAdmissibleV1(
            case_id=case_id, dossier_id=row.dossier_id, registration_number=row.registration_number,
            decided_by=actor.uuid, decided_at=now))
        action = "case.admissible"
    else:
        if not reason or not reason.strip():
            raise Invalid("Indiquez le motif d'irrecevabilité : il est communiqué au demandeur.",
                          errors=[{"field": "reason", "message": "Ce champ est obligatoire."}])
        clock = clock_of(row)
        clock.pause(ctx.clock.today())
        after = await _update_case(session, ctx, case_id, status=CaseStatus.IRRECEVABLE, closed_at=now,
                                   closing_reason=reason, **clock_values(clock))
        await add_event(session, DossierInadmissibleV1(
            case_id=case_id, dossier_id=row.dossier_id, registration_number=row.registration_number,
            reason=reason, decided_by=actor.uuid, decided_at=now))
        action = "case.inadmissible"
    await audit.record(session, actor=actor, action=action, at=now, case_id=case_id, before=state_of(row),
                       after=state_of(after), details={"reason": reason} if reason else None)


async def request_completion(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID, *,
                             missing: list[MissingItem], message: str) -> uuid.UUID:
    row = await load_case(session, case_id)
    require_status(row.status, (CaseStatus.EN_ETUDE, CaseStatus.EN_INSTRUCTION), "demander un complément")
    require_assignee(row, actor)
    now = ctx.clock.now()
    clock = clock_of(row)
    clock.pause(ctx.clock.today())
    after = await _update_case(session, ctx, case_id, status=CaseStatus.INCOMPLET, **clock_values(clock))
    request_id = uuid.uuid4()
    await session.execute(sa.insert(completion_requests).values(
        id=request_id, case_id=case_id, missing=jsonable(missing), message=message, requested_by=actor.uuid,
        requested_at=now))
    await audit.record(session, actor=actor, action="completion.requested", at=now, case_id=case_id,
                       before=state_of(row), after=state_of(after),
                       details={"missing": missing, "message": message})
    await add_event(session, CompletionRequestedV1(
        case_id=case_id, dossier_id=row.dossier_id, registration_number=row.registration_number, missing=missing,
        message=message, requested_by=actor.uuid, requested_at=now))
    return request_id


async def add_note(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID, body: str) -> uuid.UUID:
    await load_case(session, case_id, lock=False)
    note_id, now = uuid.uuid4(), ctx.clock.now()
    await session.execute(sa.insert(notes).values(id=note_id, case_id=case_id, author_id=actor.uuid, body=body,
                                                  created_at=now))
    await audit.record(session, actor=actor, action="note.added", at=now, case_id=case_id,
                       after={"note_id": note_id, "body": body})
    return note_id


async def request_consultation(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID, *,
                               ministry: str, due_on: date | None, question: str | None) -> uuid.UUID:
    row = await load_case(session, case_id)
    require_status(row.status, (CaseStatus.EN_INSTRUCTION,), "consulter un ministère")
    rule = ctx.rules.for_type(row.authorisation_type)
    codes = [line["classification_code"] for line in row.snapshot.get("lines", [])]
    allowed = rule.consulted_ministries(codes)
    if ministry not in allowed:
        names = ", ".join(ctx.rules.ministries[m] for m in allowed)
        raise Invalid(f"Pour une {rule.code} portant sur ces matériels, les ministères consultés sont : {names}.",
                      errors=[{"field": "ministry", "message": "Ce ministère n'est pas consulté pour cette demande."}])
    today = ctx.clock.today()
    due = due_on or add_working_days(today, ctx.rules.consultation_due_working_days)
    if due < today:
        raise Invalid("La date d'échéance de l'avis ne peut pas être dans le passé.",
                      errors=[{"field": "due_on", "message": "Date passée."}])
    cid = uuid.uuid4()
    await session.execute(sa.insert(consultations).values(
        id=cid, case_id=case_id, ministry=ministry, requested_on=today, due_on=due, requested_by=actor.uuid,
        question=question))
    await audit.record(session, actor=actor, action="consultation.requested", at=ctx.clock.now(), case_id=case_id,
                       after={"consultation_id": cid, "ministry": ministry, "due_on": due})
    return cid


async def record_opinion(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID,
                         consultation_id: uuid.UUID, *, opinion: str, text: str | None) -> None:
    await load_case(session, case_id)
    row = (await session.execute(sa.select(consultations).where(
        consultations.c.id == consultation_id, consultations.c.case_id == case_id).with_for_update())).first()
    if row is None:
        raise NotFound("Cette consultation n'existe pas pour ce dossier.")
    if row.opinion is not None:
        raise Conflict("L'avis de ce ministère a déjà été enregistré.")
    await session.execute(sa.update(consultations).where(consultations.c.id == consultation_id).values(
        opinion=opinion, opinion_text=text, opinion_on=ctx.clock.today(), recorded_by=actor.uuid))
    await audit.record(session, actor=actor, action="consultation.opinion_recorded", at=ctx.clock.now(),
                       case_id=case_id, before={"opinion": None},
                       after={"consultation_id": consultation_id, "opinion": opinion, "text": text})


async def post_message(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID,
                       body: str) -> uuid.UUID:
    row = await load_case(session, case_id, lock=False)
    mid, now = uuid.uuid4(), ctx.clock.now()
    await session.execute(sa.insert(messages).values(id=mid, case_id=case_id, direction="officer",
                                                     author_id=actor.uuid, body=body, posted_at=now))
    await audit.record(session, actor=actor, action="message.posted", at=now, case_id=case_id,
                       after={"message_id": mid, "body": body})
    await add_event(session, MessagePostedV1(message_id=mid, case_id=case_id, dossier_id=row.dossier_id,
                                             registration_number=row.registration_number, author_id=actor.uuid,
                                             body=body, posted_at=now))
    return mid


async def extend_deadline(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID,
                          reason: str) -> None:
    row = await load_case(session, case_id)
    require_status(row.status, OPEN_STATUSES, "prolonger le délai")
    rule = ctx.rules.for_type(row.authorisation_type)
    if rule.deadline is None:
        raise Conflict(f"Aucun délai légal d'instruction n'est fixé pour une {rule.code}.")
    if row.deadline_extended:
        raise Conflict("Le délai a déjà été prolongé.")
    clock = clock_of(row)
    clock.limit = rule.deadline.extended_working_days
    after = await _update_case(session, ctx, case_id, deadline_days=clock.limit, deadline_extended=True,
                               **clock_values(clock))
    await audit.record(session, actor=actor, action="deadline.extended", at=ctx.clock.now(), case_id=case_id,
                       before=state_of(row), after=state_of(after), details={"reason": reason})


# --- the scheduled job -----------------------------------------------------------------------

async def record_implicit_rejections(session: AsyncSession, ctx: Context, limit: int = 200) -> int:
    """Silence at the deadline is an implicit rejection where the rules say so (LEAF)."""
    today, now = ctx.clock.today(), ctx.clock.now()
    rows = (await session.execute(
        sa.select(cases).where(cases.c.deadline.is_not(None), cases.c.deadline < today,
                               cases.c.status.in_([s.value for s in CLOCK_RUNNING]))
        .order_by(cases.c.deadline).limit(limit).with_for_update(skip_locked=True))).all()
    done = 0
    for row in rows:
        rule = ctx.rules.types.get(row.authorisation_type)
        if rule is None or rule.deadline is None or not rule.deadline.silence_means_rejection:
            continue
        if not clock_of(row).overdue(today):
            continue
        decision_id = uuid.uuid4()
        reasons = (f"Absence de décision dans le délai de {row.deadline_days} jours ouvrés "
                   f"(échéance le {row.deadline.strftime('%d/%m/%Y')}) : la demande est implicitement rejetée.")
        after = await _update_case(session, ctx, row.id, status=CaseStatus.REJET_IMPLICITE, closed_at=now,
                                   closing_reason=reasons)
        await session.execute(sa.update(proposals).where(proposals.c.case_id == row.id,
                                                         proposals.c.state == "proposed").values(state="lapsed"))
        await session.execute(sa.insert(decisions).values(
            id=decision_id, case_id=row.id, outcome="implicit_rejection", reasons=reasons,
            legal_basis=rule.legal_basis, issued_at=now))
        await audit.record(session, actor=JOB, action="case.implicit_rejection", at=now, case_id=row.id,
                           before=state_of(row), after=state_of(after), details={"decision_id": decision_id})
        await add_event(session, DecisionIssuedV1(
            decision_id=decision_id, case_id=row.id, dossier_id=row.dossier_id,
            registration_number=row.registration_number, outcome="implicit_rejection", reasons=reasons,
            legal_basis=rule.legal_basis, issued_at=now))
        done += 1
    return done
