"""SMS provider adapters. ``SmsProvider`` is the interface; ``HttpSinkSmsProvider`` speaks the
local sink's API (``POST /messages``), which is also the shape a real provider adapter wraps."""

from __future__ import annotations

from typing import Protocol

import httpx

from notifications.domain.errors import PermanentDeliveryError, TransientDeliveryError


class SmsProvider(Protocol):
    async def send(self, *, message_id: str, to: str, text: str) -> None: ...


class HttpSinkSmsProvider:
    def __init__(
        self, base_url: str, *, sender: str = "DOUANE", timeout: float = 10.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.sender = sender
        self.timeout = timeout
        self._client = client

    async def send(self, *, message_id: str, to: str, text: str) -> None:
        body = {"id": message_id, "to": to, "sender": self.sender, "text": text}
        try:
            if self._client is not None:
                resp = await self._client.post(f"{self.base_url}/messages", json=body, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    resp = await client.post(f"{self.base_url}/messages", json=body)
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"fournisseur SMS injoignable : {exc.__class__.__name__}: {exc}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientDeliveryError(f"fournisseur SMS indisponible ({resp.status_code})")
        if resp.status_code >= 400:
            raise PermanentDeliveryError(f"SMS refusé par le fournisseur ({resp.status_code}) : {resp.text[:200]}")


def make_sms_provider(kind: str, url: str, sender: str) -> SmsProvider:
    if kind == "http-sink":
        return HttpSinkSmsProvider(url, sender=sender)
    raise ValueError(f"unknown SMS provider {kind!r}")
