"""The dossier page (user guide §6): status and history, « Modifier le formulaire » for a dossier
to complete, the comments thread (« Ajouter un commentaire »), withdrawal, deleting a draft."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from gateway.portal.applicant.helpers import page, text
from gateway.portal.common import ApiError, Ctx, Portal


def routes(portal: Portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    async def show(ctx: Ctx, dossier_id: uuid.UUID, errors: dict[str, str] | None = None, status: int = 200,
                   values: dict[str, str] | None = None) -> Response:
        d = await ctx.api.get(f"/api/v1/dossiers/{dossier_id}")
        history = await ctx.api.get(f"/api/v1/dossiers/{dossier_id}/history")
        thread = await ctx.api.get(f"/api/v1/dossiers/{dossier_id}/messages")
        if thread["unread"]:
            await ctx.api.post(f"/api/v1/dossiers/{dossier_id}/messages/read")
        title = f"Dossier {d['registration_number']}" if d["registration_number"] else "Brouillon de dossier"
        return await page(ctx, "applicant/dossier.html", status, page_title=title, d=d, history=history["items"],
                          thread=thread["items"], errors=errors or {}, values=values or {})

    @r.get("/eaps/dossiers/{dossier_id}")
    async def dossier(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        return await show(ctx, dossier_id)

    @r.post("/eaps/dossiers/{dossier_id}/action")
    async def action(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        """The drop-down menu at the bottom of the dossier page."""
        form = await ctx.form()
        chosen = text(form, "action")
        if chosen in ("modify", "save"):
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-1")
        if chosen == "transmit":
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}/etape-3")
        if chosen == "comment":
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}#commentaire")
        if chosen in ("withdraw", "delete"):
            return await ctx.redirect(f"/eaps/dossiers/{dossier_id}?confirmer={chosen}#confirmation")
        return await show(ctx, dossier_id, {"action": "Choisissez une action dans la liste."}, 422)

    @r.post("/eaps/dossiers/{dossier_id}/commentaires")
    async def comment(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        body = text(form, "body")
        if not body:
            return await show(ctx, dossier_id, {"body": "Saisissez votre commentaire."}, 422)
        try:
            out = await ctx.api.post(f"/api/v1/dossiers/{dossier_id}/messages", json={"body": body})
        except ApiError as exc:
            if exc.status in (403, 404):
                raise
            return await show(ctx, dossier_id, {"body": exc.field_errors().get("body") or exc.detail}, exc.status,
                              {"body": body})
        ctx.flash(out["message"])
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}#commentaires")

    @r.post("/eaps/dossiers/{dossier_id}/retrait")
    async def withdraw(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        reason = text(form, "reason")
        try:
            await ctx.api.post(f"/api/v1/dossiers/{dossier_id}/withdrawal", json={"reason": reason} if reason else None,
                               if_match=text(form, "version"))
        except ApiError as exc:
            if exc.status in (403, 404):
                raise
            return await show(ctx, dossier_id, {"_": exc.detail}, exc.status)
        ctx.flash("Votre demande a été retirée.")
        return await ctx.redirect(f"/eaps/dossiers/{dossier_id}")

    @r.post("/eaps/dossiers/{dossier_id}/suppression")
    async def delete(dossier_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        try:
            await ctx.api.delete(f"/api/v1/dossiers/{dossier_id}", if_match=text(form, "version"))
        except ApiError as exc:
            if exc.status in (403, 404):
                raise
            return await show(ctx, dossier_id, {"_": exc.detail}, exc.status)
        ctx.flash("Le brouillon a été supprimé.")
        return await ctx.redirect("/eaps")

    return r
