"""What every portal page is built on: the portal's configuration, the per-request context
(session, API client, CSRF, flash messages, rendering) and the sign-in guard.

A route takes ``ctx: Ctx = Depends(portal.page)`` (anyone) or ``Depends(portal.signed_in)``
(signed-in people; otherwise a redirect to the sign-in page that comes back afterwards), reads
the API with ``await ctx.api.get("/api/v1/...")`` and answers ``await ctx.render(...)`` or
``await ctx.redirect(...)`` — both save the session and set the cookies."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from gateway.portal.common.api import ApiClient, ApiError, SessionExpired, make_http_client
from gateway.portal.common.sessions import PortalSession, SessionStore
from gateway.portal.common.settings import PortalSettings
from gateway.portal.common.templating import make_environment

ResponseT = TypeVar("ResponseT", bound=Response)

CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                "script-src 'self'; font-src 'self' data:; object-src 'none'; "
                                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CsrfError(Exception):
    """A POST without the form's anti-forgery token."""


@dataclass
class PortalConfig:
    name: str  # "applicant" | "agent"
    base_path: str  # "" (public edge) or "/agent"
    cookie_name: str
    refresh_path: str  # identity's refresh route on this edge
    sign_out_path: str
    sign_in_page: str  # the portal's own sign-in page (absolute path)
    home_page: str
    service_title: str
    service_tagline: str
    templates_dir: Path
    nav: list[dict[str, str]] = field(default_factory=list)  # {"label", "href"} for signed-in people


class Portal:
    def __init__(self, config: PortalConfig, settings: PortalSettings) -> None:
        self.config = config
        self.settings = settings
        self.templates = make_environment(config.templates_dir)
        self.templates.globals["portal"] = config

    # --- per-application resources (made on first use: no I/O at import or mount time) ---------
    def store(self, request: Request) -> SessionStore:
        redis = request.app.state.edge.redis
        prefix = f"{self.settings.portal_session_prefix}{self.config.name}:"
        return SessionStore(redis, prefix, self.settings.portal_session_idle_seconds)

    def http(self, request: Request) -> httpx.AsyncClient:
        client: httpx.AsyncClient | None = getattr(request.app.state, "portal_http", None)
        if client is None:
            client = make_http_client(request.app, self.settings.portal_api_url)
            request.app.state.portal_http = client
        return client

    # --- dependencies ----------------------------------------------------------------------
    async def page(self, request: Request) -> Ctx:
        request.state.portal = self
        store = self.store(request)
        session = await store.load(request.cookies.get(self.config.cookie_name))
        return Ctx(request, self, store, session)

    async def signed_in(self, request: Request) -> Ctx:
        ctx = await self.page(request)
        if ctx.session is None or not ctx.session.refresh_token:
            raise SessionExpired()
        return ctx

    def sign_in_redirect(self, request: Request) -> RedirectResponse:
        back = request.url.path if request.method == "GET" else _same_site_referer(request) or self.config.home_page
        if request.method == "GET" and request.url.query:
            back += "?" + request.url.query
        url = f"{self.config.sign_in_page}?retour={quote(back, safe='')}"
        if request.cookies.get(self.config.cookie_name):
            url += "&expiree=1"  # there was a session: say why the person must sign in again
        resp = RedirectResponse(url, status_code=303)
        resp.delete_cookie(self.config.cookie_name, path="/")
        return resp


def _same_site_referer(request: Request) -> str | None:
    ref = request.headers.get("referer")
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def safe_return_path(value: str | None, default: str) -> str:
    """Only a local absolute path may be a « come back to » target (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return default
    return value


class Ctx:
    def __init__(self, request: Request, portal: Portal, store: SessionStore, session: PortalSession | None) -> None:
        self.request = request
        self.portal = portal
        self.store = store
        self.session = session
        self._new_session = False
        self._clear_cookie = False
        self._csrf = request.cookies.get(self.csrf_cookie) or ""
        self._new_csrf = False
        if not self._csrf:
            self._csrf = secrets.token_urlsafe(24)
            self._new_csrf = True
        ip = request.client.host if request.client else "127.0.0.1"
        self.api = ApiClient(portal.http(request), ip, self._token)

    @property
    def csrf_cookie(self) -> str:
        return f"{self.portal.config.cookie_name}_csrf"

    @property
    def account(self) -> dict[str, Any]:
        return self.session.account if self.session else {}

    @property
    def signed_in(self) -> bool:
        return bool(self.session and self.session.refresh_token)

    # --- tokens ------------------------------------------------------------------------------
    async def _token(self, force: bool) -> str | None:
        s = self.session
        if s is None or not s.refresh_token:
            return None
        margin = self.portal.settings.portal_refresh_margin_seconds
        if not force and s.access_token and s.access_expires_at - margin > time.time():
            return s.access_token
        return await self._refresh(seen=s.access_token)

    async def _refresh(self, seen: str) -> str | None:
        assert self.session is not None
        sid = self.session.id
        if not await self.store.lock(sid):
            raise SessionExpired()
        try:
            current = await self.store.load(sid)
            if current is None:
                self.session = None
                raise SessionExpired()
            if current.access_token != seen and current.access_expires_at > time.time():
                self.session = current  # another request of this session refreshed meanwhile
                return current.access_token
            resp = await self.api.http.post(self.portal.config.refresh_path,
                                            json={"refresh_token": current.refresh_token},
                                            headers={"x-eaps-portal-client-ip": self.api.client_ip})
            if resp.status_code != 200:
                await self.store.delete(sid)
                self.session = None
                raise SessionExpired()
            current.set_tokens(resp.json())
            current.flashes = self.session.flashes
            await self.store.save(current)
            self.session = current
            return current.access_token
        finally:
            await self.store.unlock(sid)

    async def start_session(self, tokens: dict[str, Any], account: dict[str, Any]) -> None:
        """After a successful sign-in: a fresh session id (no fixation of an earlier one)."""
        if self.session is not None:
            await self.store.delete(self.session.id)
        self.session = await self.store.create()
        self.session.set_tokens(tokens)
        self.session.account = account
        self._new_session = True
        await self.store.save(self.session)  # a refresh during this very request finds it

    async def end_session(self) -> None:
        if self.session is not None:
            if self.session.refresh_token:
                try:
                    await self.api.http.post(self.portal.config.sign_out_path,
                                             json={"refresh_token": self.session.refresh_token},
                                             headers={"x-eaps-portal-client-ip": self.api.client_ip})
                except httpx.HTTPError:
                    pass  # the session is forgotten here whatever identity answered
            await self.store.delete(self.session.id)
        self.session = None
        self._clear_cookie = True

    # --- forms -------------------------------------------------------------------------------
    @property
    def csrf_token(self) -> str:
        return self._csrf

    async def form(self) -> FormData:
        form = await self.request.form()
        sent = str(form.get(CSRF_FIELD) or "")
        cookie = self.request.cookies.get(self.csrf_cookie) or ""
        if not sent or not cookie or not hmac.compare_digest(sent, cookie):
            raise CsrfError()
        return form

    def flash(self, message: str, level: str = "success", title: str | None = None) -> None:
        if self.session is None:
            return
        self.session.flashes.append({"message": message, "level": level, "title": title or ""})

    # --- answers -----------------------------------------------------------------------------
    async def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        flashes: list[dict[str, str]] = []
        if self.session is not None:
            flashes, self.session.flashes = self.session.flashes, []
        html = self.portal.templates.get_template(template).render(
            ctx=self, request=self.request, account=self.account, signed_in=self.signed_in,
            csrf_token=self.csrf_token, flashes=flashes, **values)
        return await self.finish(HTMLResponse(html, status_code=status_code))

    async def redirect(self, url: str) -> RedirectResponse:
        return await self.finish(RedirectResponse(url, status_code=303))

    async def finish(self, response: ResponseT) -> ResponseT:
        secure = self.portal.settings.cookie_secure
        if self.session is not None:
            await self.store.save(self.session)
            if self._new_session:
                response.set_cookie(self.portal.config.cookie_name, self.session.id, httponly=True,
                                    samesite="lax", secure=secure, path="/")
        elif self._clear_cookie:
            response.delete_cookie(self.portal.config.cookie_name, path="/")
        if self._new_csrf:
            response.set_cookie(self.csrf_cookie, self._csrf, httponly=True, samesite="lax", secure=secure, path="/")
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response


def form_errors(exc: ApiError, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """The API's field errors keyed by the form's field names (``aliases`` renames API paths)."""
    out: dict[str, str] = {}
    for name, message in exc.field_errors().items():
        out[(aliases or {}).get(name, name)] = message
    return out


def portals_of(app: FastAPI) -> list[Portal]:
    portals: list[Portal] = getattr(app.state, "portals", [])
    return portals
