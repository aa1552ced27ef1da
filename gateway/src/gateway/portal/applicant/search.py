"""« Afficher mes autorisations » and « Recherche avancée » with « Exporter » (user guide §7)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.portal.applicant.helpers import page
from gateway.portal.common import ApiError, Ctx, Portal, form_errors

DOSSIER_CRITERIA = ["number", "submitted_from", "submitted_to", "status", "authorisation_type", "flow", "country",
                    "classification", "q"]
AUTH_CRITERIA = ["number", "valid_on", "issued_from", "issued_to", "status", "type", "flow", "country",
                 "classification", "q"]
API_TARGET = {"dossiers": "dossiers", "autorisations": "authorisations"}  # the page's word -> the API's path


def _criteria(request: Request, names: list[str]) -> list[tuple[str, str]]:
    out = []
    for name in names:
        for v in request.query_params.getlist(name):
            if v.strip():
                out.append((name, v.strip().upper() if name == "country" else v.strip()))
    return out


def _download(resp: Any) -> Response:
    headers = {k: resp.headers[k] for k in ("content-disposition", "x-checksum-sha256") if k in resp.headers}
    headers["Cache-Control"] = "private, no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(resp.content, media_type=resp.headers.get("content-type"), headers=headers)


def routes(portal: Portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/eaps/autorisations")
    async def authorisations(request: Request, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        page_no = request.query_params.get("page", "1")
        data = await ctx.api.get("/api/v1/authorisations",
                                 params={"page": page_no if page_no.isdigit() else "1", "size": 20})
        return await page(ctx, "applicant/authorisations.html", page_title="Mes autorisations",
                          active_nav="/eaps/autorisations", data=data)

    @r.get("/eaps/autorisations/{authorisation_id}")
    async def authorisation(authorisation_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        a = await ctx.api.get(f"/api/v1/authorisations/{authorisation_id}")
        return await page(ctx, "applicant/authorisation.html", page_title=f"Autorisation {a['number']}", a=a)

    @r.get("/eaps/autorisations/{authorisation_id}/pdf")
    async def authorisation_pdf(authorisation_id: uuid.UUID, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        a = await ctx.api.get(f"/api/v1/authorisations/{authorisation_id}")
        if not a.get("pdf"):
            raise ApiError(404, "Le document PDF de cette autorisation n'est pas encore disponible.")
        resp = await ctx.api.send("GET", f"/api/v1/documents/{a['pdf']['document_id']}/content")
        if resp.status_code != 200:
            raise ApiError.of(resp)
        return _download(resp)

    @r.get("/eaps/recherche")
    async def search(request: Request, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        what = "autorisations" if request.query_params.get("objet") == "autorisations" else "dossiers"
        criteria = _criteria(request, AUTH_CRITERIA if what == "autorisations" else DOSSIER_CRITERIA)
        ref = await ctx.api.get("/api/v1/dossiers/reference")
        results = None
        errors: dict[str, str] = {}
        status = 200
        if request.query_params.get("lancer"):
            page_no = request.query_params.get("page", "1")
            try:
                results = await ctx.api.get(f"/api/v1/search/{API_TARGET[what]}", params=criteria + [
                    ("page", page_no if page_no.isdigit() else "1"), ("size", "20")])
            except ApiError as exc:
                if exc.status != 422:
                    raise
                errors, status = form_errors(exc) or {"_": exc.detail}, 422
        values: dict[str, Any] = {}
        for k, v in criteria:
            values.setdefault(k, v)
        values["status_list"] = [v for k, v in criteria if k == "status"]
        from urllib.parse import urlencode

        return await page(ctx, "applicant/search.html", status, page_title="Recherche avancée",
                          active_nav="/eaps/recherche", what=what, ref=ref, values=values, results=results,
                          errors=errors, export_query=urlencode([("objet", what)] + criteria))

    @r.get("/eaps/recherche/export")
    async def export(request: Request, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        what = "autorisations" if request.query_params.get("objet") == "autorisations" else "dossiers"
        fmt = "csv" if request.query_params.get("format") == "csv" else "xlsx"
        criteria = _criteria(request, AUTH_CRITERIA if what == "autorisations" else DOSSIER_CRITERIA)
        resp = await ctx.api.send("GET", f"/api/v1/search/{API_TARGET[what]}/export",
                                  params=criteria + [("format", fmt)])
        if resp.status_code != 200:
            raise ApiError.of(resp)
        return _download(resp)

    return r
