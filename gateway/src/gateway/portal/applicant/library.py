"""« Mes documents » (user guide §5): the library, « Ajouter », one-click delete, downloads of
one's documents and of the copies pinned to one's transmitted dossiers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from gateway.portal.applicant.helpers import is_xhr, page, text
from gateway.portal.applicant.search import _download
from gateway.portal.common import ApiError, Ctx, Portal


def routes(portal: Portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    async def show(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200,
                   values: dict[str, str | None] | None = None) -> Response:
        docs = await ctx.api.get("/api/v1/documents", params={"page_size": 100})
        types = await ctx.api.get("/api/v1/classification/document-types")
        return await page(ctx, "applicant/documents.html", status, page_title="Mes documents",
                          active_nav="/eaps/documents", docs=docs, errors=errors or {}, values=values or {},
                          types=[(t["code"], t["label"]) for t in types["document_types"]],
                          type_labels={t["code"]: t["label"] for t in types["document_types"]},
                          scanning=any(d["status"] == "pending_scan" for d in docs["items"]))

    @r.get("/eaps/documents")
    async def documents(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        return await show(ctx)

    @r.post("/eaps/documents")
    async def add(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        form = await ctx.form()
        file = form.get("file")
        values = {n: text(form, n) for n in ("title", "document_type", "valid_from", "valid_until")}

        async def fail(errors: dict[str, str], status: int) -> Response:
            if is_xhr(ctx):
                return JSONResponse({"error": next(iter(errors.values()))}, status_code=status)
            return await show(ctx, errors, status, values)

        if file is None or isinstance(file, str) or not file.filename:
            return await fail({"file": "Choisissez le fichier à ajouter."}, 422)
        data = {k: v for k, v in values.items() if v}
        data.setdefault("title", file.filename[:200])
        try:
            await ctx.api.post("/api/v1/documents", data=data, files={
                "file": (file.filename, file.file, file.content_type or "application/octet-stream")})
        except ApiError as exc:
            if exc.status == 403:
                raise
            errors = {("file" if k in ("", "file") else k): v for k, v in exc.field_errors().items()}
            return await fail(errors or {"file": exc.detail}, exc.status)
        ctx.flash(f"Le document « {data['title']} » a été ajouté ; il est en cours d'analyse antivirus.")
        if is_xhr(ctx):
            await ctx.finish(Response())
            return JSONResponse({"redirect": "/eaps/documents"})
        return await ctx.redirect("/eaps/documents")

    @r.post("/eaps/documents/{document_id}/suppression")
    async def delete(document_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        await ctx.form()
        try:
            await ctx.api.delete(f"/api/v1/documents/{document_id}")
        except ApiError as exc:
            if exc.status in (403, 404):
                raise
            return await show(ctx, {"_": exc.detail}, exc.status)
        ctx.flash("Le document a été supprimé de votre bibliothèque.")
        return await ctx.redirect("/eaps/documents")

    @r.get("/eaps/documents/{document_id}/contenu")
    async def content(document_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        resp = await ctx.api.send("GET", f"/api/v1/documents/{document_id}/content")
        if resp.status_code != 200:
            raise ApiError.of(resp)
        return _download(resp)

    @r.get("/eaps/documents/copies/{pinned_id}/contenu")
    async def pinned(pinned_id: uuid.UUID, request: Request, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        resp = await ctx.api.send("GET", f"/api/v1/documents/pinned/{pinned_id}/content")
        if resp.status_code != 200:
            raise ApiError.of(resp)
        return _download(resp)

    return r
