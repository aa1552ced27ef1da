"""Sign-in, no account enumeration, brute force (per account and per client), rehash, reset, sign-out."""

from __future__ import annotations

import sqlalchemy as sa
from eaps_kit.auth import TokenVerifier
from eaps_kit.testing import app_client, eventually
from identity.adapters.orm import accounts
from identity.main import create_app
from joserfc.jwk import KeySet

SESSIONS = "/api/v1/identity/sessions"


async def _sign_in(client, email, password, ip):
    return await client.post(SESSIONS, json={"email": email, "password": password}, headers={"X-Forwarded-For": ip})


async def test_unknown_email_and_wrong_password_get_the_same_answer(client, users, problem):
    app = await users.applicant()
    wrong = problem(await _sign_in(client, app.email, "Mauvais-Mot2passe!", users.new_ip()), 401)
    unknown = problem(await _sign_in(client, users.fresh_email(), "Mauvais-Mot2passe!", users.new_ip()), 401)
    assert {k: v for k, v in wrong.items() if k != "instance"} == {k: v for k, v in unknown.items() if k != "instance"}
    assert wrong["detail"] == "Adresse électronique ou mot de passe incorrect."


async def test_token_answer_and_claims(client, users):
    app = await users.applicant()
    resp = await users.sign_in(app)
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600 and body["refresh_token"]
    # Verified as another service does: the kit's verifier with identity's published JWKS.
    jwks = (await client.get("/.well-known/jwks.json")).json()
    verifier = TokenVerifier(issuer="https://identity.eaps.local", audiences=["eaps-public", "eaps-internal"],
                             keyset=KeySet.import_key_set(jwks))
    principal = await verifier.verify(body["access_token"])
    assert principal.sub == app.account_id and principal.roles == ["applicant"]
    assert principal.audience == "eaps-public" and principal.access_level == "AS"
    assert principal.teleservices == ["e-APS"] and principal.email == app.email and principal.amr == ["pwd"]


async def test_progressive_delay_then_temporary_lock_on_one_account(client, users, problem):
    app = await users.applicant()
    ip = users.new_ip()
    for _ in range(3):
        problem(await _sign_in(client, app.email, "Mauvais-Mot2passe!", ip), 401)
    # Now a delay: even the right password is refused until it has passed.
    body = problem(await _sign_in(client, app.email, app.password, ip), 429)
    assert "patientez" in body["detail"] and int(body["retry_after"]) >= 1
    # Each further failure doubles the delay, until the lock.
    for _ in range(3):
        await eventually(lambda: _failed_once(client, app.email, ip), timeout=10, interval=0.05)
    body = problem(await _sign_in(client, app.email, app.password, ip), 429)
    assert "temporairement bloquée" in body["detail"]
    assert int(body["retry_after"]) > 60
    # Locked for every client, and the account itself is untouched.
    body = problem(await _sign_in(client, app.email, app.password, users.new_ip()), 429)
    assert "temporairement bloquée" in body["detail"]


async def _failed_once(client, email, ip):
    resp = await _sign_in(client, email, "Mauvais-Mot2passe!", ip)
    return resp.status_code == 401


async def test_delay_passes_and_the_right_password_then_works(client, users):
    app = await users.applicant()
    ip = users.new_ip()
    for _ in range(3):
        await _sign_in(client, app.email, "Mauvais-Mot2passe!", ip)
    assert (await _sign_in(client, app.email, app.password, ip)).status_code == 429
    ok = await eventually(lambda: _status_is(client, app, ip, 200), timeout=10, interval=0.05)
    assert ok


async def _status_is(client, app, ip, status):
    return (await _sign_in(client, app.email, app.password, ip)).status_code == status


async def test_unknown_email_is_delayed_like_a_known_one(client, users, problem):
    ghost = users.fresh_email()
    ip = users.new_ip()
    for _ in range(3):
        problem(await _sign_in(client, ghost, "Mauvais-Mot2passe!", ip), 401)
    assert "patientez" in problem(await _sign_in(client, ghost, "Mauvais-Mot2passe!", ip), 429)["detail"]


async def test_one_client_trying_many_accounts_is_stopped(client, users, problem):
    victim = await users.applicant()
    ip = users.new_ip()
    for _ in range(8):  # ip_max_failures in the test settings, one failure per account
        problem(await _sign_in(client, users.fresh_email(), "Azerty-123456!", ip), 401)
    resp = await _sign_in(client, victim.email, victim.password, ip)
    body = problem(resp, 429)
    assert "depuis votre poste" in body["detail"] and int(resp.headers["retry-after"]) > 0
    # Another client is not affected.
    assert (await _sign_in(client, victim.email, victim.password, users.new_ip())).status_code == 200


async def test_forwarded_for_is_believed_only_from_trusted_proxies(app_and_client, users):
    from identity.entrypoints.api.deps import client_ip

    app = app_and_client[0]

    class Req:
        def __init__(self, peer, xff):
            self.client = type("C", (), {"host": peer})()
            self.headers = {"x-forwarded-for": xff}
            self.app = app

    assert client_ip(Req("127.0.0.1", "203.0.113.7")) == "203.0.113.7"
    assert client_ip(Req("127.0.0.1", "198.51.100.1, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(Req("192.0.2.9", "203.0.113.7")) == "192.0.2.9"


async def test_password_is_rehashed_when_parameters_change(settings, users, ident):
    app = await users.applicant()
    async with ident.session_factory() as session:
        before = await session.scalar(sa.select(accounts.c.password_hash).where(accounts.c.email == app.email))
    assert "m=8192,t=1,p=1" in before
    stronger = settings.model_copy(update={"argon2_time_cost": 2, "argon2_memory_cost": 9216, "run_workers": False})
    other = create_app(stronger)
    async with app_client(other) as client2:
        resp = await client2.post(SESSIONS, json={"email": app.email, "password": app.password},
                                  headers={"X-Forwarded-For": users.new_ip()})
        assert resp.status_code == 200
    async with ident.session_factory() as session:
        after = await session.scalar(sa.select(accounts.c.password_hash).where(accounts.c.email == app.email))
    assert "m=9216,t=2,p=1" in after and after != before
    # The new hash still opens the account on the old parameters' replica.
    assert (await users.sign_in(app)).status_code == 200


async def test_sign_out_ends_the_session(client, users, problem):
    app = await users.applicant()
    assert (await client.post(f"{SESSIONS}/sign-out", json={"refresh_token": app.refresh_token})).status_code == 204
    problem(await users.refresh(app), 401)
    # Signing out twice or with an unknown token still succeeds (nothing to tell).
    assert (await client.post(f"{SESSIONS}/sign-out", json={"refresh_token": "a" * 40})).status_code == 204


async def test_password_reset_by_email(client, users, events, problem):
    app = await users.applicant()
    old_refresh = app.refresh_token
    resp = await client.post("/api/v1/identity/password-resets", json={"email": app.email})
    assert resp.status_code == 202
    event = await events.wait("identity.password_reset.requested", email=app.email)
    assert event["link"].startswith("http://localhost:8000/mot-de-passe/reinitialiser?token=")
    token = event["link"].split("token=", 1)[1]

    weak = problem(await client.post("/api/v1/identity/password-resets/confirm",
                                      json={"token": token, "password": "faible"}), 422)
    assert any("majuscule" in e["message"] for e in weak["errors"])
    new_password = "Nouveau-Secret-2025!"
    ok = await client.post("/api/v1/identity/password-resets/confirm", json={"token": token, "password": new_password})
    assert ok.status_code == 204
    assert (await _sign_in(client, app.email, app.password, users.new_ip())).status_code == 401
    assert (await _sign_in(client, app.email, new_password, users.new_ip())).status_code == 200
    # Sessions opened with the old password are closed; the link works once.
    problem(await client.post("/api/v1/identity/tokens/refresh", json={"refresh_token": old_refresh}), 401)
    problem(await client.post("/api/v1/identity/password-resets/confirm",
                              json={"token": token, "password": "Encore-Autre-2025!"}), 410)


async def test_password_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(client, users, events):
    ghost = users.fresh_email()
    known = await users.applicant()
    a = await client.post("/api/v1/identity/password-resets", json={"email": ghost})
    b = await client.post("/api/v1/identity/password-resets", json={"email": known.email})
    assert a.status_code == b.status_code == 202 and a.json() == b.json()
    await events.wait("identity.password_reset.requested", email=known.email)
    assert not events.of("identity.password_reset.requested", email=ghost)
