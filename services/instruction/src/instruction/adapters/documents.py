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

    async def store_generated(self, *, content: bytes, filename: str, owner_account_id: uuid.UUID,
                              owner_operator_id: uuid.UUID | None, title: str, document_type: str) -> uuid.UUID:
        data = {"owner_account_id": str(owner_account_id), "title": title, "document_type": document_type}
        if owner_operator_id is not None:
            data["owner_operator_id"] = str(owner_operator_id)
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            resp = await client.post(f"{self.base_url}/internal/documents/generated", data=data,
                                     files={"file": (filename, content, "application/pdf")},
                                     headers={INTERNAL_HEADER: self.internal_token})
        if resp.status_code != 201:
            raise RuntimeError(f"documents answered {resp.status_code}: {resp.text[:300]}")
        return uuid.UUID(resp.json()["id"])
