"""Applicant routes, exposed by the public edge: registration, verification, sign-in, SOPRANO home,
OPPD habilitation requests, the operator's members."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from eaps_kit.auth import PUBLIC_AUDIENCE, Principal, require_applicant
from eaps_kit.problems import ProblemError
from fastapi import APIRouter, Depends, Request, Response

from identity.adapters.orm import accounts
from identity.bootstrap import Identity
from identity.entrypoints.api.deps import client_ip, get_identity
from identity.entrypoints.api.schemas import (
    AccountRead,
    EmailVerification,
    HabilitationCreate,
    HabilitationRead,
    InvitationCreate,
    InvitationRead,
    Message,
    OperatorRead,
    PaeRead,
    PasswordResetConfirm,
    PasswordResetRequest,
    PhoneVerification,
    ProfileRead,
    RefreshIn,
    RegistrationAccepted,
    RegistrationCreate,
    ResendEmail,
    ResendSms,
    SignIn,
    TeleserviceRead,
    TokenOut,
    VerificationState,
)
from identity.service_layer import accounts as account_handlers
from identity.service_layer import habilitations, tokens

router = APIRouter(prefix="/api/v1/identity", tags=["comptes (portail public)"])


# --- registration and verification (no sign-in) -------------------------------------------


@router.get("/registrations/profiles", response_model=dict[str, list[ProfileRead]],
            summary="Profils possibles à l'inscription")
async def list_profiles(ident: Identity = Depends(get_identity)) -> dict[str, list[dict[str, str]]]:
    return {kind: [{"code": c, "label": label} for c, label in profiles.items()]
            for kind, profiles in ident.catalogue.profiles.items()}


@router.get("/catalogue/pae", response_model=list[PaeRead], summary="Pôles d'action économique, par région")
async def list_pae(who: Principal = Depends(require_applicant), ident: Identity = Depends(get_identity)) -> list[Any]:
    return sorted(ident.catalogue.pae.values(), key=lambda p: (p.region, p.name))


@router.post("/registrations", status_code=202, response_model=RegistrationAccepted,
             summary="Créer un compte prodou@ne (particulier ou professionnel)")
async def register(body: RegistrationCreate, ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    allowed = ident.catalogue.profiles.get(body.kind, {})
    if body.profile not in allowed:
        raise ProblemError(422, "Le profil choisi ne correspond pas au type de compte.",
                           errors=[{"field": "profile", "type": "value_error",
                                    "message": f"Profils possibles : {', '.join(allowed)}."}])
    reg = account_handlers.Registration(**body.model_dump())
    return await account_handlers.register(ident, reg)


@router.post("/registrations/email-verification", response_model=VerificationState,
             summary="Confirmer l'adresse électronique (lien reçu par courriel)")
async def verify_email(body: EmailVerification, ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await account_handlers.verify_email(ident, body.token)


@router.post("/registrations/email-verification/resend", status_code=202, response_model=Message,
             summary="Renvoyer le lien de confirmation de l'adresse électronique")
async def resend_email_verification(body: ResendEmail, ident: Identity = Depends(get_identity)) -> dict[str, str]:
    await account_handlers.resend_email(ident, body.email)
    return {"detail": "Si un compte en attente de confirmation correspond à cette adresse, "
                      "un nouveau lien a été envoyé."}


@router.post("/registrations/phone-verification", response_model=VerificationState,
             summary="Confirmer le téléphone portable (code reçu par SMS)")
async def verify_phone(body: PhoneVerification, ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await account_handlers.verify_phone(ident, body.verification_id, body.code)


@router.post("/registrations/phone-verification/resend", status_code=202, response_model=RegistrationAccepted,
             summary="Renvoyer un code par SMS")
async def resend_phone_verification(body: ResendSms, ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    out = await account_handlers.resend_sms(ident, body.verification_id)
    return {**out, "detail": "Un nouveau code a été envoyé par SMS si une vérification est en cours."}


# --- sessions ------------------------------------------------------------------------------


@router.post("/sessions", response_model=TokenOut, response_model_exclude_none=True, summary="Se connecter")
async def sign_in(body: SignIn, request: Request, ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    pair = await account_handlers.sign_in(ident, body.email, body.password, client_ip(request))
    return pair.as_dict()


@router.post("/tokens/refresh", response_model=TokenOut, response_model_exclude_none=True,
             summary="Renouveler le jeton d'accès (le jeton de rafraîchissement change à chaque fois)")
async def refresh_tokens(body: RefreshIn, ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return (await tokens.refresh(ident, body.refresh_token, PUBLIC_AUDIENCE)).as_dict()


@router.post("/sessions/sign-out", status_code=204, summary="Se déconnecter")
async def sign_out(body: RefreshIn, ident: Identity = Depends(get_identity)) -> Response:
    await tokens.sign_out(ident, body.refresh_token, PUBLIC_AUDIENCE)
    return Response(status_code=204)


@router.post("/password-resets", status_code=202, response_model=Message, summary="Mot de passe oublié")
async def request_password_reset(body: PasswordResetRequest, ident: Identity = Depends(get_identity)) -> dict[str, str]:
    await account_handlers.request_password_reset(ident, body.email)
    return {"detail": "Si un compte correspond à cette adresse, un lien de réinitialisation vient d'être envoyé."}


@router.post("/password-resets/confirm", status_code=204, summary="Choisir un nouveau mot de passe (lien reçu)")
async def confirm_password_reset(body: PasswordResetConfirm, ident: Identity = Depends(get_identity)) -> Response:
    await account_handlers.reset_password(ident, body.token, body.password)
    return Response(status_code=204)


# --- signed-in applicant ----------------------------------------------------------------


async def _account(ident: Identity, who: Principal) -> Any:
    async with ident.session_factory() as session:
        acc = (await session.execute(sa.select(accounts).where(accounts.c.id == who.account_id,
                                                               accounts.c.category == "applicant")
                                     )).mappings().first()
        if acc is None:
            raise ProblemError(404, "Ce compte n'existe pas.")
        access = await tokens.applicant_access(session, ident, acc)
    return acc, access


@router.get("/me", response_model=AccountRead, summary="Mon compte et mes accès")
async def read_me(who: Principal = Depends(require_applicant), ident: Identity = Depends(get_identity)) -> Any:
    acc, access = await _account(ident, who)
    return {**acc, **access}


@router.get("/teleservices", response_model=list[TeleserviceRead], summary="Accueil SOPRANO : les téléservices")
async def list_teleservices(who: Principal = Depends(require_applicant),
                            ident: Identity = Depends(get_identity)) -> list[dict[str, Any]]:
    _, access = await _account(ident, who)
    return [{**vars(t), "available": t.code in access["teleservices"]} for t in ident.catalogue.teleservices.values()]


@router.get("/teleservices/{code}", response_model=TeleserviceRead, summary="Ouvrir un téléservice")
async def open_teleservice(code: str, who: Principal = Depends(require_applicant),
                           ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    t = ident.catalogue.teleservices.get(code)
    if t is None:
        raise ProblemError(404, "Ce téléservice n'existe pas.")
    _, access = await _account(ident, who)
    if code not in access["teleservices"]:
        if t.access == "OPPD" and access["access_level"] != "OPPD":
            raise ProblemError(403, "Ce téléservice nécessite le statut d'Opérateur ProDou@ne (OPPD) : "
                                    "demandez une habilitation à votre PAE.")
        raise ProblemError(403, "Votre entreprise n'est pas habilitée à ce téléservice : "
                                "son administrateur peut en faire la demande au PAE.")
    return {**vars(t), "available": True}


@router.post("/habilitation-requests", status_code=201, response_model=HabilitationRead,
             summary="Demander le statut OPPD et des habilitations à un PAE")
async def create_habilitation_request(body: HabilitationCreate, who: Principal = Depends(require_applicant),
                                      ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    cmd = habilitations.HabilitationRequest(**body.model_dump())
    return await habilitations.request_habilitation(ident, who, cmd)


@router.get("/habilitation-requests", response_model=list[HabilitationRead], summary="Mes demandes d'habilitation")
async def list_my_habilitation_requests(who: Principal = Depends(require_applicant),
                                        ident: Identity = Depends(get_identity)) -> list[dict[str, Any]]:
    return await habilitations.my_requests(ident, who)


@router.get("/habilitation-requests/{request_id}", response_model=HabilitationRead,
            summary="Une de mes demandes d'habilitation")
async def read_my_habilitation_request(request_id: uuid.UUID, who: Principal = Depends(require_applicant),
                                       ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await habilitations.my_request(ident, who, request_id)


@router.get("/operators/me", response_model=OperatorRead, summary="Mon entreprise et ses membres")
async def read_my_operator(who: Principal = Depends(require_applicant),
                           ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await habilitations.my_operator(ident, who)


@router.post("/operators/me/invitations", status_code=202, response_model=Message,
             summary="Inviter un collègue (administrateur de l'entreprise)")
async def invite_colleague(body: InvitationCreate, who: Principal = Depends(require_applicant),
                           ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await habilitations.invite(ident, who, body.email)


@router.get("/invitations", response_model=list[InvitationRead], summary="Invitations reçues")
async def list_my_invitations(who: Principal = Depends(require_applicant),
                              ident: Identity = Depends(get_identity)) -> list[dict[str, Any]]:
    return await habilitations.my_invitations(ident, who)


@router.post("/invitations/{invitation_id}/accept", response_model=OperatorRead,
             summary="Accepter une invitation et rejoindre l'entreprise")
async def accept_invitation(invitation_id: uuid.UUID, who: Principal = Depends(require_applicant),
                            ident: Identity = Depends(get_identity)) -> dict[str, Any]:
    return await habilitations.accept_invitation(ident, who, invitation_id)
