"""« Mes documents »: the owner's library (applicants on the public portal), the pinned
copies of transmitted dossiers (their owner, or an instructing officer), and the documents the
administration generated (authorisation PDFs), which instructing officers read too."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from typing import Literal

from eaps_kit.auth import Principal, require_officer
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from documents import views
from documents.bootstrap import Deps
from documents.domain.model import Conflict, DocumentStatus, IntegrityFailure, NotFound, Owner
from documents.entrypoints.api.deps import content_disposition, get_deps, owner_of, pinned_reader, problems
from documents.entrypoints.api.schemas import DocumentPage, DocumentRead, DownloadLink, PinnedRead
from documents.service_layer import handlers

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])

SortKey = Literal["created_at", "-created_at", "title", "-title", "document_type", "-document_type",
                  "valid_until", "-valid_until", "size", "-size", "filename", "-filename"]
NOT_FOUND = "Ce document n'existe pas."


def _available(row: dict | None) -> dict:  # type: ignore[type-arg]
    if row is None:
        raise NotFound(NOT_FOUND)
    if row["status"] == DocumentStatus.PENDING_SCAN:
        raise Conflict("Ce document est en cours d'analyse antivirus : il sera disponible dès la fin de l'analyse.")
    if row["status"] == DocumentStatus.REJECTED:
        raise Conflict(row["rejection_reason"] or "Ce document a été rejeté par l'antivirus.")
    return row


@router.post("", status_code=201, response_model=DocumentRead, summary="Ajouter un document à la bibliothèque",
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary"}, "title": {"type": "string"},
                     "document_type": {"type": "string"}, "valid_from": {"type": "string", "format": "date"},
                     "valid_until": {"type": "string", "format": "date"}}}}}}})
async def upload_document(request: Request, owner: Owner = Depends(owner_of),
                          deps: Deps = Depends(get_deps)) -> DocumentRead:
    with problems(deps.settings.retry_after_seconds):
        row = await handlers.upload_document(deps, owner, content_type=request.headers.get("content-type"),
                                             content_length=request.headers.get("content-length"),
                                             body=request.stream())
    return DocumentRead.of(row)


@router.get("", response_model=DocumentPage, summary="Lister les documents de la bibliothèque")
async def list_documents(owner: Owner = Depends(owner_of), deps: Deps = Depends(get_deps),
                         document_type: str | None = Query(default=None, max_length=40),
                         status: Literal["pending_scan", "available", "rejected"] | None = None,
                         sort: SortKey = "-created_at", page: int = Query(default=1, ge=1, le=10_000),
                         page_size: int = Query(default=20, ge=1, le=100)) -> DocumentPage:
    async with deps.session_factory() as session:
        rows, total = await views.list_documents(session, owner, document_type=document_type, status=status,
                                                 sort=sort, page=page, page_size=page_size)
    return DocumentPage(items=[DocumentRead.of(r) for r in rows], total=total, page=page, page_size=page_size)


@router.get("/pinned/{pinned_id}", response_model=PinnedRead, summary="Consulter une copie figée")
async def get_pinned(pinned_id: uuid.UUID, reader: Owner | None = Depends(pinned_reader),
                     deps: Deps = Depends(get_deps)) -> PinnedRead:
    async with deps.session_factory() as session:
        row = await views.get_pinned(session, pinned_id, reader)
    if row is None:
        with problems(deps.settings.retry_after_seconds):
            raise NotFound("Cette copie de document n'existe pas.")
    return PinnedRead.of(row)


@router.get("/pinned/{pinned_id}/content", summary="Télécharger une copie figée (somme de contrôle vérifiée)",
            response_class=Response)
async def download_pinned(pinned_id: uuid.UUID, reader: Owner | None = Depends(pinned_reader),
                          deps: Deps = Depends(get_deps)) -> Response:
    with problems(deps.settings.retry_after_seconds):
        async with deps.session_factory() as session:
            row = await views.get_pinned(session, pinned_id, reader)
        if row is None:
            raise NotFound("Cette copie de document n'existe pas.")
        # Spool while hashing: not a byte leaves before the checksum matched the one recorded.
        path = await _spool_verified(deps, row["object_key"], row["sha256"])
    return FileResponse(path, media_type=row["content_type"], background=BackgroundTask(os.unlink, path),
                        headers={"Content-Disposition": content_disposition(row["filename"]),
                                 "X-Content-Type-Options": "nosniff", "X-Checksum-Sha256": row["sha256"],
                                 "Cache-Control": "private, no-store"})


async def _spool_verified(deps: Deps, key: str, expected: str) -> str:
    chunks = await deps.store.open(deps.settings.pinned_bucket, key)
    fd, path = tempfile.mkstemp(prefix="eaps-pinned-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
        if digest.hexdigest() != expected:
            raise IntegrityFailure("L'intégrité de cette copie n'a pas pu être vérifiée : son contenu ne correspond "
                                   "pas à l'empreinte enregistrée lors de la transmission. Le support a été alerté.")
    except BaseException:
        os.unlink(path)
        raise
    return path


@router.get("/generated/{document_id}/content", response_class=Response,
            summary="Télécharger un document produit par l'administration (agents instructeurs)")
async def download_generated(document_id: uuid.UUID, officer: Principal = Depends(require_officer),
                             deps: Deps = Depends(get_deps)) -> Response:
    with problems(deps.settings.retry_after_seconds):
        async with deps.session_factory() as session:
            row = await views.get_generated(session, document_id)
        if row is None:
            raise NotFound(NOT_FOUND)
        chunks = await deps.store.open(deps.settings.library_bucket, row["object_key"])
    return StreamingResponse(chunks, media_type=row["content_type"], headers={
        "Content-Disposition": content_disposition(row["filename"]), "Content-Length": str(row["size"]),
        "X-Content-Type-Options": "nosniff", "X-Checksum-Sha256": row["sha256"], "Cache-Control": "private, no-store"})


@router.get("/{document_id}", response_model=DocumentRead, summary="Consulter un document")
async def get_document(document_id: uuid.UUID, owner: Owner = Depends(owner_of),
                       deps: Deps = Depends(get_deps)) -> DocumentRead:
    async with deps.session_factory() as session:
        row = await views.get_document(session, owner, document_id)
    if row is None:
        with problems(deps.settings.retry_after_seconds):
            raise NotFound(NOT_FOUND)
    return DocumentRead.of(row)


@router.patch("/{document_id}", response_model=DocumentRead, summary="Modifier le titre, le type ou les dates")
async def update_document(document_id: uuid.UUID, patch: handlers.DocumentPatch, owner: Owner = Depends(owner_of),
                          deps: Deps = Depends(get_deps)) -> DocumentRead:
    with problems(deps.settings.retry_after_seconds):
        row = await handlers.update_metadata(deps, owner, document_id, patch)
    return DocumentRead.of(row)


@router.delete("/{document_id}", status_code=204, response_class=Response, summary="Supprimer un document")
async def delete_document(document_id: uuid.UUID, owner: Owner = Depends(owner_of),
                          deps: Deps = Depends(get_deps)) -> Response:
    with problems(deps.settings.retry_after_seconds):
        await handlers.delete_document(deps, owner, document_id)
    return Response(status_code=204)


@router.get("/{document_id}/content", summary="Télécharger un document", response_class=Response)
async def download_document(document_id: uuid.UUID, owner: Owner = Depends(owner_of),
                            deps: Deps = Depends(get_deps)) -> Response:
    with problems(deps.settings.retry_after_seconds):
        async with deps.session_factory() as session:
            row = _available(await views.get_document(session, owner, document_id))
        chunks = await deps.store.open(deps.settings.library_bucket, row["object_key"])
    return StreamingResponse(chunks, media_type=row["content_type"], headers={
        "Content-Disposition": content_disposition(row["filename"]), "Content-Length": str(row["size"]),
        "X-Content-Type-Options": "nosniff", "X-Checksum-Sha256": row["sha256"], "Cache-Control": "private, no-store"})


@router.get("/{document_id}/download-url", response_model=DownloadLink,
            summary="Obtenir un lien de téléchargement de courte durée")
async def download_url(document_id: uuid.UUID, owner: Owner = Depends(owner_of),
                       deps: Deps = Depends(get_deps)) -> DownloadLink:
    ttl = deps.settings.presigned_url_ttl_seconds
    with problems(deps.settings.retry_after_seconds):
        async with deps.session_factory() as session:
            row = _available(await views.get_document(session, owner, document_id))
    url = deps.store.presigned_get(deps.settings.library_bucket, row["object_key"], ttl_seconds=ttl,
                                   filename_header=content_disposition(row["filename"]),
                                   content_type=row["content_type"])
    return DownloadLink(url=url, expires_in=ttl)
