"""Request and answer bodies of the documents API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class DocumentRead(BaseModel):
    id: uuid.UUID
    title: str
    document_type: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    status: Literal["pending_scan", "available", "rejected"]
    rejection_reason: str | None
    valid_from: date | None
    valid_until: date | None
    origin: Literal["upload", "generated"]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> DocumentRead:
        return cls.model_validate(row, from_attributes=False)


class DocumentPage(BaseModel):
    items: list[DocumentRead]
    total: int
    page: int
    page_size: int


class DownloadLink(BaseModel):
    url: str
    expires_in: int


class PinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dossier_id: uuid.UUID
    owner_account_id: uuid.UUID
    owner_operator_id: uuid.UUID | None = None


class PinnedRead(BaseModel):
    pinned_document_id: uuid.UUID
    document_id: uuid.UUID
    dossier_id: uuid.UUID
    title: str
    document_type: str | None
    sha256: str
    filename: str
    content_type: str
    size: int
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> PinnedRead:
        return cls(pinned_document_id=row["id"], **{k: v for k, v in row.items() if k in cls.model_fields})


class ReconcileReport(BaseModel):
    objects_removed: int
    rows_removed: int
    pinned_missing: int
