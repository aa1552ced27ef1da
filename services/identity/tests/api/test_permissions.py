"""Every route against every kind of caller: who gets through the access checks and who does not."""

from __future__ import annotations

import uuid

import pytest
from identity.service_layer import staff

AUTH_DETAILS = {
    "Vous devez être connecté pour accéder à cette ressource.",
    "Ce jeton d'accès n'est pas destiné à ce portail.",
    "Votre profil ne permet pas d'accéder à cette ressource.",
}
ANY = str(uuid.uuid4())

# (method, path, json body, who may pass)
APPLICANT = {"applicant_as", "applicant_oppd"}
STAFF = {"officer", "supervisor", "pae_agent", "admin"}
ROUTES = [
    ("GET", "/api/v1/identity/me", None, APPLICANT),
    ("GET", "/api/v1/identity/teleservices", None, APPLICANT),
    ("GET", "/api/v1/identity/teleservices/e-APS", None, APPLICANT),
    ("GET", "/api/v1/identity/catalogue/pae", None, APPLICANT),
    ("GET", "/api/v1/identity/habilitation-requests", None, APPLICANT),
    ("POST", "/api/v1/identity/habilitation-requests", {}, APPLICANT),
    ("GET", f"/api/v1/identity/habilitation-requests/{ANY}", None, APPLICANT),
    ("GET", "/api/v1/identity/operators/me", None, APPLICANT),
    ("POST", "/api/v1/identity/operators/me/invitations", {}, APPLICANT),
    ("GET", "/api/v1/identity/invitations", None, APPLICANT),
    ("POST", f"/api/v1/identity/invitations/{ANY}/accept", None, APPLICANT),
    ("GET", "/api/v1/identity/officers/me", None, STAFF),
    ("GET", "/api/v1/identity/officers", None, {"supervisor"}),
    ("GET", "/api/v1/identity/pae/habilitation-requests", None, {"pae_agent"}),
    ("GET", f"/api/v1/identity/pae/habilitation-requests/{ANY}", None, {"pae_agent"}),
    ("POST", f"/api/v1/identity/pae/habilitation-requests/{ANY}/grant", {}, {"pae_agent"}),
    ("POST", f"/api/v1/identity/pae/habilitation-requests/{ANY}/refuse", {"reason": "Motif valable."}, {"pae_agent"}),
]
# Routes that need no token at all (they authenticate by their body, or are public).
OPEN = {
    "/.well-known/jwks.json", "/health/live", "/health/ready", "/api/v1/identity/registrations",
    "/api/v1/identity/registrations/profiles", "/api/v1/identity/registrations/email-verification",
    "/api/v1/identity/registrations/email-verification/resend", "/api/v1/identity/registrations/phone-verification",
    "/api/v1/identity/registrations/phone-verification/resend", "/api/v1/identity/sessions",
    "/api/v1/identity/tokens/refresh", "/api/v1/identity/sessions/sign-out", "/api/v1/identity/password-resets",
    "/api/v1/identity/password-resets/confirm", "/api/v1/identity/officers/sessions",
    "/api/v1/identity/officers/sessions/refresh", "/api/v1/identity/officers/sessions/sign-out",
    "/api/v1/identity/oauth/token",
}
CALLERS = ["nobody", "applicant_as", "applicant_oppd", "officer", "supervisor", "pae_agent", "admin", "machine"]


@pytest.fixture(scope="module")
async def callers(client, users, ident) -> dict[str, dict[str, str]]:
    oppd, agent = await users.oppd_operator()
    creds = await staff.create_client(ident, name="Autre administration", scopes=["decisions:read"])
    machine = await client.post("/api/v1/identity/oauth/token", data={
        "grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret})
    return {
        "nobody": {},
        "applicant_as": (await users.applicant()).headers,
        "applicant_oppd": oppd.headers,
        "officer": (await users.staff(["officer"])).headers,
        "supervisor": (await users.staff(["supervisor"])).headers,
        "pae_agent": agent.headers,
        "admin": (await users.staff(["admin"])).headers,
        "machine": {"Authorization": f"Bearer {machine.json()['access_token']}"},
    }


def test_every_route_is_classified(app_and_client):
    paths = set(app_and_client[0].openapi()["paths"])
    templated = {p.replace(ANY, "{request_id}").replace("invitations/{request_id}", "invitations/{invitation_id}")
                 .replace("teleservices/e-APS", "teleservices/{code}") for _, p, _, _ in ROUTES}
    assert paths - OPEN - templated == set()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
async def test_access_rule(client, callers, caller, method, path, body, allowed):
    resp = await client.request(method, path, headers=callers[caller], json=body)
    detail = resp.json().get("detail") if resp.headers["content-type"].startswith("application/problem+json") else None
    if caller in allowed:
        assert resp.status_code not in (401, 500) and detail not in AUTH_DETAILS, (resp.status_code, resp.text)
    else:
        assert resp.status_code == (401 if caller == "nobody" else 403), resp.text
        assert detail in AUTH_DETAILS
