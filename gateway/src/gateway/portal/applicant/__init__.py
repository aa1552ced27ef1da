"""The applicant portal (public edge, /): prodou@ne account, SOPRANO home, e-APS and its five
tabs, the four-step request wizard, dossiers, authorisations, search, documents, notifications
and help — the screens of the user guide."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from gateway.portal.common import Portal, PortalConfig, PortalSettings, install_portal_support

TEMPLATES = Path(__file__).parent / "templates"

NAV = [
    {"label": "Accueil SOPRANO", "href": "/soprano"},
    {"label": "Accueil e-APS", "href": "/eaps"},
    {"label": "Déposer un nouveau dossier", "href": "/eaps/nouveau"},
    {"label": "Afficher mes autorisations", "href": "/eaps/autorisations"},
    {"label": "Recherche avancée", "href": "/eaps/recherche"},
    {"label": "Mes documents", "href": "/eaps/documents"},
    {"label": "Aides", "href": "/eaps/aides"},
]


def build_portal(settings: PortalSettings) -> Portal:
    return Portal(PortalConfig(
        name="applicant", base_path="", cookie_name="eaps_session",
        refresh_path="/api/v1/identity/tokens/refresh", sign_out_path="/api/v1/identity/sessions/sign-out",
        sign_in_page="/connexion", home_page="/soprano",
        service_title="SOPRANO e-APS",
        service_tagline="Autorisations de flux d'armes, de munitions et de leurs éléments",
        templates_dir=TEMPLATES, nav=NAV), settings)


def mount_applicant_portal(app: FastAPI, settings: PortalSettings) -> Portal:
    from gateway.portal.applicant import account, dossier_pages, eaps, library, search, wizard

    portal = build_portal(settings)
    install_portal_support(app, portal, settings)
    for module in (account, eaps, wizard, dossier_pages, search, library):
        app.include_router(module.routes(portal))
    return portal
