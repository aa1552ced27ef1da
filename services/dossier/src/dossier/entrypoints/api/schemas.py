"""Request bodies. Every field is optional where a draft may be saved half-filled; the
domain says what is still missing when a step is validated."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

COUNTRY = r"^[A-Z]{2}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InformationsIn(_In):
    """Step 1, general information: kind of applicant, profile and its fields, flow and countries."""

    applicant_kind: Literal["individual", "professional"] | None = None
    profile: str | None = Field(None, max_length=60)
    profile_details: dict[str, str | None] | None = None
    flow: Literal["IMP", "INT", "EXP", "EXD"] | None = None
    origin_country: str | None = Field(None, pattern=COUNTRY)
    destination_country: str | None = Field(None, pattern=COUNTRY)

    @field_validator("profile_details")
    @classmethod
    def _short_values(cls, v: dict[str, str | None] | None) -> dict[str, str | None] | None:
        if v and any(value is not None and len(value) > 200 for value in v.values()):
            raise ValueError("Une valeur du profil dépasse 200 caractères.")
        return v


class LineIn(_In):
    """A material line chosen with the classification aid."""

    classification_code: str = Field(min_length=1, max_length=40)
    classification_label: str | None = Field(None, max_length=300)
    classification_path: Literal["known", "unknown"] | None = None
    designation: str = Field(min_length=1, max_length=300)
    brand: str | None = Field(None, max_length=120)
    model: str | None = Field(None, max_length=120)
    calibre: str | None = Field(None, max_length=60)
    quantity: int = Field(gt=0, le=1_000_000)
    unit_value_eur: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    serial_numbers: list[str] = Field(default_factory=list, max_length=10_000)

    @model_validator(mode="after")
    def _serials(self) -> LineIn:
        if len(self.serial_numbers) > self.quantity:
            raise ValueError("Il y a plus de numéros de série que d'unités dans cette ligne.")
        if any(not s or len(s) > 60 for s in self.serial_numbers):
            raise ValueError("Chaque numéro de série comporte de 1 à 60 caractères.")
        return self


class AddressIn(_In):
    line1: str | None = Field(None, max_length=200)
    line2: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=120)
    country: str | None = Field(None, pattern=COUNTRY)


class ApplicantIn(_In):
    first_name: str | None = Field(None, max_length=120)
    last_name: str | None = Field(None, max_length=120)
    company_name: str | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, pattern=r"^\+?[0-9 .()-]{6,20}$")
    address: AddressIn | None = None


class PartyIn(_In):
    name: str | None = Field(None, max_length=200)
    address: AddressIn | None = None
    siret: str | None = Field(None, pattern=r"^[0-9]{14}$")
    eori: str | None = Field(None, pattern=r"^[A-Z]{2}[A-Z0-9]{1,15}$")
    email: EmailStr | None = None
    phone: str | None = Field(None, pattern=r"^\+?[0-9 .()-]{6,20}$")


class DemandeurIn(_In):
    """Step 2: applicant details, sender, recipient, motive of the operation."""

    applicant: ApplicantIn | None = None
    sender: PartyIn | None = None
    recipient: PartyIn | None = None
    motive: str | None = Field(None, max_length=40)
    motive_details: str | None = Field(None, max_length=1000)


class JustificatifIn(_In):
    document_id: uuid.UUID


class MessageIn(_In):
    body: str = Field(min_length=1, max_length=5000)
    document_id: uuid.UUID | None = None


class WithdrawalIn(_In):
    reason: str | None = Field(None, max_length=1000)
