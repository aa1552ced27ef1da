"""The portal foundation on the real public edge (in process) with real Redis, in front of
identity and dossier stand-ins served on loopback: sessions, CSRF, transparent token refresh,
expiry that comes back to the page, API paths keeping priority, French error pages, ownership."""

from __future__ import annotations

import os
import re
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from eaps_kit.problems import ProblemError, install_problem_handlers
from eaps_kit.testing import TestKeys, serve_app
from fastapi import FastAPI, Request

if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
    del sys.modules["gateway"]

from gateway.app import create_edge_app  # noqa: E402
from gateway.config import GatewaySettings  # noqa: E402

PASSWORD = "Bois-Gibier-2024!"


@dataclass
class Upstream:
    keys: TestKeys
    owner: uuid.UUID = field(default_factory=uuid.uuid4)
    dossier_id: uuid.UUID = field(default_factory=uuid.uuid4)
    broken_id: uuid.UUID = field(default_factory=uuid.uuid4)
    access_ttl: int = 600
    refresh_tokens: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def pair(self) -> dict[str, Any]:
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens.add(refresh)
        return {"access_token": self.keys.applicant(self.owner, ttl=self.access_ttl), "token_type": "Bearer",
                "expires_in": self.access_ttl, "refresh_token": refresh, "refresh_expires_in": 3600}


def build_upstream(up: Upstream) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/api/v1/identity/sessions")
    async def sign_in(body: dict[str, Any]) -> dict[str, Any]:
        up.calls.append("sign-in")
        if body.get("password") != PASSWORD:
            raise ProblemError(401, "Identifiant ou mot de passe incorrect.")
        return up.pair()

    @app.post("/api/v1/identity/tokens/refresh")
    async def refresh(body: dict[str, Any]) -> dict[str, Any]:
        up.calls.append("refresh")
        if body.get("refresh_token") not in up.refresh_tokens:
            raise ProblemError(401, "Session expirée.")
        up.refresh_tokens.discard(body["refresh_token"])  # rotation: each refresh token works once
        return up.pair()

    @app.post("/api/v1/identity/sessions/sign-out", status_code=204)
    async def sign_out(body: dict[str, Any]) -> None:
        up.refresh_tokens.discard(body.get("refresh_token", ""))

    @app.get("/api/v1/identity/me")
    async def me(request: Request) -> dict[str, Any]:
        return {"id": str(up.owner), "email": "jeanne@exemple.fr", "first_name": "Jeanne", "last_name": "Martin",
                "kind": "individual", "profile": "hunter", "access_level": "AS"}

    @app.get("/api/v1/dossiers/{dossier_id}")
    async def dossier(dossier_id: uuid.UUID, request: Request) -> dict[str, Any]:
        up.calls.append("dossier")
        if dossier_id == up.broken_id:
            return {"id": str(dossier_id)}  # a malformed answer: the page cannot be drawn
        if dossier_id != up.dossier_id:
            raise ProblemError(404, "Ce dossier n'existe pas ou vous n'y avez pas accès.")
        return {"id": str(dossier_id), "registration_number": "EAPS-2026-000042", "status": {"code": "en_etude",
                "label": "En étude"}, "basket": {"code": "en_attente", "label": "En attente"}, "version": 3,
                "editable": False, "actions": [{"code": "comment", "label": "Ajouter un commentaire"}],
                "completion_request": None, "informations": {"profile_fields": []}, "lines": [],
                "authorisation": None, "demandeur": {"applicant": {}, "sender": None, "recipient": None},
                "justificatifs": []}

    @app.get("/api/v1/dossiers/{dossier_id}/history")
    async def history(dossier_id: uuid.UUID) -> dict[str, Any]:
        return {"items": []}

    @app.get("/api/v1/dossiers/{dossier_id}/messages")
    async def messages(dossier_id: uuid.UUID) -> dict[str, Any]:
        return {"items": [], "unread": 0}

    return app


@pytest.fixture(scope="module")
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    up = Upstream(TestKeys())
    async with serve_app(build_upstream(up)) as url:
        yield up, url


@pytest.fixture
async def client(upstream: tuple[Upstream, str]) -> AsyncIterator[httpx.AsyncClient]:
    up, url = upstream
    up.access_ttl = 600
    tag = secrets.token_hex(4)
    os.environ["GATEWAY_PORTAL_SESSION_PREFIX"] = f"t{tag}:portal:"
    try:
        settings = GatewaySettings(environment="test", rate_limit_prefix=f"t{tag}:rl:", log_json=False,
                                   **{f"{s}_url": url for s in ("identity", "classification", "dossier", "documents",
                                                                "instruction", "notifications")})
        edge = create_edge_app("public", settings, token_verifier=up.keys.verifier())
    finally:
        del os.environ["GATEWAY_PORTAL_SESSION_PREFIX"]
    async with edge.router.lifespan_context(edge):
        transport = httpx.ASGITransport(app=edge, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


async def sign_in(c: httpx.AsyncClient, retour: str = "", password: str = PASSWORD) -> httpx.Response:
    page = await c.get("/connexion")
    return await c.post("/connexion", data={"csrf_token": csrf(page.text), "email": "jeanne@exemple.fr",
                                            "password": password, "retour": retour})


async def test_api_paths_keep_priority_and_portal_paths_answer_french_html(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nimporte-quoi")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await client.get("/health/live")
    assert r.json() == {"status": "ok"}
    r = await client.get("/page-qui-n-existe-pas")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="fr"' in r.text and "Page non trouvée" in r.text
    assert r.headers["x-frame-options"] == "DENY" and "script-src 'self'" in r.headers["content-security-policy"]


async def test_design_system_is_served_locally(client: httpx.AsyncClient) -> None:
    r = await client.get("/static/dsfr/dsfr.min.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    page = await client.get("/connexion")
    assert 'href="/static/dsfr/dsfr.min.css"' in page.text and "https://" not in page.text.split("<body")[0]


async def test_a_page_needing_sign_in_redirects_and_comes_back(client: httpx.AsyncClient,
                                                                upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    target = f"/eaps/dossiers/{up.dossier_id}"
    r = await client.get(target)
    assert r.status_code == 303 and r.headers["location"] == f"/connexion?retour=%2Feaps%2Fdossiers%2F{up.dossier_id}"
    r = await sign_in(client, retour=target)
    assert r.status_code == 303 and r.headers["location"] == target
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("eaps_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert not cookie.split("=", 1)[1].startswith("eyJ")  # an opaque id, never the token itself
    r = await client.get(target)
    assert r.status_code == 200 and "EAPS-2026-000042" in r.text and "En étude" in r.text


async def test_a_foreign_return_address_is_ignored(client: httpx.AsyncClient) -> None:
    r = await sign_in(client, retour="//evil.example/phish")
    assert r.status_code == 303 and r.headers["location"] == "/soprano"


async def test_a_form_without_its_csrf_token_is_refused(client: httpx.AsyncClient,
                                                         upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    before = up.calls.count("sign-in")
    await client.get("/connexion")
    r = await client.post("/connexion", data={"email": "jeanne@exemple.fr", "password": PASSWORD})
    assert r.status_code == 403 and "Formulaire expiré" in r.text
    r = await client.post("/connexion", data={"csrf_token": "forged", "email": "jeanne@exemple.fr",
                                              "password": PASSWORD})
    assert r.status_code == 403
    assert up.calls.count("sign-in") == before


async def test_wrong_credentials_show_the_message_in_the_error_summary(client: httpx.AsyncClient) -> None:
    r = await sign_in(client, password="mauvais")
    assert r.status_code == 401
    assert 'id="resume-erreurs"' in r.text and "Identifiant ou mot de passe incorrect." in r.text
    r = await client.post("/connexion", data={"csrf_token": csrf(r.text), "email": "", "password": ""})
    assert r.status_code == 422 and 'href="#f-email"' in r.text and 'aria-describedby="f-email-msg"' in r.text


async def test_an_expiring_access_token_is_refreshed_transparently(client: httpx.AsyncClient,
                                                                    upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    up.access_ttl = 5  # within the refresh margin: every call refreshes first
    await sign_in(client)
    before = up.calls.count("refresh")
    for _ in range(2):
        r = await client.get(f"/eaps/dossiers/{up.dossier_id}")
        assert r.status_code == 200 and "EAPS-2026-000042" in r.text
    assert up.calls.count("refresh") >= before + 2  # rotated refresh tokens, each used once


async def test_a_refused_refresh_signs_out_and_comes_back_after_sign_in(client: httpx.AsyncClient,
                                                                         upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    up.access_ttl = 5  # short-lived access tokens: the next page needs a refresh
    await sign_in(client)
    up.refresh_tokens.clear()  # identity revoked the session
    target = f"/eaps/dossiers/{up.dossier_id}"
    r = await client.get(target)
    assert r.status_code == 303
    assert r.headers["location"] == f"/connexion?retour=%2Feaps%2Fdossiers%2F{up.dossier_id}&expiree=1"
    r = await client.get(r.headers["location"])
    assert "Votre session a expiré" in r.text and "brouillon enregistré est conservé" in r.text
    up.access_ttl = 600
    r = await client.post("/connexion", data={"csrf_token": csrf(r.text), "email": "jeanne@exemple.fr",
                                              "password": PASSWORD, "retour": target})
    assert r.headers["location"] == target
    assert (await client.get(target)).status_code == 200


async def test_another_applicants_dossier_is_a_french_404_page(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    r = await client.get(f"/eaps/dossiers/{uuid.uuid4()}")
    assert r.status_code == 404 and "Page non trouvée" in r.text
    r = await client.get("/eaps/dossiers/pas-un-identifiant")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


async def test_an_unexpected_failure_is_a_french_500_page_without_trace(client: httpx.AsyncClient,
                                                                         upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(client)
    r = await client.get(f"/eaps/dossiers/{up.broken_id}")
    assert r.status_code == 500 and "Erreur inattendue" in r.text
    assert "Traceback" not in r.text and "KeyError" not in r.text


async def test_sign_out_forgets_the_session(client: httpx.AsyncClient, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(client)
    page = await client.get(f"/eaps/dossiers/{up.dossier_id}")
    r = await client.post("/deconnexion", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/connexion?deconnecte=1"
    r = await client.get(f"/eaps/dossiers/{up.dossier_id}")
    assert r.status_code == 303 and r.headers["location"].startswith("/connexion")
