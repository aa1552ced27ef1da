"""Client of the documents service's internal API for generated documents."""

from __future__ import annotations

import uuid

import httpx
from eaps_kit.internal import INTERNAL_HEADER


class DocumentsClient:
    def __init__(self, base_url: str, internal_token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.internal_token = internal_token
        self.timeout = timeout
        # One client for the process: building one loads the CA bundle (~0.1 s of blocked loop).
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def store_generated(self, *, content: bytes, filename: str, owner_account_id: uuid.UUID,
                              owner_operator_id: uuid.UUID | None, title: str, document_type: str) -> uuid.UUID:
        data = {"owner_account_id": str(owner_account_id), "title": title, "document_type": document_type}
        if owner_operator_id is not None:
            data["owner_operator_id"] = str(owner_operator_id)
        resp = await self._http().post(f"{self.base_url}/internal/documents/generated", data=data,
                                       files={"file": (filename, content, "application/pdf")},
                                       headers={INTERNAL_HEADER: self.internal_token})
        if resp.status_code != 201:
            raise RuntimeError(f"documents answered {resp.status_code}: {resp.text[:300]}")
        return uuid.UUID(resp.json()["id"])
