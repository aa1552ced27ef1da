"""e-APS home (user guide §3): the five tabs and, from the second visit on, the « Dossiers à
traiter » and « Dossiers en attente » tables; in-app notifications; the help pages (« Aides »)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from gateway.portal.applicant.helpers import page
from gateway.portal.common import Ctx, Portal

HELP_FILE = Path(__file__).parent / "help.yaml"


def load_help() -> list[dict[str, Any]]:
    with HELP_FILE.open(encoding="utf-8") as fh:
        pages: list[dict[str, Any]] = yaml.safe_load(fh)["pages"]
    return pages


def routes(portal: Portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    help_pages = load_help()

    @r.get("/eaps")
    async def home(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        await ctx.api.get("/api/v1/identity/teleservices/e-APS")  # 403 page if the profile may not use it
        seen_before = await ctx.store.remember("eaps-visited", str(ctx.account.get("id")))
        todo = waiting = None
        if seen_before:
            todo = await ctx.api.get("/api/v1/dossiers", params={"basket": "a_traiter", "size": 50})
            waiting = await ctx.api.get("/api/v1/dossiers", params={"basket": "en_attente", "size": 50})
        return await page(ctx, "applicant/eaps_home.html", page_title="Accueil e-APS", active_nav="/eaps",
                          first_visit=not seen_before, todo=todo, waiting=waiting)

    @r.get("/eaps/notifications")
    async def notifications(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        data = await ctx.api.get("/api/v1/notifications", params={"limit": 50})
        return await page(ctx, "applicant/notifications.html", page_title="Mes notifications", data=data)

    @r.post("/eaps/notifications/lues")
    async def read_all(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        await ctx.form()
        out = await ctx.api.post("/api/v1/notifications/read-all")
        ctx.flash(f"{out['marked']} notification(s) marquée(s) comme lue(s).")
        return await ctx.redirect("/eaps/notifications")

    @r.get("/eaps/aides")
    async def help_index(ctx: Ctx = Depends(portal.signed_in)) -> Response:
        return await page(ctx, "applicant/help.html", page_title="Aides", active_nav="/eaps/aides",
                          pages=help_pages, current=None)

    @r.get("/eaps/aides/{slug}")
    async def help_page(slug: str, ctx: Ctx = Depends(portal.signed_in)) -> Response:
        current = next((p for p in help_pages if p["slug"] == slug), None)
        if current is None:
            raise HTTPException(404)
        return await page(ctx, "applicant/help.html", page_title=current["title"], active_nav="/eaps/aides",
                          pages=help_pages, current=current)

    return r
