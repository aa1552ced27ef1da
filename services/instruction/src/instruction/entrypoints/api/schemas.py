"""Request bodies of the instruction API (responses are the read models of views.py)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from eaps_contracts.events.instruction_v1 import MissingItem
from pydantic import BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=4000)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignmentCreate(Body):
    officer_id: uuid.UUID


class AdmissibilityDecision(Body):
    decision: Literal["recevable", "irrecevable"]
    reason: str | None = Field(default=None, max_length=4000)


class MissingItemIn(Body):
    kind: Literal["document", "field", "other"]
    code: str | None = Field(default=None, max_length=64)
    label: str = Field(min_length=1, max_length=500)

    def to_contract(self) -> MissingItem:
        return MissingItem(kind=self.kind, code=self.code, label=self.label)


class CompletionRequestCreate(Body):
    missing: list[MissingItemIn] = Field(min_length=1, max_length=50)
    message: str = Text


class NoteCreate(Body):
    body: str = Text


class MessageCreate(Body):
    body: str = Text


class ConsultationCreate(Body):
    ministry: Literal["interieur", "affaires_etrangeres", "defense"]
    due_on: date | None = None
    question: str | None = Field(default=None, max_length=4000)


class OpinionCreate(Body):
    opinion: Literal["favorable", "defavorable", "reserve"]
    text: str | None = Field(default=None, max_length=4000)


class ReasonBody(Body):
    reason: str = Text


class SendBack(Body):
    comment: str = Text


class ProposalLine(Body):
    line_no: int = Field(ge=1)
    quantity: int = Field(ge=1)
    value_eur: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)


class ProposalCreate(Body):
    outcome: Literal["granted", "refused"]
    valid_from: date | None = None
    valid_until: date | None = None
    lines: list[ProposalLine] | None = Field(default=None, max_length=500)
    conditions: str | None = Field(default=None, max_length=4000)
    reasons: str | None = Field(default=None, max_length=8000)
    legal_basis: str | None = Field(default=None, max_length=2000)


class SuspensionCreate(Body):
    reason: str = Text
    from_date: date | None = None
    until: date | None = None


class ImputationCreate(Body):
    authorisation_number: str = Field(min_length=1, max_length=64)
    declaration_reference: str = Field(min_length=1, max_length=64, description="Référence de la déclaration (MRN)")
    crossing_date: date
    office: str = Field(min_length=1, max_length=32, description="Bureau de douane")
    flow: Literal["IMP", "INT", "EXP", "EXD"]
    country: str = Field(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")
    line_no: int = Field(ge=1)
    quantity: int = Field(ge=1)
    value_eur: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
