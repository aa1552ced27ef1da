"""Officers, supervisors, PAE agents and administrators (TOTP second factor), and machine clients
of other administrations (OAuth2 client credentials). Created by the administration command."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import sqlalchemy as sa
from eaps_kit.auth import INTERNAL_AUDIENCE
from eaps_kit.db import transaction
from eaps_kit.problems import ProblemError
from sqlalchemy.engine import RowMapping

from identity.adapters.orm import accounts, machine_clients
from identity.bootstrap import Identity
from identity.domain.validation import password_problems
from identity.service_layer import tokens
from identity.service_layer.accounts import check_password
from identity.service_layer.audit import audit

STAFF_ROLES = ("officer", "supervisor", "pae_agent", "admin")
TOTP_ISSUER = "e-APS Douane"


@dataclass
class StaffCredentials:
    account_id: uuid.UUID
    email: str
    password: str
    totp_secret: str
    otpauth_uri: str
    created: bool


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


async def create_staff(ident: Identity, *, email: str, first_name: str, last_name: str, roles: list[str],
                       password: str | None = None, pae_code: str | None = None,
                       totp_secret: str | None = None) -> StaffCredentials:
    bad = [r for r in roles if r not in STAFF_ROLES]
    if not roles or bad:
        raise ValueError(f"rôles inconnus : {bad or roles}; rôles possibles : {', '.join(STAFF_ROLES)}")
    if "pae_agent" in roles and pae_code not in ident.catalogue.pae:
        raise ValueError(f"un agent PAE doit être rattaché à un PAE connu (--pae), reçu : {pae_code}")
    password = password or _generated_password()
    problems = password_problems(password, email=email, names=(first_name, last_name))
    if problems:
        raise ValueError(" ".join(problems))
    secret = totp_secret or pyotp.random_base32()
    account_id = uuid.uuid4()
    password_hash = await ident.passwords.hash(password)
    async with transaction(ident.session_factory) as session:
        if await session.scalar(sa.select(accounts.c.id).where(accounts.c.email == email)) is not None:
            raise ValueError(f"un compte existe déjà pour {email}")
        await session.execute(sa.insert(accounts).values(
            id=account_id, email=email, password_hash=password_hash, category="staff", roles=roles,
            first_name=first_name, last_name=last_name, pae_code=pae_code, status="active",
            email_verified_at=datetime.now(UTC), totp_secret=ident.keys.encrypt(secret)))
        await audit(session, actor=None, action="staff.created", target_type="account", target_id=account_id,
                    after={"email": email, "roles": ",".join(roles), "pae_code": pae_code})
    return StaffCredentials(account_id, email, password, secret, otpauth_uri(secret, email), True)


async def reset_totp(ident: Identity, email: str) -> str:
    secret = pyotp.random_base32()
    async with transaction(ident.session_factory) as session:
        res = await session.execute(sa.update(accounts)
                                    .where(accounts.c.email == email, accounts.c.category == "staff")
                                    .values(totp_secret=ident.keys.encrypt(secret), totp_last_step=None)
                                    .returning(accounts.c.id))
        account_id = res.scalar_one_or_none()
        if account_id is None:
            raise ValueError(f"aucun agent n'a l'adresse {email}")
        await tokens.revoke_all(session, account_id)
        await audit(session, actor=None, action="staff.totp_reset", target_type="account", target_id=account_id)
    return secret


def _generated_password() -> str:
    return f"{secrets.token_urlsafe(12)}-Aa1!"


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    step = int(now) // totp.interval
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


async def officer_sign_in(ident: Identity, email: str, password: str, otp: str, ip: str) -> tokens.TokenPair:
    async def totp_ok(acc: RowMapping | None) -> bool:
        if acc is None or not acc["totp_secret"]:
            return False
        step = _matching_step(ident.keys.decrypt(acc["totp_secret"]), otp, time.time())
        if step is None:
            return False
        # Each code works once: a code seen on the wire cannot be replayed.
        async with transaction(ident.session_factory) as session:
            res = await session.execute(sa.update(accounts)
                                        .where(accounts.c.id == acc["id"],
                                               sa.or_(accounts.c.totp_last_step.is_(None),
                                                      accounts.c.totp_last_step < step))
                                        .values(totp_last_step=step).returning(accounts.c.id))
            return res.scalar_one_or_none() is not None

    acc = await check_password(ident, scope="internal", email=email, password=password, ip=ip, category="staff",
                               extra_ok=totp_ok)
    async with transaction(ident.session_factory) as session:
        return await tokens.open_session(session, ident, acc, INTERNAL_AUDIENCE, ["pwd", "otp"])


# --- machine clients ---------------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    # Client secrets are 256-bit random values: a plain digest is enough (no dictionary to fear).
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class ClientCredentials:
    client_id: str
    client_secret: str
    scopes: list[str]


async def create_client(ident: Identity, *, name: str, scopes: list[str], client_id: str | None = None,
                        secret: str | None = None) -> ClientCredentials:
    unknown = [s for s in scopes if s not in ident.catalogue.scopes]
    if not scopes or unknown:
        raise ValueError(f"scopes inconnus : {unknown or scopes}; possibles : {', '.join(ident.catalogue.scopes)}")
    client_id = client_id or f"adm-{secrets.token_hex(6)}"
    secret = secret or secrets.token_urlsafe(32)
    async with transaction(ident.session_factory) as session:
        if await session.scalar(sa.select(machine_clients.c.id).where(machine_clients.c.client_id == client_id)):
            raise ValueError(f"le client {client_id} existe déjà")
        cid = uuid.uuid4()
        await session.execute(sa.insert(machine_clients).values(
            id=cid, client_id=client_id, name=name, scopes=scopes, secret_hash=_secret_hash(secret)))
        await audit(session, actor=None, action="client.created", target_type="machine_client", target_id=cid,
                    after={"client_id": client_id, "scopes": " ".join(scopes)})
    return ClientCredentials(client_id, secret, scopes)


async def rotate_client_secret(ident: Identity, client_id: str, grace_seconds: int | None = None) -> str:
    """A new secret; the previous one keeps working for a grace period so the client can switch."""
    grace = ident.settings.machine_secret_grace_seconds if grace_seconds is None else grace_seconds
    secret = secrets.token_urlsafe(32)
    async with transaction(ident.session_factory) as session:
        row = (await session.execute(sa.select(machine_clients).where(machine_clients.c.client_id == client_id)
                                     .with_for_update())).mappings().first()
        if row is None:
            raise ValueError(f"aucun client {client_id}")
        await session.execute(sa.update(machine_clients).where(machine_clients.c.id == row["id"]).values(
            secret_hash=_secret_hash(secret), previous_secret_hash=row["secret_hash"],
            previous_secret_expires_at=datetime.now(UTC) + timedelta(seconds=grace)))
        await audit(session, actor=None, action="client.secret_rotated", target_type="machine_client",
                    target_id=row["id"])
    return secret


INVALID_CLIENT = "Identifiant ou secret du client incorrect."


async def client_credentials_token(ident: Identity, client_id: str, secret: str, scope: str | None,
                                   ip: str) -> tokens.TokenPair:
    verdict = await ident.limiter.check("client", client_id, ip)
    if not verdict.allowed:
        raise ProblemError(429, "Trop de tentatives d'authentification de ce client. Réessayez plus tard.",
                           headers={"Retry-After": str(verdict.retry_after)}, error="slow_down")
    async with ident.session_factory() as session:
        row = (await session.execute(sa.select(machine_clients).where(machine_clients.c.client_id == client_id)
                                     )).mappings().first()
    given = _secret_hash(secret)
    ok = False
    if row is not None and row["disabled_at"] is None:
        ok = hmac.compare_digest(given, row["secret_hash"]) or bool(
            row["previous_secret_hash"] and row["previous_secret_expires_at"] > datetime.now(UTC)
            and hmac.compare_digest(given, row["previous_secret_hash"]))
    if not ok or row is None:
        await ident.limiter.failure("client", client_id, ip)
        raise ProblemError(401, INVALID_CLIENT, error="invalid_client",
                           headers={"WWW-Authenticate": 'Basic realm="e-APS"'})
    await ident.limiter.success("client", client_id)
    allowed = list(row["scopes"])
    wanted = scope.split() if scope else allowed
    refused = [s for s in wanted if s not in allowed]
    if refused:
        raise ProblemError(400, f"Portée non autorisée pour ce client : {' '.join(refused)}.", error="invalid_scope")
    ttl = ident.settings.machine_token_ttl
    claims: dict[str, Any] = {"sub": str(row["id"]), "aud": INTERNAL_AUDIENCE, "roles": ["machine"],
                              "scope": " ".join(wanted), "client_id": client_id, "name": row["name"]}
    return tokens.TokenPair(await tokens.sign(ident, claims, ttl), ttl, scope=" ".join(wanted))
