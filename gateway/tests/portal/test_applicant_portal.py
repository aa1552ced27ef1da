"""The applicant portal's pages on the real public edge (in process) with real Redis, in front of
identity and dossier stand-ins served on loopback:

- « Mes invitations » (/soprano/invitations, the link of identity's invitation email): the list,
  accepting one (fresh tokens naming the company), the French messages of an invitation already
  accepted or expired, another person's invitation (404), the sign-in guard;
- a wizard step posted after the session ended: what was typed is kept, and saved into the draft
  when the same person is back from the sign-in page; nobody else can use it; CSRF still applies."""

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
from urllib.parse import unquote

import httpx
import pytest
from eaps_kit.problems import ProblemError, install_problem_handlers
from eaps_kit.testing import TestKeys, serve_app
from fastapi import FastAPI, Request
from redis.asyncio import Redis

if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
    del sys.modules["gateway"]

from gateway.app import create_edge_app  # noqa: E402
from gateway.config import GatewaySettings  # noqa: E402

PASSWORD = "Bois-Gibier-2024!"
REDIS_URL = "redis://127.0.0.1:6379/0"


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload (the edge already verified the signature)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@dataclass
class Person:
    email: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    operator_id: uuid.UUID | None = None


@dataclass
class Upstream:
    keys: TestKeys
    people: dict[str, Person] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> email
    invitations: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    dossier_owner: dict[uuid.UUID, str] = field(default_factory=dict)  # dossier id -> email
    saved: dict[uuid.UUID, list[tuple[str, Any, str | None]]] = field(default_factory=dict)

    def pair(self, email: str) -> dict[str, Any]:
        p = self.people[email]
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = email
        return {"access_token": self.keys.applicant(p.id, operator_id=p.operator_id, ttl=600),
                "token_type": "Bearer", "expires_in": 600, "refresh_token": refresh, "refresh_expires_in": 3600}

    def who(self, request: Request) -> Person:
        sub = claims(request.headers["authorization"].split(" ", 1)[1])["sub"]
        return next(p for p in self.people.values() if str(p.id) == sub)


def build_upstream(up: Upstream) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/api/v1/identity/sessions")
    async def sign_in(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("email") not in up.people or body.get("password") != PASSWORD:
            raise ProblemError(401, "Identifiant ou mot de passe incorrect.")
        return up.pair(body["email"])

    @app.post("/api/v1/identity/tokens/refresh")
    async def refresh(body: dict[str, Any]) -> dict[str, Any]:
        email = up.refresh_tokens.pop(body.get("refresh_token", ""), None)
        if email is None:
            raise ProblemError(401, "Session expirée.")
        return up.pair(email)

    @app.post("/api/v1/identity/sessions/sign-out", status_code=204)
    async def sign_out(body: dict[str, Any]) -> None:
        up.refresh_tokens.pop(body.get("refresh_token", ""), None)

    @app.get("/api/v1/identity/me")
    async def me(request: Request) -> dict[str, Any]:
        p = up.who(request)
        return {"id": str(p.id), "email": p.email, "first_name": "Lucie", "last_name": "Garnier",
                "kind": "professional", "profile": "gunsmith", "access_level": "OPPD" if p.operator_id else "AS",
                "operator_id": str(p.operator_id) if p.operator_id else None,
                "operator_role": "member" if p.operator_id else None,
                "company_name": "Armurerie Garnier" if p.operator_id else None}

    @app.get("/api/v1/identity/invitations")
    async def invitations(request: Request) -> list[dict[str, Any]]:
        p = up.who(request)
        return [{"id": str(i), "company_name": inv["company_name"], "siret": "73282932000074",
                 "expires_at": "2026-12-10T10:00:00+00:00", "created_at": "2026-11-26T10:00:00+00:00"}
                for i, inv in up.invitations.items() if inv["email"] == p.email and inv["state"] == "pending"]

    @app.post("/api/v1/identity/invitations/{invitation_id}/accept")
    async def accept(invitation_id: uuid.UUID, request: Request) -> dict[str, Any]:
        p = up.who(request)
        inv = up.invitations.get(invitation_id)
        if inv is None or inv["email"] != p.email:
            raise ProblemError(404, "Cette invitation n'existe pas.")
        if inv["state"] == "accepted":
            raise ProblemError(409, "Cette invitation a déjà été acceptée.")
        if inv["state"] == "expired":
            raise ProblemError(410, "Cette invitation a expiré. Demandez à l'administrateur de vous inviter "
                                    "à nouveau.")
        inv["state"] = "accepted"
        p.operator_id = inv["operator_id"]
        return {"id": str(inv["operator_id"]), "name": inv["company_name"], "siret": "73282932000074", "eori": None,
                "access_level": "OPPD", "teleservices": ["e-APS"], "my_role": "member", "members": []}

    @app.get("/api/v1/dossiers/reference")
    async def reference() -> dict[str, Any]:
        return {"applicant_kinds": [{"code": "individual", "label": "Particulier",
                                     "profiles": [{"code": "chasseur", "label": "Chasseur"}]}]}

    @app.put("/api/v1/dossiers/{dossier_id}/{part}")
    async def save(dossier_id: uuid.UUID, part: str, request: Request) -> dict[str, Any]:
        p = up.who(request)
        if up.dossier_owner.get(dossier_id) != p.email:
            raise ProblemError(404, "Ce dossier n'existe pas ou vous n'y avez pas accès.")
        up.saved.setdefault(dossier_id, []).append((part, await request.json(), request.headers.get("if-match")))
        return {"id": str(dossier_id), "version": 8}

    return app


@pytest.fixture(scope="module")
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    up = Upstream(TestKeys())
    async with serve_app(build_upstream(up)) as url:
        yield up, url


@dataclass
class Portal:
    client: httpx.AsyncClient
    prefix: str


@pytest.fixture
async def portal(upstream: tuple[Upstream, str]) -> AsyncIterator[Portal]:
    up, url = upstream
    tag = secrets.token_hex(4)
    prefix = f"t{tag}:portal:"
    os.environ["GATEWAY_PORTAL_SESSION_PREFIX"] = prefix
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
            yield Portal(c, prefix)
    redis = Redis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def person(up: Upstream) -> Person:
    p = Person(f"lucie-{secrets.token_hex(4)}@exemple.fr")
    up.people[p.email] = p
    return p


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def sign_in(c: httpx.AsyncClient, email: str, retour: str = "") -> httpx.Response:
    page = await c.get("/connexion")
    r = await c.post("/connexion", data={"csrf_token": csrf(page.text), "email": email, "password": PASSWORD,
                                         "retour": retour})
    assert r.status_code == 303, r.text
    return r


def invite(up: Upstream, p: Person, company: str, state: str = "pending") -> uuid.UUID:
    i = uuid.uuid4()
    up.invitations[i] = {"email": p.email, "company_name": company, "operator_id": uuid.uuid4(), "state": state}
    return i


# --- « Mes invitations » -------------------------------------------------------------------------

async def test_the_invitation_link_needs_sign_in_and_comes_back_to_the_list(portal: Portal,
                                                                            upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    p = person(up)
    invite(up, p, "Armurerie Garnier")
    r = await portal.client.get("/soprano/invitations")
    assert r.status_code == 303 and r.headers["location"] == "/connexion?retour=%2Fsoprano%2Finvitations"
    r = await sign_in(portal.client, p.email, retour="/soprano/invitations")
    assert r.headers["location"] == "/soprano/invitations"
    r = await portal.client.get("/soprano/invitations")
    assert r.status_code == 200 and "Armurerie Garnier" in r.text and "Accepter et rejoindre" in r.text
    r = await portal.client.post(f"/soprano/invitations/{uuid.uuid4()}/acceptation", data={})
    assert r.status_code == 403  # no anti-forgery token: refused before anything is done


async def test_accepting_an_invitation_joins_the_company_with_fresh_tokens(portal: Portal,
                                                                           upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    p = person(up)
    inv = invite(up, p, "Armurerie Garnier")
    await sign_in(portal.client, p.email)
    page = await portal.client.get("/soprano/invitations")
    r = await portal.client.post(f"/soprano/invitations/{inv}/acceptation", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/soprano"
    assert up.invitations[inv]["state"] == "accepted"
    # The next page's calls carry a token naming the company (a refresh after the acceptance).
    r = await portal.client.get("/soprano/invitations")
    assert "Vous avez rejoint l'entreprise Armurerie Garnier" in html.unescape(r.text)
    assert "Vous n'avez aucune invitation en attente" in html.unescape(r.text)
    redis = Redis.from_url(REDIS_URL)
    sid = portal.client.cookies["eaps_session"]
    stored = json.loads(await redis.get(f"{portal.prefix}applicant:{sid}"))
    await redis.aclose()
    assert stored["account"]["operator_id"] == str(p.operator_id)
    assert claims(stored["access_token"])["operator_id"] == str(p.operator_id)


@pytest.mark.parametrize(("state", "status", "message"), [
    ("accepted", 409, "Cette invitation a déjà été acceptée."),
    ("expired", 410, "Cette invitation a expiré."),
])
async def test_an_invitation_that_cannot_be_accepted_says_why_in_french(
        portal: Portal, upstream: tuple[Upstream, str], state: str, status: int, message: str) -> None:
    up, _ = upstream
    p = person(up)
    inv = invite(up, p, "Armurerie Garnier", state=state)
    await sign_in(portal.client, p.email)
    page = await portal.client.get("/soprano/invitations")
    r = await portal.client.post(f"/soprano/invitations/{inv}/acceptation", data={"csrf_token": csrf(page.text)})
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    assert 'id="resume-erreurs"' in r.text and message in r.text
    assert p.operator_id is None


async def test_another_persons_invitation_is_a_french_404(portal: Portal, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    owner, intruder = person(up), person(up)
    inv = invite(up, owner, "Armurerie Garnier")
    await sign_in(portal.client, intruder.email)
    page = await portal.client.get("/soprano/invitations")
    assert "Armurerie Garnier" not in page.text
    r = await portal.client.post(f"/soprano/invitations/{inv}/acceptation", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 404 and "Page non trouvée" in r.text
    assert up.invitations[inv]["state"] == "pending" and intruder.operator_id is None
    r = await portal.client.post("/soprano/invitations/pas-un-identifiant/acceptation",
                                 data={"csrf_token": csrf(page.text)})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


# --- a step form posted after the session ended ------------------------------------------------

async def expire_session(portal: Portal) -> None:
    redis = Redis.from_url(REDIS_URL)
    deleted = await redis.delete(f"{portal.prefix}applicant:{portal.client.cookies['eaps_session']}")
    await redis.aclose()
    assert deleted == 1


STEP2_FORM = {"version": "7", "applicant.last_name": "Garnier", "applicant.first_name": "Lucie",
              "applicant.address.line1": "7 chemin des Étangs", "applicant.address.city": "Sologne",
              "applicant.address.country": "FR", "sender.name": "Armurerie du Nord", "motive": "achat",
              "action": "save"}


async def test_step_2_typed_after_expiry_is_saved_when_the_person_is_back(portal: Portal,
                                                                          upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    p = person(up)
    dossier = uuid.uuid4()
    up.dossier_owner[dossier] = p.email
    await sign_in(portal.client, p.email)
    token = csrf((await portal.client.get("/connexion")).text)
    await expire_session(portal)

    r = await portal.client.post(f"/eaps/dossiers/{dossier}/etape-2/demandeur", data={"csrf_token": token,
                                                                                      **STEP2_FORM})
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/connexion?retour=") and location.endswith("&expiree=1")
    back = unquote(location.split("retour=")[1].split("&")[0])
    assert back.startswith(f"/eaps/dossiers/{dossier}/etape-2?reprise=")
    assert dossier not in up.saved  # nothing could be saved without a session
    page = await portal.client.get(location)
    assert "Votre session a expiré" in page.text and "sera enregistré dans votre brouillon" in page.text

    r = await portal.client.post("/connexion", data={"csrf_token": csrf(page.text), "email": p.email,
                                                     "password": PASSWORD, "retour": back})
    assert r.headers["location"] == back
    r = await portal.client.get(back)
    assert r.status_code == 303 and r.headers["location"] == f"/eaps/dossiers/{dossier}/etape-2"
    [(part, body, if_match)] = up.saved[dossier]
    assert part == "demandeur" and if_match == "7"
    assert body["applicant"]["address"] == {"line1": "7 chemin des Étangs", "city": "Sologne", "country": "FR"}
    assert body["sender"] == {"name": "Armurerie du Nord"} and body["motive"] == "achat"
    # Kept once: the same address again does not save a second time.
    await portal.client.get(back)
    assert len(up.saved[dossier]) == 1


async def test_step_1_typed_after_expiry_is_saved_and_keeps_the_classification_aid(
        portal: Portal, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    p = person(up)
    dossier = uuid.uuid4()
    up.dossier_owner[dossier] = p.email
    await sign_in(portal.client, p.email)
    token = csrf((await portal.client.get("/connexion")).text)
    await expire_session(portal)
    r = await portal.client.post(f"/eaps/dossiers/{dossier}/etape-1/informations", data={
        "csrf_token": token, "version": "3", "flow": "INT", "origin_country": "BE", "destination_country": "FR",
        "connu": "non", "categorie": "C", "action": "save"})
    back = unquote(r.headers["location"].split("retour=")[1].split("&")[0])
    assert back.startswith(f"/eaps/dossiers/{dossier}/etape-1?reprise=")
    await sign_in(portal.client, p.email, retour=back)
    r = await portal.client.get(back)
    assert r.status_code == 303
    assert r.headers["location"] == f"/eaps/dossiers/{dossier}/etape-1?connu=non&categorie=C#informations"
    [(part, body, if_match)] = up.saved[dossier]
    assert part == "informations" and if_match == "3"
    assert body["flow"] == "INT" and body["origin_country"] == "BE" and body["destination_country"] == "FR"


async def test_nobody_else_can_use_what_was_kept(portal: Portal, upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    owner, other = person(up), person(up)
    dossier = uuid.uuid4()
    up.dossier_owner[dossier] = owner.email
    await sign_in(portal.client, owner.email)
    token = csrf((await portal.client.get("/connexion")).text)
    await expire_session(portal)
    r = await portal.client.post(f"/eaps/dossiers/{dossier}/etape-2/demandeur", data={"csrf_token": token,
                                                                                      **STEP2_FORM})
    back = unquote(r.headers["location"].split("retour=")[1].split("&")[0])
    await sign_in(portal.client, other.email, retour=back)
    r = await portal.client.get(back)
    assert r.status_code == 404 and "Page non trouvée" in r.text  # the dossier service refused the other person
    assert dossier not in up.saved


async def test_an_expired_session_post_without_its_csrf_token_keeps_nothing(portal: Portal,
                                                                            upstream: tuple[Upstream, str]) -> None:
    up, _ = upstream
    p = person(up)
    await sign_in(portal.client, p.email)
    await expire_session(portal)
    r = await portal.client.post(f"/eaps/dossiers/{uuid.uuid4()}/etape-2/demandeur", data=STEP2_FORM)
    assert r.status_code == 403 and "Formulaire expiré" in r.text
    redis = Redis.from_url(REDIS_URL)
    kept = [k async for k in redis.scan_iter(match=f"{portal.prefix}*stash:reprise:*")]
    await redis.aclose()
    assert kept == []
