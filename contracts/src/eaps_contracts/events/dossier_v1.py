"""Events published by the dossier service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from eaps_contracts.base import ContractModel, Event
from eaps_contracts.events.common import ApplicantKind, AttachedDocument, Flow, MaterialLine, Party


class ApplicantSnapshot(ContractModel):
    account_id: uuid.UUID
    operator_id: uuid.UUID | None = None
    kind: ApplicantKind
    profile: str
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    siret: str | None = None
    eori: str | None = None
    email: str | None = None
    phone: str | None = None
    address: dict[str, str | None] | None = None
    # Optional since 1.1: the profile's own fields (licence, permit, agrément numbers…).
    profile_details: dict[str, str] | None = None


class DossierSnapshot(ContractModel):
    """Everything the applicant transmitted, as it was at transmission."""

    dossier_id: uuid.UUID
    registration_number: str
    submission_no: int
    submitted_at: datetime
    applicant: ApplicantSnapshot
    flow: Flow
    origin_country: str
    destination_country: str
    authorisation_type: str
    ruleset_version: str
    motive: str
    motive_details: str | None = None
    sender: Party | None = None
    recipient: Party | None = None
    lines: list[MaterialLine]
    attachments: list[AttachedDocument] = []


class DossierSubmittedV1(Event):
    event_type: ClassVar[str] = "dossier.dossier.submitted"
    description: ClassVar[str] = "A dossier was transmitted for the first time; carries the full snapshot."
    dossier: DossierSnapshot


class DossierResubmittedV1(Event):
    event_type: ClassVar[str] = "dossier.dossier.resubmitted"
    description: ClassVar[str] = (
        "A dossier returned for completion was modified and transmitted again; carries the new snapshot.")
    dossier: DossierSnapshot
    changed_fields: list[str] = []


class DossierWithdrawnV1(Event):
    event_type: ClassVar[str] = "dossier.dossier.withdrawn"
    description: ClassVar[str] = "The applicant withdrew a dossier that was not yet decided."
    dossier_id: uuid.UUID
    registration_number: str | None = None
    withdrawn_by: uuid.UUID
    reason: str | None = None
    withdrawn_at: datetime


class DossierMessagePostedV1(Event):
    event_type: ClassVar[str] = "dossier.dossier.message_posted"
    description: ClassVar[str] = "The applicant posted a comment on the dossier's thread."
    message_id: uuid.UUID
    dossier_id: uuid.UUID
    registration_number: str | None = None
    author_account_id: uuid.UUID
    body: str
    document_id: uuid.UUID | None = None
    posted_at: datetime
    # Optional since 1.1: the immutable copy of the attached document that officers can read.
    pinned_document_id: uuid.UUID | None = None
    owner_operator_id: uuid.UUID | None = None
