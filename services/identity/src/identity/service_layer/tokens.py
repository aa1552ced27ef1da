"""Access tokens (signed JWT) and rotating refresh tokens with reuse detection."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE
from eaps_kit.db import transaction
from eaps_kit.problems import ProblemError
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from identity.adapters.orm import accounts, operator_members, operators, refresh_tokens
from identity.bootstrap import Identity
from identity.domain.catalogue import AS, OPPD


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str | None = None
    refresh_expires_in: int | None = None
    scope: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": "Bearer",
                                "expires_in": self.expires_in}
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
            body["refresh_expires_in"] = self.refresh_expires_in
        if self.scope is not None:
            body["scope"] = self.scope
        return body


async def applicant_access(session: AsyncSession, ident: Identity, account: RowMapping) -> dict[str, Any]:
    """What an applicant's token says of its access: level, operator, teleservices."""
    row = (await session.execute(
        sa.select(operators.c.id, operators.c.oppd_granted_at, operators.c.teleservices, operator_members.c.role)
        .join(operator_members, operator_members.c.operator_id == operators.c.id)
        .where(operator_members.c.account_id == account["id"]))).mappings().first()
    if row is not None and row["oppd_granted_at"] is not None:
        level, habilitations = OPPD, list(row["teleservices"])
    else:
        level, habilitations = AS, []
    return {
        "access_level": level,
        "operator_id": str(row["id"]) if row is not None else None,
        "operator_role": row["role"] if row is not None else None,
        "teleservices": ident.catalogue.teleservices_for(level, habilitations),
    }


async def claims_for_account(session: AsyncSession, ident: Identity, account: RowMapping,
                             audience: str, amr: list[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": str(account["id"]), "aud": audience, "roles": list(account["roles"]), "amr": amr,
        "name": f"{account['first_name']} {account['last_name']}", "email": account["email"],
    }
    if account["category"] == "applicant":
        access = await applicant_access(session, ident, account)
        claims.update({k: v for k, v in access.items() if v is not None})
    elif account["pae_code"]:
        claims["pae_code"] = account["pae_code"]
    return claims


async def sign(ident: Identity, claims: dict[str, Any], ttl: int) -> str:
    now = int(time.time())
    payload = {"iss": ident.settings.token_issuer, "iat": now, "nbf": now, "exp": now + ttl,
               "jti": uuid.uuid4().hex, **claims}
    return await ident.keys.sign(payload)


def _ttls(ident: Identity, audience: str) -> tuple[int, int]:
    s = ident.settings
    if audience == INTERNAL_AUDIENCE:
        return s.internal_access_token_ttl, s.internal_refresh_token_ttl
    return s.access_token_ttl, s.refresh_token_ttl


async def _new_refresh(session: AsyncSession, account_id: uuid.UUID, audience: str, amr: list[str],
                       family_id: uuid.UUID, ttl: int) -> str:
    rid = uuid.uuid4()
    token = f"{rid.hex}.{secrets.token_urlsafe(32)}"
    await session.execute(sa.insert(refresh_tokens).values(
        id=rid, token_hash=sha256(token), family_id=family_id, account_id=account_id, audience=audience,
        amr=amr, expires_at=datetime.now(UTC) + timedelta(seconds=ttl)))
    return token


async def open_session(session: AsyncSession, ident: Identity, account: RowMapping, audience: str,
                       amr: list[str]) -> TokenPair:
    """Sign-in: a new refresh-token family and a first access token."""
    access_ttl, refresh_ttl = _ttls(ident, audience)
    claims = await claims_for_account(session, ident, account, audience, amr)
    refresh = await _new_refresh(session, account["id"], audience, amr, uuid.uuid4(), refresh_ttl)
    return TokenPair(await sign(ident, claims, access_ttl), access_ttl, refresh, refresh_ttl)


_INVALID_REFRESH = "Votre session n'est plus valide. Veuillez vous reconnecter."


async def refresh(ident: Identity, token: str, audience: str) -> TokenPair:
    """Rotate a refresh token. A token presented a second time is a theft signal: the whole
    family is revoked (the thief's and the user's sessions end)."""
    reused = False
    async with transaction(ident.session_factory) as session:
        row = (await session.execute(sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == sha256(token))
                                     .with_for_update())).mappings().first()
        if row is None or row["audience"] != audience or row["revoked_at"] is not None:
            raise ProblemError(401, _INVALID_REFRESH)
        now = datetime.now(UTC)
        if row["used_at"] is not None:
            await session.execute(sa.update(refresh_tokens)
                                  .where(refresh_tokens.c.family_id == row["family_id"],
                                         refresh_tokens.c.revoked_at.is_(None))
                                  .values(revoked_at=now))
            reused = True
        elif row["expires_at"] <= now:
            raise ProblemError(401, "Votre session a expiré. Veuillez vous reconnecter.")
        else:
            account = (await session.execute(sa.select(accounts).where(accounts.c.id == row["account_id"])
                                              )).mappings().one()
            if account["status"] != "active":
                raise ProblemError(401, _INVALID_REFRESH)
            await session.execute(sa.update(refresh_tokens).where(refresh_tokens.c.id == row["id"])
                                  .values(used_at=now))
            access_ttl, refresh_ttl = _ttls(ident, audience)
            amr = list(row["amr"])
            claims = await claims_for_account(session, ident, account, audience, amr)
            new_refresh = await _new_refresh(session, account["id"], audience, amr, row["family_id"], refresh_ttl)
            pair = TokenPair(await sign(ident, claims, access_ttl), access_ttl, new_refresh, refresh_ttl)
    if reused:
        # Committed above: the revocation stands although the caller gets an error.
        raise ProblemError(401, "Ce jeton de rafraîchissement a déjà été utilisé : par sécurité, "
                                "toutes les sessions qui en découlent ont été fermées. Veuillez vous reconnecter.")
    return pair


async def sign_out(ident: Identity, token: str, audience: str) -> None:
    """End the session (the refresh-token family). Unknown tokens are ignored: sign-out always succeeds."""
    async with transaction(ident.session_factory) as session:
        family = await session.scalar(sa.select(refresh_tokens.c.family_id)
                                      .where(refresh_tokens.c.token_hash == sha256(token),
                                             refresh_tokens.c.audience == audience))
        if family is not None:
            await session.execute(sa.update(refresh_tokens)
                                  .where(refresh_tokens.c.family_id == family, refresh_tokens.c.revoked_at.is_(None))
                                  .values(revoked_at=datetime.now(UTC)))


async def revoke_all(session: AsyncSession, account_id: uuid.UUID) -> None:
    await session.execute(sa.update(refresh_tokens)
                          .where(refresh_tokens.c.account_id == account_id, refresh_tokens.c.revoked_at.is_(None))
                          .values(revoked_at=datetime.now(UTC)))


__all__ = ["INTERNAL_AUDIENCE", "PUBLIC_AUDIENCE", "TokenPair", "open_session", "refresh", "sign_out"]
