"""The list of instructing officers a supervisor picks from to assign a case: who is in it, what it
shows (never an email, a password hash or TOTP data), and who may read it."""

from __future__ import annotations

from identity.cli import _disable

OFFICERS = "/api/v1/identity/officers"


async def test_supervisor_lists_officers_and_supervisors_with_their_state(client, users, ident):
    supervisor = await users.staff(["supervisor"])
    officer = await users.staff(["officer"], sign_in=False)
    both = await users.staff(["officer", "supervisor"], sign_in=False)
    gone = await users.staff(["officer"], sign_in=False)
    await _disable(ident, gone.email)
    pae = await users.staff(["pae_agent"], pae_code="PAE-ARA-LYON", sign_in=False)
    admin = await users.staff(["admin"], sign_in=False)
    applicant = await users.applicant()

    resp = await client.get(OFFICERS, headers=supervisor.headers)
    assert resp.status_code == 200, resp.text
    listed = {o["id"]: o for o in resp.json()}
    assert listed[officer.account_id] == {"id": officer.account_id, "display_name": "Paul Agent",
                                          "roles": ["officer"], "active": True}
    assert listed[both.account_id]["roles"] == ["officer", "supervisor"]
    assert listed[supervisor.account_id]["active"] is True
    assert listed[gone.account_id]["active"] is False
    for outsider in (pae.account_id, admin.account_id, applicant.account_id):
        assert outsider not in listed
    for item in resp.json():
        assert set(item) == {"id", "display_name", "roles", "active"}
    body = resp.text
    for secret in (officer.email, officer.totp_secret, "argon2", "totp"):
        assert secret not in body


async def test_officers_list_is_for_supervisors_only(client, users, problem):
    officer = await users.staff(["officer"])
    assert problem(await client.get(OFFICERS, headers=officer.headers), 403)["detail"] == (
        "Votre profil ne permet pas d'accéder à cette ressource.")
    problem(await client.get(OFFICERS), 401)
