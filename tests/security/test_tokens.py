"""Forged, edited and misdirected access tokens, against both edges and the services behind them:
each is refused with a French problem+json 401 (or 403 for a valid token of the wrong kind), and
nothing is served."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest
from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE, TokenVerifier
from eaps_kit.problems import ProblemError
from eaps_kit.testing import TestKeys
from gateway.tokens import CachedVerifier
from joserfc import jwt
from joserfc.jwk import RSAKey
from system_testkit import assert_problem, bearer

SERVICES = {"identity": 8101, "dossier": 8103, "documents": 8104, "instruction": 8105, "notifications": 8106}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict, str]:  # type: ignore[type-arg]
    h, p, s = token.split(".")
    dec = lambda x: json.loads(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))  # noqa: E731
    return dec(h), dec(p), s


def assemble(header: dict, payload: dict, signature: str) -> str:  # type: ignore[type-arg]
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{signature}"


@pytest.fixture(scope="session")
async def jwks(public: httpx.AsyncClient) -> dict:  # type: ignore[type-arg]
    r = await public.get("/.well-known/jwks.json")
    assert r.status_code == 200 and r.json()["keys"], r.text
    return r.json()  # type: ignore[no-any-return]


def hs256(header: dict, payload: dict, secret: bytes) -> str:  # type: ignore[type-arg]
    """The classic confusion: the verifier's public key used as an HMAC secret."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def forgeries(real: str, jwks: dict, roles: list[str], audience: str) -> dict[str, str]:  # type: ignore[type-arg]
    header, payload, signature = parts(real)
    now = int(time.time())
    kid = jwks["keys"][0]["kid"]
    other_rsa = RSAKey.generate_key(2048, parameters={"kid": kid})
    claims = {**payload, "roles": roles, "aud": audience, "iat": now, "nbf": now, "exp": now + 600}
    public_jwk = json.dumps(jwks["keys"][0]).encode()
    pem = RSAKey.import_key(jwks["keys"][0]).as_pem(private=False)
    out = {
        "edited claims, original signature": assemble(header, claims, signature),
        "alg none": assemble({"alg": "none", "typ": "JWT", "kid": kid}, claims, ""),
        "alg None with signature": assemble({"alg": "None", "typ": "JWT", "kid": kid}, claims, signature),
        "HS256 keyed with the JWKS entry": hs256({"alg": "HS256", "kid": kid}, claims, public_jwk),
        "HS256 keyed with the public PEM": hs256({"alg": "HS256", "kid": kid}, claims, pem),
        "another key under identity's kid": jwt.encode({"alg": "RS256", "kid": kid}, claims, other_rsa,
                                                       algorithms=["RS256"]),
        "unknown kid": TestKeys(kid=f"inconnu-{uuid.uuid4().hex[:6]}", issuer=payload["iss"]).token(
            payload["sub"], roles=roles, audience=audience),
        "embedded jwk header": assemble({**header, "jwk": other_rsa.as_dict(private=False)}, claims, signature),
        "truncated": real[: len(real) // 2],
        "garbage": "a.b.c",
        "not a jwt": "bonjour",
    }
    return out


async def test_forged_and_edited_tokens_are_refused_by_both_edges_and_every_service(
        public: httpx.AsyncClient, internal: httpx.AsyncClient, alice, officer, jwks) -> None:
    failures = []
    # an applicant promoting themself to officer / supervisor on the internal edge and on the services
    for name, token in forgeries(alice.token, jwks, ["officer", "supervisor", "applicant"], INTERNAL_AUDIENCE).items():
        for client, path in ((internal, "/api/v1/instruction/cases"), (public, "/api/v1/dossiers")):
            r = await client.get(path, headers=bearer(token))
            if r.status_code != 401 or not r.headers["content-type"].startswith("application/problem+json"):
                failures.append((name, str(client.base_url), path, r.status_code))
        for service, port in SERVICES.items():
            path = {"identity": "/api/v1/identity/officers/me", "dossier": "/api/v1/dossiers",
                    "documents": "/api/v1/documents", "instruction": "/api/v1/instruction/cases",
                    "notifications": "/api/v1/notifications"}[service]
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as direct:
                r = await direct.get(path, headers=bearer(token))
            if r.status_code != 401:
                failures.append((name, service, path, r.status_code))
    # the same on the public edge with a forged applicant token for another subject
    off = await officer.token()
    for name, token in forgeries(off, jwks, ["applicant"], PUBLIC_AUDIENCE).items():
        r = await public.get("/api/v1/dossiers", headers=bearer(token))
        if r.status_code != 401:
            failures.append((name, "public", "/api/v1/dossiers", r.status_code))
    assert not failures, failures


async def test_a_token_for_one_edge_is_refused_on_the_other(public: httpx.AsyncClient, internal: httpx.AsyncClient,
                                                            alice, officer, machine) -> None:
    assert_problem(await internal.get("/api/v1/instruction/cases", headers=bearer(alice.token)), 401)
    assert_problem(await internal.get("/api/v1/notifications", headers=bearer(alice.token)), 401)
    off = await officer.token()
    assert_problem(await public.get("/api/v1/dossiers", headers=bearer(off)), 401)
    assert_problem(await public.get("/api/v1/notifications", headers=bearer(off)), 401)
    assert_problem(await public.get("/api/v1/identity/me", headers=bearer(machine)), 401)
    # and the services themselves refuse a token of the wrong audience (no 200 behind a misrouted edge)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:8103", timeout=10) as dossier:
        assert_problem(await dossier.get("/api/v1/dossiers", headers=bearer(off)), 403)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:8105", timeout=10) as instruction:
        assert_problem(await instruction.get("/api/v1/instruction/cases", headers=bearer(alice.token)), 403)


@pytest.mark.parametrize("case", ["expired", "not yet valid", "wrong issuer", "wrong audience", "no exp",
                                  "no sub", "unknown algorithm header"])
async def test_the_verifier_of_the_edges_and_services_refuses_bad_claims(case: str) -> None:
    """Claims a forger cannot produce against the running stack (they need identity's private key):
    checked on the verifier both edges (CachedVerifier) and every service use, with a key it trusts."""
    keys = TestKeys(issuer="https://identity.eaps.local")
    now = int(time.time())
    kw: dict = {}  # type: ignore[type-arg]
    if case == "expired":
        kw = {"ttl": -3600}
    elif case == "not yet valid":
        kw = {"nbf": now + 3600}
    elif case == "wrong issuer":
        kw = {"issuer": "https://evil.example"}
    elif case == "wrong audience":
        kw = {"audience": "eaps-ailleurs"}
    token = keys.token(**kw)
    if case in ("no exp", "no sub"):
        header, payload, _ = parts(token)
        payload.pop("exp" if case == "no exp" else "sub")
        token = jwt.encode(header, payload, keys.key, algorithms=["Ed25519"])
    if case == "unknown algorithm header":
        header, payload, signature = parts(token)
        token = assemble({**header, "alg": "ES256K"}, payload, signature)
    verifier = TokenVerifier(issuer=keys.issuer, audiences=[PUBLIC_AUDIENCE], keyset=keys.verifier()._keyset)
    for v in (verifier, CachedVerifier(verifier, PUBLIC_AUDIENCE)):
        with pytest.raises(ProblemError) as err:
            await v.verify(token)
        assert err.value.status == 401 and err.value.detail
    assert (await verifier.verify(keys.token())).roles == ["applicant"]  # the same key and claims pass otherwise
