"""Routes of the internal edge: officers' and PAE agents' sessions (password + TOTP), the PAE
review of habilitation requests, OAuth2 client credentials for other administrations."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from eaps_kit.auth import INTERNAL_AUDIENCE, Principal, require, require_pae_agent, require_supervisor
from eaps_kit.problems import ProblemError
from fastapi import APIRouter, Depends, Query, Request, Response

from identity.adapters.orm import accounts
from identity.bootstrap import Identity
from identity.entrypoints.api.deps import client_ip, get_identity
from identity.entrypoints.api.schemas import (
    GrantIn,
    HabilitationRead,
    OfficerListItem,
    OfficerSignIn,
    RefreshIn,
    RefuseIn,
    StaffRead,
    TokenOut,
)
from identity.service_layer import habilitations, staff, tokens

officer = APIRouter(prefix="/api/v1/identity/officers", tags=["agents (portail interne)"])
pae = APIRouter(prefix="/api/v1/identity/pae", tags=["PAE (portail interne)"])
oauth = APIRouter(prefix="/api/v1/identity/oauth", tags=["autres administrations (OAuth2)"])

require_staff = require(roles=staff.STAFF_ROLES, audience=INTERNAL_AUDIENCE)


@officer.post("/sessions", response_model=TokenOut, response_model_exclude_none=True,
              summary="Connexion d'un agent : mot de passe et code TOTP")
async def officer_sign_in(body: OfficerSignIn, request: Request, ident: Identity = Depends(get_identity)) -> Any:
    return (await staff.officer_sign_in(ident, body.email, body.password, body.otp, client_ip(request))).as_dict()


@officer.post("/sessions/refresh", response_model=TokenOut, response_model_exclude_none=True,
              summary="Renouveler le jeton d'accès d'un agent")
async def officer_refresh_tokens(body: RefreshIn, ident: Identity = Depends(get_identity)) -> Any:
    return (await tokens.refresh(ident, body.refresh_token, INTERNAL_AUDIENCE)).as_dict()


@officer.post("/sessions/sign-out", status_code=204, summary="Déconnexion d'un agent")
async def officer_sign_out(body: RefreshIn, ident: Identity = Depends(get_identity)) -> Response:
    await tokens.sign_out(ident, body.refresh_token, INTERNAL_AUDIENCE)
    return Response(status_code=204)


@officer.get("/me", response_model=StaffRead, summary="Mon compte d'agent")
async def read_officer_me(who: Principal = Depends(require_staff), ident: Identity = Depends(get_identity)) -> Any:
    async with ident.session_factory() as session:
        acc = (await session.execute(sa.select(accounts).where(accounts.c.id == who.account_id,
                                                               accounts.c.category == "staff"))).mappings().first()
    if acc is None:
        raise ProblemError(404, "Ce compte n'existe pas.")
    return acc


# Staff who can be given a case: instruction accepts officers and supervisors as assignees.
ASSIGNABLE_ROLES = ("officer", "supervisor")


@officer.get("", response_model=list[OfficerListItem],
             summary="Agents instructeurs (pour attribuer un dossier)")
async def list_officers(who: Principal = Depends(require_supervisor),
                        ident: Identity = Depends(get_identity)) -> list[dict[str, Any]]:
    assignable = sa.or_(*(accounts.c.roles.contains([role]) for role in ASSIGNABLE_ROLES))
    query = (sa.select(accounts.c.id, accounts.c.first_name, accounts.c.last_name, accounts.c.roles,
                       accounts.c.status)
             .where(accounts.c.category == "staff", assignable)
             .order_by(accounts.c.last_name, accounts.c.first_name, accounts.c.id))
    async with ident.session_factory() as session:
        rows = (await session.execute(query)).all()
    return [{"id": r.id, "display_name": f"{r.first_name} {r.last_name}", "roles": list(r.roles),
             "active": r.status == "active"} for r in rows]


@pae.get("/habilitation-requests", response_model=list[HabilitationRead],
         summary="Demandes d'habilitation adressées à mon PAE")
async def list_pae_requests(status: str | None = Query(default=None, pattern="^(pending|granted|refused)$"),
                            who: Principal = Depends(require_pae_agent),
                            ident: Identity = Depends(get_identity)) -> list[dict[str, Any]]:
    return await habilitations.pae_queue(ident, who, status)


@pae.get("/habilitation-requests/{request_id}", response_model=HabilitationRead,
         summary="Une demande d'habilitation adressée à mon PAE")
async def read_pae_request(request_id: uuid.UUID, who: Principal = Depends(require_pae_agent),
                           ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await habilitations.pae_request(ident, who, request_id)


@pae.post("/habilitation-requests/{request_id}/grant", response_model=HabilitationRead,
          summary="Accorder le statut OPPD et les habilitations demandées")
async def grant_habilitation(request_id: uuid.UUID, body: GrantIn, who: Principal = Depends(require_pae_agent),
                             ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await habilitations.decide(ident, who, request_id, grant=True, reason=body.reason)


@pae.post("/habilitation-requests/{request_id}/refuse", response_model=HabilitationRead,
          summary="Refuser la demande, avec un motif")
async def refuse_habilitation(request_id: uuid.UUID, body: RefuseIn, who: Principal = Depends(require_pae_agent),
                              ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await habilitations.decide(ident, who, request_id, grant=False, reason=body.reason)


def _basic(request: Request) -> tuple[str, str] | None:
    value = request.headers.get("authorization", "")
    if value[:6].lower() != "basic ":
        return None
    try:
        user, _, pwd = base64.b64decode(value[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ProblemError(401, staff.INVALID_CLIENT, error="invalid_client") from None
    return unquote(user), unquote(pwd)


@oauth.post("/token", response_model=TokenOut, response_model_exclude_none=True,
            summary="Jeton d'un client d'une autre administration (client credentials)",
            openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["grant_type"],
                "properties": {"grant_type": {"type": "string", "enum": ["client_credentials"]},
                               "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                               "scope": {"type": "string"}}}}}}})
async def oauth_token(request: Request, response: Response, ident: Identity = Depends(get_identity)) -> Any:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise ProblemError(415, "Le corps doit être encodé en application/x-www-form-urlencoded.",
                           error="invalid_request")
    form = await request.form()
    grant = form.get("grant_type")
    if grant != "client_credentials":
        raise ProblemError(400, "Seul le type d'autorisation « client_credentials » est accepté.",
                           error="unsupported_grant_type")
    creds = _basic(request) or (str(form.get("client_id") or ""), str(form.get("client_secret") or ""))
    if not creds[0] or not creds[1]:
        raise ProblemError(401, staff.INVALID_CLIENT, error="invalid_client")
    scope = form.get("scope")
    pair = await staff.client_credentials_token(ident, creds[0], creds[1], str(scope) if scope else None,
                                                client_ip(request))
    response.headers["Cache-Control"] = "no-store"
    return pair.as_dict()
