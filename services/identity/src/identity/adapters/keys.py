"""Signing keys: stored encrypted in the database, one active, retired ones published until their
tokens have expired. The JWKS and the signer read them through a short cache."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from joserfc import jwt
from joserfc.jwk import KeySet, OKPKey, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.adapters.orm import signing_keys


def fernet_for(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _generate(alg: str, kid: str) -> OKPKey | RSAKey:
    params: Any = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "Ed25519":
        return OKPKey.generate_key("Ed25519", parameters=params, private=True)
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    raise ValueError(f"unsupported signing algorithm {alg}")


class KeyStore:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], *, encryption_secret: str, alg: str,
                 cache_seconds: float, max_token_ttl: int) -> None:
        self._factory = session_factory
        self._fernet = fernet_for(encryption_secret)
        self.alg = alg
        self.cache_seconds = cache_seconds
        self.max_token_ttl = max_token_ttl
        self._loaded_at = -1e9
        self._active: OKPKey | RSAKey | None = None
        self._active_alg = alg
        self._public = KeySet([])

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        return self._fernet.decrypt(value.encode()).decode()

    async def ensure_active_key(self) -> None:
        """Make a first key when there is none (start of a new deployment)."""
        async with self._factory() as session, session.begin():
            await session.execute(sa.text("SELECT pg_advisory_xact_lock(7253101)"))
            found = await session.scalar(sa.select(sa.func.count()).select_from(signing_keys)
                                         .where(signing_keys.c.retired_at.is_(None)))
            if not found:
                await self._insert_new(session)
        await self.reload()

    async def _insert_new(self, session: AsyncSession) -> str:
        kid = f"{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"
        key = _generate(self.alg, kid)
        await session.execute(sa.insert(signing_keys).values(
            kid=kid, alg=self.alg, private_jwk=self.encrypt(json.dumps(key.as_dict(private=True))),
            public_jwk=key.as_dict(private=False)))
        return kid

    async def rotate(self) -> str:
        """A new key signs from now on; the old one stays in the JWKS until the last token it
        signed (allowing for other replicas' cache) has expired."""
        now = datetime.now(UTC)
        keep = timedelta(seconds=self.max_token_ttl + self.cache_seconds + 60)
        async with self._factory() as session, session.begin():
            await session.execute(sa.text("SELECT pg_advisory_xact_lock(7253101)"))
            await session.execute(sa.update(signing_keys).where(signing_keys.c.retired_at.is_(None))
                                  .values(retired_at=now, publish_until=now + keep))
            kid = await self._insert_new(session)
        await self.reload()
        return kid

    async def reload(self) -> None:
        now = datetime.now(UTC)
        async with self._factory() as session:
            rows = (await session.execute(
                sa.select(signing_keys).where(sa.or_(signing_keys.c.publish_until.is_(None),
                                                     signing_keys.c.publish_until > now))
                .order_by(signing_keys.c.created_at.desc()))).mappings().all()
        active = next((r for r in rows if r["retired_at"] is None), None)
        if active is not None:
            data = json.loads(self.decrypt(active["private_jwk"]))
            self._active = _import(data)
            # Each key signs with its own algorithm: changing the setting takes effect at the next rotation.
            self._active_alg = active["alg"]
        self._public = KeySet.import_key_set({"keys": [dict(r["public_jwk"]) for r in rows]})
        self._loaded_at = time.monotonic()

    async def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > self.cache_seconds:
            await self.reload()

    async def public_keyset(self) -> KeySet:
        await self._fresh()
        return self._public

    async def jwks(self) -> dict[str, Any]:
        return dict((await self.public_keyset()).as_dict(private=False))

    async def sign(self, claims: dict[str, Any]) -> str:
        await self._fresh()
        if self._active is None:
            raise RuntimeError("no active signing key")
        header = {"alg": self._active_alg, "kid": self._active.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self._active, algorithms=[self._active_alg])


def _import(data: dict[str, Any]) -> OKPKey | RSAKey:
    if data.get("kty") == "OKP":
        return OKPKey.import_key(data)
    return RSAKey.import_key(data)
