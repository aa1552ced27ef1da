"""Value objects shared by several producers' events."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from eaps_contracts.base import ContractModel

Flow = Literal["IMP", "INT", "EXP", "EXD"]
ApplicantKind = Literal["individual", "professional"]


class Address(ContractModel):
    line1: str
    line2: str | None = None
    postal_code: str | None = None
    city: str
    country: str  # ISO 3166-1 alpha-2


class Party(ContractModel):
    name: str
    address: Address
    siret: str | None = None
    eori: str | None = None
    email: str | None = None
    phone: str | None = None


class MaterialLine(ContractModel):
    line_no: int
    classification_code: str
    designation: str
    brand: str | None = None
    model: str | None = None
    calibre: str | None = None
    quantity: int
    unit_value_eur: Decimal | None = None
    serial_numbers: list[str] = []


class AttachedDocument(ContractModel):
    document_code: str
    document_id: uuid.UUID
    pinned_document_id: uuid.UUID | None = None
    filename: str
    sha256: str | None = None


class AuthorisationLine(ContractModel):
    line_no: int
    classification_code: str
    designation: str
    calibre: str | None = None
    quantity: int
    value_eur: Decimal | None = None
    quantity_remaining: int | None = None


class ValidityPeriod(ContractModel):
    valid_from: date
    valid_until: date
