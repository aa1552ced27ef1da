"""Registration, email and phone verification, sign-in, password reset."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from eaps_contracts.events.common import ApplicantKind
from eaps_contracts.events.identity_v1 import (
    AccountRegisteredV1,
    AccountVerifiedV1,
    EmailVerificationRequestedV1,
    PasswordResetRequestedV1,
    PhoneVerificationRequestedV1,
    RegistrationAttemptedV1,
)
from eaps_kit.auth import PUBLIC_AUDIENCE
from eaps_kit.db import transaction
from eaps_kit.messaging import add_event
from eaps_kit.problems import ProblemError
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from identity.adapters.orm import accounts, email_tokens, phone_codes
from identity.adapters.ratelimit import within_quota
from identity.bootstrap import Identity
from identity.domain.validation import password_problems
from identity.service_layer import tokens
from identity.service_layer.audit import audit

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"

REGISTRATION_ACCEPTED = ("Votre demande d'inscription est enregistrée. Un lien de confirmation vous a été envoyé "
                         "par courriel et un code à 6 chiffres par SMS sur votre téléphone portable.")
BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."


def too_many_sends() -> ProblemError:
    return ProblemError(429, "Trop de demandes d'envoi. Réessayez dans quelques minutes.",
                        headers={"Retry-After": "900"})


@dataclass
class Registration:
    kind: ApplicantKind
    profile: str
    email: str
    password: str
    phone: str
    first_name: str
    last_name: str
    company_name: str | None = None
    siret: str | None = None
    eori: str | None = None


def weak_password(problems: list[str]) -> ProblemError:
    return ProblemError(422, "Le mot de passe ne respecte pas les règles de sécurité : " + " ".join(problems),
                        errors=[{"field": "password", "message": p, "type": "weak_password"} for p in problems])


def _code_hash(ident: Identity, verification_id: uuid.UUID, code: str) -> str:
    key = ident.settings.key_encryption_key.encode()
    return hmac.new(key, f"{verification_id}:{code}".encode(), hashlib.sha256).hexdigest()


async def _email_link(session: AsyncSession, ident: Identity, account_id: uuid.UUID, purpose: str,
                      ttl: int, path: str) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(seconds=ttl)
    # Earlier links of the same purpose stop working: only the newest is valid.
    await session.execute(sa.update(email_tokens)
                          .where(email_tokens.c.account_id == account_id, email_tokens.c.purpose == purpose,
                                 email_tokens.c.used_at.is_(None))
                          .values(used_at=datetime.now(UTC)))
    await session.execute(sa.insert(email_tokens).values(
        token_hash=tokens.sha256(token), account_id=account_id, purpose=purpose, expires_at=expires))
    return f"{ident.settings.portal_base_url.rstrip('/')}{path}?token={token}", expires


async def _sms_code(session: AsyncSession, ident: Identity, account_id: uuid.UUID | None,
                    verification_id: uuid.UUID) -> tuple[str, datetime]:
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = datetime.now(UTC) + timedelta(seconds=ident.settings.sms_code_ttl)
    await session.execute(sa.insert(phone_codes).values(
        id=verification_id, account_id=account_id, code_hash=_code_hash(ident, verification_id, code),
        expires_at=expires, attempts=0))
    return code, expires


async def register(ident: Identity, reg: Registration) -> dict[str, Any]:
    """Create a pending account and send both verifications. A duplicate email gets the same
    answer (with a decoy verification id) and its owner is told by email."""
    problems = password_problems(reg.password, email=reg.email, names=(reg.first_name, reg.last_name))
    if problems:
        raise weak_password(problems)
    # Hash first, whatever happens next, so that both paths take as long.
    password_hash = await ident.passwords.hash(reg.password)
    verification_id = uuid.uuid4()
    try:
        async with transaction(ident.session_factory) as session:
            existing = await session.scalar(sa.select(accounts.c.id).where(accounts.c.email == reg.email))
            if existing is not None:
                await _sms_code(session, ident, None, verification_id)
                await add_event(session, RegistrationAttemptedV1(account_id=existing, email=reg.email))
            else:
                await _create_pending(session, ident, reg, password_hash, verification_id)
    except IntegrityError:
        # Two registrations of the same email at once: the other one won.
        async with transaction(ident.session_factory) as session:
            await _sms_code(session, ident, None, verification_id)
    return {"verification_id": str(verification_id), "detail": REGISTRATION_ACCEPTED}


async def _create_pending(session: AsyncSession, ident: Identity, reg: Registration, password_hash: str,
                          verification_id: uuid.UUID) -> None:
    account_id = uuid.uuid4()
    await session.execute(sa.insert(accounts).values(
        id=account_id, email=reg.email, password_hash=password_hash, category="applicant", roles=["applicant"],
        kind=reg.kind, profile=reg.profile, first_name=reg.first_name, last_name=reg.last_name, phone=reg.phone,
        company_name=reg.company_name, siret=reg.siret, eori=reg.eori, status="pending"))
    await audit(session, actor=account_id, action="account.registered", target_type="account", target_id=account_id,
                after={"email": reg.email, "kind": reg.kind, "profile": reg.profile})
    await add_event(session, AccountRegisteredV1(
        account_id=account_id, email=reg.email, phone=reg.phone, kind=reg.kind,
        profile=reg.profile, first_name=reg.first_name, last_name=reg.last_name,
        company_name=reg.company_name, siret=reg.siret))
    link, expires = await _email_link(session, ident, account_id, VERIFY_EMAIL, ident.settings.email_token_ttl,
                                      "/inscription/verifier-email")
    await add_event(session, EmailVerificationRequestedV1(account_id=account_id, email=reg.email, link=link,
                                                          expires_at=expires))
    code, code_expires = await _sms_code(session, ident, account_id, verification_id)
    await add_event(session, PhoneVerificationRequestedV1(account_id=account_id, phone=reg.phone, code=code,
                                                          expires_at=code_expires))


async def _use_email_token(session: AsyncSession, token: str, purpose: str) -> RowMapping:
    row = (await session.execute(sa.select(email_tokens)
                                 .where(email_tokens.c.token_hash == tokens.sha256(token),
                                        email_tokens.c.purpose == purpose)
                                 .with_for_update())).mappings().first()
    if row is None:
        raise ProblemError(400, "Ce lien n'est pas valide. Vérifiez que vous avez copié le lien complet.")
    if row["used_at"] is not None:
        raise ProblemError(410, "Ce lien a déjà été utilisé ou a été remplacé par un lien plus récent.")
    if row["expires_at"] <= datetime.now(UTC):
        raise ProblemError(410, "Ce lien a expiré. Demandez l'envoi d'un nouveau lien.")
    await session.execute(sa.update(email_tokens).where(email_tokens.c.token_hash == row["token_hash"])
                          .values(used_at=datetime.now(UTC)))
    return row


async def _activate_if_verified(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    acc = (await session.execute(sa.select(accounts).where(accounts.c.id == account_id).with_for_update()
                                 )).mappings().one()
    status = acc["status"]
    if status == "pending" and acc["email_verified_at"] and acc["phone_verified_at"]:
        now = datetime.now(UTC)
        await session.execute(sa.update(accounts).where(accounts.c.id == account_id)
                              .values(status="active", updated_at=now))
        await audit(session, actor=account_id, action="account.verified", target_type="account",
                    target_id=account_id, before={"status": "pending"}, after={"status": "active"})
        await add_event(session, AccountVerifiedV1(account_id=account_id, email=acc["email"], verified_at=now))
        status = "active"
    return {"email_verified": acc["email_verified_at"] is not None,
            "phone_verified": acc["phone_verified_at"] is not None, "status": status}


async def verify_email(ident: Identity, token: str) -> dict[str, Any]:
    async with transaction(ident.session_factory) as session:
        row = await _use_email_token(session, token, VERIFY_EMAIL)
        await session.execute(sa.update(accounts)
                              .where(accounts.c.id == row["account_id"], accounts.c.email_verified_at.is_(None))
                              .values(email_verified_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        return await _activate_if_verified(session, row["account_id"])


WRONG_CODE = "Le code saisi est incorrect."


async def verify_phone(ident: Identity, verification_id: uuid.UUID, code: str) -> dict[str, Any]:
    max_tries = ident.settings.sms_code_max_attempts
    outcome: str
    async with transaction(ident.session_factory) as session:
        row = (await session.execute(sa.select(phone_codes).where(phone_codes.c.id == verification_id)
                                     .with_for_update())).mappings().first()
        if row is None:
            raise ProblemError(400, WRONG_CODE)
        if row["used_at"] is not None:
            raise ProblemError(410, "Ce code a déjà été utilisé.")
        if row["attempts"] >= max_tries:
            raise ProblemError(429, "Trop d'essais avec ce code. Demandez l'envoi d'un nouveau code.")
        if row["expires_at"] <= datetime.now(UTC):
            raise ProblemError(410, "Ce code a expiré. Demandez l'envoi d'un nouveau code.")
        good = row["account_id"] is not None and hmac.compare_digest(
            row["code_hash"], _code_hash(ident, verification_id, code))
        if not good:
            # The try is counted (committed) and the caller gets an error.
            await session.execute(sa.update(phone_codes).where(phone_codes.c.id == verification_id)
                                  .values(attempts=phone_codes.c.attempts + 1))
            left = max_tries - row["attempts"] - 1
            outcome = "wrong" if left > 0 else "exhausted"
        else:
            now = datetime.now(UTC)
            await session.execute(sa.update(phone_codes).where(phone_codes.c.id == verification_id)
                                  .values(used_at=now))
            await session.execute(sa.update(accounts)
                                  .where(accounts.c.id == row["account_id"], accounts.c.phone_verified_at.is_(None))
                                  .values(phone_verified_at=now, updated_at=now))
            return await _activate_if_verified(session, row["account_id"])
    if outcome == "exhausted":
        raise ProblemError(429, "Code incorrect. Vous avez épuisé vos essais : demandez l'envoi d'un nouveau code.")
    raise ProblemError(400, f"{WRONG_CODE} Il vous reste {left} essai(s).")


async def resend_email(ident: Identity, email: str) -> None:
    if not await within_quota(ident.redis, f"{ident.settings.redis_prefix}resend-email:{tokens.sha256(email)}",
                              3, 900):
        raise too_many_sends()
    async with transaction(ident.session_factory) as session:
        acc = (await session.execute(sa.select(accounts).where(accounts.c.email == email))).mappings().first()
        if acc is None or acc["status"] != "pending" or acc["email_verified_at"] is not None:
            return
        link, expires = await _email_link(session, ident, acc["id"], VERIFY_EMAIL, ident.settings.email_token_ttl,
                                          "/inscription/verifier-email")
        await add_event(session, EmailVerificationRequestedV1(account_id=acc["id"], email=email, link=link,
                                                              expires_at=expires))


async def resend_sms(ident: Identity, verification_id: uuid.UUID) -> dict[str, Any]:
    """A new code (and a new verification id) for a pending phone verification; the old code dies."""
    if not await within_quota(ident.redis, f"{ident.settings.redis_prefix}resend-sms:{verification_id}", 3, 900):
        raise too_many_sends()
    new_id = uuid.uuid4()
    async with transaction(ident.session_factory) as session:
        row = (await session.execute(sa.select(phone_codes).where(phone_codes.c.id == verification_id)
                                     .with_for_update())).mappings().first()
        if row is None or row["used_at"] is not None:
            return {"verification_id": str(new_id)}
        await session.execute(sa.update(phone_codes).where(phone_codes.c.id == verification_id)
                              .values(used_at=datetime.now(UTC)))
        acc = None
        if row["account_id"] is not None:
            acc = (await session.execute(sa.select(accounts).where(accounts.c.id == row["account_id"])
                                         )).mappings().one()
        if acc is None or acc["phone_verified_at"] is not None:
            await _sms_code(session, ident, None, new_id)
        else:
            code, expires = await _sms_code(session, ident, acc["id"], new_id)
            await add_event(session, PhoneVerificationRequestedV1(account_id=acc["id"], phone=acc["phone"], code=code,
                                                                  expires_at=expires))
    return {"verification_id": str(new_id)}


def _too_many(retry_after: int, locked: bool, by_ip: bool) -> ProblemError:
    if by_ip:
        detail = "Trop de tentatives de connexion depuis votre poste. Réessayez plus tard."
    elif locked:
        detail = "Trop de tentatives : la connexion à ce compte est temporairement bloquée. Réessayez plus tard."
    else:
        detail = "Trop de tentatives : patientez quelques secondes avant de réessayer."
    return ProblemError(429, detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


async def check_password(ident: Identity, *, scope: str, email: str, password: str, ip: str,
                         category: str, extra_ok: Any = None) -> RowMapping:
    """The account whose credentials these are, or an error that says nothing of which part was wrong.

    ``extra_ok`` (account -> bool) checks a second factor with the same answer on failure."""
    verdict = await ident.limiter.check(scope, email, ip)
    if not verdict.allowed:
        raise _too_many(verdict.retry_after, verdict.locked, verdict.by_ip)
    async with ident.session_factory() as session:
        acc = (await session.execute(sa.select(accounts).where(accounts.c.email == email,
                                                               accounts.c.category == category))).mappings().first()
    ok = await ident.passwords.verify(acc["password_hash"] if acc else None, password)
    if ok and extra_ok is not None:
        ok = await extra_ok(acc)
    if not ok or acc is None:
        await ident.limiter.failure(scope, email, ip)
        raise ProblemError(401, BAD_CREDENTIALS if extra_ok is None else
                           "Adresse électronique, mot de passe ou code de vérification incorrect.")
    await ident.limiter.success(scope, email)
    if acc["status"] == "pending":
        raise ProblemError(403, "Votre compte n'est pas encore activé : confirmez votre adresse électronique "
                                "(lien reçu par courriel) et votre téléphone portable (code reçu par SMS).")
    if acc["status"] != "active":
        raise ProblemError(403, "Ce compte est désactivé. Contactez l'assistance.")
    if ident.passwords.needs_rehash(acc["password_hash"]):
        new_hash = await ident.passwords.hash(password)
        async with transaction(ident.session_factory) as session:
            await session.execute(sa.update(accounts).where(accounts.c.id == acc["id"])
                                  .values(password_hash=new_hash))
    return acc


async def sign_in(ident: Identity, email: str, password: str, ip: str) -> tokens.TokenPair:
    acc = await check_password(ident, scope="public", email=email, password=password, ip=ip, category="applicant")
    async with transaction(ident.session_factory) as session:
        return await tokens.open_session(session, ident, acc, PUBLIC_AUDIENCE, ["pwd"])


async def request_password_reset(ident: Identity, email: str) -> None:
    if not await within_quota(ident.redis, f"{ident.settings.redis_prefix}reset:{tokens.sha256(email)}", 3, 900):
        return  # silently: the answer must not depend on the account
    async with transaction(ident.session_factory) as session:
        acc = (await session.execute(sa.select(accounts).where(accounts.c.email == email,
                                                               accounts.c.category == "applicant"))).mappings().first()
        if acc is None or acc["status"] == "disabled":
            return
        link, expires = await _email_link(session, ident, acc["id"], RESET_PASSWORD, ident.settings.reset_token_ttl,
                                          "/mot-de-passe/reinitialiser")
        await add_event(session, PasswordResetRequestedV1(account_id=acc["id"], email=email, link=link,
                                                          expires_at=expires))


async def reset_password(ident: Identity, token: str, password: str) -> None:
    async with transaction(ident.session_factory) as session:
        row = (await session.execute(sa.select(email_tokens.c.account_id)
                                     .where(email_tokens.c.token_hash == tokens.sha256(token)))).first()
        if row is not None:
            acc = (await session.execute(sa.select(accounts).where(accounts.c.id == row[0]))).mappings().one()
            problems = password_problems(password, email=acc["email"], names=(acc["first_name"], acc["last_name"]))
        else:
            problems = password_problems(password)
        if problems:
            raise weak_password(problems)
        used = await _use_email_token(session, token, RESET_PASSWORD)
        account_id = used["account_id"]
        new_hash = await ident.passwords.hash(password)
        await session.execute(sa.update(accounts).where(accounts.c.id == account_id)
                              .values(password_hash=new_hash, updated_at=datetime.now(UTC)))
        await tokens.revoke_all(session, account_id)
        await audit(session, actor=account_id, action="account.password_reset", target_type="account",
                    target_id=account_id)
    await ident.limiter.clear("public", acc["email"])
