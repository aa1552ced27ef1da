"""prodou@ne account (user guide §1): registration with the email link and the SMS code,
sign-in, sign-out, password reset; SOPRANO home (§2) and the OPPD habilitation request."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from gateway.portal.applicant.helpers import page, text
from gateway.portal.common import ApiError, Ctx, Portal, form_errors, safe_return_path

KINDS = [("individual", "Particulier", "Chasseur, tireur sportif, pratiquant de ball-trap…"),
         ("professional", "Professionnel", "Commerçant, fabricant, armurier…")]
REGISTRATION_FIELDS = ["first_name", "last_name", "email", "phone", "company_name", "siret", "eori", "profile"]
PROFILES_CACHE_SECONDS = 300  # reference data: a form shown again must not spend the sign-in rate limit


def routes(portal: Portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/")
    async def landing(ctx: Ctx = Depends(portal.page)) -> Response:
        if ctx.signed_in:
            return await ctx.redirect("/soprano")
        return await page(ctx, "applicant/landing.html", page_title="Accueil")

    # --- registration --------------------------------------------------------------------------
    cache: dict[str, Any] = {}

    async def profiles(ctx: Ctx) -> dict[str, list[dict[str, str]]]:
        if cache.get("until", 0.0) > time.monotonic():
            cached: dict[str, list[dict[str, str]]] = cache["profiles"]
            return cached
        data: dict[str, list[dict[str, str]]] = await ctx.api.get("/api/v1/identity/registrations/profiles",
                                                                  anonymous=True)
        cache.update(profiles=data, until=time.monotonic() + PROFILES_CACHE_SECONDS)
        return data

    async def registration_page(ctx: Ctx, kind: str | None, values: dict[str, Any], errors: dict[str, str],
                                status: int = 200) -> Response:
        kind = kind if kind in ("individual", "professional") else None
        options = [(p["code"], p["label"]) for p in (await profiles(ctx)).get(kind or "", [])]
        return await page(ctx, "applicant/register.html", status, page_title="Créer un compte", kind=kind,
                          kinds=KINDS, profiles=options, values=values, errors=errors)

    @r.get("/inscription")
    async def register_form(ctx: Ctx = Depends(portal.page), type: str | None = Query(None, max_length=20)) -> Response:
        return await registration_page(ctx, type, {}, {})

    @r.post("/inscription")
    async def register(ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        kind = text(form, "kind")
        values = {n: text(form, n) for n in REGISTRATION_FIELDS}
        errors: dict[str, str] = {}
        if kind not in ("individual", "professional"):
            errors["kind"] = "Indiquez si vous êtes un particulier ou un professionnel."
        password, confirm = str(form.get("password") or ""), str(form.get("password_confirm") or "")
        if not password:
            errors["password"] = "Choisissez un mot de passe."
        elif password != confirm:
            errors["password_confirm"] = "Les deux mots de passe saisis ne sont pas identiques."
        for name, message in (("first_name", "Indiquez votre prénom."), ("last_name", "Indiquez votre nom."),
                              ("email", "Indiquez votre adresse électronique."),
                              ("phone", "Indiquez le numéro de votre téléphone portable."),
                              ("profile", "Choisissez votre profil.")):
            if not values[name]:
                errors[name] = message
        if kind == "professional":
            for name, message in (("company_name", "Indiquez la raison sociale de votre entreprise."),
                                  ("siret", "Indiquez le numéro SIRET de votre entreprise.")):
                if not values[name]:
                    errors[name] = message
        if not errors:
            body = {k: v for k, v in values.items() if v is not None}
            if kind != "professional":
                for k in ("company_name", "siret", "eori"):
                    body.pop(k, None)
            try:
                out = await ctx.api.post("/api/v1/identity/registrations", json={**body, "kind": kind,
                                                                                  "password": password},
                                         anonymous=True)
                return await ctx.redirect(f"/inscription/verification?v={out['verification_id']}")
            except ApiError as exc:
                errors = form_errors(exc) or {"_": exc.detail}
                if "" in errors:
                    errors["_"] = errors.pop("")
        return await registration_page(ctx, kind, values, errors, 422)

    @r.get("/inscription/verification")
    async def verification_form(ctx: Ctx = Depends(portal.page), v: str = Query("", max_length=64),
                                etat: str | None = Query(None, max_length=40)) -> Response:
        return await page(ctx, "applicant/verify_phone.html", page_title="Confirmer votre téléphone portable",
                          verification_id=v, state=etat, values={}, errors={})

    @r.post("/inscription/verification")
    async def verify_phone(ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        vid, code = text(form, "verification_id") or "", text(form, "code") or ""
        if form.get("resend"):
            try:
                out = await ctx.api.post("/api/v1/identity/registrations/phone-verification/resend",
                                         json={"verification_id": vid}, anonymous=True)
                return await ctx.redirect(f"/inscription/verification?v={out['verification_id']}&etat=renvoye")
            except ApiError as exc:
                errors = {"code": exc.detail}
        elif not code.isdigit() or len(code) != 6:
            errors = {"code": "Le code reçu par SMS comporte 6 chiffres."}
        else:
            try:
                state = await ctx.api.post("/api/v1/identity/registrations/phone-verification",
                                           json={"verification_id": vid, "code": code}, anonymous=True)
                return await ctx.redirect("/connexion?compte=active" if state["status"] == "active"
                                          else "/inscription/verification?etat=telephone-confirme")
            except ApiError as exc:
                errors = {"code": exc.field_errors().get("code") or exc.detail}
        return await page(ctx, "applicant/verify_phone.html", 422, page_title="Confirmer votre téléphone portable",
                          verification_id=vid, state=None, values={"code": code}, errors=errors)

    @r.get("/inscription/verifier-email")
    async def email_link(ctx: Ctx = Depends(portal.page), token: str = Query("", max_length=200)) -> Response:
        return await page(ctx, "applicant/verify_email.html", page_title="Confirmer votre adresse électronique",
                          token=token, result=None, errors={})

    @r.post("/inscription/verifier-email")
    async def verify_email(ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        token = text(form, "token") or ""
        try:
            state = await ctx.api.post("/api/v1/identity/registrations/email-verification", json={"token": token},
                                       anonymous=True)
        except ApiError as exc:
            return await page(ctx, "applicant/verify_email.html", 422,
                              page_title="Confirmer votre adresse électronique", token=token, result=None,
                              errors={"_": exc.detail})
        if state["status"] == "active":
            return await ctx.redirect("/connexion?compte=active")
        return await page(ctx, "applicant/verify_email.html", page_title="Adresse électronique confirmée",
                          token="", result=state, errors={})

    # --- sign-in, sign-out --------------------------------------------------------------------
    @r.get("/connexion")
    async def sign_in_form(ctx: Ctx = Depends(portal.page), retour: str | None = Query(None, max_length=500),
                           expiree: str | None = Query(None, max_length=2),
                           compte: str | None = Query(None, max_length=20),
                           deconnecte: str | None = Query(None, max_length=2),
                           mdp: str | None = Query(None, max_length=2)) -> Response:
        return await page(ctx, "applicant/sign_in.html", page_title="Se connecter", retour=retour or "",
                          expired=bool(expiree), activated=compte == "active", signed_out=bool(deconnecte),
                          password_changed=bool(mdp), values={}, errors={})

    @r.post("/connexion")
    async def sign_in(ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        email, password = text(form, "email") or "", str(form.get("password") or "")
        retour = text(form, "retour") or ""
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = "Indiquez votre identifiant (adresse électronique)."
        if not password:
            errors["password"] = "Indiquez votre mot de passe."
        if not errors:
            try:
                tokens = await ctx.api.post("/api/v1/identity/sessions", json={"email": email, "password": password},
                                            anonymous=True)
                await ctx.start_session(tokens, {})
                me = await ctx.api.get("/api/v1/identity/me")
                assert ctx.session is not None
                ctx.session.account = {k: me.get(k) for k in (
                    "id", "email", "first_name", "last_name", "kind", "profile", "company_name", "siret",
                    "access_level", "operator_id", "operator_role", "phone")}
                return await ctx.redirect(safe_return_path(retour, "/soprano"))
            except ApiError as exc:
                errors = {"_": exc.detail if exc.status != 422 else "Identifiant ou mot de passe incorrect."}
        return await page(ctx, "applicant/sign_in.html", 401 if errors.get("_") else 422, page_title="Se connecter",
                          retour=retour, expired=False, activated=False, signed_out=False, password_changed=False,
                          values={"email": email}, errors=errors)

    @r.post("/deconnexion")
    async def sign_out(ctx: Ctx = Depends(portal.page)) -> Response:
        await ctx.form()
        await ctx.end_session()
        return await ctx.redirect("/connexion?deconnecte=1")

    # --- password reset ---------------------------------------------------------------------------
    @r.get("/mot-de-passe-oublie")
    async def forgot_form(ctx: Ctx = Depends(portal.page)) -> Response:
        return await page(ctx, "applicant/forgot.html", page_title="Mot de passe oublié", sent=None, values={},
                          errors={})

    @r.post("/mot-de-passe-oublie")
    async def forgot(ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        email = text(form, "email") or ""
        if not email:
            return await page(ctx, "applicant/forgot.html", 422, page_title="Mot de passe oublié", sent=None,
                              values={}, errors={"email": "Indiquez votre adresse électronique."})
        try:
            out = await ctx.api.post("/api/v1/identity/password-resets", json={"email": email}, anonymous=True)
        except ApiError as exc:
            return await page(ctx, "applicant/forgot.html", 422, page_title="Mot de passe oublié", sent=None,
                              values={"email": email}, errors={"email": exc.field_errors().get("email") or exc.detail})
        return await page(ctx, "applicant/forgot.html", page_title="Mot de passe oublié", sent=out["detail"],
                          values={}, errors={})

    @r.get("/mot-de-passe/reinitialiser")
    async def reset_form(ctx: Ctx = Depends(portal.page), token: str = Query("", max_length=200)) -> Response:
        return await page(ctx, "applicant/reset.html", page_title="Choisir un nouveau mot de passe", token=token,
                          errors={})

    @r.post("/mot-de-passe/reinitialiser")
    async def reset(ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        token = text(form, "token") or ""
        password, confirm = str(form.get("password") or ""), str(form.get("password_confirm") or "")
        errors: dict[str, str] = {}
        if not password:
            errors["password"] = "Choisissez un nouveau mot de passe."
        elif password != confirm:
            errors["password_confirm"] = "Les deux mots de passe saisis ne sont pas identiques."
        if not errors:
            try:
                await ctx.api.post("/api/v1/identity/password-resets/confirm",
                                   json={"token": token, "password": password}, anonymous=True)
                return await ctx.redirect("/connexion?mdp=1")
            except ApiError as exc:
                errors = form_errors(exc) or {"_": exc.detail}
                if "token" in errors:
                    errors["_"] = errors.pop("token")
        return await page(ctx, "applicant/reset.html", 422, page_title="Choisir un nouveau mot de passe", token=token,
                          errors=errors)

    # --- SOPRANO home and OPPD habilitation --------------------------------------------------------
    @r.get("/soprano")
    async def soprano(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        services = await ctx.api.get("/api/v1/identity/teleservices")
        requests = await ctx.api.get("/api/v1/identity/habilitation-requests")
        invitations = await ctx.api.get("/api/v1/identity/invitations")
        me = await ctx.api.get("/api/v1/identity/me")
        return await page(ctx, "applicant/soprano.html", page_title="Accueil SOPRANO", active_nav="/soprano",
                          teleservices=services, requests=requests, invitations=invitations, me=me)

    # --- invitations to join a company (the link of identity's invitation email) -------------------
    async def invitations_page(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
        items = await ctx.api.get("/api/v1/identity/invitations")
        return await page(ctx, "applicant/invitations.html", status, page_title="Mes invitations",
                          active_nav="/soprano", invitations=items, errors=errors or {})

    @r.get("/soprano/invitations")
    async def invitations(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        return await invitations_page(ctx)

    @r.post("/soprano/invitations/{invitation_id}/acceptation")
    async def accept_invitation(invitation_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        await ctx.form()
        try:
            operator = await ctx.api.post(f"/api/v1/identity/invitations/{invitation_id}/accept")
        except ApiError as exc:
            if exc.status in (403, 404):
                raise  # another person's invitation, or none: the French 404 page
            return await invitations_page(ctx, {"_": exc.detail}, exc.status if exc.status in (409, 410) else 422)
        # The tokens name the company from now on: take fresh ones, and the account facts with them.
        await ctx.api.token(True)
        me = await ctx.api.get("/api/v1/identity/me")
        assert ctx.session is not None
        ctx.session.account.update({k: me.get(k) for k in ("access_level", "operator_id", "operator_role",
                                                           "company_name", "siret")})
        ctx.flash(f"Vous avez rejoint l'entreprise {operator['name']}. Vous voyez désormais ses dossiers et "
                  "ses autorisations.", title="Invitation acceptée")
        return await ctx.redirect("/soprano")

    async def habilitation_page(ctx: Ctx, values: dict[str, Any], errors: dict[str, str],
                                status: int = 200) -> Response:
        pae = await ctx.api.get("/api/v1/identity/catalogue/pae")
        services = [t for t in await ctx.api.get("/api/v1/identity/teleservices") if t["access"] == "OPPD"]
        return await page(ctx, "applicant/habilitation.html", status, page_title="Demander une habilitation (OPPD)",
                          pae=pae, teleservices=services, values=values, errors=errors)

    @r.get("/soprano/habilitation")
    async def habilitation_form(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        acc = ctx.account
        return await habilitation_page(ctx, {"company_name": acc.get("company_name"), "siret": acc.get("siret"),
                                             "teleservices": []}, {})

    @r.post("/soprano/habilitation")
    async def habilitation(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        values: dict[str, Any] = {n: text(form, n) for n in ("pae_code", "company_name", "siret", "eori",
                                                             "justification")}
        values["teleservices"] = [str(v) for v in form.getlist("teleservices")]
        errors: dict[str, str] = {}
        if not values["pae_code"]:
            errors["pae_code"] = "Choisissez le pôle d'action économique (PAE) de votre région."
        if not values["teleservices"]:
            errors["teleservices"] = "Cochez au moins un téléservice."
        for name, message in (("company_name", "Indiquez la raison sociale."), ("siret", "Indiquez le numéro SIRET."),
                              ("justification", "Expliquez en quelques mots votre besoin (10 caractères au moins).")):
            if not values[name]:
                errors[name] = message
        if not errors:
            try:
                await ctx.api.post("/api/v1/identity/habilitation-requests",
                                   json={k: v for k, v in values.items() if v not in (None, "")})
                ctx.flash("Votre demande d'habilitation a été transmise au PAE. Vous serez informé de sa décision.")
                return await ctx.redirect("/soprano")
            except ApiError as exc:
                errors = form_errors(exc) or {"_": exc.detail}
        return await habilitation_page(ctx, values, errors, 422)

    return r
