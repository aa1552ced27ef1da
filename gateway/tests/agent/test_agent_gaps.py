"""Three officer-portal screens that read small APIs of other services, on the real internal edge
(in process, real Redis, the real access table) in front of stand-ins of identity, instruction,
documents and notifications served on loopback:

- the supervisors' view of other administrations' webhook subscriptions and delivery logs;
- « Télécharger le PDF » on an authorisation's page (the documents service's generated copy);
- the assignment form's list of instructing officers instead of a typed identifier.

The services' own rules are tested in each service; here, what a person sees and what reaches
the services, and the edge's rules for the three API paths."""

from __future__ import annotations

import base64
import html
import json
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
from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE
from eaps_kit.problems import ProblemError, install_problem_handlers
from eaps_kit.testing import TestKeys, bearer, serve_app
from fastapi import FastAPI, Request, Response
from redis.asyncio import Redis

if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
    del sys.modules["gateway"]

from gateway.app import create_edge_app  # noqa: E402
from gateway.config import GatewaySettings  # noqa: E402

PASSWORD = "Douane-Agent-2024!"
REDIS_URL = "redis://127.0.0.1:6379/0"
PDF = b"%PDF-1.7\n% autorisation AIMG-2025-000042\n%%EOF\n"
SUPERVISION = "/api/v1/webhooks/supervision/endpoints"


@dataclass
class Upstream:
    keys: TestKeys
    people: dict[str, tuple[uuid.UUID, list[str]]] = field(default_factory=dict)  # email -> (id, roles)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, query)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    case_id: uuid.UUID = field(default_factory=uuid.uuid4)
    auth_id: uuid.UUID = field(default_factory=uuid.uuid4)
    auth_without_pdf: uuid.UUID = field(default_factory=uuid.uuid4)
    pdf_id: uuid.UUID = field(default_factory=uuid.uuid4)
    endpoint_id: uuid.UUID = field(default_factory=uuid.uuid4)
    officer_id: uuid.UUID = field(default_factory=uuid.uuid4)
    retired_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def pair(self, email: str) -> dict[str, Any]:
        sub, roles = self.people[email]
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = email
        return {"access_token": self.keys.officer(sub, roles=roles, ttl=600), "token_type": "Bearer",
                "expires_in": 600, "refresh_token": refresh, "refresh_expires_in": 3600}

    def reached(self, prefix: str) -> list[tuple[str, str, str]]:
        return [c for c in self.calls if c[1].startswith(prefix)]


def build_upstream(up: Upstream) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        up.calls.append((request.method, request.url.path, request.url.query))
        return await call_next(request)

    def me_of(request: Request) -> tuple[str, uuid.UUID, list[str]]:
        sub = _claims(request.headers["authorization"].split(" ", 1)[1])["sub"]  # the edge verified it
        for email, (pid, roles) in up.people.items():
            if str(pid) == sub:
                return email, pid, roles
        raise ProblemError(401, "Session inconnue.")

    @app.post("/api/v1/identity/officers/sessions")
    async def sign_in(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("email") not in up.people or body.get("password") != PASSWORD:
            raise ProblemError(401, "Adresse électronique, mot de passe ou code de vérification incorrect.")
        return up.pair(body["email"])

    @app.post("/api/v1/identity/officers/sessions/refresh")
    async def refresh(body: dict[str, Any]) -> dict[str, Any]:
        email = up.refresh_tokens.pop(body.get("refresh_token", ""), None)
        if email is None:
            raise ProblemError(401, "Session expirée.")
        return up.pair(email)

    @app.get("/api/v1/identity/officers/me")
    async def me(request: Request) -> dict[str, Any]:
        email, pid, roles = me_of(request)
        return {"id": str(pid), "email": email, "first_name": "Claire", "last_name": "Roux", "roles": roles,
                "pae_code": None}

    @app.get("/api/v1/notifications")
    async def notifications() -> dict[str, Any]:
        return {"items": [], "total": 0, "unread": 0, "limit": 50, "offset": 0}

    @app.get("/api/v1/identity/officers")
    async def officers() -> list[dict[str, Any]]:
        return [{"id": str(up.officer_id), "display_name": "Marc Lenoir", "roles": ["officer"], "active": True},
                {"id": str(up.retired_id), "display_name": "Ancien Agent", "roles": ["officer"], "active": False},
                {"id": str(uuid.uuid4()), "display_name": "Sophie Blanc", "roles": ["officer", "supervisor"],
                 "active": True}]

    @app.get("/api/v1/instruction/cases/{case_id}")
    async def case(case_id: uuid.UUID) -> dict[str, Any]:
        if case_id != up.case_id:
            raise ProblemError(404, "Ce dossier n'existe pas dans les files d'instruction.")
        return {"id": str(case_id), "status": "en_etude", "status_label": "En étude", "assigned_to": None,
                "registration_number": "EAPS-2025-000042", "submission_no": 1, "proposals": [],
                "dossier": {"lines": [], "attachments": [], "applicant": {"last_name": "Martin"}, "sender": {},
                            "recipient": {}, "motive": "chasse", "motive_details": None, "flow": "IMP",
                            "origin_country": "CH", "destination_country": "FR", "authorisation_type": "AIMG",
                            "ruleset_version": "2025.1", "submitted_at": "2025-03-01T09:00:00+00:00"},
                "consultations": [], "notes": [], "messages": [],
                "completion_requests": [], "changes_since_last_version": [], "ageing_working_days": 3,
                "remaining_working_days": 27, "deadline": "2025-04-01", "opened_at": "2025-03-01T09:00:00+00:00",
                "flow": "IMP", "origin_country": "CH", "destination_country": "FR", "authorisation_type": "AIMG",
                "applicant_name": "Jeanne Martin", "applicant_kind": "individual", "applicant_profile": "hunter",
                "clock_stopped": False, "deadline_extended": False, "decision": None, "authorisation": None,
                "closing_reason": None}

    @app.get("/api/v1/instruction/cases/{case_id}/audit")
    async def case_audit(case_id: uuid.UUID) -> list[Any]:
        return []

    @app.post("/api/v1/instruction/cases/{case_id}/assignment")
    async def assign(case_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        up.assignments.append(body)
        return {"id": str(case_id)}

    @app.get("/api/v1/instruction/authorisations/{auth_id}")
    async def authorisation(auth_id: uuid.UUID) -> dict[str, Any]:
        if auth_id not in (up.auth_id, up.auth_without_pdf):
            raise ProblemError(404, "Cette autorisation n'existe pas.")
        return {"id": str(auth_id), "number": "AIMG-2025-000042", "status": "valide", "status_label": "Valide",
                "type": "AIMG", "holder_name": "Jeanne Martin", "case_id": str(up.case_id),
                "registration_number": "EAPS-2025-000042", "lines": [], "imputations": [],
                "pdf_document_id": str(up.pdf_id) if auth_id == up.auth_id else None}

    @app.get("/api/v1/instruction/authorisations/{auth_id}/audit")
    async def authorisation_audit(auth_id: uuid.UUID) -> list[Any]:
        return []

    @app.get("/api/v1/documents/generated/{document_id}/content")
    async def generated(document_id: uuid.UUID) -> Response:
        if document_id != up.pdf_id:
            raise ProblemError(404, "Ce document n'existe pas.")
        return Response(PDF, media_type="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="AIMG-2025-000042.pdf"'})

    @app.get(SUPERVISION)
    async def endpoints() -> list[dict[str, Any]]:
        return [{"id": str(up.endpoint_id), "client_id": "douane-roissy", "url": "https://roissy.example/hooks",
                 "event_types": ["decision.granted", "decision.revoked"], "description": "Bureau de Roissy",
                 "enabled": True, "disabled_reason": None, "created_at": "2025-03-01T09:00:00+00:00",
                 "updated_at": "2025-03-01T09:00:00+00:00",
                 "deliveries": {"pending": 1, "delivered": 4, "dead": 0, "cancelled": 0}},
                {"id": str(uuid.uuid4()), "client_id": "prefecture-lyon", "url": "https://lyon.example/hooks",
                 "event_types": ["decision.granted"], "description": None, "enabled": False,
                 "disabled_reason": "Le point de terminaison a répondu 410 (abonnement résilié).",
                 "created_at": "2025-02-01T09:00:00+00:00", "updated_at": "2025-02-03T09:00:00+00:00",
                 "deliveries": {"pending": 0, "delivered": 0, "dead": 2, "cancelled": 0}}]

    @app.get(SUPERVISION + "/{endpoint_id}")
    async def endpoint(endpoint_id: uuid.UUID) -> dict[str, Any]:
        if endpoint_id != up.endpoint_id:
            raise ProblemError(404, "Ce point de terminaison n'existe pas.")
        return (await endpoints())[0]

    @app.get(SUPERVISION + "/{endpoint_id}/deliveries")
    async def deliveries(endpoint_id: uuid.UUID, status: str | None = None) -> dict[str, Any]:
        if endpoint_id != up.endpoint_id:
            raise ProblemError(404, "Ce point de terminaison n'existe pas.")
        return {"items": [{"id": "msg_2q8Kc1", "endpoint_id": str(endpoint_id), "event_type": "decision.granted",
                           "status": "pending", "attempts": 3, "next_attempt_at": "2025-03-02T11:30:00+00:00",
                           "created_at": "2025-03-02T09:00:00+00:00", "first_attempt_at": None,
                           "last_attempt_at": None, "delivered_at": None, "last_status_code": 503,
                           "last_error": "HTTP 503 Service Unavailable"}],
                "total": 1, "limit": 50, "offset": 0}

    return app


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


@pytest.fixture(scope="module")
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    up = Upstream(TestKeys())
    async with serve_app(build_upstream(up)) as url:
        yield up, url


@dataclass
class Edge:
    client: httpx.AsyncClient
    keys: TestKeys


@pytest.fixture
async def edge(upstream: tuple[Upstream, str]) -> AsyncIterator[Edge]:
    up, url = upstream
    tag = secrets.token_hex(4)
    prefix = f"t{tag}:portal:"
    os.environ["GATEWAY_PORTAL_SESSION_PREFIX"] = prefix
    try:
        settings = GatewaySettings(environment="test", rate_limit_prefix=f"t{tag}:rl:", log_json=False,
                                   **{f"{s}_url": url for s in ("identity", "classification", "dossier", "documents",
                                                                "instruction", "notifications")})
        app = create_edge_app("internal", settings, token_verifier=up.keys.verifier())
    finally:
        del os.environ["GATEWAY_PORTAL_SESSION_PREFIX"]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Edge(c, up.keys)
    redis = Redis.from_url(REDIS_URL)
    found = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    if found:
        await redis.delete(*found)
    await redis.aclose()


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def sign_in(up: Upstream, c: httpx.AsyncClient, *roles: str) -> None:
    email = f"agent-{secrets.token_hex(4)}@douane.gouv.fr"
    up.people[email] = (uuid.uuid4(), list(roles))
    page = await c.get("/agent/connexion")
    r = await c.post("/agent/connexion", data={"csrf_token": csrf(page.text), "email": email, "password": PASSWORD,
                                               "otp": "123456"})
    assert r.status_code == 303, r.text


def text(r: httpx.Response) -> str:
    return html.unescape(r.text)


# --- webhook subscriptions (supervisors) ---------------------------------------------------------

async def test_supervisor_reads_the_subscriptions_and_an_endpoints_delivery_log(
        edge: Edge, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, "supervisor")
    r = await edge.client.get("/agent/abonnements")
    assert r.status_code == 200, r.text
    page = text(r)
    assert ('<a class="fr-nav__link" href="/agent/abonnements" aria-current="page">Abonnements des administrations'
            in page)  # the menu entry, current
    assert "douane-roissy" in page and "https://roissy.example/hooks" in page
    assert "decision.granted, decision.revoked" in page and "4 livrées, 1 en cours, 0 abandonnée" in page
    assert "Désactivé" in page and "Le point de terminaison a répondu 410 (abonnement résilié)." in page
    assert f'href="/agent/abonnements/{up.endpoint_id}"' in page

    r = await edge.client.get(f"/agent/abonnements/{up.endpoint_id}", params={"statut": "pending"})
    assert r.status_code == 200, r.text
    page = text(r)
    assert "Journal des livraisons" in page and "Bureau de Roissy" in page
    assert "msg_2q8Kc1" in page and "En cours (nouvelle tentative prévue)" in page
    assert "HTTP 503 Service Unavailable" in page and "503" in page and "02/03/2025" in page
    [(_, _, query)] = [c for c in up.reached(f"{SUPERVISION}/{up.endpoint_id}/deliveries")][-1:]
    assert "status=pending" in query
    # An unknown status filter is not passed on.
    await edge.client.get(f"/agent/abonnements/{up.endpoint_id}", params={"statut": "perdu"})
    assert "status=" not in up.reached(f"{SUPERVISION}/{up.endpoint_id}/deliveries")[-1][2]


async def test_an_unknown_subscription_is_the_french_404_page(edge: Edge, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, "admin")
    r = await edge.client.get(f"/agent/abonnements/{uuid.uuid4()}")
    assert r.status_code == 404 and "Page non trouvée" in r.text
    r = await edge.client.get("/agent/abonnements/pas-un-identifiant")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("roles", [("officer",), ("pae_agent",)])
async def test_officers_and_pae_agents_have_no_subscriptions_page(edge: Edge, upstream: tuple[Upstream, str],
                                                                  roles: tuple[str, ...]) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, *roles)
    before = len(up.reached(SUPERVISION))
    home = await edge.client.get("/agent/notifications")
    assert home.status_code == 200 and "/agent/abonnements" not in home.text  # no menu entry
    r = await edge.client.get("/agent/abonnements")
    assert r.status_code == 403 and "Accès refusé" in text(r)
    assert len(up.reached(SUPERVISION)) == before  # the edge refused it: the service was never asked


# --- the authorisation's PDF ---------------------------------------------------------------------

async def test_officer_downloads_the_authorisation_pdf(edge: Edge, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, "officer")
    page = await edge.client.get(f"/agent/autorisations/{up.auth_id}")
    assert page.status_code == 200, page.text
    assert f'href="/agent/autorisations/{up.auth_id}/pdf">Télécharger le PDF' in page.text
    r = await edge.client.get(f"/agent/autorisations/{up.auth_id}/pdf")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="AIMG-2025-000042.pdf"'
    assert up.reached(f"/api/v1/documents/generated/{up.pdf_id}/content")


async def test_no_pdf_yet_or_an_unknown_authorisation_is_a_french_404(edge: Edge,
                                                                      upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, "supervisor")
    page = await edge.client.get(f"/agent/autorisations/{up.auth_without_pdf}")
    assert "En cours de production" in page.text and "Télécharger le PDF" not in page.text
    for auth in (up.auth_without_pdf, uuid.uuid4()):
        r = await edge.client.get(f"/agent/autorisations/{auth}/pdf")
        assert r.status_code == 404 and "Page non trouvée" in r.text


# --- assigning a case ----------------------------------------------------------------------------

async def test_supervisor_assigns_a_case_by_picking_an_officer(edge: Edge, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, "supervisor")
    page = await edge.client.get(f"/agent/dossiers/{up.case_id}")
    assert page.status_code == 200, page.text
    body = text(page)
    assert '<select class="fr-select" id="f-officer-id" name="officer_id"' in body
    assert f'<option value="{up.officer_id}">Marc Lenoir — Agent instructeur</option>' in body
    assert "Sophie Blanc — Agent instructeur, Superviseur" in body
    assert "Ancien Agent" not in body  # a disabled account cannot be given a case
    assert "format UUID" not in body
    r = await edge.client.post(f"/agent/dossiers/{up.case_id}/attribution",
                               data={"csrf_token": csrf(page.text), "officer_id": str(up.officer_id)})
    assert r.status_code == 303
    assert up.assignments[-1] == {"officer_id": str(up.officer_id)}
    assert "Le dossier a été attribué." in text(await edge.client.get(r.headers["location"]))


@pytest.mark.parametrize(("choice", "message"), [
    ("", "Choisissez l'agent instructeur à qui attribuer le dossier."),
    ("retired", "Choisissez un agent instructeur en activité dans la liste."),
    ("stranger", "Choisissez un agent instructeur en activité dans la liste."),
    ("garbage", "Choisissez un agent instructeur en activité dans la liste."),
])
async def test_assignment_form_errors_are_french_and_assign_nothing(edge: Edge, upstream: tuple[Upstream, str],
                                                                    choice: str, message: str) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, "supervisor")
    page = await edge.client.get(f"/agent/dossiers/{up.case_id}")
    value = {"": "", "retired": str(up.retired_id), "stranger": str(uuid.uuid4()), "garbage": "x' OR 1=1"}[choice]
    before = len(up.assignments)
    r = await edge.client.post(f"/agent/dossiers/{up.case_id}/attribution",
                               data={"csrf_token": csrf(page.text), "officer_id": value})
    assert r.status_code == 422
    body = text(r)
    assert 'href="#f-officer-id"' in body and f'id="f-officer-id-msg" class="fr-error-text">{message}' in body
    assert len(up.assignments) == before


async def test_an_officer_sees_no_assignment_form(edge: Edge, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    await sign_in(up, edge.client, "officer")
    def listed() -> int:
        return sum(1 for c in up.calls if c[1] == "/api/v1/identity/officers")

    before = listed()
    page = await edge.client.get(f"/agent/dossiers/{up.case_id}")
    assert page.status_code == 200 and 'name="officer_id"' not in page.text
    assert listed() == before  # the list is only read for supervisors


# --- the edge's rules for the three read APIs ----------------------------------------------------

WHO = ["anonymous", "applicant", "officer", "supervisor", "pae_agent", "admin", "machine"]
RULES = [
    ("GET", "/api/v1/identity/officers", {"supervisor"}),
    ("GET", f"/api/v1/documents/generated/{uuid.uuid4()}/content", {"officer", "supervisor"}),
    ("GET", SUPERVISION, {"supervisor", "admin"}),
    ("GET", f"{SUPERVISION}/{uuid.uuid4()}/deliveries", {"supervisor", "admin"}),
]


def token(keys: TestKeys, who: str, audience: str = INTERNAL_AUDIENCE) -> dict[str, str]:
    if who == "anonymous":
        return {}
    if who == "applicant":
        return bearer(keys.applicant())  # an applicant's token is for the public edge
    if who == "machine":
        return bearer(keys.token(roles=["machine"], audience=audience, access_level=None, scope="decisions:read"))
    return bearer(keys.token(roles=[who], audience=audience, access_level=None))


@pytest.mark.parametrize(("method", "path", "allowed"), RULES, ids=[p.split("/")[3] + "-" + p.split("/")[-1]
                                                                     for _, p, _ in RULES])
async def test_internal_edge_lets_through_only_the_allowed_roles(edge: Edge, upstream: tuple[Upstream, str],
                                                                  method: str, path: str, allowed: set[str]) -> None:
    up, _ = upstream
    outcomes = {}
    for who in WHO:
        before = len(up.calls)
        r = await edge.client.request(method, path, headers=token(edge.keys, who))
        reached = len(up.calls) > before
        outcomes[who] = "reached" if reached else r.status_code
        if not reached:
            assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]
    expected = {who: "reached" if who in allowed else (401 if who in ("anonymous", "applicant") else 403)
                for who in WHO}
    assert outcomes == expected


async def test_the_three_read_apis_are_not_on_the_public_edge(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    settings = GatewaySettings(environment="test", rate_limit_prefix=f"t{secrets.token_hex(4)}:rl:", log_json=False,
                               **{f"{s}_url": url for s in ("identity", "classification", "dossier", "documents",
                                                            "instruction", "notifications")})
    app = create_edge_app("public", settings, token_verifier=up.keys.verifier())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for _, path, _ in RULES:
                before = len(up.calls)
                for headers in (bearer(up.keys.applicant()), {},
                                bearer(up.keys.token(roles=["supervisor"], audience=PUBLIC_AUDIENCE))):
                    r = await c.get(path, headers=headers)
                    assert r.status_code == 404, (path, r.status_code)
                assert len(up.calls) == before, path
