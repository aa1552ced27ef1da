"""Client of the classification service's determination API (fixed in docs/development.md)."""

from __future__ import annotations

import time
from typing import Any, Protocol

import httpx

from dossier.domain.errors import Conflict, Invalid, Unavailable

UNAVAILABLE = "Le service de classification est momentanément indisponible. Veuillez réessayer dans quelques instants."


class ClassificationPort(Protocol):
    async def determine(self, request: dict[str, Any]) -> dict[str, Any]: ...

    async def document_types(self) -> dict[str, str]: ...


def _problem(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
        return body if isinstance(body, dict) else {}
    except ValueError:
        return {}


class HttpClassification:
    """Determination over HTTP with a timeout; a down or failing service answers 503 + Retry-After."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, client: httpx.AsyncClient | None = None,
                 labels_ttl: float = 300.0) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._labels: dict[str, str] | None = None
        self._labels_at = 0.0
        self._labels_ttl = labels_ttl

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

    async def determine(self, request: dict[str, Any]) -> dict[str, Any]:
        resp = await self._call("POST", "/api/v1/classification/determinations", json=request)
        if resp.status_code == 200:
            return resp.json()  # type: ignore[no-any-return]
        body = _problem(resp)
        detail = body.get("detail") or "La classification a refusé ces matériels."
        extra = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail", "instance", "errors")}
        if resp.status_code == 409:
            if "plusieurs demandes" not in detail:
                detail = ("Ces matériels nécessitent des autorisations distinctes : il vous faudra faire plusieurs "
                          "demandes différentes. " + detail)
            raise Conflict(detail, errors=body.get("errors"), classification=extra or None)
        if resp.status_code in (400, 404, 422):
            raise Invalid(detail, errors=body.get("errors"), classification=extra or None)
        raise Unavailable(UNAVAILABLE, headers={"Retry-After": "10"})

    async def document_types(self) -> dict[str, str]:
        """Document codes with their French labels (cached; labels only, never a rule)."""
        if self._labels is not None and time.monotonic() - self._labels_at < self._labels_ttl:
            return self._labels
        try:
            resp = await self._client.get("/api/v1/classification/document-types")
            resp.raise_for_status()
            body = resp.json()
        except (httpx.HTTPError, ValueError):
            return self._labels or {}
        items = (body.get("document_types") or body.get("items") or body) if isinstance(body, dict) else body
        labels: dict[str, str] = {}
        if isinstance(items, list):
            for it in items:
                if isinstance(it, dict) and it.get("code"):
                    labels[str(it["code"])] = str(it.get("label") or it.get("name") or it["code"])
        elif isinstance(items, dict):
            labels = {str(k): str(v if isinstance(v, str) else (v or {}).get("label", k)) for k, v in items.items()}
        self._labels, self._labels_at = labels, time.monotonic()
        return labels
