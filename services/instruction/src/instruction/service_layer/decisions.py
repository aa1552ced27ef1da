"""Decisions: the instructing officer proposes, a supervisor signs or sends back (four eyes)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from eaps_contracts.events.instruction_v1 import CaseStageChangedV1, DecisionIssuedV1
from eaps_kit.messaging import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from instruction.adapters.orm import decisions, proposals
from instruction.domain.errors import Conflict, Forbidden, Invalid, NotFound
from instruction.domain.model import CaseStatus, require_status
from instruction.service_layer import audit
from instruction.service_layer.authorisations import create_authorisation
from instruction.service_layer.cases import _update_case, clock_of, clock_values, load_case, require_assignee, state_of
from instruction.service_layer.context import Actor, Context, jsonable


def granted_lines(snapshot: dict[str, Any], requested: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The lines of a grant: each names a requested line and a quantity no larger than requested."""
    by_no = {line["line_no"]: line for line in snapshot.get("lines", [])}
    if requested is None:  # default: everything that was asked for
        requested = [{"line_no": n, "quantity": line["quantity"], "value_eur": None} for n, line in by_no.items()]
    if not requested:
        raise Invalid("Une autorisation doit comporter au moins une ligne de marchandises.",
                      errors=[{"field": "lines", "message": "La liste est vide."}])
    out, errors, seen = [], [], set()
    for i, item in enumerate(requested):
        n = item["line_no"]
        src = by_no.get(n)
        if src is None:
            errors.append({"field": f"lines.{i}.line_no", "message": f"La ligne {n} ne figure pas dans la demande."})
            continue
        if n in seen:
            errors.append({"field": f"lines.{i}.line_no", "message": f"La ligne {n} est indiquée deux fois."})
            continue
        seen.add(n)
        qty = int(item["quantity"])
        if qty > int(src["quantity"]):
            errors.append({"field": f"lines.{i}.quantity", "message":
                           f"La quantité accordée ({qty}) dépasse la quantité demandée ({src['quantity']})."})
        value = item.get("value_eur")
        if value is None and src.get("unit_value_eur") is not None:
            value = (Decimal(str(src["unit_value_eur"])) * qty).quantize(Decimal("0.01"))
        out.append({"line_no": n, "classification_code": src["classification_code"],
                    "designation": src["designation"], "calibre": src.get("calibre"), "quantity": qty,
                    "value_eur": None if value is None else str(Decimal(str(value)).quantize(Decimal("0.01")))})
    if errors:
        raise Invalid("Certaines lignes de la proposition sont invalides.", errors=errors)
    return sorted(out, key=lambda x: x["line_no"])


async def propose(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID, *, outcome: str,
                  valid_from: date | None = None, valid_until: date | None = None,
                  lines: list[dict[str, Any]] | None = None, conditions: str | None = None,
                  reasons: str | None = None, legal_basis: str | None = None) -> uuid.UUID:
    row = await load_case(session, case_id)
    require_status(row.status, (CaseStatus.EN_INSTRUCTION,), "proposer une décision")
    require_assignee(row, actor)
    rule = ctx.rules.for_type(row.authorisation_type)
    today, now = ctx.clock.today(), ctx.clock.now()
    values: dict[str, Any] = {}
    if outcome == "granted":
        default_from, default_until = ctx.rules.default_validity(rule.code, row.applicant_kind, today)
        start = valid_from or default_from
        end = valid_until or (ctx.rules.default_validity(rule.code, row.applicant_kind, start)[1]
                              if valid_from else default_until)
        ctx.rules.check_validity(rule.code, row.applicant_kind, today, start, end)
        values = {"valid_from": start, "valid_until": end, "lines": granted_lines(row.snapshot, lines),
                  "conditions": conditions, "legal_basis": legal_basis or rule.legal_basis}
    else:
        if not reasons or not reasons.strip():
            raise Invalid("Un refus doit être motivé.", errors=[{"field": "reasons", "message":
                                                                  "Ce champ est obligatoire."}])
        values = {"reasons": reasons, "legal_basis": legal_basis or rule.legal_basis}
    pid = uuid.uuid4()
    await session.execute(sa.insert(proposals).values(id=pid, case_id=case_id, outcome=outcome, state="proposed",
                                                      proposed_by=actor.uuid, proposed_at=now, **values))
    after = await _update_case(session, ctx, case_id, status=CaseStatus.EN_DECISION)
    await audit.record(session, actor=actor, action=f"decision.proposed.{outcome}", at=now, case_id=case_id,
                       before=state_of(row), after=state_of(after), details={"proposal_id": pid, **values})
    await add_event(session, CaseStageChangedV1(case_id=case_id, dossier_id=row.dossier_id, stage="en_decision",
                                                changed_at=now))
    return pid


async def _load_pending(session: AsyncSession, case_id: uuid.UUID, proposal_id: uuid.UUID) -> Any:
    prop = (await session.execute(sa.select(proposals).where(
        proposals.c.id == proposal_id, proposals.c.case_id == case_id).with_for_update())).first()
    if prop is None:
        raise NotFound("Cette proposition de décision n'existe pas pour ce dossier.")
    if prop.state != "proposed":
        raise Conflict("Cette proposition a déjà été signée, renvoyée ou est devenue caduque.")
    return prop


async def sign(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID,
               proposal_id: uuid.UUID) -> dict[str, Any]:
    row = await load_case(session, case_id)
    prop = await _load_pending(session, case_id, proposal_id)
    require_status(row.status, (CaseStatus.EN_DECISION,), "signer la décision")
    if str(prop.proposed_by) == actor.id:
        raise Forbidden("Vous avez proposé cette décision : un autre superviseur doit la signer "
                        "(principe des quatre yeux).")
    today, now = ctx.clock.today(), ctx.clock.now()
    if prop.outcome == "granted" and prop.valid_from < today:
        raise Conflict("La date de début de validité proposée est passée : renvoyez la proposition pour "
                       "que l'agent instructeur la corrige.")
    decision_id = uuid.uuid4()
    await session.execute(sa.insert(decisions).values(
        id=decision_id, case_id=case_id, proposal_id=proposal_id, outcome=prop.outcome, reasons=prop.reasons,
        legal_basis=prop.legal_basis, proposed_by=prop.proposed_by, signed_by=actor.uuid, issued_at=now))
    await session.execute(sa.update(proposals).where(proposals.c.id == proposal_id).values(
        state="signed", reviewed_by=actor.uuid, reviewed_at=now))
    status = CaseStatus.ACCORDEE if prop.outcome == "granted" else CaseStatus.REFUSEE
    clock = clock_of(row)
    clock.pause(today)
    after = await _update_case(session, ctx, case_id, status=status, closed_at=now, **clock_values(clock))
    snapshot = None
    if prop.outcome == "granted":
        snapshot = await create_authorisation(session, ctx, actor, row, prop, decision_id)
    await audit.record(session, actor=actor, action=f"decision.signed.{prop.outcome}", at=now, case_id=case_id,
                       before=state_of(row), after=state_of(after),
                       details={"proposal_id": proposal_id, "decision_id": decision_id,
                                "authorisation": snapshot.number if snapshot else None})
    await add_event(session, DecisionIssuedV1(
        decision_id=decision_id, case_id=case_id, dossier_id=row.dossier_id,
        registration_number=row.registration_number, outcome=prop.outcome, reasons=prop.reasons,
        legal_basis=prop.legal_basis, proposed_by=prop.proposed_by, signed_by=actor.uuid, issued_at=now,
        authorisation=snapshot))
    return {"decision_id": decision_id, "outcome": prop.outcome,
            "authorisation": jsonable(snapshot) if snapshot else None}


async def send_back(session: AsyncSession, ctx: Context, actor: Actor, case_id: uuid.UUID,
                    proposal_id: uuid.UUID, comment: str) -> None:
    row = await load_case(session, case_id)
    await _load_pending(session, case_id, proposal_id)
    now = ctx.clock.now()
    await session.execute(sa.update(proposals).where(proposals.c.id == proposal_id).values(
        state="sent_back", reviewed_by=actor.uuid, reviewed_at=now, review_comment=comment))
    after = await _update_case(session, ctx, case_id, status=CaseStatus.EN_INSTRUCTION)
    await audit.record(session, actor=actor, action="decision.sent_back", at=now, case_id=case_id,
                       before=state_of(row), after=state_of(after),
                       details={"proposal_id": proposal_id, "comment": comment})
    await add_event(session, CaseStageChangedV1(case_id=case_id, dossier_id=row.dossier_id,
                                                stage="en_instruction", changed_at=now))
