"""The administration command and the demo seed against the real database, as the lead runs them."""

from __future__ import annotations

import asyncio
import io

import pyotp
from identity import cli, seed
from identity.bootstrap import standalone


async def _cli(settings, *argv):
    out = io.StringIO()
    args = cli.parser().parse_args(list(argv))
    await cli.run(args, settings, out)
    return out.getvalue()


async def test_created_officer_signs_in_with_the_printed_secret(settings, client, users):
    email = users.fresh_email("instructeur")
    out = await _cli(settings, "create-staff", "--email", email, "--first-name", "Anne", "--last-name", "Roux",
                     "--role", "officer")
    password = out.split("mot de passe : ", 1)[1].split("\n", 1)[0]
    secret = out.split("secret TOTP : ", 1)[1].split("\n", 1)[0]
    assert "otpauth://totp/" in out and "█" in out or "▀" in out  # the QR code is drawn
    resp = await client.post("/api/v1/identity/officers/sessions", headers={"X-Forwarded-For": users.new_ip()},
                             json={"email": email, "password": password, "otp": pyotp.TOTP(secret).now()})
    assert resp.status_code == 200, resp.text


async def test_machine_client_commands(settings, client):
    out = await _cli(settings, "create-client", "--name", "Préfecture du Rhône", "--scope", "decisions:read")
    client_id = out.split("Client créé : ", 1)[1].split("\n", 1)[0]
    secret = out.split("secret : ", 1)[1].split("\n", 1)[0]
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    assert (await client.post("/api/v1/identity/oauth/token", data=form)).status_code == 200
    out = await _cli(settings, "rotate-client-secret", "--client-id", client_id, "--grace-hours", "0")
    new_secret = out.split(" : ", 1)[1].split("\n", 1)[0]
    assert (await client.post("/api/v1/identity/oauth/token", data=form)).status_code == 401
    form["client_secret"] = new_secret
    assert (await client.post("/api/v1/identity/oauth/token", data=form)).status_code == 200


async def test_bad_arguments_are_reported_in_one_line(settings, capsys):
    code = await asyncio.to_thread(cli.main, ["create-staff", "--email", "x@douane.example", "--first-name", "A",
                                              "--last-name", "B", "--role", "pae_agent"], settings)
    assert code == 2 and "PAE connu" in capsys.readouterr().err


async def test_disabled_account_can_no_longer_sign_in_or_refresh(settings, users, problem):
    app = await users.applicant()
    await _cli(settings, "disable-account", "--email", app.email)
    body = problem(await users.sign_in(app), 403)
    assert "désactivé" in body["detail"]
    problem(await users.refresh(app), 401)


async def test_seed_is_idempotent_and_its_users_work(settings, client, events, users):
    async with standalone(settings) as ident:
        first = await seed.seed(ident)
        second = await seed.seed(ident)
        out = io.StringIO()
        seed.report(second, out)
    assert first == second
    text = out.getvalue()
    assert seed.HUNTER.email in text and seed.CLIENT_SECRET in text and "TOTP" in text

    async def sign_in(d):
        r = await client.post("/api/v1/identity/sessions", json={"email": d.email, "password": d.password},
                              headers={"X-Forwarded-For": users.new_ip()})
        assert r.status_code == 200, r.text
        return r.json()

    hunter = await sign_in(seed.HUNTER)
    gunsmith = await sign_in(seed.GUNSMITH)
    colleague = await sign_in(seed.COLLEAGUE)
    me = {}
    for name, tok in (("hunter", hunter), ("gunsmith", gunsmith), ("colleague", colleague)):
        me[name] = (await client.get("/api/v1/identity/me",
                                     headers={"Authorization": f"Bearer {tok['access_token']}"})).json()
    assert me["hunter"]["access_level"] == "AS"
    assert me["gunsmith"]["access_level"] == "OPPD" and me["gunsmith"]["operator_role"] == "administrator"
    assert me["colleague"]["operator_id"] == me["gunsmith"]["operator_id"]
    email, password, *_ = seed.STAFF[1]
    officer = await client.post("/api/v1/identity/officers/sessions", json={
        "email": email, "password": password, "otp": pyotp.TOTP(first["staff"][email][1]).now()})
    assert officer.status_code == 200
    m = await client.post("/api/v1/identity/oauth/token", data={
        "grant_type": "client_credentials", "client_id": seed.CLIENT_ID, "client_secret": seed.CLIENT_SECRET})
    assert m.json()["scope"] == "decisions:read imputations:write"
    # Other services learn of the demo accounts through the usual events.
    await events.wait("identity.account.verified", email=seed.HUNTER.email)
    await events.wait("identity.habilitation.granted", account_id=str(first["gunsmith"]))
