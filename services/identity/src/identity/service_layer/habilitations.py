"""OPPD habilitation requests to a PAE, their decision by a PAE agent, operators and their members."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from eaps_contracts.events.identity_v1 import (
    HabilitationGrantedV1,
    HabilitationRefusedV1,
    HabilitationRequestedV1,
    OperatorInvitationCreatedV1,
    OperatorMemberAddedV1,
)
from eaps_kit.auth import Principal
from eaps_kit.db import transaction
from eaps_kit.messaging import add_event
from eaps_kit.problems import ProblemError
from sqlalchemy.ext.asyncio import AsyncSession

from identity.adapters.orm import accounts, habilitation_requests, invitations, operator_members, operators
from identity.bootstrap import Identity
from identity.domain.catalogue import OPPD
from identity.service_layer.audit import audit

NOT_FOUND = "Cette demande d'habilitation n'existe pas."


@dataclass
class HabilitationRequest:
    pae_code: str
    company_name: str
    siret: str
    eori: str | None
    teleservices: list[str]
    justification: str


async def _membership(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(operator_members).where(operator_members.c.account_id == account_id)
                                 )).mappings().first()
    return dict(row) if row else None


async def request_habilitation(ident: Identity, who: Principal, cmd: HabilitationRequest) -> dict[str, Any]:
    if cmd.pae_code not in ident.catalogue.pae:
        raise ProblemError(422, "Ce PAE n'existe pas.", errors=[{"field": "pae_code", "message": "PAE inconnu."}])
    unknown = [c for c in cmd.teleservices if c not in ident.catalogue.teleservices]
    if unknown:
        raise ProblemError(422, f"Téléservice(s) inconnu(s) : {', '.join(unknown)}.",
                           errors=[{"field": "teleservices", "message": "Téléservice inconnu."}])
    account_id = who.account_id
    async with transaction(ident.session_factory) as session:
        await session.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())
        pending = await session.scalar(sa.select(habilitation_requests.c.id).where(
            habilitation_requests.c.account_id == account_id, habilitation_requests.c.status == "pending"))
        if pending is not None:
            raise ProblemError(409, "Vous avez déjà une demande d'habilitation en cours d'examen.")
        member = await _membership(session, account_id)
        operator = (await session.execute(sa.select(operators).where(operators.c.siret == cmd.siret)
                                          .with_for_update())).mappings().first()
        if member is not None:
            if operator is None or member["operator_id"] != operator["id"]:
                raise ProblemError(409, "Vous êtes déjà membre d'une autre entreprise.")
            if member["role"] != "administrator":
                raise ProblemError(403, "Seul l'administrateur de l'entreprise peut demander de nouvelles "
                                        "habilitations.")
        elif operator is not None and operator["oppd_granted_at"] is not None:
            raise ProblemError(409, "Cette entreprise est déjà opérateur ProDou@ne : demandez à son administrateur "
                                    "de vous inviter.")
        if operator is None:
            operator_id = uuid.uuid4()
            await session.execute(sa.insert(operators).values(id=operator_id, siret=cmd.siret, name=cmd.company_name,
                                                              eori=cmd.eori))
        else:
            operator_id = operator["id"]
        request_id = uuid.uuid4()
        values = dict(id=request_id, account_id=account_id, operator_id=operator_id, pae_code=cmd.pae_code,
                      company_name=cmd.company_name, siret=cmd.siret, eori=cmd.eori, teleservices=cmd.teleservices,
                      justification=cmd.justification, status="pending")
        await session.execute(sa.insert(habilitation_requests).values(**values))
        await audit(session, actor=account_id, action="habilitation.requested", target_type="habilitation_request",
                    target_id=request_id, after={k: v for k, v in values.items() if k != "teleservices"})
        await add_event(session, HabilitationRequestedV1(
            request_id=request_id, account_id=account_id, operator_id=operator_id, company_name=cmd.company_name,
            siret=cmd.siret, pae_code=cmd.pae_code, teleservices=cmd.teleservices, justification=cmd.justification))
        return await _read(session, request_id)


async def _read(session: AsyncSession, request_id: uuid.UUID) -> dict[str, Any]:
    row = (await session.execute(sa.select(habilitation_requests).where(habilitation_requests.c.id == request_id)
                                 )).mappings().one()
    return dict(row)


async def my_requests(ident: Identity, who: Principal) -> list[dict[str, Any]]:
    async with ident.session_factory() as session:
        rows = (await session.execute(sa.select(habilitation_requests)
                                      .where(habilitation_requests.c.account_id == who.account_id)
                                      .order_by(habilitation_requests.c.created_at.desc()))).mappings().all()
    return [dict(r) for r in rows]


async def my_request(ident: Identity, who: Principal, request_id: uuid.UUID) -> dict[str, Any]:
    async with ident.session_factory() as session:
        row = (await session.execute(sa.select(habilitation_requests).where(
            habilitation_requests.c.id == request_id, habilitation_requests.c.account_id == who.account_id)
        )).mappings().first()
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return dict(row)


async def _agent_pae_code(session: AsyncSession, who: Principal) -> str | None:
    return await session.scalar(sa.select(accounts.c.pae_code).where(accounts.c.id == who.account_id))


async def pae_queue(ident: Identity, who: Principal, status: str | None) -> list[dict[str, Any]]:
    async with ident.session_factory() as session:
        pae = await _agent_pae_code(session, who)
        q = sa.select(habilitation_requests).where(habilitation_requests.c.pae_code == pae)
        if status:
            q = q.where(habilitation_requests.c.status == status)
        rows = (await session.execute(q.order_by(habilitation_requests.c.created_at))).mappings().all()
    return [dict(r) for r in rows]


async def pae_request(ident: Identity, who: Principal, request_id: uuid.UUID) -> dict[str, Any]:
    async with ident.session_factory() as session:
        pae = await _agent_pae_code(session, who)
        row = (await session.execute(sa.select(habilitation_requests).where(
            habilitation_requests.c.id == request_id, habilitation_requests.c.pae_code == pae))).mappings().first()
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return dict(row)


async def decide(ident: Identity, who: Principal, request_id: uuid.UUID, *, grant: bool,
                 reason: str | None) -> dict[str, Any]:
    agent = who.account_id
    async with transaction(ident.session_factory) as session:
        pae = await _agent_pae_code(session, who)
        req = (await session.execute(sa.select(habilitation_requests).where(
            habilitation_requests.c.id == request_id, habilitation_requests.c.pae_code == pae).with_for_update()
        )).mappings().first()
        if req is None:
            raise ProblemError(404, NOT_FOUND)
        if req["status"] != "pending":
            raise ProblemError(409, "Cette demande a déjà été traitée.")
        now = datetime.now(UTC)
        status = "granted" if grant else "refused"
        await session.execute(sa.update(habilitation_requests).where(habilitation_requests.c.id == request_id)
                              .values(status=status, decided_by=agent, decided_at=now, reason=reason))
        await audit(session, actor=agent, action=f"habilitation.{status}", target_type="habilitation_request",
                    target_id=request_id, before={"status": "pending"}, after={"status": status, "reason": reason})
        if not grant:
            await add_event(session, HabilitationRefusedV1(
                request_id=request_id, account_id=req["account_id"], operator_id=req["operator_id"],
                decided_by=agent, reason=reason or ""))
        else:
            await _grant(session, req, agent, reason, now)
        return await _read(session, request_id)


async def _grant(session: AsyncSession, req: Any, agent: uuid.UUID, reason: str | None, now: datetime) -> None:
    op = (await session.execute(sa.select(operators).where(operators.c.id == req["operator_id"]).with_for_update()
                                )).mappings().one()
    teleservices = list(dict.fromkeys([*op["teleservices"], *req["teleservices"]]))
    await session.execute(sa.update(operators).where(operators.c.id == op["id"]).values(
        oppd_granted_at=op["oppd_granted_at"] or now, teleservices=teleservices))
    await audit(session, actor=agent, action="operator.habilitated", target_type="operator", target_id=op["id"],
                before={"teleservices": ",".join(op["teleservices"])}, after={"teleservices": ",".join(teleservices)})
    member = await _membership(session, req["account_id"])
    if member is None:
        await session.execute(sa.insert(operator_members).values(
            account_id=req["account_id"], operator_id=op["id"], role="administrator", added_by=agent))
        await add_event(session, OperatorMemberAddedV1(operator_id=op["id"], account_id=req["account_id"],
                                                       role="administrator", added_by=agent))
    await add_event(session, HabilitationGrantedV1(
        request_id=req["id"], account_id=req["account_id"], operator_id=op["id"], teleservices=teleservices,
        decided_by=agent, reason=reason))


# --- operators and members ---------------------------------------------------------------


async def my_operator(ident: Identity, who: Principal) -> dict[str, Any]:
    async with ident.session_factory() as session:
        member = await _membership(session, who.account_id)
        if member is None:
            raise ProblemError(404, "Vous n'êtes membre d'aucune entreprise habilitée.")
        op = (await session.execute(sa.select(operators).where(operators.c.id == member["operator_id"])
                                    )).mappings().one()
        members = (await session.execute(
            sa.select(accounts.c.id, accounts.c.first_name, accounts.c.last_name, accounts.c.email,
                      operator_members.c.role, operator_members.c.created_at)
            .join(operator_members, operator_members.c.account_id == accounts.c.id)
            .where(operator_members.c.operator_id == op["id"]).order_by(operator_members.c.created_at)
        )).mappings().all()
    return {"id": op["id"], "name": op["name"], "siret": op["siret"], "eori": op["eori"],
            "access_level": OPPD if op["oppd_granted_at"] else "AS", "teleservices": list(op["teleservices"]),
            "my_role": member["role"],
            "members": [{"account_id": m["id"], "name": f"{m['first_name']} {m['last_name']}", "email": m["email"],
                         "role": m["role"], "since": m["created_at"]} for m in members]}


INVITED = ("Si cette adresse correspond à un compte vérifié, son titulaire verra votre invitation "
           "à sa prochaine connexion.")


async def invite(ident: Identity, who: Principal, email: str) -> dict[str, Any]:
    async with transaction(ident.session_factory) as session:
        member = await _membership(session, who.account_id)
        if member is None or member["role"] != "administrator":
            raise ProblemError(403, "Seul l'administrateur de l'entreprise peut inviter des collègues.")
        op = (await session.execute(sa.select(operators).where(operators.c.id == member["operator_id"])
                                    )).mappings().one()
        if op["oppd_granted_at"] is None:
            raise ProblemError(409, "L'entreprise n'a pas encore le statut d'opérateur ProDou@ne.")
        inv_id = uuid.uuid4()
        expires = datetime.now(UTC) + timedelta(seconds=ident.settings.invitation_ttl)
        await session.execute(sa.insert(invitations).values(id=inv_id, operator_id=op["id"], email=email,
                                                            invited_by=who.account_id, expires_at=expires))
        await audit(session, actor=who.account_id, action="operator.invitation_created", target_type="operator",
                    target_id=op["id"], after={"email": email})
        await add_event(session, OperatorInvitationCreatedV1(
            invitation_id=inv_id, operator_id=op["id"], company_name=op["name"], email=email,
            invited_by=who.account_id, expires_at=expires,
            link=f"{ident.settings.portal_base_url.rstrip('/')}/soprano/invitations"))
    return {"detail": INVITED}


async def my_invitations(ident: Identity, who: Principal) -> list[dict[str, Any]]:
    async with ident.session_factory() as session:
        email = await session.scalar(sa.select(accounts.c.email).where(accounts.c.id == who.account_id))
        rows = (await session.execute(
            sa.select(invitations.c.id, invitations.c.expires_at, invitations.c.created_at,
                      operators.c.name.label("company_name"), operators.c.siret)
            .join(operators, operators.c.id == invitations.c.operator_id)
            .where(invitations.c.email == email, invitations.c.accepted_at.is_(None),
                   invitations.c.expires_at > datetime.now(UTC)))).mappings().all()
    return [dict(r) for r in rows]


async def accept_invitation(ident: Identity, who: Principal, invitation_id: uuid.UUID) -> dict[str, Any]:
    async with transaction(ident.session_factory) as session:
        email = await session.scalar(sa.select(accounts.c.email).where(accounts.c.id == who.account_id))
        inv = (await session.execute(sa.select(invitations).where(
            invitations.c.id == invitation_id, invitations.c.email == email).with_for_update())).mappings().first()
        if inv is None:
            raise ProblemError(404, "Cette invitation n'existe pas.")
        if inv["accepted_at"] is not None:
            raise ProblemError(409, "Cette invitation a déjà été acceptée.")
        if inv["expires_at"] <= datetime.now(UTC):
            raise ProblemError(410, "Cette invitation a expiré. Demandez à l'administrateur de vous inviter à nouveau.")
        if await _membership(session, who.account_id) is not None:
            raise ProblemError(409, "Vous êtes déjà membre d'une entreprise.")
        await session.execute(sa.update(invitations).where(invitations.c.id == invitation_id)
                              .values(accepted_at=datetime.now(UTC)))
        await session.execute(sa.insert(operator_members).values(
            account_id=who.account_id, operator_id=inv["operator_id"], role="member", added_by=inv["invited_by"]))
        await audit(session, actor=who.account_id, action="operator.member_added", target_type="operator",
                    target_id=inv["operator_id"], after={"account_id": who.account_id, "role": "member"})
        await add_event(session, OperatorMemberAddedV1(operator_id=inv["operator_id"], account_id=who.account_id,
                                                       role="member", added_by=inv["invited_by"]))
    return await my_operator(ident, who)
