"""Request and response bodies of the public classification API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["individual", "professional"]
    profile: str = Field(min_length=1, max_length=64)


class DeterminationItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classification_code: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000_000)
    goods_code: str | None = Field(default=None, min_length=1, max_length=128,
                                   description="Marchandise choisie dans le catalogue (précise par ex. la percussion).")


class DeterminationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow: Literal["IMP", "INT", "EXP", "EXD"]
    origin_country: str = Field(pattern=r"^[A-Z]{2}$")
    destination_country: str = Field(pattern=r"^[A-Z]{2}$")
    applicant: ApplicantIn
    motive: str | None = Field(default=None, min_length=1, max_length=64)
    items: list[DeterminationItemIn] = Field(min_length=1, max_length=500)


class ExemptionRead(BaseModel):
    code: str
    label: str
    legal_basis: str
    waives: list[str]
    conditions: str
    documents: list[str]
    assumption: bool
    note: str | None


class ItemDecisionRead(BaseModel):
    line: int
    requested_code: str
    classification_code: str
    goods_code: str | None
    quantity: int
    category: str
    label: str
    authorisation: str | None
    outside_scope: bool
    outside_scope_procedure: str | None
    rule: str
    legal_basis: str
    explanation: str
    waived_by: str | None
    needs: str


class DeterminationRead(BaseModel):
    authorisation: Literal["AIMG", "AGIMG", "LEAF", "AP-INT", "PT"] | None
    authorisation_name: str | None
    outside_scope: bool
    outside_scope_procedure: str | None
    required_documents: list[str]
    optional_documents: list[str]
    exemptions: list[ExemptionRead]
    ruleset_version: str
    explanation: str
    items: list[ItemDecisionRead]
    assumptions: list[dict[str, str]]


class RulesetRead(BaseModel):
    version: str
    effective_date: str
    title: str
    description: str
    sha256: str
    item_count: int
    in_force: bool
    future: bool


JSON = dict[str, Any]
