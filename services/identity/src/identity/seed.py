"""Demo accounts for the local stack (`make run`), idempotent; prints their credentials.

    python -m identity.seed

A hunter; a gunsmith whose company holds OPPD status (granted by the demo PAE agent) and a
colleague member; a PAE agent; an instructing officer and a supervisor (TOTP secrets printed);
a machine client of another administration."""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import pyotp
import sqlalchemy as sa
from eaps_contracts.events.identity_v1 import AccountRegisteredV1, AccountVerifiedV1, OperatorMemberAddedV1
from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE, Principal
from eaps_kit.db import transaction
from eaps_kit.messaging import add_event

from identity.adapters.orm import accounts, machine_clients, operator_members, operators
from identity.bootstrap import Identity, standalone
from identity.config import Settings
from identity.service_layer import habilitations, staff

PAE = "PAE-IDF-PARIS"
SIRET = "73282932000074"


@dataclass(frozen=True)
class DemoApplicant:
    email: str
    password: str
    first_name: str
    last_name: str
    kind: str
    profile: str
    phone: str
    company_name: str | None = None
    siret: str | None = None


HUNTER = DemoApplicant("chasseur@demo-eaps.fr", "Bois-Gibier-2024!", "Jean", "Dupont", "individual", "hunter",
                       "+33612345678")
GUNSMITH = DemoApplicant("armurier@demo-eaps.fr", "Atelier-Canon-2024!", "Claire", "Moreau", "professional",
                         "gunsmith", "+33623456789", "Armurerie Démo SARL", SIRET)
COLLEAGUE = DemoApplicant("collegue@demo-eaps.fr", "Atelier-Crosse-2024!", "Hugo", "Lefèvre", "professional",
                          "gunsmith", "+33634567890", "Armurerie Démo SARL", SIRET)
STAFF = [
    ("pae@demo-eaps.fr", "Pole-Action-2024!", "Sophie", "Bernard", ["pae_agent"], PAE),
    ("instructeur@demo-eaps.fr", "Douane-Instruction-2024!", "Marc", "Petit", ["officer"], None),
    ("superviseur@demo-eaps.fr", "Douane-Signature-2024!", "Isabelle", "Roux", ["supervisor"], None),
]
CLIENT_ID = "demo-prefecture"
CLIENT_SECRET = "demo-secret-prefecture-ne-pas-utiliser-en-production"


async def _applicant(ident: Identity, d: DemoApplicant) -> uuid.UUID:
    async with transaction(ident.session_factory) as session:
        existing = await session.scalar(sa.select(accounts.c.id).where(accounts.c.email == d.email))
        if existing is not None:
            return uuid.UUID(str(existing))
        account_id = uuid.uuid4()
        now = datetime.now(UTC)
        await session.execute(sa.insert(accounts).values(
            id=account_id, email=d.email, password_hash=await ident.passwords.hash(d.password), category="applicant",
            roles=["applicant"], kind=d.kind, profile=d.profile, first_name=d.first_name, last_name=d.last_name,
            phone=d.phone, company_name=d.company_name, siret=d.siret, status="active", email_verified_at=now,
            phone_verified_at=now))
        await add_event(session, AccountRegisteredV1(
            account_id=account_id, email=d.email, phone=d.phone, kind=d.kind,  # type: ignore[arg-type]
            profile=d.profile, first_name=d.first_name, last_name=d.last_name, company_name=d.company_name,
            siret=d.siret))
        await add_event(session, AccountVerifiedV1(account_id=account_id, email=d.email, verified_at=now))
        return account_id


async def _staff(ident: Identity, email: str, password: str, first: str, last: str, roles: list[str],
                 pae: str | None) -> tuple[uuid.UUID, str]:
    async with ident.session_factory() as session:
        row = (await session.execute(sa.select(accounts.c.id, accounts.c.totp_secret)
                                     .where(accounts.c.email == email))).first()
    if row is not None:
        return row[0], ident.keys.decrypt(row[1])
    creds = await staff.create_staff(ident, email=email, first_name=first, last_name=last, roles=roles,
                                     password=password, pae_code=pae, totp_secret=pyotp.random_base32())
    return creds.account_id, creds.totp_secret


async def _oppd(ident: Identity, gunsmith: uuid.UUID, colleague: uuid.UUID, agent: uuid.UUID) -> None:
    async with ident.session_factory() as session:
        member = await session.scalar(sa.select(operator_members.c.operator_id)
                                      .where(operator_members.c.account_id == gunsmith))
    if member is None:
        who = Principal(sub=str(gunsmith), roles=["applicant"], audience=PUBLIC_AUDIENCE)
        req = await habilitations.request_habilitation(ident, who, habilitations.HabilitationRequest(
            pae_code=PAE, company_name=GUNSMITH.company_name or "", siret=SIRET, eori=f"FR{SIRET}",
            teleservices=["SOPRANO-RP"], justification="Compte de démonstration : importations et exportations."))
        pae_agent = Principal(sub=str(agent), roles=["pae_agent"], audience=INTERNAL_AUDIENCE)
        await habilitations.decide(ident, pae_agent, req["id"], grant=True, reason="Démonstration.")
    async with transaction(ident.session_factory) as session:
        operator_id = await session.scalar(sa.select(operators.c.id).where(operators.c.siret == SIRET))
        assert operator_id is not None
        present = await session.scalar(sa.select(operator_members.c.account_id)
                                       .where(operator_members.c.account_id == colleague))
        if present is None:
            await session.execute(sa.insert(operator_members).values(
                account_id=colleague, operator_id=operator_id, role="member", added_by=gunsmith))
            await add_event(session, OperatorMemberAddedV1(operator_id=operator_id, account_id=colleague,
                                                           role="member", added_by=gunsmith))


async def _client(ident: Identity) -> None:
    async with ident.session_factory() as session:
        exists = await session.scalar(sa.select(machine_clients.c.id).where(machine_clients.c.client_id == CLIENT_ID))
    if exists is None:
        await staff.create_client(ident, name="Préfecture (démonstration)", scopes=list(ident.catalogue.scopes),
                                  client_id=CLIENT_ID, secret=CLIENT_SECRET)


async def seed(ident: Identity) -> dict[str, Any]:
    hunter = await _applicant(ident, HUNTER)
    gunsmith = await _applicant(ident, GUNSMITH)
    colleague = await _applicant(ident, COLLEAGUE)
    agents = {email: await _staff(ident, email, pw, f, last, roles, pae) for email, pw, f, last, roles, pae in STAFF}
    await _oppd(ident, gunsmith, colleague, agents["pae@demo-eaps.fr"][0])
    await _client(ident)
    return {"hunter": hunter, "gunsmith": gunsmith, "colleague": colleague, "staff": agents}


def report(result: dict[str, Any], out: TextIO) -> None:
    out.write("Comptes de démonstration e-APS (usage local uniquement)\n\n")
    out.write("Portail public (http://localhost:8000) :\n")
    for d, note in ((HUNTER, "particulier, chasseur, accès simplifié (AS)"),
                    (GUNSMITH, "armurier, administrateur de l'opérateur OPPD « Armurerie Démo SARL »"),
                    (COLLEAGUE, "armurier, membre de l'opérateur OPPD")):
        out.write(f"  {d.email:32} {d.password:24} {note}\n")
    out.write("\nPortail interne (http://localhost:8001) — mot de passe + code TOTP :\n")
    for email, pw, _, _, roles, pae in STAFF:
        secret = result["staff"][email][1]
        out.write(f"  {email:32} {pw:24} {','.join(roles)}{' ' + pae if pae else ''}\n"
                  f"  {'':32} TOTP {secret} (code actuel : {pyotp.TOTP(secret).now()})\n")
    out.write(f"\nClient d'une autre administration (POST /api/v1/identity/oauth/token) :\n"
              f"  client_id {CLIENT_ID}\n  client_secret {CLIENT_SECRET}\n  scopes decisions:read imputations:write\n")


async def amain(settings: Settings, out: TextIO) -> None:
    if settings.environment == "prod":
        raise SystemExit("Le jeu de démonstration est refusé en production.")
    async with standalone(settings) as ident:
        report(await seed(ident), out)


def main() -> None:
    asyncio.run(amain(Settings(), sys.stdout))


if __name__ == "__main__":
    main()
