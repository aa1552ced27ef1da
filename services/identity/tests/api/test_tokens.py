"""Access tokens as the gateway and the other services see them; attacks on tokens; refresh
rotation with reuse detection; signing-key rotation."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from eaps_kit.auth import TokenVerifier
from eaps_kit.testing import TestKeys, bearer, serve_app
from identity.adapters.orm import signing_keys
from identity.main import create_app
from identity.service_layer import tokens

ME = "/api/v1/identity/me"
OFFICER_ME = "/api/v1/identity/officers/me"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_jwks_publishes_public_keys_only(client):
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert key["kid"] and key["alg"] in ("RS256", "Ed25519") and key["use"] == "sig"
        assert "d" not in key and "p" not in key  # no private part


async def test_a_service_verifies_tokens_through_the_jwks_url(settings, users):
    """The gateway's way: the kit's TokenVerifier fetching identity's JWKS over HTTP."""
    app = await users.applicant()
    served = create_app(settings.model_copy(update={"run_workers": False}))
    async with serve_app(served) as base_url:
        verifier = TokenVerifier(issuer=settings.token_issuer, audiences=["eaps-public"],
                                 jwks_url=f"{base_url}/.well-known/jwks.json")
        principal = await verifier.verify(app.access_token)
    assert principal.sub == app.account_id and principal.access_level == "AS"


async def test_alg_none_token_is_refused(client, users, problem):
    app = await users.applicant()
    header, payload, _ = app.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    body = problem(await client.get(ME, headers=bearer(forged)), 401)
    assert "algorithme" in body["detail"]


async def test_token_signed_by_another_key_is_refused(client, users, problem):
    app = await users.applicant()
    other = TestKeys()
    forged = other.applicant(app.account_id)
    problem(await client.get(ME, headers=bearer(forged)), 401)
    # Even claiming identity's kid.
    header = json.loads(base64.urlsafe_b64decode(app.access_token.split(".")[0] + "=="))
    other_same_kid = TestKeys(kid=header["kid"])
    body = problem(await client.get(ME, headers=bearer(other_same_kid.applicant(app.account_id))), 401)
    assert "signature" in body["detail"]


async def test_tampered_claims_are_refused(client, users, problem):
    app = await users.applicant()
    header, payload, sig = app.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["access_level"] = "OPPD"
    problem(await client.get(ME, headers=bearer(f"{header}.{_b64(claims)}.{sig}")), 401)


async def test_expired_token_is_refused(client, users, ident, problem):
    app = await users.applicant()
    claims = {"sub": app.account_id, "aud": "eaps-public", "roles": ["applicant"], "access_level": "AS"}
    expired = await tokens.sign(ident, claims, ttl=-60)
    body = problem(await client.get(ME, headers=bearer(expired)), 401)
    assert "expiré" in body["detail"]


async def test_a_token_for_the_other_edge_is_refused(client, users, problem):
    app = await users.applicant()
    officer = await users.staff(["officer"])
    body = problem(await client.get(ME, headers=officer.headers), 403)
    assert "pas destiné à ce portail" in body["detail"]
    body = problem(await client.get(OFFICER_ME, headers=app.headers), 403)
    assert "pas destiné à ce portail" in body["detail"]


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(client, users, problem):
    app = await users.applicant()
    first = app.refresh_token
    assert (await users.refresh(app)).status_code == 200
    second = app.refresh_token
    assert second != first and (await client.get(ME, headers=app.headers)).status_code == 200
    # The old one again: a theft signal.
    body = problem(await client.post("/api/v1/identity/tokens/refresh", json={"refresh_token": first}), 401)
    assert "déjà été utilisé" in body["detail"]
    # The legitimate holder's newer token is revoked too: everyone signs in again.
    problem(await client.post("/api/v1/identity/tokens/refresh", json={"refresh_token": second}), 401)
    assert (await users.sign_in(app)).status_code == 200
    assert (await users.refresh(app)).status_code == 200


async def test_refresh_token_of_one_edge_is_refused_on_the_other(client, users, problem):
    app = await users.applicant()
    officer = await users.staff(["officer"])
    problem(await client.post("/api/v1/identity/officers/sessions/refresh",
                              json={"refresh_token": app.refresh_token}), 401)
    problem(await client.post("/api/v1/identity/tokens/refresh", json={"refresh_token": officer.refresh_token}), 401)
    # Neither was consumed by the wrong-edge attempt.
    assert (await users.refresh(app)).status_code == 200


async def test_signing_key_rotation_keeps_old_tokens_valid_until_they_expire(client, users, ident, problem):
    app = await users.applicant()
    old_kid = json.loads(base64.urlsafe_b64decode(app.access_token.split(".")[0] + "=="))["kid"]
    new_kid = await ident.keys.rotate()
    assert new_kid != old_kid
    kids = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new_kid} <= kids
    assert (await client.get(ME, headers=app.headers)).status_code == 200  # old token still verifies
    await users.refresh(app)
    assert json.loads(base64.urlsafe_b64decode(app.access_token.split(".")[0] + "=="))["kid"] == new_kid

    # Once the old key's last tokens have expired, it leaves the JWKS and its tokens stop working.
    old_token = await _token_signed_with_retired_key(ident, app, old_kid)
    async with ident.session_factory() as session, session.begin():
        await session.execute(sa.update(signing_keys).where(signing_keys.c.kid == old_kid)
                              .values(publish_until=datetime.now(UTC) - timedelta(seconds=1)))
    await ident.keys.reload()
    kids = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert old_kid not in kids and new_kid in kids
    problem(await client.get(ME, headers=bearer(old_token)), 401)


async def _token_signed_with_retired_key(ident, app, kid):
    import orjson
    from identity.adapters.keys import _import
    from joserfc import jwt

    async with ident.session_factory() as session:
        row = (await session.execute(sa.select(signing_keys).where(signing_keys.c.kid == kid))).mappings().one()
    key = _import(orjson.loads(ident.keys.decrypt(row["private_jwk"])))
    now = int(time.time())
    claims = {"iss": ident.settings.token_issuer, "sub": app.account_id, "aud": "eaps-public", "iat": now,
              "exp": now + 600, "roles": ["applicant"]}
    return jwt.encode({"alg": row["alg"], "kid": kid}, claims, key, algorithms=[row["alg"]])


async def test_missing_or_garbage_bearer_is_refused(client, problem):
    body = problem(await client.get(ME), 401)
    assert "connecté" in body["detail"]
    problem(await client.get(ME, headers=bearer("pas.un.jeton")), 401)


async def test_switching_the_signing_algorithm_takes_effect_at_rotation(settings, users, problem):
    """Both accepted algorithms (RS256, Ed25519) verify with the kit; tokens of the old one stay valid."""
    app = await users.applicant()
    before = json.loads(base64.urlsafe_b64decode(app.access_token.split(".")[0] + "=="))["alg"]
    other_alg = "Ed25519" if before == "RS256" else "RS256"
    switched = create_app(settings.model_copy(update={"signing_alg": other_alg, "run_workers": False}))
    async with serve_app(switched) as base_url:
        ident2 = switched.state.runtime.extras["identity"]
        await ident2.keys.rotate()
        verifier = TokenVerifier(issuer=settings.token_issuer, audiences=["eaps-public"],
                                 jwks_url=f"{base_url}/.well-known/jwks.json")
        async with httpx.AsyncClient(base_url=base_url) as c:
            resp = await c.post("/api/v1/identity/sessions", json={"email": app.email, "password": app.password},
                                headers={"X-Forwarded-For": users.new_ip()})
        new_token = resp.json()["access_token"]
        assert json.loads(base64.urlsafe_b64decode(new_token.split(".")[0] + "=="))["alg"] == other_alg
        assert (await verifier.verify(new_token)).sub == app.account_id
        assert (await verifier.verify(app.access_token)).sub == app.account_id
