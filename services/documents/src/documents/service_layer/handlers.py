"""Commands of the documents service; one transaction per handler, events in the outbox.

Ordering with S3 (no row without its object, no object without its row):
- writing: the object is committed first, then the row; a crash between the two leaves an
  object without a row, which :func:`reconcile` removes after a grace period;
- deleting: the row is locked, the object removed, then the row deleted in the same
  transaction; a failed commit leaves a row without object, which :func:`reconcile` removes.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from eaps_contracts.events.documents_v1 import (
    DocumentDeletedV1,
    DocumentPinnedV1,
    DocumentRejectedV1,
    DocumentStoredV1,
)
from eaps_kit.db import transaction
from eaps_kit.messaging import add_event
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from documents import views
from documents.adapters.clamav import ScannerUnavailable, Verdict
from documents.adapters.classification import DocumentTypes
from documents.adapters.multipart import FormStream
from documents.adapters.object_store import ObjectMissing, StorageUnavailable
from documents.adapters.orm import documents, pinned_documents
from documents.bootstrap import Deps
from documents.domain.model import (
    ALLOWED_KINDS,
    DOCUMENT_TYPE_PATTERN,
    MAX_TITLE_LENGTH,
    Conflict,
    DocumentStatus,
    InvalidUpload,
    NotFound,
    Origin,
    Owner,
    check_validity,
)
from documents.service_layer.receiving import receive_file, too_large

log = logging.getLogger("documents.handlers")

PDF_ONLY = tuple(k for k in ALLOWED_KINDS if k.content_type == "application/pdf")


class FieldErrors(Exception):
    """The form's text fields are invalid: ``errors`` as problem+json ``errors`` entries."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid fields")
        self.errors = errors


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class DocumentFields(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str | None = Field(default=None, max_length=MAX_TITLE_LENGTH)
    document_type: str | None = Field(default=None, pattern=DOCUMENT_TYPE_PATTERN)
    valid_from: date | None = None
    valid_until: date | None = None

    _blanks = field_validator("title", "document_type", "valid_from", "valid_until", mode="before")(
        classmethod(lambda cls, v: _blank_to_none(v)))


class GeneratedFields(DocumentFields):
    owner_account_id: uuid.UUID
    owner_operator_id: uuid.UUID | None = None

    _owner_blank = field_validator("owner_operator_id", mode="before")(classmethod(lambda cls, v: _blank_to_none(v)))


def _parse_fields(model: type[DocumentFields], fields: dict[str, str]) -> Any:
    from eaps_kit.problems import french_validation_errors

    try:
        parsed = model.model_validate(fields)
    except ValidationError as exc:
        raise FieldErrors(french_validation_errors(exc.errors())) from None
    try:
        check_validity(parsed.valid_from, parsed.valid_until)
    except InvalidUpload as exc:
        raise FieldErrors([{"field": exc.field, "message": exc.message, "type": "value_error"}]) from None
    return parsed


UNKNOWN_DOCUMENT_TYPE = ("Ce type de document n'existe pas dans la liste des justificatifs : "
                         "choisissez l'un des types proposés.")


async def check_document_type(document_types: DocumentTypes, code: str | None) -> None:
    """The code must be one of the classification's document codes (raises
    ClassificationUnavailable when that list cannot be had)."""
    if code is not None and not await document_types.is_known(code):
        raise FieldErrors([{"field": "document_type", "message": UNKNOWN_DOCUMENT_TYPE, "type": "value_error"}])


def _now() -> datetime:
    return datetime.now(UTC)


def stored_event(row: dict[str, Any]) -> DocumentStoredV1:
    return DocumentStoredV1(document_id=row["id"], owner_account_id=row["owner_account_id"],
                            owner_operator_id=row["owner_operator_id"], title=row["title"],
                            document_type=row["document_type"], filename=row["filename"],
                            content_type=row["content_type"], size=row["size"], sha256=row["sha256"])


def rejected_event(row: dict[str, Any], signature: str) -> DocumentRejectedV1:
    return DocumentRejectedV1(document_id=row["id"], owner_account_id=row["owner_account_id"],
                              owner_operator_id=row["owner_operator_id"], filename=row["filename"],
                              signature=signature)


def rejection_reason(signature: str) -> str:
    return f"L'antivirus a détecté une menace ({signature}) : le fichier a été supprimé."


def check_declared_length(content_length: str | None, limit: int, overhead: int) -> None:
    """Refuse at once, before reading a byte of the body, what says it is too big."""
    if content_length and content_length.isdigit() and int(content_length) > limit + overhead:
        raise too_large(limit)


async def upload_document(deps: Deps, owner: Owner, *, content_type: str | None, content_length: str | None,
                          body: AsyncIterable[bytes]) -> dict[str, Any]:
    s = deps.settings
    check_declared_length(content_length, s.max_upload_bytes, s.multipart_overhead_bytes)
    form = FormStream(content_type)
    document_id = uuid.uuid4()
    key = f"library/{document_id}"
    received = await receive_file(form.events(body), max_bytes=s.max_upload_bytes, store=deps.store,
                                  bucket=s.library_bucket, key=key, scanner=deps.scanner)
    try:
        fields: DocumentFields = _parse_fields(DocumentFields, form.fields)
        await check_document_type(deps.document_types, fields.document_type)
    except BaseException:
        await received.discard()
        raise
    verdict = await received.finalize()
    if verdict is None:
        status, object_key = DocumentStatus.PENDING_SCAN, key
    elif verdict.infected:
        status, object_key = DocumentStatus.REJECTED, None
    else:
        status, object_key = DocumentStatus.AVAILABLE, key
    now = _now()
    row: dict[str, Any] = {
        "id": document_id, "owner_account_id": owner.account_id, "owner_operator_id": owner.operator_id,
        "origin": Origin.UPLOAD.value, "title": fields.title or received.filename.rsplit(".", 1)[0],
        "document_type": fields.document_type, "filename": received.filename,
        "content_type": received.kind.content_type, "size": received.size, "sha256": received.sha256,
        "status": status.value, "object_key": object_key, "valid_from": fields.valid_from,
        "valid_until": fields.valid_until, "created_by": owner.account_id, "created_at": now, "updated_at": now,
        "scanned_at": now if verdict is not None else None,
        "signature": verdict.signature if verdict and verdict.infected else None,
        "rejection_reason": rejection_reason(verdict.signature or "") if verdict and verdict.infected else None,
    }
    await _insert_document(deps, row, verdict)
    return row


async def _insert_document(deps: Deps, row: dict[str, Any], verdict: Verdict | None) -> None:
    try:
        async with transaction(deps.session_factory) as session:
            await session.execute(sa.insert(documents).values(**row))
            if row["status"] == DocumentStatus.AVAILABLE:
                await add_event(session, stored_event(row))
            elif row["status"] == DocumentStatus.REJECTED and verdict is not None:
                await add_event(session, rejected_event(row, verdict.signature or ""))
    except BaseException:
        if row["object_key"]:
            # No row, so no object either; if S3 refuses too, reconciliation removes it.
            with contextlib.suppress(Exception):
                await deps.store.remove(deps.settings.library_bucket, row["object_key"])
        raise


async def store_generated(deps: Deps, *, content_type: str | None, content_length: str | None,
                          body: AsyncIterable[bytes]) -> dict[str, Any]:
    """A document produced by the administration (an authorisation's PDF): PDF only, not
    scanned, available at once to its holder."""
    s = deps.settings
    check_declared_length(content_length, s.max_upload_bytes, s.multipart_overhead_bytes)
    form = FormStream(content_type)
    document_id = uuid.uuid4()
    key = f"library/{document_id}"
    received = await receive_file(form.events(body), max_bytes=s.max_upload_bytes, store=deps.store,
                                  bucket=s.library_bucket, key=key, scanner=None, allowed=PDF_ONLY)
    try:
        fields: GeneratedFields = _parse_fields(GeneratedFields, form.fields)
    except BaseException:
        await received.discard()
        raise
    await received.finalize()
    now = _now()
    row: dict[str, Any] = {
        "id": document_id, "owner_account_id": fields.owner_account_id,
        "owner_operator_id": fields.owner_operator_id, "origin": Origin.GENERATED.value,
        "title": fields.title or received.filename.rsplit(".", 1)[0], "document_type": fields.document_type,
        "filename": received.filename, "content_type": received.kind.content_type, "size": received.size,
        "sha256": received.sha256, "status": DocumentStatus.AVAILABLE.value, "object_key": key,
        "valid_from": fields.valid_from, "valid_until": fields.valid_until, "created_by": None,
        "created_at": now, "updated_at": now, "scanned_at": None, "signature": None, "rejection_reason": None,
    }
    await _insert_document(deps, row, None)
    return row


class DocumentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE_LENGTH)
    document_type: str | None = Field(default=None, pattern=DOCUMENT_TYPE_PATTERN)
    valid_from: date | None = None
    valid_until: date | None = None


async def update_metadata(deps: Deps, owner: Owner, document_id: uuid.UUID, patch: DocumentPatch) -> dict[str, Any]:
    changes = patch.model_dump(exclude_unset=True)
    async with transaction(deps.session_factory) as session:
        row = await views.get_document(session, owner, document_id, for_update=True)
        if row is None:
            raise NotFound("Ce document n'existe pas.")
        if "title" in changes and changes["title"] is None:
            raise InvalidUpload("Le titre ne peut pas être vide.", field="title")
        if changes.get("document_type") not in (None, row["document_type"]):
            await check_document_type(deps.document_types, changes["document_type"])
        merged = {**row, **changes}
        check_validity(merged["valid_from"], merged["valid_until"])
        if changes:
            changes["updated_at"] = _now()
            await session.execute(sa.update(documents).where(documents.c.id == document_id).values(**changes))
            row.update(changes)
    return row


async def delete_document(deps: Deps, owner: Owner, document_id: uuid.UUID) -> None:
    async with transaction(deps.session_factory) as session:
        row = await views.get_document(session, owner, document_id, for_update=True)
        if row is None:
            raise NotFound("Ce document n'existe pas.")
        if row["origin"] == Origin.GENERATED:
            raise Conflict("Ce document a été produit par l'administration et ne peut pas être supprimé.")
        if row["object_key"]:
            with contextlib.suppress(ObjectMissing):
                await deps.store.remove(deps.settings.library_bucket, row["object_key"])
        await session.execute(sa.delete(documents).where(documents.c.id == document_id))
        await add_event(session, DocumentDeletedV1(document_id=row["id"], owner_account_id=row["owner_account_id"],
                                                   owner_operator_id=row["owner_operator_id"]))


async def pin_document(deps: Deps, owner: Owner, document_id: uuid.UUID, dossier_id: uuid.UUID
                       ) -> dict[str, Any]:
    """Pin an immutable copy of the document to a transmitted dossier (idempotent per
    dossier and document): a server-side copy into the pinned bucket."""
    s = deps.settings
    async with transaction(deps.session_factory) as session:
        row = await views.get_document(session, owner, document_id, for_update=True)
        if row is None:
            raise NotFound("Ce document n'existe pas.")
        existing = (await session.execute(sa.select(pinned_documents).where(
            pinned_documents.c.dossier_id == dossier_id, pinned_documents.c.document_id == document_id,
        ))).mappings().first()
        if existing is not None:
            return dict(existing)
        if row["status"] != DocumentStatus.AVAILABLE:
            raise Conflict("Ce document ne peut pas être joint : il est en cours d'analyse antivirus ou a été rejeté.")
        pinned_id = uuid.uuid4()
        key = f"pinned/{dossier_id}/{pinned_id}"
        await deps.store.copy(s.library_bucket, row["object_key"], s.pinned_bucket, key)
        pinned = {
            "id": pinned_id, "document_id": document_id, "dossier_id": dossier_id,
            "owner_account_id": row["owner_account_id"], "owner_operator_id": row["owner_operator_id"],
            "title": row["title"], "document_type": row["document_type"], "filename": row["filename"],
            "content_type": row["content_type"], "size": row["size"], "sha256": row["sha256"], "object_key": key,
            "created_at": _now(),
        }
        try:
            await session.execute(sa.insert(pinned_documents).values(**pinned))
            await add_event(session, DocumentPinnedV1(document_id=document_id, pinned_document_id=pinned_id,
                                                      dossier_id=dossier_id, sha256=row["sha256"]))
            await session.flush()
        except BaseException:
            with contextlib.suppress(Exception):
                await deps.store.remove(s.pinned_bucket, key)
            raise
    return pinned


# --- background work ---------------------------------------------------------------------


async def rescan_pending(deps: Deps, *, batch: int = 20) -> int:
    """Scan the documents left « en cours d'analyse ». Returns how many were settled; stops
    at the first sign that clamd or S3 is still away (the next round tries again)."""
    s = deps.settings
    settled = 0
    async with deps.session_factory() as session:
        ids = list((await session.execute(
            sa.select(documents.c.id).where(documents.c.status == DocumentStatus.PENDING_SCAN)
            .order_by(documents.c.created_at).limit(batch)
        )).scalars())
    for document_id in ids:
        async with transaction(deps.session_factory) as session:
            row = (await session.execute(
                sa.select(documents).where(documents.c.id == document_id,
                                           documents.c.status == DocumentStatus.PENDING_SCAN)
                .with_for_update(skip_locked=True)
            )).mappings().first()
            if row is None:
                continue  # another replica has it, or it was deleted meanwhile
            try:
                chunks = await deps.store.open(s.library_bucket, row["object_key"])
                verdict = await deps.scanner.scan(chunks)
            except ObjectMissing:
                log.error("pending document %s has no object; left to reconciliation", document_id)
                continue
            except (ScannerUnavailable, StorageUnavailable) as exc:
                log.info("re-scan postponed: %s", exc)
                return settled
            await _settle_scan(deps, session, dict(row), verdict)
            settled += 1
    return settled


async def _settle_scan(deps: Deps, session: AsyncSession, row: dict[str, Any], verdict: Verdict) -> None:
    now = _now()
    if verdict.infected:
        signature = verdict.signature or ""
        await deps.store.remove(deps.settings.library_bucket, row["object_key"])
        values = {"status": DocumentStatus.REJECTED.value, "signature": signature, "object_key": None,
                  "rejection_reason": rejection_reason(signature), "scanned_at": now, "updated_at": now}
        await session.execute(sa.update(documents).where(documents.c.id == row["id"]).values(**values))
        await add_event(session, rejected_event(row, signature))
    else:
        values = {"status": DocumentStatus.AVAILABLE.value, "scanned_at": now, "updated_at": now}
        await session.execute(sa.update(documents).where(documents.c.id == row["id"]).values(**values))
        await add_event(session, stored_event({**row, **values}))


async def reconcile(deps: Deps, *, grace_seconds: float) -> dict[str, int]:
    """Remove objects without rows and library rows without objects, older than the grace
    period (an upload between its object and its row is never touched). One listing per
    bucket, compared with the rows."""
    s = deps.settings
    cutoff = _now() - timedelta(seconds=grace_seconds)
    report = {"objects_removed": 0, "rows_removed": 0, "pinned_missing": 0}
    for bucket, table in ((s.library_bucket, documents), (s.pinned_bucket, pinned_documents)):
        listed = await deps.store.list_objects(bucket)
        present = {o.key for o in listed}
        async with deps.session_factory() as session:
            known = set((await session.execute(
                sa.select(table.c.object_key).where(table.c.object_key.is_not(None)))).scalars())
            old_rows = (await session.execute(
                sa.select(table).where(table.c.object_key.is_not(None), table.c.created_at <= cutoff)
            )).mappings().all()
        for obj in listed:
            if obj.key not in known and (obj.last_modified is None or obj.last_modified <= cutoff):
                log.warning("reconciliation: removing object %s/%s that has no row", bucket, obj.key)
                with contextlib.suppress(ObjectMissing):
                    await deps.store.remove(bucket, obj.key)
                report["objects_removed"] += 1
        for row in old_rows:
            if row["object_key"] in present:
                continue
            if table is pinned_documents:
                # A pinned copy belongs to a transmitted dossier: never deleted, loudly reported.
                log.error("reconciliation: pinned copy %s has lost its object %s", row["id"], row["object_key"])
                report["pinned_missing"] += 1
                continue
            log.warning("reconciliation: removing document %s whose object is missing", row["id"])
            async with transaction(deps.session_factory) as session:
                deleted = cast(CursorResult[Any], await session.execute(sa.delete(documents).where(
                    documents.c.id == row["id"], documents.c.object_key == row["object_key"])))
                if deleted.rowcount:
                    await add_event(session, DocumentDeletedV1(
                        document_id=row["id"], owner_account_id=row["owner_account_id"],
                        owner_operator_id=row["owner_operator_id"]))
                    report["rows_removed"] += 1
    return report
