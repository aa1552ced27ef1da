"""The portal's client of the edge API (/api/v1/...), called with the person's bearer token.

By default the calls go in process to the edge the portal is mounted on (an httpx ASGI transport):
they still pass through the edge's whole path — rule table, token verification, rate limits —
exactly as a browser's or a machine client's call would. ``portal_api_url`` points them at an
edge over HTTP instead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

CLIENT_IP_HEADER = b"x-eaps-portal-client-ip"


class ApiError(Exception):
    """A problem+json answer of the API, kept for the page that shows it."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.body = body or {}

    @classmethod
    def of(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = body.get("detail") or body.get("title") or "Le service n'a pas pu traiter la demande."
        raw_errors = body.get("errors")
        errors: list[Any] = raw_errors if isinstance(raw_errors, list) else []
        return cls(response.status_code, str(detail), [e for e in errors if isinstance(e, dict)], body)

    def field_errors(self) -> dict[str, str]:
        """API field paths (``applicant.address.city``) → French message, for the form."""
        out: dict[str, str] = {}
        for e in self.errors:
            name = str(e.get("field") or "")
            if name and name not in out:
                out[name] = str(e.get("message") or "Valeur invalide.")
        return out


class SessionExpired(Exception):
    """The person's session is gone (or its refresh token was refused): sign in again."""


def with_client_ip(app: ASGIApp) -> ASGIApp:
    """In-process calls carry the browser's address, so that the edge's per-address limits see
    each person, not the portal (the header only exists on this in-process path)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            ip = next((v.decode("latin-1") for k, v in scope["headers"] if k == CLIENT_IP_HEADER), None)
            headers = [(k, v) for k, v in scope["headers"] if k != CLIENT_IP_HEADER]
            scope = {**scope, "headers": headers, "client": (ip or "127.0.0.1", 0)}
        await app(scope, receive, send)

    return wrapped


def make_http_client(app: ASGIApp, api_url: str | None) -> httpx.AsyncClient:
    timeout = httpx.Timeout(60.0, connect=5.0)
    if api_url:
        return httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=timeout, trust_env=False)
    transport = httpx.ASGITransport(app=with_client_ip(app), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://edge.portal", timeout=timeout)


TokenSource = Callable[[bool], Awaitable[str | None]]


class ApiClient:
    """One person's calls. ``token(force_refresh)`` gives the bearer token (None when anonymous);
    a 401 on a signed-in call refreshes once and retries, then raises SessionExpired."""

    def __init__(self, http: httpx.AsyncClient, client_ip: str, token: TokenSource) -> None:
        self.http = http
        self.client_ip = client_ip
        self.token = token

    async def send(self, method: str, path: str, *, if_match: int | str | None = None,
                   headers: dict[str, str] | None = None, anonymous: bool = False, **kw: Any) -> httpx.Response:
        assert path.startswith("/api/") or path.startswith("/.well-known/"), path
        h = {"accept": "application/json", CLIENT_IP_HEADER.decode(): self.client_ip, **(headers or {})}
        if if_match is not None:
            h["If-Match"] = f'"{if_match}"' if isinstance(if_match, int) else if_match
        token = None if anonymous else await self.token(False)
        if token:
            h["Authorization"] = f"Bearer {token}"
        resp = await self.http.request(method, path, headers=h, **kw)
        if resp.status_code == 401 and token:
            token = await self.token(True)
            if not token:
                raise SessionExpired()
            h["Authorization"] = f"Bearer {token}"
            resp = await self.http.request(method, path, headers=h, **kw)
            if resp.status_code == 401:
                raise SessionExpired()
        return resp

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        """JSON answer of a successful call, ApiError otherwise (None for 204)."""
        resp = await self.send(method, path, **kw)
        if resp.status_code >= 400:
            raise ApiError.of(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Any:
        return await self.call("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> Any:
        return await self.call("PUT", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.call("DELETE", path, **kw)
