"""Reactions to the instruction and documents services' events (inside the consumer's transaction).

Idempotence comes from the kit's inbox; order tolerance from the domain's rules: an outcome is
final, a stage older than the last applied event is ignored, a status change for an
authorisation not yet known is retried until its decision arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eaps_contracts.events import documents_v1 as doc_ev
from eaps_contracts.events import instruction_v1 as ins
from eaps_kit.messaging import MessageContext, PermanentError
from sqlalchemy.ext.asyncio import AsyncSession

from dossier.adapters import store
from dossier.adapters.repository import DossierRepository
from dossier.domain import model
from dossier.domain.model import JustificatifState, Status
from dossier.domain.reference import reference

STAGES = {"en_etude": Status.EN_ETUDE, "en_instruction": Status.EN_INSTRUCTION, "en_decision": Status.EN_DECISION}
OUTCOMES = {"granted": Status.ACCORDEE, "refused": Status.REFUSEE, "implicit_rejection": Status.REJET_IMPLICITE}


class NotYetKnown(Exception):
    """Retried: the fact this event builds on has not arrived yet."""


async def _status(session: AsyncSession, dossier_id: Any, target: Status, at: datetime, actor_id: Any,
                  note: str | None, changed: list[str] | None = None, *,
                  completion: dict[str, Any] | None = None) -> None:
    repo = DossierRepository(session)
    d = await repo.find(dossier_id, for_update=True)
    if d is None:
        # Every dossier the instructing service knows was transmitted from here: it must exist.
        raise PermanentError(f"unknown dossier {dossier_id}")
    if completion is not None:
        applied = model.request_completion(d, at, completion["missing"], completion["message"])
    else:
        applied = model.apply_instruction_status(d, target, at)
    if not applied:
        return
    now = datetime.now(UTC)
    await repo.save(d, changed or ["status"], now, None)
    await repo.add_history(d.id, at, d.status, "officer" if actor_id else "system", actor_id, note)


async def on_instruction_event(ctx: MessageContext) -> None:
    e = ctx.event
    s = ctx.session
    if isinstance(e, ins.CaseOpenedV1):
        await _status(s, e.dossier_id, Status.EN_ETUDE, e.opened_at, None, "Dossier pris en charge par le service "
                                                                         "instructeur")
    elif isinstance(e, ins.CaseStageChangedV1):
        await _status(s, e.dossier_id, STAGES[e.stage], e.changed_at, None, None)
    elif isinstance(e, ins.DossierAdmissibleV1):
        await _status(s, e.dossier_id, Status.EN_INSTRUCTION, e.decided_at, e.decided_by, "Dossier recevable")
    elif isinstance(e, ins.DossierInadmissibleV1):
        await _status(s, e.dossier_id, Status.IRRECEVABLE, e.decided_at, e.decided_by, e.reason)
    elif isinstance(e, ins.CompletionRequestedV1):
        missing = [m.model_dump(mode="json") for m in e.missing]
        await _status(s, e.dossier_id, Status.A_COMPLETER, e.requested_at, e.requested_by, e.message,
                      ["status", "completion_request"], completion={"missing": missing, "message": e.message})
    elif isinstance(e, ins.DecisionIssuedV1):
        await _status(s, e.dossier_id, OUTCOMES[e.outcome], e.issued_at, e.signed_by, e.reasons)
        if e.authorisation is not None:
            await store.save_authorisation(s, store.authorisation_values(
                e.authorisation, dossier_id=e.dossier_id, registration_number=e.registration_number,
                issued_at=e.issued_at))
    elif isinstance(e, ins.AuthorisationStatusChangedV1):
        applied = await store.change_authorisation_status(s, e.authorisation_id, e.new_status, e.changed_at, e.lines)
        if applied is None:
            raise NotYetKnown(f"authorisation {e.authorisation_id} not received yet")
    elif isinstance(e, ins.MessagePostedV1):
        repo = DossierRepository(s)
        if await repo.find(e.dossier_id) is None:
                raise PermanentError(f"unknown dossier {e.dossier_id}")
        await store.insert_message(s, id=e.message_id, dossier_id=e.dossier_id, author_kind="officer",
                                   author_id=e.author_id, author_label=e.author_label or reference().actors["officer"],
                                   body=e.body, posted_at=e.posted_at)
    elif hasattr(ins, "AuthorisationDocumentIssuedV1") and isinstance(e, ins.AuthorisationDocumentIssuedV1):
        if not await store.set_authorisation_pdf(s, e.authorisation_id, e.document_id):
            raise NotYetKnown(f"authorisation {e.authorisation_id} not received yet")


async def on_document_event(ctx: MessageContext) -> None:
    """The antivirus verdict reaches the drafts holding the document as a justificatif."""
    e = ctx.event
    if isinstance(e, doc_ev.DocumentStoredV1):
        state, reason = JustificatifState.DISPONIBLE, None
    elif isinstance(e, doc_ev.DocumentRejectedV1):
        state, reason = JustificatifState.REFUSE, e.signature
    else:
        return
    repo = DossierRepository(ctx.session)
    for dossier_id in await repo.dossiers_holding_document(e.document_id):
        d = await repo.find(dossier_id, for_update=True)
        if d is None or not d.editable:
            continue
        changed = []
        for j in d.justificatifs.values():
            if j.document_id == e.document_id and j.state != state:
                j.state, j.rejection_reason = state, reason
                changed.append(f"justificatifs.{j.code}")
        if changed:
            await repo.save(d, changed, datetime.now(UTC), None)


def instruction_events() -> list[type[Any]]:
    events: list[type[Any]] = [ins.CaseOpenedV1, ins.CaseStageChangedV1, ins.DossierAdmissibleV1,
                               ins.DossierInadmissibleV1, ins.CompletionRequestedV1, ins.DecisionIssuedV1,
                               ins.AuthorisationStatusChangedV1, ins.MessagePostedV1]
    if hasattr(ins, "AuthorisationDocumentIssuedV1"):
        events.append(ins.AuthorisationDocumentIssuedV1)
    return events
