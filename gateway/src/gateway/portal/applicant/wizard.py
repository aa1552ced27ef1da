"""« Déposer un nouveau dossier » (user guide §4): the four-step wizard. Every action saves the
draft through the dossier API (with If-Match), so nothing typed and saved is lost — not even
when the session expires. The classification aid is driven by GET parameters (each choice
reloads the page: JavaScript only submits the choice for you).

A step form posted after the session ended (« Sauvegarder ma saisie », « Étape suivante ») is
kept for an hour under an unguessable key; the person signs in again, comes back to the step and
what they typed is saved into the draft then (with their new token: only the owner can)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from gateway.portal.applicant.helpers import flatten, is_xhr, nested, page, text
from gateway.portal.common import ApiError, Ctx, Portal, SessionExpired, form_errors

PARTY_FIELDS = ["name", "siret", "eori", "email", "phone", "address.line1", "address.line2", "address.postal_code",
                "address.city", "address.country"]
APPLICANT_FIELDS = ["first_name", "last_name", "company_name", "email", "phone", "address.line1", "address.line2",
                    "address.postal_code", "address.city", "address.country"]
# API error paths that name a group rather than one field: link them to the group's first field.
ALIASES = {"applicant.address": "applicant.address.line1", "sender": "sender.name", "recipient": "recipient.name"}
STEP_PAGES = {1: "etape-1", 2: "etape-2", 3: "etape-3", 4: "etape-4"}
RESUME_SECONDS = 3600
SAVED = ("Votre saisie a été sauvegardée. Vous pourrez reprendre votre demande plus tard "
         "depuis le tableau « Dossiers à traiter ».")


async def keep_for_after_sign_in(ctx: Ctx, dossier_id: uuid.UUID, step: int, form: FormData) -> Response:
    """The session is gone: keep the step's form, send the person to sign in and back to the step."""
    key = secrets.token_urlsafe(24)
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"]
    await ctx.store.stash(f"reprise:{key}", {"dossier_id": str(dossier_id), "step": step, "fields": fields},
                          RESUME_SECONDS)
    back = f"/eaps/dossiers/{dossier_id}/etape-{step}?reprise={key}"
    ctx.session = None
    response = await ctx.redirect(f"{ctx.portal.config.sign_in_page}?retour={quote(back, safe='')}&expiree=1")
    response.delete_cookie(ctx.portal.config.cookie_name, path="/")
    return response


async def take_back(ctx: Ctx, dossier_id: uuid.UUID, step: int, key: str | None) -> FormData | None:
    """The form kept by keep_for_after_sign_in for this dossier's step, once."""
    if not key:
        return None
    kept = await ctx.store.unstash(f"reprise:{key[:64]}")
    if not kept or kept.get("dossier_id") != str(dossier_id) or kept.get("step") != step:
        return None
    return FormData([(str(k), str(v)) for k, v in kept.get("fields") or []])


def _aid_state(connu: str | None, categorie: str | None, field1: str | None, field2: str | None,
               r: list[str], bien: str | None) -> dict[str, Any]:
    return {"connu": connu if connu in ("oui", "non") else None, "categorie": categorie or None,
            "field1": field1 or None, "field2": field2 or None, "r": [a for a in r if a], "bien": bien or None}


def _aid_query(state: dict[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for k in ("connu", "categorie", "field1", "field2"):
        if state.get(k):
            pairs.append((k, state[k]))
    pairs += [("r", a) for a in state.get("r") or []]
    if state.get("bien"):
        pairs.append(("bien", state["bien"]))
    return urlencode(pairs)


def routes(portal: Portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    async def dossier(ctx: Ctx, dossier_id: uuid.UUID) -> dict[str, Any]:
        d: dict[str, Any] = await ctx.api.get(f"/api/v1/dossiers/{dossier_id}")
        return d

    async def reference(ctx: Ctx) -> dict[str, Any]:
        ref: dict[str, Any] = await ctx.api.get("/api/v1/dossiers/reference")
        return ref

    async def countries(ctx: Ctx) -> list[tuple[str, str]]:
        data = await ctx.api.get("/api/v1/classification/countries")
        return [(c["code"], c["name"]) for c in data["countries"]]

    @r.get("/eaps/nouveau")
    async def new(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        return await page(ctx, "applicant/new.html", page_title="Déposer un nouveau dossier",
                          active_nav="/eaps/nouveau")

    @r.post("/eaps/dossiers")
    async def create(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        await ctx.form()
        body: dict[str, Any] = {}
        if ctx.account.get("kind") in ("individual", "professional"):
            body["applicant_kind"] = ctx.account["kind"]
        out = await ctx.api.post("/api/v1/dossiers", json=body)
        return await ctx.redirect(f"/eaps/dossiers/{out['id']}/etape-1")

    # --- step 1 --------------------------------------------------------------------------------
    async def step1(ctx: Ctx, dossier_id: uuid.UUID, aid: dict[str, Any], *, errors: dict[str, str] | None = None,
                    values: dict[str, Any] | None = None, line_values: dict[str, Any] | None = None,
                    conflict: str | None = None, status: int = 200) -> Response:
        d = await dossier(ctx, dossier_id)
        if not d["editable"]:
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}")
        ref = await reference(ctx)
        info = d["informations"]
        vals = {"applicant_kind": info["applicant_kind"], "profile": info["profile"], "flow": info["flow"],
                "origin_country": info["origin_country"], "destination_country": info["destination_country"],
                **{f"profile_details.{k}": v for k, v in (info["profile_details"] or {}).items()}}
        vals.update(values or {})
        kind = vals.get("applicant_kind")
        kind_spec = next((k for k in ref["applicant_kinds"] if k["code"] == kind), None)
        profile_spec = next((p for p in (kind_spec or {}).get("profiles", [])
                             if p["code"] == vals.get("profile")), None)
        categories = known = descriptor = None
        if aid["connu"]:
            categories = (await ctx.api.get("/api/v1/classification/categories"))["categories"]
        aid_error = None
        try:
            if aid["connu"] == "oui" and aid["categorie"]:
                params = {"category": aid["categorie"], **({"field1": aid["field1"]} if aid["field1"] else {}),
                          **({"field2": aid["field2"]} if aid["field2"] else {})}
                known = await ctx.api.get("/api/v1/classification/known-path", params=params)
            elif aid["connu"] == "non" and aid["categorie"]:
                params_ = [("category", aid["categorie"])] + [("answers", a) for a in aid["r"]]
                descriptor = await ctx.api.get("/api/v1/classification/descriptor-path", params=params_)
        except ApiError as exc:
            aid_error = exc.detail
        reached: list[dict[str, Any]] = []
        if known and known["complete"]:
            reached = known["classifications"]
        elif descriptor and descriptor["complete"]:
            reached = [descriptor["classification"]]
        chosen = None
        if len(reached) == 1:
            chosen = reached[0]
        elif aid["bien"]:
            chosen = next((c for c in reached if c["code"] == aid["bien"]), None)
        goods = chosen.get("goods", []) if chosen else []
        lv = dict(line_values or {})
        if chosen and not lv.get("designation"):
            pick = next((g for g in goods if g["code"] == aid["bien"]), None) if aid["bien"] else None
            lv["designation"] = (pick or (goods[0] if len(goods) == 1 else None) or {}).get("label") or chosen["label"]
        all_errors = dict(errors or {})
        return await page(
            ctx, "applicant/step1.html", status, page_title="Étape 1 : informations et matériel", d=d, ref=ref,
            values=vals, kind_spec=kind_spec, profile_spec=profile_spec, countries=await countries(ctx),
            aid=aid, aid_query=_aid_query(aid), categories=categories, known=known, descriptor=descriptor,
            reached=reached, chosen=chosen, goods=goods, line_values=lv, aid_error=aid_error, conflict=conflict,
            errors=all_errors, step=1)

    @r.get("/eaps/dossiers/{dossier_id}/etape-1")
    async def step1_page(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in),
                         connu: str | None = Query(None, max_length=3),
                         categorie: str | None = Query(None, max_length=8),
                         field1: str | None = Query(None, max_length=64),
                         field2: str | None = Query(None, max_length=64),
                         r: list[str] = Query([], max_length=20),
                         bien: str | None = Query(None, max_length=128),
                         reprise: str | None = Query(None, max_length=64)) -> Response:
        kept = await take_back(ctx, dossier_id, 1, reprise)
        if kept is not None:
            return await apply_informations(ctx, dossier_id, kept, "save")
        return await step1(ctx, dossier_id, _aid_state(connu, categorie, field1, field2, r, bien))

    def informations_body(form: Any, ref: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        kind = text(form, "applicant_kind")
        if kind:
            body["applicant_kind"] = kind
        profile = text(form, "profile")
        kind_spec = next((k for k in ref["applicant_kinds"] if k["code"] == kind), None)
        if profile and kind_spec and profile not in [p["code"] for p in kind_spec["profiles"]]:
            profile = None  # the kind changed: the old profile no longer applies
        body["profile"] = profile
        details = {k.removeprefix("profile_details."): (str(v).strip() or None) for k, v in form.multi_items()
                   if k.startswith("profile_details.")}
        if details:
            body["profile_details"] = details
        for name in ("flow", "origin_country", "destination_country"):
            if name in form:
                body[name] = text(form, name)
        return body

    @r.post("/eaps/dossiers/{dossier_id}/etape-1/informations")
    async def save_informations(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        if not ctx.signed_in:
            return await keep_for_after_sign_in(ctx, dossier_id, 1, form)
        try:
            return await apply_informations(ctx, dossier_id, form, text(form, "action") or "refresh")
        except SessionExpired:
            return await keep_for_after_sign_in(ctx, dossier_id, 1, form)

    async def apply_informations(ctx: Ctx, dossier_id: uuid.UUID, form: FormData, action: str) -> Response:
        ref = await reference(ctx)
        body = informations_body(form, ref)
        aid = _aid_state(text(form, "connu"), text(form, "categorie"), text(form, "field1"), text(form, "field2"),
                         [str(a) for a in form.getlist("r")], text(form, "bien"))
        try:
            await ctx.api.put(f"/api/v1/dossiers/{dossier_id}/informations", json=body, if_match=text(form, "version"))
        except ApiError as exc:
            if exc.status in (404, 403):
                raise
            msg = exc.detail if exc.status != 422 else "Certaines informations sont invalides."
            errs = form_errors(exc) or {"_": msg}
            return await step1(ctx, dossier_id, aid, errors=errs,
                               values={k: v for k, v in flatten(body).items()}, status=exc.status)
        if action == "next":
            return await validate1(ctx, dossier_id, aid)
        if action == "save":
            ctx.flash(SAVED)
        q = _aid_query(aid)
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-1" + (f"?{q}" if q else "") + "#informations")

    async def validate1(ctx: Ctx, dossier_id: uuid.UUID, aid: dict[str, Any]) -> Response:
        try:
            await ctx.api.post(f"/api/v1/dossiers/{dossier_id}/steps/1/validation")
        except ApiError as exc:
            if exc.status != 422:
                raise
            return await step1(ctx, dossier_id, aid, errors=form_errors(exc) or {"_": exc.detail}, status=422)
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-2")

    @r.post("/eaps/dossiers/{dossier_id}/etape-1/materiel")
    async def add_line(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        aid = _aid_state(text(form, "connu"), text(form, "categorie"), text(form, "field1"), text(form, "field2"),
                         [str(a) for a in form.getlist("r")], text(form, "bien"))
        names = ["designation", "brand", "model", "calibre", "quantity", "unit_value_eur"]
        lv = {n: text(form, n) for n in names}
        errors: dict[str, str] = {}
        if not lv["designation"]:
            errors["designation"] = "Indiquez la désignation du matériel."
        if not lv["quantity"] or not lv["quantity"].isdigit() or int(lv["quantity"]) < 1:
            errors["quantity"] = "Indiquez une quantité (nombre entier supérieur à zéro)."
        value = (lv["unit_value_eur"] or "").replace(",", ".").replace(" ", "")
        if value:
            try:
                float(value)
            except ValueError:
                errors["unit_value_eur"] = "Indiquez une valeur en euros, par exemple 1250,00."
        if not text(form, "classification_code"):
            errors["_"] = "Choisissez d'abord le classement du matériel avec l'aide ci-dessous."
        if errors:
            return await step1(ctx, dossier_id, aid, errors=errors, line_values=lv, status=422)
        body = {"classification_code": text(form, "classification_code"),
                "classification_label": text(form, "classification_label"),
                "classification_path": "known" if aid["connu"] == "oui" else "unknown",
                "designation": lv["designation"], "brand": lv["brand"], "model": lv["model"],
                "calibre": lv["calibre"], "quantity": int(lv["quantity"] or 0), "unit_value_eur": value or None}
        try:
            out = await ctx.api.post(f"/api/v1/dossiers/{dossier_id}/lines", json=body, if_match=text(form, "version"))
        except ApiError as exc:
            if exc.status == 409 and not exc.errors:
                return await step1(ctx, dossier_id, aid, conflict=exc.detail, line_values=lv, status=409)
            if exc.status in (404, 403):
                raise
            errs = form_errors(exc) or {"_": exc.detail}
            if exc.status == 409:
                errs = {"_": exc.detail, **errs}
            return await step1(ctx, dossier_id, aid, errors=errs, line_values=lv, status=exc.status)
        ctx.flash(out["message"], title="Matériel ajouté")
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-1#materiels")

    @r.post("/eaps/dossiers/{dossier_id}/etape-1/materiel/{line_no}/suppression")
    async def delete_line(dossier_id: uuid.UUID, line_no: int, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        try:
            await ctx.api.delete(f"/api/v1/dossiers/{dossier_id}/lines/{line_no}", if_match=text(form, "version"))
            ctx.flash("Le matériel a été retiré de votre demande.")
        except ApiError as exc:
            if exc.status in (404, 403):
                raise
            ctx.flash(exc.detail, "error")
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-1#materiels")

    # --- step 2 --------------------------------------------------------------------------------
    async def step2(ctx: Ctx, dossier_id: uuid.UUID, *, errors: dict[str, str] | None = None,
                    values: dict[str, Any] | None = None, status: int = 200) -> Response:
        # The summary read also asks the documents service about justificatifs still being scanned.
        d = await ctx.api.get(f"/api/v1/dossiers/{dossier_id}/recapitulatif")
        if not d["editable"]:
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}")
        ref = await reference(ctx)
        dem = d["demandeur"]
        applicant = dem["applicant"] or {}
        if not applicant:  # first visit of step 2: start from the account
            acc = ctx.account
            applicant = {"first_name": acc.get("first_name"), "last_name": acc.get("last_name"),
                         "email": acc.get("email"), "company_name": acc.get("company_name")}
        vals = {**flatten(applicant, "applicant."), **flatten(dem["sender"] or {}, "sender."),
                **flatten(dem["recipient"] or {}, "recipient."), "motive": dem["motive"],
                "motive_details": dem["motive_details"]}
        vals.update(values or {})
        library = await ctx.api.get("/api/v1/documents", params={"page_size": 100, "status": "available"})
        flow = d["informations"]["flow"]
        motives = [(m["code"], m["label"]) for m in ref["motives"]]
        scanning = any(j["state"] == "en_analyse" for j in d["justificatifs"])
        return await page(ctx, "applicant/step2.html", status, page_title="Étape 2 : demandeur et expéditeur", d=d,
                          values=vals, motives=motives, flow=flow, countries=await countries(ctx),
                          library=library["items"], errors=errors or {}, scanning=scanning, step=2)

    @r.get("/eaps/dossiers/{dossier_id}/etape-2")
    async def step2_page(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in),
                         reprise: str | None = Query(None, max_length=64)) -> Response:
        kept = await take_back(ctx, dossier_id, 2, reprise)
        if kept is not None:
            return await apply_demandeur(ctx, dossier_id, kept, "save")
        return await step2(ctx, dossier_id)

    def demandeur_body(form: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"applicant": nested(form, "applicant", APPLICANT_FIELDS),
                                "sender": nested(form, "sender", PARTY_FIELDS),
                                "recipient": nested(form, "recipient", PARTY_FIELDS),
                                "motive": text(form, "motive"), "motive_details": text(form, "motive_details")}
        return body

    @r.post("/eaps/dossiers/{dossier_id}/etape-2/demandeur")
    async def save_demandeur(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.page)) -> Response:
        form = await ctx.form()
        if not ctx.signed_in:
            return await keep_for_after_sign_in(ctx, dossier_id, 2, form)
        try:
            return await apply_demandeur(ctx, dossier_id, form, text(form, "action") or "save")
        except SessionExpired:
            return await keep_for_after_sign_in(ctx, dossier_id, 2, form)

    async def apply_demandeur(ctx: Ctx, dossier_id: uuid.UUID, form: FormData, action: str) -> Response:
        body = demandeur_body(form)
        try:
            await ctx.api.put(f"/api/v1/dossiers/{dossier_id}/demandeur", json=body, if_match=text(form, "version"))
        except ApiError as exc:
            if exc.status in (404, 403):
                raise
            return await step2(ctx, dossier_id, errors=form_errors(exc, ALIASES) or {"_": exc.detail},
                               values=flatten(body), status=exc.status)
        if action == "next":
            return await validate2(ctx, dossier_id)
        ctx.flash(SAVED)
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-2")

    async def validate2(ctx: Ctx, dossier_id: uuid.UUID) -> Response:
        try:
            await ctx.api.post(f"/api/v1/dossiers/{dossier_id}/steps/2/validation")
        except ApiError as exc:
            if exc.status != 422:
                raise
            return await step2(ctx, dossier_id, errors=form_errors(exc, ALIASES) or {"_": exc.detail}, status=422)
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-3")

    @r.post("/eaps/dossiers/{dossier_id}/etape-2/validation")
    async def next2(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        await ctx.form()
        return await validate2(ctx, dossier_id)

    @r.post("/eaps/dossiers/{dossier_id}/etape-2/justificatifs/{code}/bibliotheque")
    async def attach(dossier_id: uuid.UUID, code: str, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        document_id = text(form, "document_id")
        if not document_id:
            return await step2(ctx, dossier_id, status=422, errors={
                f"justificatifs.{code}": "Choisissez un document de votre bibliothèque."})
        try:
            await ctx.api.put(f"/api/v1/dossiers/{dossier_id}/justificatifs/{code}",
                              json={"document_id": document_id}, if_match=text(form, "version"))
        except ApiError as exc:
            if exc.status in (403,):
                raise
            return await step2(ctx, dossier_id, errors={f"justificatifs.{code}": exc.detail}, status=exc.status)
        ctx.flash("Le document a été joint au justificatif.")
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-2#justificatifs")

    @r.post("/eaps/dossiers/{dossier_id}/etape-2/justificatifs/{code}/televersement")
    async def upload(dossier_id: uuid.UUID, code: str, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        file = form.get("file")
        field = f"justificatifs.{code}"
        back = f"/eaps/dossiers/{dossier_id}/etape-2#justificatifs"

        async def fail(message: str, status: int) -> Response:
            if is_xhr(ctx):
                return JSONResponse({"error": message}, status_code=status)
            return await step2(ctx, dossier_id, errors={field: message}, status=status)

        if file is None or isinstance(file, str) or not file.filename:
            return await fail("Choisissez un fichier à joindre.", 422)
        title = text(form, "title") or file.filename
        try:
            content_type = file.content_type or "application/octet-stream"
            doc = await ctx.api.post("/api/v1/documents", files={"file": (file.filename, file.file, content_type)},
                                     data={"title": title[:200], "document_type": code})
            await ctx.api.put(f"/api/v1/dossiers/{dossier_id}/justificatifs/{code}", json={"document_id": doc["id"]},
                              if_match="*")
        except ApiError as exc:
            if exc.status in (403,):
                raise
            return await fail(exc.field_errors().get("file") or exc.detail, exc.status)
        ctx.flash(f"Le fichier « {file.filename} » a été envoyé ; il est en cours d'analyse antivirus.")
        if is_xhr(ctx):
            await ctx.finish(Response())
            return JSONResponse({"redirect": back})
        return await ctx.redirect(back)

    @r.post("/eaps/dossiers/{dossier_id}/etape-2/justificatifs/{code}/retrait")
    async def detach(dossier_id: uuid.UUID, code: str, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        try:
            await ctx.api.delete(f"/api/v1/dossiers/{dossier_id}/justificatifs/{code}", if_match=text(form, "version"))
            ctx.flash("Le document a été retiré du justificatif.")
        except ApiError as exc:
            if exc.status in (404, 403):
                raise
            ctx.flash(exc.detail, "error")
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-2#justificatifs")

    # --- steps 3 and 4 -------------------------------------------------------------------------
    @r.get("/eaps/dossiers/{dossier_id}/etape-3")
    async def step3(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        d = await ctx.api.get(f"/api/v1/dossiers/{dossier_id}/recapitulatif")
        if not d["editable"]:
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}")
        return await page(ctx, "applicant/step3.html", page_title="Étape 3 : récapitulatif", d=d, step=3)

    @r.post("/eaps/dossiers/{dossier_id}/transmission")
    async def transmit(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        try:
            out = await ctx.api.post(f"/api/v1/dossiers/{dossier_id}/transmission", if_match=text(form, "version"))
        except ApiError as exc:
            if exc.status in (404, 403):
                raise
            d = await ctx.api.get(f"/api/v1/dossiers/{dossier_id}/recapitulatif")
            return await page(ctx, "applicant/step3.html", exc.status, page_title="Étape 3 : récapitulatif", d=d,
                              step=3, errors=form_errors(exc, ALIASES) or {"_": exc.detail}, transmit_error=exc.detail)
        assert ctx.session is not None
        ctx.session.data["transmitted"] = {"id": str(dossier_id), "message": out["message"]}
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-4")

    @r.get("/eaps/dossiers/{dossier_id}/etape-4")
    async def step4(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        d = await dossier(ctx, dossier_id)
        if not d["registration_number"]:
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-3")
        return await page(ctx, "applicant/step4.html", page_title="Étape 4 : transmission", d=d, step=4)

    return r
