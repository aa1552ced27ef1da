"""SOPRANO access levels: AS for every verified account, OPPD granted by a PAE agent, operators' members."""

from __future__ import annotations

HAB = "/api/v1/identity/habilitation-requests"
PAE = "/api/v1/identity/pae/habilitation-requests"


def _request(users, **over):
    body = {"pae_code": "PAE-IDF-PARIS", "company_name": "Tir & Chasse SAS", "siret": users.valid_siret(),
            "teleservices": ["SOPRANO-RP"], "justification": "Nous importons des armes de chasse chaque mois."}
    body.update(over)
    return body


async def test_soprano_home_shows_what_simplified_access_opens(client, users, problem):
    app = await users.applicant()
    home = {t["code"]: t for t in (await client.get("/api/v1/identity/teleservices", headers=app.headers)).json()}
    assert home["e-APS"]["available"] is True and home["e-APS"]["access"] == "AS"
    assert home["SOPRANO-RP"]["available"] is False and home["SOPRANO-RP"]["access"] == "OPPD"
    assert (await client.get("/api/v1/identity/teleservices/e-APS", headers=app.headers)).status_code == 200
    body = problem(await client.get("/api/v1/identity/teleservices/SOPRANO-RP", headers=app.headers), 403)
    assert "Opérateur ProDou@ne (OPPD)" in body["detail"]
    problem(await client.get("/api/v1/identity/teleservices/INCONNU", headers=app.headers), 404)


async def test_pae_are_listed_by_region(client, users):
    app = await users.applicant()
    pae = (await client.get("/api/v1/identity/catalogue/pae", headers=app.headers)).json()
    assert len(pae) >= 10 and {"code", "name", "region", "email"} <= set(pae[0])
    assert any(p["region"] == "Île-de-France" for p in pae)


async def test_a_pae_agent_grants_oppd_and_the_next_token_carries_it(client, users, events):
    pro = await users.applicant(kind="professional")
    body = _request(users)
    created = await client.post(HAB, headers=pro.headers, json=body)
    assert created.status_code == 201 and created.json()["status"] == "pending"
    request_id = created.json()["id"]
    requested = await events.wait("identity.habilitation.requested", request_id=request_id)
    assert requested["pae_code"] == "PAE-IDF-PARIS" and requested["siret"] == body["siret"]

    agent = await users.staff(["pae_agent"], pae_code="PAE-IDF-PARIS")
    queue = (await client.get(PAE, headers=agent.headers, params={"status": "pending"})).json()
    assert request_id in [r["id"] for r in queue]
    granted = await client.post(f"{PAE}/{request_id}/grant", headers=agent.headers, json={"reason": "Conforme."})
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    event = await events.wait("identity.habilitation.granted", request_id=request_id)
    assert event["teleservices"] == ["SOPRANO-RP"] and event["decided_by"] == agent.account_id
    member = await events.wait("identity.operator.member_added", account_id=pro.account_id)
    assert member["role"] == "administrator" and member["operator_id"] == event["operator_id"]

    # The current token is unchanged; the next one carries OPPD, the company and the habilitations.
    assert (await users.refresh(pro)).status_code == 200
    me = (await client.get("/api/v1/identity/me", headers=pro.headers)).json()
    assert me["access_level"] == "OPPD" and me["operator_id"] == event["operator_id"]
    assert me["teleservices"] == ["e-APS", "SOPRANO-RP"] and me["operator_role"] == "administrator"
    jwks_claims = await _claims(client, pro.access_token)
    assert jwks_claims.access_level == "OPPD" and str(jwks_claims.operator_id) == event["operator_id"]
    assert jwks_claims.teleservices == ["e-APS", "SOPRANO-RP"]
    assert (await client.get("/api/v1/identity/teleservices/SOPRANO-RP", headers=pro.headers)).status_code == 200
    # Habilitated for SOPRANO-RP only, not for the other OPPD teleservice.
    assert (await client.get("/api/v1/identity/teleservices/SOPRANO-BTI", headers=pro.headers)).status_code == 403

    again = await client.post(f"{PAE}/{request_id}/refuse", headers=agent.headers, json={"reason": "Trop tard."})
    assert again.status_code == 409


async def _claims(client, token):
    from eaps_kit.auth import TokenVerifier
    from joserfc.jwk import KeySet

    jwks = (await client.get("/.well-known/jwks.json")).json()
    return await TokenVerifier(issuer="https://identity.eaps.local", audiences=["eaps-public"],
                               keyset=KeySet.import_key_set(jwks)).verify(token)


async def test_refusal_needs_a_reason_and_the_user_is_told(client, users, events, problem):
    app = await users.applicant(kind="professional")
    created = await client.post(HAB, headers=app.headers, json=_request(users, pae_code="PAE-NOR-ROUEN"))
    request_id = created.json()["id"]
    agent = await users.staff(["pae_agent"], pae_code="PAE-NOR-ROUEN")
    out = problem(await client.post(f"{PAE}/{request_id}/refuse", headers=agent.headers, json={}), 422)
    assert out["errors"][0]["field"] == "reason"
    assert (await client.get(f"{HAB}/{request_id}", headers=app.headers)).json()["status"] == "pending"
    resp = await client.post(f"{PAE}/{request_id}/refuse", headers=agent.headers,
                             json={"reason": "Le SIRET ne correspond pas à la raison sociale."})
    assert resp.json()["status"] == "refused"
    event = await events.wait("identity.habilitation.refused", request_id=request_id)
    assert event["reason"] == "Le SIRET ne correspond pas à la raison sociale."
    mine = (await client.get(f"{HAB}/{request_id}", headers=app.headers)).json()
    assert mine["status"] == "refused" and mine["reason"].startswith("Le SIRET")
    await users.refresh(app)
    assert (await client.get("/api/v1/identity/me", headers=app.headers)).json()["access_level"] == "AS"


async def test_bad_habilitation_requests(client, users, problem):
    app = await users.applicant(kind="professional")
    problem(await client.post(HAB, headers=app.headers, json=_request(users, pae_code="PAE-ATLANTIDE")), 422)
    out = problem(await client.post(HAB, headers=app.headers, json=_request(users, teleservices=["NOPE"])), 422)
    assert "inconnu" in out["detail"]
    out = problem(await client.post(HAB, headers=app.headers, json=_request(users, siret="12345678901234")), 422)
    assert "clé de contrôle" in str(out["errors"])
    problem(await client.post(HAB, headers=app.headers, json=_request(users, teleservices=[])), 422)
    problem(await client.post(HAB, headers=app.headers, json=_request(users, justification="court")), 422)
    assert (await client.get(HAB, headers=app.headers)).json() == []
    assert (await client.post(HAB, headers=app.headers, json=_request(users))).status_code == 201
    out = problem(await client.post(HAB, headers=app.headers, json=_request(users)), 409)
    assert "déjà une demande" in out["detail"]


async def test_another_applicant_or_another_pae_sees_nothing(client, users, problem):
    owner = await users.applicant(kind="professional")
    request_id = (await client.post(HAB, headers=owner.headers, json=_request(users, pae_code="PAE-BRE-RENNES"))
                  ).json()["id"]
    stranger = await users.applicant()
    problem(await client.get(f"{HAB}/{request_id}", headers=stranger.headers), 404)
    assert (await client.get(HAB, headers=stranger.headers)).json() == []
    elsewhere = await users.staff(["pae_agent"], pae_code="PAE-OCC-TOULOUSE")
    problem(await client.get(f"{PAE}/{request_id}", headers=elsewhere.headers), 404)
    problem(await client.post(f"{PAE}/{request_id}/grant", headers=elsewhere.headers, json={}), 404)
    assert request_id not in [r["id"] for r in (await client.get(PAE, headers=elsewhere.headers)).json()]
    assert (await client.get(f"{HAB}/{request_id}", headers=owner.headers)).json()["status"] == "pending"


async def test_company_already_habilitated_cannot_be_claimed_by_someone_else(client, users, problem):
    admin, _ = await users.oppd_operator()
    siret = (await client.get("/api/v1/identity/operators/me", headers=admin.headers)).json()["siret"]
    outsider = await users.applicant(kind="professional")
    out = problem(await client.post(HAB, headers=outsider.headers, json=_request(users, siret=siret)), 409)
    assert "demandez à son administrateur" in out["detail"]


async def test_administrator_invites_a_colleague_who_then_acts_for_the_company(client, users, events, problem):
    admin, _ = await users.oppd_operator(pae_code="PAE-GE-STRASBOURG")
    colleague = await users.applicant(kind="professional")
    resp = await client.post("/api/v1/identity/operators/me/invitations", headers=admin.headers,
                             json={"email": colleague.email})
    assert resp.status_code == 202
    invited = await events.wait("identity.operator.invitation_created", email=colleague.email)
    # Unknown addresses get the same answer.
    ghost = await client.post("/api/v1/identity/operators/me/invitations", headers=admin.headers,
                              json={"email": users.fresh_email()})
    assert ghost.status_code == 202 and ghost.json() == resp.json()

    stranger = await users.applicant()
    problem(await client.post(f"/api/v1/identity/invitations/{invited['invitation_id']}/accept",
                              headers=stranger.headers), 404)
    mine = (await client.get("/api/v1/identity/invitations", headers=colleague.headers)).json()
    assert [i["id"] for i in mine] == [invited["invitation_id"]]
    accepted = await client.post(f"/api/v1/identity/invitations/{invited['invitation_id']}/accept",
                                 headers=colleague.headers)
    assert accepted.status_code == 200 and accepted.json()["my_role"] == "member"
    assert {m["email"] for m in accepted.json()["members"]} == {admin.email, colleague.email}
    added = await events.wait("identity.operator.member_added", account_id=colleague.account_id)
    assert added["role"] == "member" and added["added_by"] == admin.account_id
    problem(await client.post(f"/api/v1/identity/invitations/{invited['invitation_id']}/accept",
                              headers=colleague.headers), 409)

    await users.refresh(colleague)
    claims = await _claims(client, colleague.access_token)
    admin_claims = await _claims(client, admin.access_token)
    assert claims.operator_id == admin_claims.operator_id and claims.access_level == "OPPD"
    assert "SOPRANO-RP" in claims.teleservices
    # A member cannot invite; only the administrator can.
    out = problem(await client.post("/api/v1/identity/operators/me/invitations", headers=colleague.headers,
                                    json={"email": users.fresh_email()}), 403)
    assert "administrateur" in out["detail"]


async def test_without_a_company_there_is_no_operator_page_and_no_invitation(client, users, problem):
    app = await users.applicant()
    problem(await client.get("/api/v1/identity/operators/me", headers=app.headers), 404)
    problem(await client.post("/api/v1/identity/operators/me/invitations", headers=app.headers,
                              json={"email": users.fresh_email()}), 403)
    problem(await client.post("/api/v1/identity/operators/me/invitations", headers=app.headers,
                              json={"email": "pas-une-adresse"}), 422)
