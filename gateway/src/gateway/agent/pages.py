"""The officer portal's pages: sign-in, queues, case page and its actions, decisions to sign,
authorisations and their PDF, PAE habilitation requests, other administrations' webhook
subscriptions (supervisors, read only), notifications.

Every page reads and acts through the internal edge's API with the signed-in person's token
(``ctx.api``); the services decide who may do what and the page shows their French answer.
Forms post, then redirect to a page (POST → redirect → GET); a form the API refuses field by
field comes back filled in, with the messages next to the fields and in a summary."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from gateway.agent import forms as f
from gateway.agent.labels import label, labels
from gateway.agent.portal import BASE, has_role, render
from gateway.portal.common.api import ApiError
from gateway.portal.common.core import Ctx, Portal, safe_return_path

OPEN_STATUSES = ["en_etude", "incomplet", "en_instruction", "en_decision"]
PAGE_SIZE = 50
INSTRUCTION = "/api/v1/instruction"
SUPERVISION = "/api/v1/webhooks/supervision"


def _case_url(case_id: uuid.UUID | str, anchor: str = "") -> str:
    return f"{BASE}/dossiers/{case_id}" + (f"#{anchor}" if anchor else "")


async def _act(ctx: Ctx, call: Any, *, back: str, success: str) -> Response | ApiError:
    """Runs an action; on success a flash and a redirect. A refusal of the API that concerns the
    action (conflict, four eyes, bad value) comes back as a flash on the page; field errors are
    returned to the caller, which shows the form again. A missing resource is the 404 page."""
    try:
        await call
    except ApiError as exc:
        if exc.status == 422 and exc.errors:
            return exc
        if exc.status in (404,) or exc.status >= 500:
            raise
        ctx.flash(exc.detail, "error", "Action refusée")
        return await ctx.redirect(back)
    ctx.flash(success)
    return await ctx.redirect(back)


async def _assignable_officers(ctx: Ctx) -> list[dict[str, Any]]:
    """Active officers and supervisors a supervisor can give a case to, by name (identity's list)."""
    listed = await ctx.api.get("/api/v1/identity/officers")
    return [{**o, "id": str(o["id"]),
             "label": f"{o['display_name']} — {', '.join(label('roles', r) for r in o.get('roles') or [])}"}
            for o in listed if o.get("active")]


def router(portal: Portal) -> APIRouter:
    r = APIRouter(prefix=BASE, include_in_schema=False)
    page = Depends(portal.page)
    signed = Depends(portal.signed_in)

    # --- sign-in ------------------------------------------------------------------------------

    @r.get("")
    async def root_without_slash() -> Response:
        from fastapi.responses import RedirectResponse

        return RedirectResponse(f"{BASE}/", status_code=307)

    @r.get("/")
    async def home(ctx: Ctx = page) -> Response:
        if not ctx.signed_in:
            return await ctx.redirect(f"{BASE}/connexion")
        if has_role(ctx, "officer", "supervisor"):
            return await ctx.redirect(f"{BASE}/files")
        if has_role(ctx, "pae_agent"):
            return await ctx.redirect(f"{BASE}/habilitations")
        return await ctx.redirect(f"{BASE}/notifications")

    @r.get("/connexion")
    async def sign_in_form(ctx: Ctx = page, retour: str | None = None, expiree: str | None = None) -> Response:
        return await render(ctx, "agent/sign_in.html", values={}, errors={},
                            retour=safe_return_path(retour, f"{BASE}/"), expired=bool(expiree))

    @r.post("/connexion")
    async def sign_in(ctx: Ctx = page) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        email = f.text(form, "email", required=True, max_length=254, errors=errors)
        password = f.text(form, "password", required=True, max_length=256, errors=errors)
        otp = (f.text(form, "otp", required=True, max_length=6, errors=errors) or "").replace(" ", "")
        if otp and not (otp.isdigit() and len(otp) == 6):
            errors.add("otp", "Le code de vérification compte 6 chiffres.")
        retour = safe_return_path(str(form.get("retour") or ""), f"{BASE}/")
        if not retour.startswith(BASE):
            retour = f"{BASE}/"
        alert = None
        if not errors:
            resp = await ctx.api.send("POST", "/api/v1/identity/officers/sessions", anonymous=True,
                                      json={"email": email, "password": password, "otp": otp})
            if resp.status_code == 200:
                await ctx.start_session(resp.json(), {})
                me = await ctx.api.get("/api/v1/identity/officers/me")
                assert ctx.session is not None
                ctx.session.account = {k: me.get(k) for k in ("id", "email", "first_name", "last_name", "roles",
                                                              "pae_code")}
                return await ctx.redirect(retour)
            exc = ApiError.of(resp)
            if resp.status_code == 422 and exc.errors:
                for name, message in exc.field_errors().items():
                    errors.add(name if name in ("email", "password", "otp") else "_", message)
            else:
                alert = exc.detail
        values = {"email": email or ""}
        status = 401 if alert else 422
        return await render(ctx, "agent/sign_in.html", status_code=status, values=values, errors=errors,
                            alert=alert, retour=retour, expired=False)

    @r.post("/deconnexion")
    async def sign_out(ctx: Ctx = page) -> Response:
        await ctx.form()
        await ctx.end_session()
        return await ctx.redirect(f"{BASE}/connexion?deconnecte=1")

    # --- queues -------------------------------------------------------------------------------

    @r.get("/files")
    async def queues(ctx: Ctx = signed, statut: str = Query("ouverts", max_length=32),
                     type: str = Query("", max_length=16), attribution: str = Query("", max_length=8),
                     numero: str = Query("", max_length=64), page_no: int = Query(1, ge=1, le=10_000, alias="page")
                     ) -> Response:
        params: list[tuple[str, str | int]] = [("limit", PAGE_SIZE), ("offset", (page_no - 1) * PAGE_SIZE)]
        if statut in ("", "ouverts"):
            statut = ""
            params += [("status", s) for s in OPEN_STATUSES]
        elif statut in labels()["case_statuses"]:
            params.append(("status", statut))
        else:
            statut = "tous"
        if type:
            params.append(("authorisation_type", type))
        if attribution in ("me", "none"):
            params.append(("assigned", attribution))
        if numero.strip():
            params.append(("registration_number", numero.strip()))
        counts, listing = await asyncio.gather(ctx.api.get(f"{INSTRUCTION}/cases/counts"),
                                               ctx.api.get(f"{INSTRUCTION}/cases", params=params))
        filters = {"statut": statut, "type": type, "attribution": attribution, "numero": numero}
        pages = max(1, -(-int(listing["total"]) // PAGE_SIZE))
        base_query = urlencode({k: v for k, v in filters.items() if v})
        return await render(ctx, "agent/queues.html", counts=counts, listing=listing, filters=filters,
                            page_no=page_no, pages=pages, base_query=base_query, open_statuses=OPEN_STATUSES,
                            types=sorted(counts["by_type"]), active_nav=f"{BASE}/files")

    # --- the case page ------------------------------------------------------------------------

    async def case_page(ctx: Ctx, case_id: uuid.UUID, *, status_code: int = 200, form: str | None = None,
                        errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Response:
        case, audit = await asyncio.gather(ctx.api.get(f"{INSTRUCTION}/cases/{case_id}"),
                                           ctx.api.get(f"{INSTRUCTION}/cases/{case_id}/audit"))
        pending = next((p for p in case["proposals"] if p["state"] == "proposed"), None)
        is_supervisor = has_role(ctx, "supervisor")
        officers: list[dict[str, Any]] | None = []
        if is_supervisor and case["status"] in OPEN_STATUSES:
            try:
                officers = await _assignable_officers(ctx)
            except ApiError as exc:
                if exc.status < 500:
                    raise
                officers = None  # the case stays readable; the form says the list is unavailable
        return await render(ctx, "agent/case.html", status_code=status_code, case=case, audit=audit,
                            pending=pending, form=form, errors=errors or {}, values=values or {},
                            is_supervisor=is_supervisor, officers=officers, active_nav=f"{BASE}/files")

    @r.get("/dossiers/{case_id}")
    async def case_view(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await case_page(ctx, case_id)

    @r.post("/dossiers/{case_id}/prise-en-charge")
    async def take(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        await ctx.form()
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/take"), back=_case_url(case_id),
                         success="Vous avez pris ce dossier en charge.")
        assert not isinstance(out, ApiError)
        return out

    @r.post("/dossiers/{case_id}/attribution")
    async def assign(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        officer = str(form.get("officer_id") or "").strip()
        if not officer:
            errors.add("officer_id", "Choisissez l'agent instructeur à qui attribuer le dossier.")
        elif officer not in {o["id"] for o in await _assignable_officers(ctx)}:
            errors.add("officer_id", "Choisissez un agent instructeur en activité dans la liste.")
        if errors:
            return await case_page(ctx, case_id, status_code=422, form="assign", errors=errors,
                                   values=f.values_of(form))
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/assignment",
                                           json={"officer_id": officer}),
                         back=_case_url(case_id), success="Le dossier a été attribué.")
        if isinstance(out, ApiError):
            return await case_page(ctx, case_id, status_code=422, form="assign", errors=out.field_errors(),
                                   values=f.values_of(form))
        return out

    @r.post("/dossiers/{case_id}/recevabilite")
    async def admissibility(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        decision = f.choice(form, "decision", ("recevable", "irrecevable"), errors=errors,
                            message="Indiquez si le dossier est recevable.")
        reason = f.text(form, "reason", required=decision == "irrecevable", errors=errors)
        if errors:
            return await case_page(ctx, case_id, status_code=422, form="admissibility", errors=errors,
                                   values=f.values_of(form))
        success = ("Le dossier est déclaré recevable : il passe en instruction." if decision == "recevable"
                   else "Le dossier est déclaré irrecevable ; le demandeur en est informé.")
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/admissibility",
                                           json={"decision": decision, "reason": reason}),
                         back=_case_url(case_id), success=success)
        if isinstance(out, ApiError):
            return await case_page(ctx, case_id, status_code=422, form="admissibility",
                                   errors=out.field_errors(), values=f.values_of(form))
        return out

    @r.post("/dossiers/{case_id}/notes")
    async def add_note(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        body = f.text(form, "note", required=True, errors=errors)
        if errors:
            return await case_page(ctx, case_id, status_code=422, form="note", errors=errors,
                                   values=f.values_of(form))
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/notes", json={"body": body}),
                         back=_case_url(case_id, "notes"), success="La note interne a été ajoutée.")
        if isinstance(out, ApiError):
            return await case_page(ctx, case_id, status_code=422, form="note",
                                   errors={"note": next(iter(out.field_errors().values()))},
                                   values=f.values_of(form))
        return out

    @r.post("/dossiers/{case_id}/messages")
    async def post_message(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        body = f.text(form, "message", required=True, errors=errors)
        if errors:
            return await case_page(ctx, case_id, status_code=422, form="message", errors=errors,
                                   values=f.values_of(form))
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/messages", json={"body": body}),
                         back=_case_url(case_id, "echanges"), success="Votre message a été envoyé au demandeur.")
        if isinstance(out, ApiError):
            return await case_page(ctx, case_id, status_code=422, form="message",
                                   errors={"message": next(iter(out.field_errors().values()))},
                                   values=f.values_of(form))
        return out

    @r.post("/dossiers/{case_id}/consultations")
    async def consult(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        ministry = f.choice(form, "ministry", labels()["ministries"], errors=errors,
                            message="Choisissez le ministère consulté.")
        due_on = f.day(form, "due_on", errors=errors)
        question = f.text(form, "question", errors=errors)
        if errors:
            return await case_page(ctx, case_id, status_code=422, form="consultation", errors=errors,
                                   values=f.values_of(form))
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/consultations", json={
            "ministry": ministry, "due_on": due_on.isoformat() if due_on else None, "question": question}),
            back=_case_url(case_id, "consultations"), success="La consultation a été enregistrée.")
        if isinstance(out, ApiError):
            return await case_page(ctx, case_id, status_code=422, form="consultation",
                                   errors=out.field_errors(), values=f.values_of(form))
        return out

    @r.post("/dossiers/{case_id}/consultations/{consultation_id}/avis")
    async def opinion(case_id: uuid.UUID, consultation_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        prefix = f"avis-{consultation_id}"
        op = f.choice(form, f"{prefix}.opinion", labels()["opinions"], errors=errors,
                      message="Choisissez l'avis rendu.")
        text = f.text(form, f"{prefix}.text", errors=errors)
        if errors:
            return await case_page(ctx, case_id, status_code=422, form=prefix, errors=errors,
                                   values=f.values_of(form))
        out = await _act(ctx, ctx.api.post(
            f"{INSTRUCTION}/cases/{case_id}/consultations/{consultation_id}/opinion",
            json={"opinion": op, "text": text}),
            back=_case_url(case_id, "consultations"), success="L'avis du ministère a été enregistré.")
        if isinstance(out, ApiError):
            return await case_page(ctx, case_id, status_code=422, form=prefix,
                                   errors={f"{prefix}.{k}": v for k, v in out.field_errors().items()},
                                   values=f.values_of(form))
        return out

    @r.get("/dossiers/{case_id}/pieces/{pinned_id}")
    async def download_piece(case_id: uuid.UUID, pinned_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        case = await ctx.api.get(f"{INSTRUCTION}/cases/{case_id}")
        attached = {str(a.get("pinned_document_id")) for a in (case["dossier"].get("attachments") or [])}
        if str(pinned_id) not in attached:
            raise ApiError(404, "Cette pièce ne fait pas partie du dossier.")
        resp = await ctx.api.send("GET", f"/api/v1/documents/pinned/{pinned_id}/content",
                                  headers={"accept": "*/*"})
        if resp.status_code != 200:
            raise ApiError.of(resp)
        headers = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "content-disposition")}
        return await ctx.finish(Response(resp.content, headers=headers))

    # --- completion request ---------------------------------------------------------------------

    async def completion_page(ctx: Ctx, case_id: uuid.UUID, *, status_code: int = 200,
                              errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> Response:
        case = await ctx.api.get(f"{INSTRUCTION}/cases/{case_id}")
        return await render(ctx, "agent/completion.html", status_code=status_code, case=case, errors=errors or {},
                            values=values or {}, active_nav=f"{BASE}/files")

    @r.get("/dossiers/{case_id}/complement")
    async def completion_form(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await completion_page(ctx, case_id)

    @r.post("/dossiers/{case_id}/complement")
    async def completion(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        case = await ctx.api.get(f"{INSTRUCTION}/cases/{case_id}")
        attachments = {a["document_code"]: a for a in case["dossier"].get("attachments") or []}
        missing: list[dict[str, Any]] = []
        for code in form.getlist("documents"):
            if str(code) in attachments:
                missing.append({"kind": "document", "code": str(code),
                                "label": f"Pièce « {attachments[str(code)]['filename']} » ({code}) à remplacer"})
        for i in range(1, 4):
            other = f.text(form, f"other_{i}", max_length=500, errors=errors)
            if other:
                kind = str(form.get(f"kind_{i}") or "other")
                missing.append({"kind": kind if kind in ("document", "field", "other") else "other", "label": other})
        if not missing:
            errors.add("documents", "Indiquez au moins un élément manquant.")
        message = f.text(form, "message", required=True, errors=errors)
        values = {**f.values_of(form), "documents": [str(c) for c in form.getlist("documents")]}
        if errors:
            return await completion_page(ctx, case_id, status_code=422, errors=errors, values=values)
        try:
            await ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/completion-requests",
                               json={"missing": missing, "message": message})
        except ApiError as exc:
            if exc.status == 422:
                return await completion_page(ctx, case_id, status_code=422,
                                             errors=exc.field_errors() or {"_": exc.detail}, values=values)
            if exc.status == 404 or exc.status >= 500:
                raise
            ctx.flash(exc.detail, "error", "Action refusée")
            return await ctx.redirect(_case_url(case_id))
        ctx.flash("La demande de complément a été envoyée au demandeur ; le délai d'instruction est suspendu.")
        return await ctx.redirect(_case_url(case_id))

    # --- decision proposal -----------------------------------------------------------------------

    async def proposal_page(ctx: Ctx, case_id: uuid.UUID, *, status_code: int = 200,
                            errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> Response:
        case, validity = await asyncio.gather(ctx.api.get(f"{INSTRUCTION}/cases/{case_id}"),
                                              ctx.api.get(f"{INSTRUCTION}/cases/{case_id}/validity"))
        if values is None:
            values = {"outcome": "granted", "valid_from": validity["valid_from"],
                      "valid_until": validity["valid_until"]}
            for line in case["dossier"].get("lines") or []:
                values[f"quantity_{line['line_no']}"] = str(line["quantity"])
        return await render(ctx, "agent/proposal.html", status_code=status_code, case=case, validity=validity,
                            errors=errors or {}, values=values, active_nav=f"{BASE}/files")

    @r.get("/dossiers/{case_id}/proposition")
    async def proposal_form(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await proposal_page(ctx, case_id)

    @r.post("/dossiers/{case_id}/proposition")
    async def propose(case_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        outcome = f.choice(form, "outcome", ("granted", "refused"), errors=errors,
                           message="Choisissez d'accorder ou de refuser l'autorisation.")
        body: dict[str, Any] = {"outcome": outcome}
        aliases: dict[str, str] = {}
        if outcome == "granted":
            start = f.day(form, "valid_from", required=True, errors=errors)
            end = f.day(form, "valid_until", required=True, errors=errors)
            if start and end and end < start:
                errors.add("valid_until", "La fin de validité doit suivre le début de validité.")
            lines: list[dict[str, int]] = []
            case = await ctx.api.get(f"{INSTRUCTION}/cases/{case_id}")
            for line in case["dossier"].get("lines") or []:
                name = f"quantity_{line['line_no']}"
                qty = f.integer(form, name, minimum=0, errors=errors)
                aliases[f"lines.{len(lines)}.quantity"] = name
                if qty:  # a quantity of 0 leaves the line out of the grant
                    lines.append({"line_no": line["line_no"], "quantity": qty})
            if not lines and not errors:
                errors.add("_", "Accordez au moins une ligne de marchandises (quantité supérieure à 0).")
            body.update(valid_from=start.isoformat() if start else None,
                        valid_until=end.isoformat() if end else None, lines=lines,
                        conditions=f.text(form, "conditions", errors=errors),
                        legal_basis=f.text(form, "legal_basis_granted", max_length=2000, errors=errors))
            aliases["legal_basis"] = "legal_basis_granted"
        elif outcome == "refused":
            body.update(reasons=f.text(form, "reasons", required=True, max_length=8000, errors=errors),
                        legal_basis=f.text(form, "legal_basis_refused", max_length=2000, errors=errors))
            aliases["legal_basis"] = "legal_basis_refused"
        values = f.values_of(form)
        if errors:
            return await proposal_page(ctx, case_id, status_code=422, errors=errors, values=values)
        try:
            await ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/proposals", json=body)
        except ApiError as exc:
            if exc.status == 422:
                errs = {aliases.get(k, k): v for k, v in exc.field_errors().items()} or {"_": exc.detail}
                return await proposal_page(ctx, case_id, status_code=422, errors=errs, values=values)
            if exc.status == 404 or exc.status >= 500:
                raise
            ctx.flash(exc.detail, "error", "Action refusée")
            return await ctx.redirect(_case_url(case_id))
        ctx.flash("La proposition de décision est transmise à la signature d'un superviseur.")
        return await ctx.redirect(_case_url(case_id))

    # --- signature (supervisors) -------------------------------------------------------------------

    @r.get("/signatures")
    async def to_sign(ctx: Ctx = signed) -> Response:
        listing = await ctx.api.get(f"{INSTRUCTION}/cases", params={"status": "en_decision", "limit": PAGE_SIZE})
        details = await asyncio.gather(*(ctx.api.get(f"{INSTRUCTION}/cases/{c['id']}") for c in listing["items"]))
        rows = []
        for case in details:
            pending = next((p for p in case["proposals"] if p["state"] == "proposed"), None)
            rows.append({"case": case, "proposal": pending})
        return await render(ctx, "agent/signatures.html", rows=rows, total=listing["total"],
                            active_nav=f"{BASE}/signatures")

    @r.post("/dossiers/{case_id}/propositions/{proposal_id}/signature")
    async def sign(case_id: uuid.UUID, proposal_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        await ctx.form()
        try:
            result = await ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/proposals/{proposal_id}/signature")
        except ApiError as exc:
            if exc.status == 404 or exc.status >= 500:
                raise
            ctx.flash(exc.detail, "error", "Signature refusée")
            return await ctx.redirect(_case_url(case_id, "decision"))
        auth = result.get("authorisation")
        if auth:
            ctx.flash(f"Décision signée : l'autorisation n° {auth['number']} est délivrée.", "success",
                      "Décision signée")
            return await ctx.redirect(f"{BASE}/autorisations/{auth['authorisation_id']}")
        ctx.flash("Décision de refus signée ; le demandeur en est informé.", "success", "Décision signée")
        return await ctx.redirect(_case_url(case_id))

    @r.post("/dossiers/{case_id}/propositions/{proposal_id}/renvoi")
    async def send_back(case_id: uuid.UUID, proposal_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        comment = f.text(form, "comment", required=True, errors=errors)
        if errors:
            return await case_page(ctx, case_id, status_code=422, form="send_back", errors=errors,
                                   values=f.values_of(form))
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/cases/{case_id}/proposals/{proposal_id}/send-back",
                                           json={"comment": comment}),
                         back=_case_url(case_id), success="La proposition est renvoyée à l'agent instructeur.")
        if isinstance(out, ApiError):
            return await case_page(ctx, case_id, status_code=422, form="send_back",
                                   errors={"comment": next(iter(out.field_errors().values()))},
                                   values=f.values_of(form))
        return out

    # --- authorisations ---------------------------------------------------------------------------

    @r.get("/autorisations")
    async def authorisations(ctx: Ctx = signed, statut: str = Query("", max_length=32),
                             type: str = Query("", max_length=16), numero: str = Query("", max_length=64),
                             page_no: int = Query(1, ge=1, le=10_000, alias="page")) -> Response:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": (page_no - 1) * PAGE_SIZE}
        if statut in labels()["authorisation_statuses"]:
            params["status"] = statut
        if type.strip():
            params["type"] = type.strip()
        if numero.strip():
            params["number"] = numero.strip()
        listing = await ctx.api.get(f"{INSTRUCTION}/authorisations", params=params)
        filters = {"statut": statut, "type": type, "numero": numero}
        pages = max(1, -(-int(listing["total"]) // PAGE_SIZE))
        return await render(ctx, "agent/authorisations.html", listing=listing, filters=filters, page_no=page_no,
                            pages=pages, base_query=urlencode({k: v for k, v in filters.items() if v}),
                            active_nav=f"{BASE}/autorisations")

    async def authorisation_page(ctx: Ctx, authorisation_id: uuid.UUID, *, status_code: int = 200,
                                 form: str | None = None, errors: dict[str, str] | None = None,
                                 values: dict[str, str] | None = None) -> Response:
        auth, audit = await asyncio.gather(
            ctx.api.get(f"{INSTRUCTION}/authorisations/{authorisation_id}"),
            ctx.api.get(f"{INSTRUCTION}/authorisations/{authorisation_id}/audit"))
        return await render(ctx, "agent/authorisation.html", status_code=status_code, auth=auth, audit=audit,
                            form=form, errors=errors or {}, values=values or {},
                            is_supervisor=has_role(ctx, "supervisor"), active_nav=f"{BASE}/autorisations")

    @r.get("/autorisations/{authorisation_id}")
    async def authorisation_view(authorisation_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await authorisation_page(ctx, authorisation_id)

    @r.get("/autorisations/{authorisation_id}/pdf")
    async def authorisation_pdf(authorisation_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        auth = await ctx.api.get(f"{INSTRUCTION}/authorisations/{authorisation_id}")
        if not auth.get("pdf_document_id"):
            raise ApiError(404, "Le document PDF de cette autorisation n'est pas encore produit.")
        resp = await ctx.api.send("GET", f"/api/v1/documents/generated/{auth['pdf_document_id']}/content",
                                  headers={"accept": "*/*"})
        if resp.status_code != 200:
            raise ApiError.of(resp)
        headers = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "content-disposition")}
        return await ctx.finish(Response(resp.content, headers=headers))

    async def authorisation_act(ctx: Ctx, authorisation_id: uuid.UUID, name: str, path: str, success: str,
                                dated: bool = False) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        body: dict[str, Any] = {"reason": f.text(form, f"{name}.reason", required=True, errors=errors)}
        if dated:
            start = f.day(form, f"{name}.from_date", errors=errors)
            until = f.day(form, f"{name}.until", errors=errors)
            if start and until and until < start:
                errors.add(f"{name}.until", "La fin de la suspension doit suivre son début.")
            body.update(from_date=start.isoformat() if start else None, until=until.isoformat() if until else None)
        if errors:
            return await authorisation_page(ctx, authorisation_id, status_code=422, form=name, errors=errors,
                                            values=f.values_of(form))
        back = f"{BASE}/autorisations/{authorisation_id}"
        out = await _act(ctx, ctx.api.post(f"{INSTRUCTION}/authorisations/{authorisation_id}/{path}", json=body),
                         back=back, success=success)
        if isinstance(out, ApiError):
            return await authorisation_page(ctx, authorisation_id, status_code=422, form=name,
                                            errors={f"{name}.{k}": v for k, v in out.field_errors().items()},
                                            values=f.values_of(form))
        return out

    @r.post("/autorisations/{authorisation_id}/suspension")
    async def suspend(authorisation_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await authorisation_act(ctx, authorisation_id, "suspension", "suspension",
                                       "L'autorisation est suspendue ; son titulaire en est informé.", dated=True)

    @r.post("/autorisations/{authorisation_id}/levee")
    async def lift(authorisation_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await authorisation_act(ctx, authorisation_id, "levee", "suspension/lift",
                                       "La suspension de l'autorisation est levée.")

    @r.post("/autorisations/{authorisation_id}/abrogation")
    async def revoke(authorisation_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await authorisation_act(ctx, authorisation_id, "abrogation", "revocation",
                                       "L'autorisation est abrogée ; son titulaire en est informé.")

    # --- PAE: habilitation requests -------------------------------------------------------------------

    @r.get("/habilitations")
    async def habilitations(ctx: Ctx = signed, statut: str = Query("pending", max_length=16)) -> Response:
        if statut not in ("pending", "granted", "refused", "tous"):
            statut = "pending"
        params = {} if statut == "tous" else {"status": statut}
        items = await ctx.api.get("/api/v1/identity/pae/habilitation-requests", params=params)
        return await render(ctx, "agent/habilitations.html", items=items, statut=statut,
                            active_nav=f"{BASE}/habilitations")

    async def habilitation_page(ctx: Ctx, request_id: uuid.UUID, *, status_code: int = 200,
                                errors: dict[str, str] | None = None, values: dict[str, str] | None = None
                                ) -> Response:
        item = await ctx.api.get(f"/api/v1/identity/pae/habilitation-requests/{request_id}")
        return await render(ctx, "agent/habilitation.html", status_code=status_code, item=item, errors=errors or {},
                            values=values or {}, active_nav=f"{BASE}/habilitations")

    @r.get("/habilitations/{request_id}")
    async def habilitation_view(request_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        return await habilitation_page(ctx, request_id)

    @r.post("/habilitations/{request_id}/decision")
    async def habilitation_decision(request_id: uuid.UUID, ctx: Ctx = signed) -> Response:
        form = await ctx.form()
        errors = f.FormErrors()
        decision = f.choice(form, "decision", ("grant", "refuse"), errors=errors,
                            message="Choisissez d'accorder ou de refuser l'habilitation.")
        reason = f.text(form, "reason", required=decision == "refuse", max_length=2000, errors=errors)
        if decision == "refuse" and reason and len(reason) < 5:
            errors.add("reason", "Le motif doit compter au moins 5 caractères.")
        if errors:
            return await habilitation_page(ctx, request_id, status_code=422, errors=errors, values=f.values_of(form))
        back = f"{BASE}/habilitations/{request_id}"
        success = ("Le statut OPPD et les habilitations demandées sont accordés." if decision == "grant"
                   else "La demande d'habilitation est refusée ; le demandeur en est informé.")
        out = await _act(ctx, ctx.api.post(f"/api/v1/identity/pae/habilitation-requests/{request_id}/{decision}",
                                           json={"reason": reason}), back=back, success=success)
        if isinstance(out, ApiError):
            return await habilitation_page(ctx, request_id, status_code=422, errors=out.field_errors(),
                                           values=f.values_of(form))
        return out

    # --- other administrations' webhook subscriptions (supervisors, read only) ----------------------

    @r.get("/abonnements")
    async def subscriptions(ctx: Ctx = signed) -> Response:
        endpoints = await ctx.api.get(f"{SUPERVISION}/endpoints")
        return await render(ctx, "agent/subscriptions.html", endpoints=endpoints,
                            active_nav=f"{BASE}/abonnements")

    @r.get("/abonnements/{endpoint_id}")
    async def subscription(endpoint_id: uuid.UUID, ctx: Ctx = signed, statut: str = Query("", max_length=16),
                           page_no: int = Query(1, ge=1, le=10_000, alias="page")) -> Response:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": (page_no - 1) * PAGE_SIZE}
        if statut in labels()["delivery_statuses"]:
            params["status"] = statut
        else:
            statut = ""
        endpoint, deliveries = await asyncio.gather(
            ctx.api.get(f"{SUPERVISION}/endpoints/{endpoint_id}"),
            ctx.api.get(f"{SUPERVISION}/endpoints/{endpoint_id}/deliveries", params=params))
        pages = max(1, -(-int(deliveries["total"]) // PAGE_SIZE))
        return await render(ctx, "agent/subscription.html", endpoint=endpoint, deliveries=deliveries,
                            statut=statut, page_no=page_no, pages=pages,
                            base_query=urlencode({"statut": statut} if statut else {}),
                            active_nav=f"{BASE}/abonnements")

    # --- in-app notifications ---------------------------------------------------------------------

    @r.get("/notifications")
    async def notifications(ctx: Ctx = signed) -> Response:
        page_ = await ctx.api.get("/api/v1/notifications", params={"limit": PAGE_SIZE})
        return await render(ctx, "agent/notifications.html", page=page_, active_nav=f"{BASE}/notifications")

    @r.post("/notifications/lues")
    async def notifications_read(ctx: Ctx = signed) -> Response:
        await ctx.form()
        await ctx.api.post("/api/v1/notifications/read-all")
        ctx.flash("Toutes vos notifications sont marquées comme lues.")
        return await ctx.redirect(f"{BASE}/notifications")

    return r
