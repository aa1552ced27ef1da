"""The classification service's document codes (GET /api/v1/classification/document-types),
cached in memory so that an upload does not call classification each time.

- a fresh cache (younger than ``ttl``) answers without a call;
- an expired cache is refreshed; if classification cannot answer, the expired list is used
  (with a warning) and no new attempt is made for ``retry_after_failure`` seconds;
- with no list at all and classification away, :class:`ClassificationUnavailable` is raised.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger("documents.classification")

DOCUMENT_TYPES_PATH = "/api/v1/classification/document-types"


class ClassificationUnavailable(Exception):
    """Classification could not give the document codes and none were known yet."""


class DocumentTypes:
    def __init__(self, base_url: str, *, timeout: float = 2.0, ttl: float = 300.0,
                 retry_after_failure: float = 30.0, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._ttl = ttl
        self._retry_after_failure = retry_after_failure
        self._clock = clock
        self._codes: frozenset[str] | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def codes(self) -> frozenset[str]:
        if self._codes is not None and self._clock() < self._refresh_at:
            return self._codes
        async with self._lock:  # one refresh at a time; the others reuse its result
            if self._codes is not None and self._clock() < self._refresh_at:
                return self._codes
            try:
                self._codes = await self._fetch()
                self._refresh_at = self._clock() + self._ttl
            except ClassificationUnavailable as exc:
                if self._codes is None:
                    raise
                log.warning("classification unreachable, using the document codes cached earlier: %s", exc)
                self._refresh_at = self._clock() + self._retry_after_failure
            return self._codes

    async def is_known(self, code: str) -> bool:
        return code in await self.codes()

    async def _fetch(self) -> frozenset[str]:
        try:
            resp = await self._client.get(DOCUMENT_TYPES_PATH)
        except httpx.HTTPError as exc:
            raise ClassificationUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code != 200:
            raise ClassificationUnavailable(f"HTTP {resp.status_code}")
        try:
            body: Any = resp.json()
            items = body["document_types"]
            codes = frozenset(item["code"] for item in items)
        except (ValueError, KeyError, TypeError) as exc:
            raise ClassificationUnavailable(f"unexpected answer: {exc!r}") from exc
        if not codes or not all(isinstance(c, str) for c in codes):
            raise ClassificationUnavailable("unexpected answer: no document code")
        return codes
