"""Events published by the identity service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from eaps_contracts.base import Event
from eaps_contracts.events.common import ApplicantKind


class AccountRegisteredV1(Event):
    event_type: ClassVar[str] = "identity.account.registered"
    description: ClassVar[str] = (
        "An applicant account was created (not yet verified); carries the contact details notifications needs.")
    account_id: uuid.UUID
    email: str
    phone: str  # E.164
    kind: ApplicantKind
    profile: str
    first_name: str
    last_name: str
    company_name: str | None = None
    siret: str | None = None
    language: str = "fr"


class AccountVerifiedV1(Event):
    event_type: ClassVar[str] = "identity.account.verified"
    description: ClassVar[str] = (
        "Both the email and the mobile phone of an account are verified: the account is usable.")
    account_id: uuid.UUID
    email: str
    verified_at: datetime


class EmailVerificationRequestedV1(Event):
    event_type: ClassVar[str] = "identity.email_verification.requested"
    description: ClassVar[str] = "An email with a single-use verification link must be sent."
    account_id: uuid.UUID
    email: str
    link: str
    expires_at: datetime


class PhoneVerificationRequestedV1(Event):
    event_type: ClassVar[str] = "identity.phone_verification.requested"
    description: ClassVar[str] = "An SMS with a 6-digit verification code must be sent."
    account_id: uuid.UUID
    phone: str
    code: str
    expires_at: datetime


class PasswordResetRequestedV1(Event):
    event_type: ClassVar[str] = "identity.password_reset.requested"
    description: ClassVar[str] = "An email with a single-use password reset link must be sent."
    account_id: uuid.UUID
    email: str
    link: str
    expires_at: datetime


class RegistrationAttemptedV1(Event):
    event_type: ClassVar[str] = "identity.account.registration_attempted"
    description: ClassVar[str] = (
        "Someone tried to register with an email that already has an account; its owner is told by email.")
    account_id: uuid.UUID
    email: str


class HabilitationRequestedV1(Event):
    event_type: ClassVar[str] = "identity.habilitation.requested"
    description: ClassVar[str] = "A user asked a PAE for OPPD status and habilitation to teleservices."
    request_id: uuid.UUID
    account_id: uuid.UUID
    operator_id: uuid.UUID
    company_name: str
    siret: str
    pae_code: str
    teleservices: list[str]
    justification: str


class HabilitationGrantedV1(Event):
    event_type: ClassVar[str] = "identity.habilitation.granted"
    description: ClassVar[str] = (
        "A PAE agent granted OPPD status: the user's next token carries OPPD and the habilitations.")
    request_id: uuid.UUID
    account_id: uuid.UUID
    operator_id: uuid.UUID
    teleservices: list[str]
    decided_by: uuid.UUID
    reason: str | None = None


class HabilitationRefusedV1(Event):
    event_type: ClassVar[str] = "identity.habilitation.refused"
    description: ClassVar[str] = "A PAE agent refused a habilitation request, with a reason."
    request_id: uuid.UUID
    account_id: uuid.UUID
    operator_id: uuid.UUID
    decided_by: uuid.UUID
    reason: str


class OperatorMemberAddedV1(Event):
    event_type: ClassVar[str] = "identity.operator.member_added"
    description: ClassVar[str] = "An account became a member of an operator (company)."
    operator_id: uuid.UUID
    account_id: uuid.UUID
    role: str  # "administrator" | "member"
    added_by: uuid.UUID | None = None


class OperatorInvitationCreatedV1(Event):
    event_type: ClassVar[str] = "identity.operator.invitation_created"
    description: ClassVar[str] = ("The administrator of an operator invited a colleague by email; the invitee "
                                  "accepts it once signed in with a verified account of that address.")
    invitation_id: uuid.UUID
    operator_id: uuid.UUID
    company_name: str
    email: str
    invited_by: uuid.UUID
    expires_at: datetime
    link: str
