"""Request and answer bodies of the identity API (French messages on every rule)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from identity.domain.validation import normalize_email, normalize_eori, normalize_mobile_phone, normalize_siret


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _email(v: str) -> str:
    return normalize_email(v)


class RegistrationCreate(In):
    kind: Literal["individual", "professional"] = Field(description="particulier ou professionnel")
    profile: str = Field(min_length=1, max_length=40, description="chasseur, tireur sportif, armurier…")
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    phone: str = Field(max_length=32, description="téléphone portable recevant les SMS")
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    siret: str | None = Field(default=None, max_length=20)
    eori: str | None = Field(default=None, max_length=20)

    _e = field_validator("email")(_email)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_mobile_phone(v)

    @field_validator("siret")
    @classmethod
    def _siret(cls, v: str | None) -> str | None:
        return normalize_siret(v) if v else None

    @field_validator("eori")
    @classmethod
    def _eori(cls, v: str | None) -> str | None:
        return normalize_eori(v) if v else None

    @model_validator(mode="after")
    def _professional_fields(self) -> RegistrationCreate:
        if self.kind == "professional":
            missing = [f for f in ("company_name", "siret") if not getattr(self, f)]
            if missing:
                raise ValueError("Pour un professionnel, la raison sociale et le SIRET sont obligatoires.")
        return self


class RegistrationAccepted(BaseModel):
    verification_id: uuid.UUID = Field(description="à renvoyer avec le code reçu par SMS")
    detail: str


class EmailVerification(In):
    token: str = Field(min_length=10, max_length=200)


class PhoneVerification(In):
    verification_id: uuid.UUID
    code: str = Field(pattern=r"^\d{6}$", description="6 chiffres")


class ResendEmail(In):
    email: str = Field(max_length=254)
    _e = field_validator("email")(_email)


class ResendSms(In):
    verification_id: uuid.UUID


class VerificationState(BaseModel):
    email_verified: bool
    phone_verified: bool
    status: str


class SignIn(In):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=256)
    _e = field_validator("email")(_email)


class OfficerSignIn(SignIn):
    otp: str = Field(pattern=r"^\d{6}$", description="code à 6 chiffres de l'application d'authentification")


class RefreshIn(In):
    refresh_token: str = Field(min_length=10, max_length=300)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str | None = None
    refresh_expires_in: int | None = None
    scope: str | None = None


class PasswordResetRequest(In):
    email: str = Field(max_length=254)
    _e = field_validator("email")(_email)


class PasswordResetConfirm(In):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(max_length=256)


class Message(BaseModel):
    detail: str


class TeleserviceRead(BaseModel):
    code: str
    name: str
    description: str
    access: Literal["AS", "OPPD"]
    url: str
    available: bool = Field(description="le profil de l'utilisateur permet d'y accéder")


class PaeRead(BaseModel):
    code: str
    name: str
    region: str
    email: str


class ProfileRead(BaseModel):
    code: str
    label: str


class AccountRead(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    phone: str | None
    kind: str | None
    profile: str | None
    company_name: str | None
    siret: str | None
    eori: str | None
    status: str
    access_level: str
    operator_id: uuid.UUID | None
    operator_role: str | None
    teleservices: list[str]


class StaffRead(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    roles: list[str]
    pae_code: str | None


class OfficerListItem(BaseModel):
    """An instructing officer as a supervisor sees it to assign a case: no email, no secret, no TOTP data."""

    id: uuid.UUID
    display_name: str
    roles: list[str]
    active: bool


class HabilitationCreate(In):
    pae_code: str = Field(min_length=1, max_length=40)
    company_name: str = Field(min_length=1, max_length=200)
    siret: str = Field(max_length=20)
    eori: str | None = Field(default=None, max_length=20)
    teleservices: list[str] = Field(min_length=1, max_length=20)
    justification: str = Field(min_length=10, max_length=2000)

    @field_validator("siret")
    @classmethod
    def _siret(cls, v: str) -> str:
        return normalize_siret(v)

    @field_validator("eori")
    @classmethod
    def _eori(cls, v: str | None) -> str | None:
        return normalize_eori(v) if v else None


class HabilitationRead(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    operator_id: uuid.UUID
    pae_code: str
    company_name: str
    siret: str
    eori: str | None
    teleservices: list[str]
    justification: str
    status: Literal["pending", "granted", "refused"]
    decided_at: datetime | None
    reason: str | None
    created_at: datetime


class GrantIn(In):
    reason: str | None = Field(default=None, max_length=2000)


class RefuseIn(In):
    reason: str = Field(min_length=5, max_length=2000, description="motif du refus, communiqué au demandeur")


class MemberRead(BaseModel):
    account_id: uuid.UUID
    name: str
    email: str
    role: str
    since: datetime


class OperatorRead(BaseModel):
    id: uuid.UUID
    name: str
    siret: str
    eori: str | None
    access_level: str
    teleservices: list[str]
    my_role: str
    members: list[MemberRead]


class InvitationCreate(In):
    email: str = Field(max_length=254)
    _e = field_validator("email")(_email)


class InvitationRead(BaseModel):
    id: uuid.UUID
    company_name: str
    siret: str
    expires_at: datetime
    created_at: datetime
