"""Events published by the instruction service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from eaps_contracts.base import ContractModel, Event
from eaps_contracts.events.common import AuthorisationLine, Flow


class CaseOpenedV1(Event):
    event_type: ClassVar[str] = "instruction.case.opened"
    description: ClassVar[str] = "A case was opened for a transmitted dossier; the dossier is « en étude »."
    case_id: uuid.UUID
    dossier_id: uuid.UUID
    registration_number: str
    authorisation_type: str
    opened_at: datetime
    deadline: date | None = None


class CaseStageChangedV1(Event):
    event_type: ClassVar[str] = "instruction.case.stage_changed"
    description: ClassVar[str] = (
        "The case moved to another stage the applicant sees (en étude, en instruction, en décision).")
    case_id: uuid.UUID
    dossier_id: uuid.UUID
    stage: Literal["en_etude", "en_instruction", "en_decision"]
    changed_at: datetime


class DossierAdmissibleV1(Event):
    event_type: ClassVar[str] = "instruction.dossier.admissible"
    description: ClassVar[str] = "The dossier was found admissible (recevable): it goes « en instruction »."
    case_id: uuid.UUID
    dossier_id: uuid.UUID
    registration_number: str
    decided_by: uuid.UUID
    decided_at: datetime


class DossierInadmissibleV1(Event):
    event_type: ClassVar[str] = "instruction.dossier.inadmissible"
    description: ClassVar[str] = (
        "The dossier was found inadmissible (irrecevable), with the reason; the case is closed.")
    case_id: uuid.UUID
    dossier_id: uuid.UUID
    registration_number: str
    reason: str
    decided_by: uuid.UUID
    decided_at: datetime


class MissingItem(ContractModel):
    kind: Literal["document", "field", "other"]
    code: str | None = None
    label: str


class CompletionRequestedV1(Event):
    event_type: ClassVar[str] = "instruction.completion.requested"
    description: ClassVar[str] = (
        "The officer asked the applicant to complete the dossier; it goes back to « À traiter ».")
    case_id: uuid.UUID
    dossier_id: uuid.UUID
    registration_number: str
    missing: list[MissingItem]
    message: str
    requested_by: uuid.UUID
    requested_at: datetime


class AuthorisationSnapshot(ContractModel):
    authorisation_id: uuid.UUID
    number: str
    type: str
    holder_account_id: uuid.UUID
    holder_operator_id: uuid.UUID | None = None
    holder_name: str
    flow: Flow
    origin_country: str
    destination_country: str
    valid_from: date
    valid_until: date
    lines: list[AuthorisationLine]
    conditions: str | None = None
    status: str
    pdf_document_id: uuid.UUID | None = None


class DecisionIssuedV1(Event):
    event_type: ClassVar[str] = "instruction.decision.issued"
    description: ClassVar[str] = "A decision was signed (granted or refused) or an implicit rejection was recorded."
    decision_id: uuid.UUID
    case_id: uuid.UUID
    dossier_id: uuid.UUID
    registration_number: str
    outcome: Literal["granted", "refused", "implicit_rejection"]
    reasons: str | None = None
    legal_basis: str | None = None
    proposed_by: uuid.UUID | None = None
    signed_by: uuid.UUID | None = None
    issued_at: datetime
    authorisation: AuthorisationSnapshot | None = None


class AuthorisationStatusChangedV1(Event):
    event_type: ClassVar[str] = "instruction.authorisation.status_changed"
    description: ClassVar[str] = (
        "An authorisation changed status (valide, suspendue, expirée, soldée, abrogée…) or its remaining "
        "quantities changed.")
    authorisation_id: uuid.UUID
    number: str
    dossier_id: uuid.UUID
    holder_account_id: uuid.UUID
    holder_operator_id: uuid.UUID | None = None
    old_status: str
    new_status: str
    reason: str | None = None
    changed_at: datetime
    lines: list[AuthorisationLine] = []


class MessagePostedV1(Event):
    event_type: ClassVar[str] = "instruction.message.posted"
    description: ClassVar[str] = "An officer posted a comment on the dossier's thread (visible to the applicant)."
    message_id: uuid.UUID
    case_id: uuid.UUID
    dossier_id: uuid.UUID
    registration_number: str
    author_id: uuid.UUID
    author_label: str = "Service instructeur"
    body: str
    posted_at: datetime


class AuthorisationDocumentIssuedV1(Event):
    event_type: ClassVar[str] = "instruction.authorisation.document_issued"
    description: ClassVar[str] = (
        "The PDF of an authorisation was generated and stored by the documents service; the holder can download it "
        "with GET /api/v1/documents/{document_id}/content.")
    authorisation_id: uuid.UUID
    number: str
    dossier_id: uuid.UUID
    holder_account_id: uuid.UUID
    holder_operator_id: uuid.UUID | None = None
    document_id: uuid.UUID
    verification_code: str
    issued_at: datetime
