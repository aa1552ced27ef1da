"""Configuration of the officer portal and its mounting on the internal edge."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from gateway.agent.labels import label, labels
from gateway.portal.common.core import Ctx, Portal, PortalConfig
from gateway.portal.common.settings import PortalSettings
from gateway.portal.common.web import install_portal_support

BASE = "/agent"
TEMPLATES = Path(__file__).parent / "templates"

# Menu entries and the roles that see them (the API decides anyway; the menu only avoids dead ends).
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("Files d'instruction", f"{BASE}/files", ("officer", "supervisor")),
    ("Décisions à signer", f"{BASE}/signatures", ("supervisor",)),
    ("Autorisations", f"{BASE}/autorisations", ("officer", "supervisor")),
    ("Demandes d'habilitation", f"{BASE}/habilitations", ("pae_agent",)),
    ("Abonnements des administrations", f"{BASE}/abonnements", ("supervisor", "admin")),
    ("Notifications", f"{BASE}/notifications", ("officer", "supervisor", "pae_agent")),
]

CONFIG = PortalConfig(
    name="agent",
    base_path=BASE,
    cookie_name="eaps_agent",
    refresh_path="/api/v1/identity/officers/sessions/refresh",
    sign_out_path="/api/v1/identity/officers/sessions/sign-out",
    sign_in_page=f"{BASE}/connexion",
    home_page=f"{BASE}/",
    service_title="e-APS — Espace agents",
    service_tagline="Instruction des autorisations de flux de produits stratégiques",
    templates_dir=TEMPLATES,
    nav=[],
)


def roles_of(ctx: Ctx) -> list[str]:
    return [str(r) for r in ctx.account.get("roles") or []]


def has_role(ctx: Ctx, *roles: str) -> bool:
    return any(r in roles_of(ctx) for r in roles)


def nav_for(roles: list[str]) -> list[dict[str, str]]:
    return [{"label": text, "href": href} for text, href, allowed in NAV if any(r in allowed for r in roles)]


async def render(ctx: Ctx, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """The portal's pages: the menu shows what the person's roles open."""
    roles = roles_of(ctx)
    config = dataclasses.replace(CONFIG, nav=nav_for(roles))
    return await ctx.render(template, status_code=status_code, portal=config, roles=roles,
                            me=str(ctx.account.get("id") or ""), **values)


def plain(value: Any) -> str:
    """A value of a dossier's snapshot, readable in a table cell."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} : {plain(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list):
        return " ; ".join(plain(v) for v in value)
    return str(value)


def make_portal(settings: PortalSettings | None = None) -> Portal:
    portal = Portal(CONFIG, settings or PortalSettings())
    portal.templates.globals.update(label=label, label_table=lambda kind: labels()[kind])
    portal.templates.filters.update(pair=lambda x: (x, x), plain=plain)
    return portal


def install_agent_portal(app: FastAPI, settings: PortalSettings | None = None) -> Portal:
    """Adds the portal's pages to the internal edge (call before the edge's catch-all route)."""
    from gateway.agent import pages

    portal = make_portal(settings)
    install_portal_support(app, portal, portal.settings)
    app.include_router(pages.router(portal))
    return portal
