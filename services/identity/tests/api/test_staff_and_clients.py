"""Officers, supervisors, PAE agents: password plus TOTP on the internal edge only.
Machine clients of other administrations: OAuth2 client credentials, scopes, secret rotation."""

from __future__ import annotations

import base64

import pyotp
from identity.service_layer import staff

OFFICER_SESSIONS = "/api/v1/identity/officers/sessions"
TOKEN = "/api/v1/identity/oauth/token"


async def _claims(client, token, audience):
    from eaps_kit.auth import TokenVerifier
    from joserfc.jwk import KeySet

    jwks = (await client.get("/.well-known/jwks.json")).json()
    return await TokenVerifier(issuer="https://identity.eaps.local", audiences=[audience],
                               keyset=KeySet.import_key_set(jwks)).verify(token)


async def test_officer_signs_in_with_password_and_totp(client, users):
    officer = await users.staff(["officer", "supervisor"])
    claims = await _claims(client, officer.access_token, "eaps-internal")
    assert claims.roles == ["officer", "supervisor"] and claims.amr == ["pwd", "otp"]
    assert claims.audience == "eaps-internal" and claims.access_level is None
    me = (await client.get("/api/v1/identity/officers/me", headers=officer.headers)).json()
    assert me["email"] == officer.email and me["roles"] == ["officer", "supervisor"]
    refreshed = await client.post(f"{OFFICER_SESSIONS}/refresh", json={"refresh_token": officer.refresh_token})
    assert refreshed.status_code == 200
    out = await client.post(f"{OFFICER_SESSIONS}/sign-out", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert out.status_code == 204


async def test_wrong_or_replayed_totp_code_is_refused_like_a_wrong_password(client, users, problem):
    officer = await users.staff(["officer"], sign_in=False)
    totp = pyotp.TOTP(officer.totp_secret)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    body = problem(await users.officer_sign_in(officer, otp=wrong), 401)
    assert body["detail"] == "Adresse électronique, mot de passe ou code de vérification incorrect."
    officer.password = "Mauvais-Mot2passe!"
    assert problem(await users.officer_sign_in(officer), 401)["detail"] == body["detail"]
    officer.password = users.PASSWORD
    code = officer.next_otp()
    assert (await users.officer_sign_in(officer, otp=code)).status_code == 200
    # The same code seen on the wire cannot be used again.
    problem(await users.officer_sign_in(officer, otp=code), 401)


async def test_officer_and_applicant_sign_in_only_on_their_own_edge(client, users, problem):
    officer = await users.staff(["officer"], sign_in=False)
    applicant = await users.applicant()
    resp = await client.post("/api/v1/identity/sessions", json={"email": officer.email, "password": officer.password},
                             headers={"X-Forwarded-For": users.new_ip()})
    problem(resp, 401)
    resp = await client.post(OFFICER_SESSIONS, json={"email": applicant.email, "password": applicant.password,
                                                     "otp": "123456"}, headers={"X-Forwarded-For": users.new_ip()})
    problem(resp, 401)


async def test_officer_sign_in_is_rate_limited_too(client, users, problem):
    officer = await users.staff(["officer"], sign_in=False)
    officer.password = "Mauvais-Mot2passe!"
    for _ in range(3):
        problem(await users.officer_sign_in(officer, otp="000000"), 401)
    officer.password = users.PASSWORD
    problem(await users.officer_sign_in(officer), 429)


async def test_pae_agent_must_belong_to_a_known_pae_and_roles_are_checked(ident):
    import pytest

    with pytest.raises(ValueError, match="PAE connu"):
        await staff.create_staff(ident, email="x@douane.example", first_name="A", last_name="B", roles=["pae_agent"])
    with pytest.raises(ValueError, match="rôles inconnus"):
        await staff.create_staff(ident, email="y@douane.example", first_name="A", last_name="B", roles=["boss"])


async def test_totp_reset_invalidates_the_old_secret(client, users, ident):
    officer = await users.staff(["officer"])
    old_secret = officer.totp_secret
    officer.totp_secret = await staff.reset_totp(ident, officer.email)
    assert officer.totp_secret != old_secret
    officer.used_steps.clear()
    # The former refresh token is revoked with the reset.
    r = await client.post(f"{OFFICER_SESSIONS}/refresh", json={"refresh_token": officer.refresh_token})
    assert r.status_code == 401
    assert (await users.officer_sign_in(officer)).status_code == 200


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_machine_client_gets_a_token_with_its_scopes(client, ident):
    creds = await staff.create_client(ident, name="DGDDI — bureau E2", scopes=["decisions:read", "imputations:write"])
    resp = await client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": creds.client_id,
                                          "client_secret": creds.client_secret})
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["scope"] == "decisions:read imputations:write" and "refresh_token" not in body
    claims = await _claims(client, body["access_token"], "eaps-internal")
    assert claims.roles == ["machine"] and claims.scopes == ["decisions:read", "imputations:write"]
    # HTTP Basic and a narrower scope.
    narrow = await client.post(TOKEN, data={"grant_type": "client_credentials", "scope": "decisions:read"},
                               headers=_basic(creds.client_id, creds.client_secret))
    assert narrow.json()["scope"] == "decisions:read"


async def test_bad_client_requests(client, ident, problem):
    creds = await staff.create_client(ident, name="Préfecture", scopes=["decisions:read"])
    body = problem(await client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": creds.client_id,
                                                  "client_secret": "faux"}), 401)
    assert body["error"] == "invalid_client" and "incorrect" in body["detail"]
    unknown = problem(await client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": "inconnu",
                                                     "client_secret": "faux"}), 401)
    assert unknown["detail"] == body["detail"]
    body = problem(await client.post(TOKEN, data={"grant_type": "client_credentials", "scope": "imputations:write"},
                                     headers=_basic(creds.client_id, creds.client_secret)), 400)
    assert body["error"] == "invalid_scope"
    body = problem(await client.post(TOKEN, data={"grant_type": "password", "client_id": creds.client_id}), 400)
    assert body["error"] == "unsupported_grant_type"
    problem(await client.post(TOKEN, json={"grant_type": "client_credentials"}), 415)
    problem(await client.post(TOKEN, data={"grant_type": "client_credentials"}), 401)
    problem(await client.post(TOKEN, data={"grant_type": "client_credentials"},
                              headers={"Authorization": "Basic %%%"}), 401)


async def test_client_secret_rotation_with_a_grace_period(client, ident, problem):
    creds = await staff.create_client(ident, name="Gendarmerie", scopes=["decisions:read"])
    new_secret = await staff.rotate_client_secret(ident, creds.client_id)
    for secret in (creds.client_secret, new_secret):  # both work during the grace period
        r = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=_basic(creds.client_id, secret))
        assert r.status_code == 200
    newest = await staff.rotate_client_secret(ident, creds.client_id, grace_seconds=0)
    problem(await client.post(TOKEN, data={"grant_type": "client_credentials"},
                              headers=_basic(creds.client_id, new_secret)), 401)
    problem(await client.post(TOKEN, data={"grant_type": "client_credentials"},
                              headers=_basic(creds.client_id, creds.client_secret)), 401)
    ok = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=_basic(creds.client_id, newest))
    assert ok.status_code == 200
