"""Token verification at the edges and the per-route access rules, against every kind of caller."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import pytest
from eaps_kit.testing import TestKeys, bearer, free_port
from joserfc import jwt
from joserfc.jwk import OctKey

CALLERS = ["anonymous", "applicant_as", "applicant_oppd", "applicant_no_level", "officer", "supervisor",
           "pae_agent", "admin", "machine_decisions", "machine_imputations", "machine_no_scope"]
APPLICANTS = {"applicant_as", "applicant_oppd"}
EVERYONE = set(CALLERS)


def token_for(keys: TestKeys, who: str) -> str | None:
    if who == "anonymous":
        return None
    if who == "applicant_as":
        return keys.applicant(access_level="AS")
    if who == "applicant_oppd":
        return keys.applicant(access_level="OPPD", operator_id=uuid.uuid4())
    if who == "applicant_no_level":
        return keys.applicant(access_level=None)
    if who.startswith("machine"):
        scope = {"machine_decisions": "decisions:read", "machine_imputations": "imputations:write",
                 "machine_no_scope": None}[who]
        return keys.token(roles=["machine"], audience="eaps-internal", access_level=None, scope=scope)
    return keys.officer(roles=[who])


def audience_of(who: str) -> str | None:
    if who == "anonymous":
        return None
    return "eaps-public" if who.startswith("applicant") else "eaps-internal"


# (edge, method, path, who gets through). Written out by hand: this is the access policy.
MATRIX = [
    ("public", "GET", "/api/v1/classification/items/9303", EVERYONE),
    ("public", "POST", "/api/v1/classification/determinations", EVERYONE),
    ("public", "GET", "/api/v1/identity/catalogue/pae", EVERYONE),
    ("public", "POST", "/api/v1/identity/registrations", EVERYONE),
    ("public", "POST", "/api/v1/identity/registrations/phone-verification", EVERYONE),
    ("public", "POST", "/api/v1/identity/sessions", EVERYONE),
    ("public", "POST", "/api/v1/identity/sessions/sign-out", EVERYONE),
    ("public", "POST", "/api/v1/identity/tokens/refresh", EVERYONE),
    ("public", "POST", "/api/v1/identity/password-resets", EVERYONE),
    ("public", "POST", "/api/v1/identity/password-resets/confirm", EVERYONE),
    ("public", "GET", "/.well-known/jwks.json", EVERYONE),
    ("public", "GET", "/api/v1/identity/me", APPLICANTS),
    ("public", "GET", "/api/v1/identity/teleservices", APPLICANTS),
    ("public", "POST", "/api/v1/identity/habilitation-requests", APPLICANTS),
    ("public", "GET", "/api/v1/dossiers", APPLICANTS),
    ("public", "PUT", "/api/v1/dossiers/0b7c/steps/1", APPLICANTS),
    ("public", "GET", "/api/v1/authorisations/AIMG-2025-000001", APPLICANTS),
    ("public", "GET", "/api/v1/search/export.xlsx", APPLICANTS),
    ("public", "POST", "/api/v1/documents", APPLICANTS),
    ("public", "DELETE", "/api/v1/documents/12", APPLICANTS),
    ("public", "GET", "/api/v1/notifications", APPLICANTS),
    ("internal", "GET", "/.well-known/jwks.json", EVERYONE),
    ("internal", "POST", "/api/v1/identity/oauth/token", EVERYONE),
    ("internal", "POST", "/api/v1/identity/officers/sessions", EVERYONE),
    ("internal", "POST", "/api/v1/identity/officers/sessions/refresh", EVERYONE),
    ("internal", "GET", "/api/v1/identity/officers/me", {"officer", "supervisor", "pae_agent", "admin"}),
    ("internal", "GET", "/api/v1/identity/pae/habilitation-requests", {"pae_agent"}),
    ("internal", "POST", "/api/v1/identity/pae/habilitation-requests/1/grant", {"pae_agent"}),
    ("internal", "GET", "/api/v1/instruction/cases", {"officer", "supervisor"}),
    ("internal", "POST", "/api/v1/instruction/cases/1/decision/sign", {"officer", "supervisor"}),
    ("internal", "POST", "/api/v1/instruction/authorisations/AIMG-2025-000001/imputations",
     {"machine_imputations", "officer", "supervisor"}),
    ("internal", "POST", "/api/v1/instruction/imputations/1/reversal",
     {"machine_imputations", "officer", "supervisor"}),
    ("internal", "GET", "/api/v1/documents/pinned/p1/content", {"officer", "supervisor"}),
    ("internal", "GET", "/api/v1/notifications", {"officer", "supervisor", "pae_agent"}),
    ("internal", "POST", "/api/v1/webhooks/endpoints", {"machine_decisions"}),
    ("internal", "GET", "/api/v1/webhooks/deliveries", {"machine_decisions"}),
]
EDGE_AUDIENCE = {"public": "eaps-public", "internal": "eaps-internal"}


def expected_status(edge: str, allowed: set[str], who: str) -> int:
    if who in allowed:
        return 200
    if who == "anonymous" or audience_of(who) != EDGE_AUDIENCE[edge]:
        return 401
    return 403


@pytest.mark.parametrize(("edge", "method", "path", "allowed"), MATRIX, ids=[f"{e}-{m}-{p}" for e, m, p, _ in MATRIX])
async def test_access_rule_against_every_caller(public_url: str, internal_url: str, stubs: dict, keys: TestKeys,
                                                edge: str, method: str, path: str, allowed: set[str]) -> None:
    base = public_url if edge == "public" else internal_url
    outcomes = {}
    async with httpx.AsyncClient(base_url=base) as client:
        for who in CALLERS:
            token = token_for(keys, who)
            before = sum(len(s.seen) for s in stubs.values())
            resp = await client.request(method, path, headers=bearer(token) if token else {})
            reached = sum(len(s.seen) for s in stubs.values()) - before
            outcomes[who] = resp.status_code
            if resp.status_code != 200:
                assert resp.headers["content-type"] == "application/problem+json"
                assert resp.json()["detail"]
                assert reached == 0, f"{who} was refused but the service was called"
    assert outcomes == {who: expected_status(edge, allowed, who) for who in CALLERS}


async def _get(base: str, path: str, token: str | None, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as client:
        return await client.get(path, headers={**(bearer(token) if token else {}), **headers})


async def test_missing_token_asks_for_sign_in(public_url: str) -> None:
    resp = await _get(public_url, "/api/v1/dossiers", None)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.json()["detail"] == "Vous devez être connecté pour accéder à cette ressource."


async def test_other_scheme_is_not_a_token(public_url: str) -> None:
    resp = await _get(public_url, "/api/v1/dossiers", None, Authorization="Basic dXNlcjpwYXNz")
    assert resp.status_code == 401


async def test_token_signed_by_another_key_with_the_same_kid_is_refused(public_url: str, keys: TestKeys) -> None:
    forger = TestKeys(kid=keys.kid)
    resp = await _get(public_url, "/api/v1/dossiers", forger.applicant())
    assert resp.status_code == 401
    assert resp.json()["detail"] == "La signature du jeton d'accès est invalide."


async def test_token_signed_by_an_unknown_key_is_refused(public_url: str) -> None:
    resp = await _get(public_url, "/api/v1/dossiers", TestKeys().applicant())
    assert resp.status_code == 401
    assert resp.json()["detail"] == "La signature du jeton d'accès est invalide."


async def test_expired_token_is_refused(public_url: str, keys: TestKeys) -> None:
    resp = await _get(public_url, "/api/v1/dossiers", keys.applicant(ttl=-120))
    assert resp.status_code == 401
    assert resp.json()["detail"] == "Votre session a expiré. Veuillez vous reconnecter."


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_alg_none_token_is_refused(public_url: str, keys: TestKeys) -> None:
    now = int(time.time())
    claims = {"iss": keys.issuer, "sub": str(uuid.uuid4()), "aud": "eaps-public", "exp": now + 600,
              "roles": ["applicant"], "access_level": "OPPD"}
    for alg in ("none", "None", "NONE"):
        token = f"{_b64({'alg': alg, 'typ': 'JWT', 'kid': keys.kid})}.{_b64(claims)}."
        resp = await _get(public_url, "/api/v1/dossiers", token)
        assert resp.status_code == 401
        assert resp.json()["detail"] == "L'algorithme de signature du jeton n'est pas accepté."


async def test_hmac_token_keyed_with_the_public_key_is_refused(public_url: str, keys: TestKeys) -> None:
    # Algorithm confusion: HS256 with the public JWK as the shared secret.
    now = int(time.time())
    secret = OctKey.import_key(json.dumps(keys.jwks()["keys"][0]).encode())
    token = jwt.encode({"alg": "HS256", "kid": keys.kid},
                       {"iss": keys.issuer, "sub": str(uuid.uuid4()), "aud": "eaps-public", "exp": now + 600,
                        "roles": ["applicant"], "access_level": "AS"}, secret, algorithms=["HS256"])
    resp = await _get(public_url, "/api/v1/dossiers", token)
    assert resp.status_code == 401


async def test_token_from_another_issuer_is_refused(public_url: str, keys: TestKeys) -> None:
    resp = await _get(public_url, "/api/v1/dossiers", keys.applicant(issuer="https://evil.example"))
    assert resp.status_code == 401


async def test_garbage_token_is_refused(public_url: str) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        for token in (b"abc", b"a.b.c", b"ey.ey.ey", "é.é.é".encode(), b"\xff\xfe.x.y"):
            resp = await client.get("/api/v1/dossiers", headers={"Authorization": b"Bearer " + token})
            assert resp.status_code == 401
            assert resp.headers["content-type"] == "application/problem+json"


async def test_applicant_token_is_refused_on_the_internal_edge(internal_url: str, keys: TestKeys) -> None:
    resp = await _get(internal_url, "/api/v1/notifications", keys.applicant())
    assert resp.status_code == 401
    assert resp.json()["detail"] == "Ce jeton d'accès n'est pas destiné à ce portail."


async def test_officer_token_is_refused_on_the_public_edge(public_url: str, keys: TestKeys) -> None:
    resp = await _get(public_url, "/api/v1/notifications", keys.officer(roles=["supervisor"]))
    assert resp.status_code == 401
    assert resp.json()["detail"] == "Ce jeton d'accès n'est pas destiné à ce portail."


async def test_token_with_both_audiences_passes_only_where_its_roles_allow(public_url: str, internal_url: str,
                                                                          keys: TestKeys) -> None:
    token = keys.token(roles=["applicant"], extra={"aud": ["eaps-public", "eaps-internal"]})
    assert (await _get(public_url, "/api/v1/notifications", token)).status_code == 200
    assert (await _get(internal_url, "/api/v1/notifications", token)).status_code == 403


async def test_rotated_key_is_picked_up_from_the_jwks(public_url: str, stubs: dict, keys: TestKeys) -> None:
    rotated = TestKeys()
    identity = stubs["identity"]
    identity.jwks = {"keys": keys.jwks()["keys"] + rotated.jwks()["keys"]}
    try:
        assert (await _get(public_url, "/api/v1/dossiers", rotated.applicant())).status_code == 200
        assert (await _get(public_url, "/api/v1/dossiers", keys.applicant())).status_code == 200
    finally:
        identity.jwks = keys.jwks()


async def test_identity_unreachable_refuses_protected_routes_but_not_public_ones(make_edge, keys: TestKeys) -> None:
    dead = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    async with make_edge("public", jwks_url=dead) as url:
        resp = await _get(url, "/api/v1/dossiers", keys.applicant())
        assert resp.status_code == 503
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["detail"] == "Le service d'authentification est momentanément indisponible."
        assert (await _get(url, "/api/v1/classification/items/1", keys.applicant())).status_code == 200
