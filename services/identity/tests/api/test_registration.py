"""Registration of private persons and professionals, email and SMS verification, and every bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from identity.adapters.orm import email_tokens

REG = "/api/v1/identity/registrations"


async def test_private_person_registers_verifies_both_channels_and_signs_in(client, users, events):
    app = await users.register(phone="06 12 34 56 78")
    registered = await events.wait("identity.account.registered", email=app.email)
    assert registered["phone"] == "+33612345678"  # E.164
    assert registered["kind"] == "individual" and registered["profile"] == "hunter"

    # Not usable before both verifications.
    pending = await users.sign_in(app)
    assert pending.status_code == 403 and "pas encore activé" in pending.json()["detail"]

    token = await users.email_link_token(app)
    link = (await events.wait("identity.email_verification.requested", email=app.email))["link"]
    assert link.startswith("http://localhost:8000/inscription/verifier-email?token=")
    first = await client.post(f"{REG}/email-verification", json={"token": token})
    assert first.json() == {"email_verified": True, "phone_verified": False, "status": "pending"}
    assert not events.of("identity.account.verified", account_id=app.account_id)

    code = await users.sms_code(app)
    second = await client.post(f"{REG}/phone-verification", json={"verification_id": app.verification_id, "code": code})
    assert second.json() == {"email_verified": True, "phone_verified": True, "status": "active"}
    verified = await events.wait("identity.account.verified", account_id=app.account_id)
    assert verified["email"] == app.email

    assert (await users.sign_in(app)).status_code == 200
    me = await client.get("/api/v1/identity/me", headers=app.headers)
    assert me.json()["phone"] == "+33612345678" and me.json()["access_level"] == "AS"


async def test_professional_registers_with_siret_and_eori(client, users, events):
    app = await users.register(kind="professional", eori="FR73282932000074")
    registered = await events.wait("identity.account.registered", email=app.email)
    assert registered["kind"] == "professional" and registered["siret"] == "73282932000074"
    await users.verify(app)
    await users.sign_in(app)
    me = (await client.get("/api/v1/identity/me", headers=app.headers)).json()
    assert me["company_name"] == "Armurerie du Centre" and me["eori"] == "FR73282932000074"


async def test_profiles_for_the_form_are_listed_without_signing_in(client):
    resp = await client.get(f"{REG}/profiles")
    codes = {p["code"] for p in resp.json()["individual"]}
    assert {"hunter", "sport_shooter", "ball_trap", "collector"} <= codes
    assert "gunsmith" in {p["code"] for p in resp.json()["professional"]}


async def _rejected(client, users, problem, body, field_name):
    resp = await client.post(REG, json=body)
    out = problem(resp, 422)
    assert any(e["field"] == field_name for e in out["errors"]), out
    # Nothing was created: no account event for this email.
    return out


async def test_malformed_email_is_refused_in_french(client, users, events, problem):
    out = await _rejected(client, users, problem, users.registration(email="pas-une-adresse"), "email")
    assert "adresse électronique n'est pas valide" in str(out["errors"])


async def test_malformed_or_landline_phone_is_refused(client, users, problem):
    out = await _rejected(client, users, problem, users.registration(phone="12ab"), "phone")
    assert "téléphone portable n'est pas valide" in str(out["errors"])
    out = await _rejected(client, users, problem, users.registration(phone="01 42 75 80 00"), "phone")
    assert "recevoir des SMS" in str(out["errors"])


async def test_weak_password_says_which_rules_are_broken(client, users, events, problem):
    body = users.registration(password="court")
    out = problem(await client.post(REG, json=body), 422)
    messages = [e["message"] for e in out["errors"]]
    assert any("au moins 12 caractères" in m for m in messages)
    assert any("majuscule" in m for m in messages)
    assert any("chiffre" in m for m in messages)
    assert any("caractère spécial" in m for m in messages)
    assert not any("minuscule" in m for m in messages)
    out = problem(await client.post(REG, json=users.registration(password="Jeanne-Martin-2024")), 422)
    assert "votre nom" in out["detail"]
    assert not events.of("identity.account.registered", email=body["email"])


async def test_professional_needs_company_and_a_valid_siret(client, users, problem):
    out = problem(await client.post(REG, json=users.registration(kind="professional", profile="gunsmith")), 422)
    assert "raison sociale et le SIRET sont obligatoires" in out["detail"] + str(out["errors"])
    out = await _rejected(client, users, problem, users.professional(siret="73282932000075"), "siret")
    assert "clé de contrôle" in str(out["errors"])
    out = await _rejected(client, users, problem, users.professional(siret="1234"), "siret")
    assert "14 chiffres" in str(out["errors"])
    out = await _rejected(client, users, problem, users.professional(eori="FR123"), "eori")


async def test_profile_must_match_the_kind_and_mandatory_fields_are_checked(client, users, problem):
    out = problem(await client.post(REG, json=users.registration(profile="gunsmith")), 422)
    assert out["errors"][0]["field"] == "profile"
    body = users.registration()
    del body["first_name"]
    out = problem(await client.post(REG, json=body), 422)
    assert out["errors"][0] == {"field": "first_name", "message": "Ce champ est obligatoire.", "type": "missing"}


async def test_duplicate_email_gets_the_same_answer_and_the_owner_is_told(client, users, events, problem):
    owner = await users.applicant()
    first_answer_keys = {"verification_id", "detail"}
    attempt = users.registration(email=owner.email, password="Autre-Mot2passe!!")
    resp = await client.post(REG, json=attempt)
    assert resp.status_code == 202 and set(resp.json()) == first_answer_keys
    assert resp.json()["detail"].startswith("Votre demande d'inscription est enregistrée")
    told = await events.wait("identity.account.registration_attempted", email=owner.email)
    assert told["account_id"] == owner.account_id
    # No second account: the intruder's password does not open the owner's account.
    intruder = type(owner)(owner.email, attempt["password"])
    assert (await users.sign_in(intruder)).status_code == 401
    assert (await users.sign_in(owner)).status_code == 200
    # The decoy verification id behaves like a real one with a wrong code.
    wrong = await client.post(f"{REG}/phone-verification",
                              json={"verification_id": resp.json()["verification_id"], "code": "123456"})
    body = problem(wrong, 400)
    assert body["detail"].startswith("Le code saisi est incorrect.")


async def test_email_link_is_single_use_and_expires(client, users, ident, events, problem):
    app = await users.register()
    token = await users.email_link_token(app)
    assert (await client.post(f"{REG}/email-verification", json={"token": token})).status_code == 200
    reused = problem(await client.post(f"{REG}/email-verification", json={"token": token}), 410)
    assert "déjà été utilisé" in reused["detail"]
    unknown = problem(await client.post(f"{REG}/email-verification", json={"token": "x" * 40}), 400)
    assert "n'est pas valide" in unknown["detail"]

    other = await users.register()
    token = await users.email_link_token(other)
    async with ident.session_factory() as session, session.begin():  # the link is now a day old
        await session.execute(sa.update(email_tokens).where(email_tokens.c.account_id == other.account_id)
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = problem(await client.post(f"{REG}/email-verification", json={"token": token}), 410)
    assert "a expiré" in expired["detail"]
    # Still unverified; a new link (asked for by email) works.
    resend = await client.post(f"{REG}/email-verification/resend", json={"email": other.email})
    assert resend.status_code == 202
    from eaps_kit.testing import eventually

    links = await eventually(lambda: events.of("identity.email_verification.requested", email=other.email)[1:])
    new_token = links[-1]["link"].split("token=", 1)[1]
    assert new_token != token
    ok = await client.post(f"{REG}/email-verification", json={"token": new_token})
    assert ok.json()["email_verified"] is True


async def test_sms_code_tries_are_limited_then_a_new_code_works(client, users, events, problem):
    app = await users.register()
    await client.post(f"{REG}/email-verification", json={"token": await users.email_link_token(app)})
    code = await users.sms_code(app)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        body = problem(await client.post(f"{REG}/phone-verification",
                                         json={"verification_id": app.verification_id, "code": wrong}), 400)
        assert f"Il vous reste {left} essai(s)" in body["detail"]
    problem(await client.post(f"{REG}/phone-verification",
                              json={"verification_id": app.verification_id, "code": wrong}), 429)
    # Past its tries, even the right code is refused and nothing changes.
    body = problem(await client.post(f"{REG}/phone-verification",
                                     json={"verification_id": app.verification_id, "code": code}), 429)
    assert "nouveau code" in body["detail"]
    assert (await users.sign_in(app)).status_code == 403
    assert not events.of("identity.account.verified", account_id=app.account_id)

    resend = await client.post(f"{REG}/phone-verification/resend", json={"verification_id": app.verification_id})
    assert resend.status_code == 202
    new_id = resend.json()["verification_id"]
    new_code = (await eventually_new_code(events, app.account_id, code))
    ok = await client.post(f"{REG}/phone-verification", json={"verification_id": new_id, "code": new_code})
    assert ok.json()["status"] == "active"


async def eventually_new_code(events, account_id, old):
    from eaps_kit.testing import eventually

    codes = await eventually(lambda: [e["code"] for e in events.of("identity.phone_verification.requested",
                                                                    account_id=account_id)][1:])
    return codes[-1]


async def test_sms_code_expires(client, users, ident, problem):
    from identity.adapters.orm import phone_codes

    app = await users.register()
    code = await users.sms_code(app)
    async with ident.session_factory() as session, session.begin():
        await session.execute(sa.update(phone_codes).where(phone_codes.c.account_id == app.account_id)
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    body = problem(await client.post(f"{REG}/phone-verification",
                                     json={"verification_id": app.verification_id, "code": code}), 410)
    assert "a expiré" in body["detail"]


async def test_code_format_is_checked(client, problem):
    body = problem(await client.post(f"{REG}/phone-verification",
                                     json={"verification_id": "not-a-uuid", "code": "12"}), 422)
    assert {e["field"] for e in body["errors"]} == {"verification_id", "code"}
