"""Client of the documents service: read a library document as its owner, pin it to a dossier."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import httpx
from eaps_kit.internal import INTERNAL_HEADER

from dossier.domain.errors import Conflict, NotFound, Unavailable

UNAVAILABLE = "Le service des documents est momentanément indisponible. Veuillez réessayer dans quelques instants."
NOT_FOUND = "Ce document n'existe pas dans votre bibliothèque."


class DocumentsPort(Protocol):
    async def get(self, document_id: uuid.UUID, authorization: str) -> dict[str, Any]: ...

    async def pin(self, document_id: uuid.UUID, dossier_id: uuid.UUID, owner_account_id: uuid.UUID,
                  owner_operator_id: uuid.UUID | None) -> dict[str, Any]: ...


class HttpDocuments:
    def __init__(self, base_url: str, internal_token: str, *, timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._internal_token = internal_token

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            resp = await self._client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise Unavailable(UNAVAILABLE, headers={"Retry-After": "10"}) from exc
        if resp.status_code >= 500:
            raise Unavailable(UNAVAILABLE, headers={"Retry-After": "10"})
        return resp

    async def get(self, document_id: uuid.UUID, authorization: str) -> dict[str, Any]:
        """The document as its owner sees it (the applicant's own token): 404 for anyone else's."""
        resp = await self._call("GET", f"/api/v1/documents/{document_id}", headers={"Authorization": authorization})
        if resp.status_code in (403, 404):
            raise NotFound(NOT_FOUND)
        if resp.status_code == 401:
            raise Unavailable(UNAVAILABLE, headers={"Retry-After": "10"})
        if resp.status_code != 200:
            raise NotFound(NOT_FOUND)
        return resp.json()  # type: ignore[no-any-return]

    async def pin(self, document_id: uuid.UUID, dossier_id: uuid.UUID, owner_account_id: uuid.UUID,
                  owner_operator_id: uuid.UUID | None) -> dict[str, Any]:
        resp = await self._call(
            "POST", f"/internal/documents/{document_id}/pins", headers={INTERNAL_HEADER: self._internal_token},
            json={"dossier_id": str(dossier_id), "owner_account_id": str(owner_account_id),
                  "owner_operator_id": str(owner_operator_id) if owner_operator_id else None})
        if resp.status_code == 201 or resp.status_code == 200:
            return resp.json()  # type: ignore[no-any-return]
        if resp.status_code == 409:
            raise Conflict("Un justificatif n'est pas encore disponible (analyse antivirus en cours ou refusée) : "
                           "le dossier ne peut pas être transmis.", document_id=str(document_id))
        if resp.status_code == 404:
            raise NotFound(NOT_FOUND, document_id=str(document_id))
        raise Unavailable(UNAVAILABLE, headers={"Retry-After": "10"})
