"""Mounting a portal on an edge: the DSFR and portal static files, and French HTML pages for
errors on the portal's paths (the API's paths keep their problem+json answers)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from gateway.portal.common.api import ApiError, SessionExpired
from gateway.portal.common.core import SECURITY_HEADERS, CsrfError, Portal, portals_of
from gateway.portal.common.settings import PortalSettings

log = logging.getLogger("eaps.portal")

PORTAL_STATIC = Path(__file__).parent / "static"
API_PREFIXES = ("/api/", "/.well-known/", "/health/", "/openapi.json", "/internal/", "/static/")

ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: ("Requête invalide", "La demande envoyée n'est pas valide."),
    403: ("Accès refusé", "Votre profil ne vous permet pas d'accéder à cette page."),
    404: ("Page non trouvée", "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée."),
    405: ("Action non autorisée", "Cette action n'est pas possible sur cette page."),
    409: ("Action impossible", "Cette action n'est pas possible dans l'état actuel du dossier."),
    422: ("Données invalides", "Certaines données envoyées ne sont pas valides."),
    429: ("Trop de requêtes", "Vous avez effectué trop de demandes en peu de temps. Réessayez dans une minute."),
    500: ("Erreur inattendue", "Désolé, le service rencontre un problème. Nous travaillons à le résoudre "
                               "le plus rapidement possible. Réessayez dans quelques instants."),
    502: ("Service indisponible", "Un service est momentanément indisponible. Réessayez dans quelques instants."),
    503: ("Service indisponible", "Le service est momentanément indisponible. Réessayez dans quelques instants."),
    504: ("Service indisponible", "Un service a mis trop de temps à répondre. Réessayez dans quelques instants."),
}


def portal_for(request: Request) -> Portal | None:
    """The portal that owns a path (longest base path), or None for API and technical paths."""
    path = request.url.path
    if any(path.startswith(p) or path == p.rstrip("/") for p in API_PREFIXES):
        return None
    best: Portal | None = None
    for p in portals_of(request.app):
        base = p.config.base_path
        if (base == "" or path == base or path.startswith(base + "/")) and \
                (best is None or len(base) > len(best.config.base_path)):
            best = p
    return best


async def error_page(portal: Portal, request: Request, status: int, detail: str | None = None) -> Response:
    title, text = ERROR_TEXTS.get(status, ERROR_TEXTS[500] if status >= 500 else ERROR_TEXTS[400])
    try:
        ctx = await portal.page(request)
        return await ctx.render("common/error.html", status_code=status, status=status, title=title, text=text,
                                detail=detail)
    except Exception:  # Redis or templates down: still a French page, never a trace
        log.exception("error page could not be rendered with the layout")
        return HTMLResponse(f"<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{title} — e-APS"
                            f"</title></head><body><main><h1>{title}</h1><p>{text}</p>"
                            f"<p><a href=\"/\">Retour à l'accueil</a></p></main></body></html>",
                            status_code=status, headers=SECURITY_HEADERS)


def install_portal_support(app: FastAPI, portal: Portal, settings: PortalSettings) -> None:
    """Called once per portal, before the edge's catch-all route."""
    first = not hasattr(app.state, "portals")
    if first:
        app.state.portals = []
    app.state.portals.append(portal)
    if not first:
        return
    app.mount("/static/dsfr", StaticFiles(directory=str(settings.dsfr_dir), check_dir=False), name="dsfr")
    app.mount("/static/portail", StaticFiles(directory=str(PORTAL_STATIC)), name="portail")

    previous: dict[Any, Any] = dict(app.exception_handlers)

    def wrap(exc_type: Any, status_of: Any) -> None:
        fallback = previous.get(exc_type)

        async def handler(request: Request, exc: Exception) -> Response:
            p = portal_for(request)
            if p is None and fallback is not None:
                return await fallback(request, exc)  # type: ignore[no-any-return]
            if isinstance(exc, Exception) and status_of(exc) >= 500:
                log.error("portal error on %s %s", request.method, request.url.path, exc_info=exc)
            return await error_page(p or portal, request, status_of(exc), getattr(exc, "portal_detail", None))

        app.add_exception_handler(exc_type, handler)

    from eaps_kit.problems import ProblemError
    from fastapi.exceptions import RequestValidationError

    wrap(ProblemError, lambda e: e.status)
    wrap(StarletteHTTPException, lambda e: e.status_code)
    wrap(RequestValidationError, lambda e: 404)  # a malformed id in a page's address: no such page
    wrap(Exception, lambda e: 500)

    async def expired(request: Request, exc: Exception) -> Response:
        p = getattr(request.state, "portal", None) or portal_for(request) or portal
        return p.sign_in_redirect(request)

    async def csrf(request: Request, exc: Exception) -> Response:
        p = getattr(request.state, "portal", None) or portal_for(request) or portal
        ctx = await p.page(request)
        return await ctx.render("common/error.html", status_code=403, status=403, title="Formulaire expiré",
                                text="Ce formulaire a expiré ou ne provient pas de ce site. Revenez à la page "
                                     "précédente, rechargez-la puis recommencez.", detail=None)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        p = getattr(request.state, "portal", None) or portal_for(request) or portal
        status = exc.status if exc.status in (403, 404, 409, 429) or exc.status >= 500 else 400
        return await error_page(p, request, status, exc.detail if status not in (404,) and status < 500 else None)

    app.add_exception_handler(SessionExpired, expired)
    app.add_exception_handler(CsrfError, csrf)
    app.add_exception_handler(ApiError, api_error)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
