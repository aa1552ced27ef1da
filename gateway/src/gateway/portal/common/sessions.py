"""Server-side portal sessions in Redis, pointed to by an opaque HttpOnly cookie.

A session holds the person's access and refresh tokens (never sent to the browser), a few facts
about the account for the layout, and the flash messages shown once on the next page."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis


@dataclass
class PortalSession:
    id: str
    access_token: str = ""
    refresh_token: str = ""
    access_expires_at: float = 0.0
    account: dict[str, Any] = field(default_factory=dict)
    flashes: list[dict[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"access_token": self.access_token, "refresh_token": self.refresh_token,
                           "access_expires_at": self.access_expires_at, "account": self.account,
                           "flashes": self.flashes, "data": self.data})

    @classmethod
    def load(cls, sid: str, raw: bytes | str) -> PortalSession:
        d = json.loads(raw)
        return cls(id=sid, access_token=d.get("access_token", ""), refresh_token=d.get("refresh_token", ""),
                   access_expires_at=float(d.get("access_expires_at", 0)), account=d.get("account") or {},
                   flashes=d.get("flashes") or [], data=d.get("data") or {})

    def set_tokens(self, tokens: dict[str, Any]) -> None:
        self.access_token = tokens["access_token"]
        self.access_expires_at = time.time() + int(tokens.get("expires_in") or 0)
        if tokens.get("refresh_token"):
            self.refresh_token = tokens["refresh_token"]


class SessionStore:
    """One Redis key per session (``<prefix><id>``) with an idle lifetime renewed on each save."""

    def __init__(self, redis: Redis, prefix: str, idle_seconds: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.idle_seconds = idle_seconds

    def _key(self, sid: str) -> str:
        return f"{self.prefix}{sid}"

    async def create(self) -> PortalSession:
        return PortalSession(id=secrets.token_urlsafe(32))

    async def load(self, sid: str | None) -> PortalSession | None:
        if not sid or len(sid) > 100:
            return None
        raw = await self.redis.get(self._key(sid))
        return PortalSession.load(sid, raw) if raw else None

    async def save(self, session: PortalSession) -> None:
        await self.redis.set(self._key(session.id), session.dump(), ex=self.idle_seconds)

    async def delete(self, sid: str) -> None:
        await self.redis.delete(self._key(sid))

    async def lock(self, sid: str, seconds: int = 10) -> bool:
        """A short lock so that two requests of one session never both spend the same refresh
        token (identity rotates it and treats a reuse as theft)."""
        for _ in range(int(seconds / 0.05)):
            if await self.redis.set(self._key(sid) + ":lock", "1", nx=True, ex=seconds):
                return True
            await asyncio.sleep(0.05)
        return False

    async def unlock(self, sid: str) -> None:
        await self.redis.delete(self._key(sid) + ":lock")

    # Small per-account facts kept beyond one session (e.g. « first visit of e-APS »).
    async def remember(self, name: str, account_id: str) -> bool:
        """Records the fact; answers whether it was already recorded."""
        added = await self.redis.set(f"{self.prefix}fact:{name}:{account_id}", "1", nx=True)
        return not added

    async def stash(self, key: str, value: dict[str, Any], seconds: int = 3600) -> None:
        await self.redis.set(f"{self.prefix}stash:{key}", json.dumps(value), ex=seconds)

    async def unstash(self, key: str) -> dict[str, Any] | None:
        raw = await self.redis.getdel(f"{self.prefix}stash:{key}")
        return json.loads(raw) if raw else None
