"""Administration command of the identity service.

    python -m identity.cli create-staff --email a@douane.gouv.fr --first-name Anne --last-name Roux --role officer
    python -m identity.cli create-staff ... --role pae_agent --pae PAE-IDF-PARIS
    python -m identity.cli reset-totp --email a@douane.gouv.fr
    python -m identity.cli create-client --name "Préfecture du Rhône" --scope decisions:read --scope imputations:write
    python -m identity.cli rotate-client-secret --client-id adm-1234 [--grace-hours 24]
    python -m identity.cli rotate-signing-key
    python -m identity.cli disable-account --email someone@example.fr

Secrets are printed once and never stored in clear.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

import qrcode
import sqlalchemy as sa
from eaps_kit.db import transaction

from identity.adapters.orm import accounts
from identity.bootstrap import Identity, standalone
from identity.config import Settings
from identity.domain.validation import normalize_email
from identity.service_layer import staff, tokens
from identity.service_layer.audit import audit


def print_totp(secret: str, email: str, out: TextIO, qr_png: str | None = None) -> None:
    uri = staff.otpauth_uri(secret, email)
    out.write(f"  secret TOTP : {secret}\n  URI         : {uri}\n")
    qr = qrcode.QRCode(border=1)
    qr.add_data(uri)
    qr.print_ascii(out=out)
    if qr_png:
        with open(qr_png, "wb") as png:
            qrcode.make(uri).save(png)
        out.write(f"  QR code enregistré dans {qr_png}\n")


async def _disable(ident: Identity, email: str) -> None:
    async with transaction(ident.session_factory) as session:
        account_id = (await session.execute(sa.update(accounts).where(accounts.c.email == email)
                                            .values(status="disabled", updated_at=datetime.now(UTC))
                                            .returning(accounts.c.id))).scalar_one_or_none()
        if account_id is None:
            raise ValueError(f"aucun compte {email}")
        await tokens.revoke_all(session, account_id)
        await audit(session, actor=None, action="account.disabled", target_type="account", target_id=account_id,
                    after={"status": "disabled"})


async def run(args: argparse.Namespace, settings: Settings, out: TextIO) -> None:
    async with standalone(settings) as ident:
        if args.command == "create-staff":
            creds = await staff.create_staff(
                ident, email=normalize_email(args.email), first_name=args.first_name, last_name=args.last_name,
                roles=args.role, password=args.password, pae_code=args.pae)
            out.write(f"Agent créé : {creds.email} ({', '.join(args.role)})\n  mot de passe : {creds.password}\n")
            print_totp(creds.totp_secret, creds.email, out, args.qr_png)
        elif args.command == "reset-totp":
            email = normalize_email(args.email)
            secret = await staff.reset_totp(ident, email)
            out.write(f"Nouveau second facteur pour {email} (sessions fermées)\n")
            print_totp(secret, email, out, args.qr_png)
        elif args.command == "create-client":
            client = await staff.create_client(ident, name=args.name, scopes=args.scope, client_id=args.client_id)
            out.write(f"Client créé : {client.client_id}\n  secret : {client.client_secret}\n"
                      f"  scopes : {' '.join(client.scopes)}\n")
        elif args.command == "rotate-client-secret":
            grace = None if args.grace_hours is None else int(args.grace_hours * 3600)
            secret = await staff.rotate_client_secret(ident, args.client_id, grace)
            out.write(f"Nouveau secret pour {args.client_id} : {secret}\n"
                      "  (l'ancien reste valable pendant la période de transition)\n")
        elif args.command == "rotate-signing-key":
            kid = await ident.keys.rotate()
            out.write(f"Nouvelle clé de signature : {kid}\n")
        elif args.command == "disable-account":
            await _disable(ident, normalize_email(args.email))
            out.write(f"Compte désactivé : {args.email}\n")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m identity.cli", description="Administration des comptes e-APS")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("create-staff", help="créer un agent (instructeur, superviseur, agent PAE, administrateur)")
    s.add_argument("--email", required=True)
    s.add_argument("--first-name", required=True)
    s.add_argument("--last-name", required=True)
    s.add_argument("--role", action="append", required=True, choices=staff.STAFF_ROLES)
    s.add_argument("--pae", help="code du PAE (agents PAE)")
    s.add_argument("--password", help="sinon un mot de passe est généré")
    s.add_argument("--qr-png", help="enregistrer aussi le QR code d'enrôlement TOTP dans ce fichier")
    s = sub.add_parser("reset-totp", help="nouveau secret TOTP pour un agent")
    s.add_argument("--email", required=True)
    s.add_argument("--qr-png")
    s = sub.add_parser("create-client", help="créer un client d'une autre administration (OAuth2)")
    s.add_argument("--name", required=True)
    s.add_argument("--scope", action="append", required=True)
    s.add_argument("--client-id")
    s = sub.add_parser("rotate-client-secret", help="nouveau secret d'un client")
    s.add_argument("--client-id", required=True)
    s.add_argument("--grace-hours", type=float)
    sub.add_parser("rotate-signing-key", help="nouvelle clé de signature des jetons")
    s = sub.add_parser("disable-account", help="désactiver un compte et fermer ses sessions")
    s.add_argument("--email", required=True)
    return p


def main(argv: Sequence[str] | None = None, settings: Settings | None = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(run(args, settings or Settings(), out))
    except ValueError as exc:
        sys.stderr.write(f"Erreur : {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
