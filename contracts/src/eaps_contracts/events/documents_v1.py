"""Events published by the documents service."""

from __future__ import annotations

import uuid
from typing import ClassVar

from eaps_contracts.base import Event


class DocumentStoredV1(Event):
    event_type: ClassVar[str] = "documents.document.stored"
    description: ClassVar[str] = "A document passed every check and the antivirus: it can be downloaded and attached."
    document_id: uuid.UUID
    owner_account_id: uuid.UUID
    owner_operator_id: uuid.UUID | None = None
    title: str
    document_type: str | None = None
    filename: str
    content_type: str
    size: int
    sha256: str


class DocumentRejectedV1(Event):
    event_type: ClassVar[str] = "documents.document.rejected"
    description: ClassVar[str] = "The antivirus found a threat: the object was removed and the document is rejected."
    document_id: uuid.UUID
    owner_account_id: uuid.UUID
    owner_operator_id: uuid.UUID | None = None
    filename: str
    signature: str


class DocumentDeletedV1(Event):
    event_type: ClassVar[str] = "documents.document.deleted"
    description: ClassVar[str] = "A library document was deleted by its owner (pinned copies are kept)."
    document_id: uuid.UUID
    owner_account_id: uuid.UUID
    owner_operator_id: uuid.UUID | None = None


class DocumentPinnedV1(Event):
    event_type: ClassVar[str] = "documents.document.pinned"
    description: ClassVar[str] = "An immutable copy of a document was pinned to a transmitted dossier."
    document_id: uuid.UUID
    pinned_document_id: uuid.UUID
    dossier_id: uuid.UUID
    sha256: str
