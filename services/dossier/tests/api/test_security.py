"""Every route against every role, and against another applicant's ids (404 everywhere)."""

from __future__ import annotations

import uuid

import pytest
from dossier_testkit import LINE, complete_dossier, h, transmit

DOSSIER_ROUTES = [
    ("GET", "/api/v1/dossiers/{id}", None),
    ("GET", "/api/v1/dossiers/{id}/recapitulatif", None),
    ("DELETE", "/api/v1/dossiers/{id}", None),
    ("PUT", "/api/v1/dossiers/{id}/informations", {"flow": "IMP"}),
    ("POST", "/api/v1/dossiers/{id}/lines", LINE),
    ("PUT", "/api/v1/dossiers/{id}/lines/1", LINE),
    ("DELETE", "/api/v1/dossiers/{id}/lines/1", None),
    ("PUT", "/api/v1/dossiers/{id}/demandeur", {"motive": "achat"}),
    ("PUT", "/api/v1/dossiers/{id}/justificatifs/ID", {"document_id": str(uuid.uuid4())}),
    ("DELETE", "/api/v1/dossiers/{id}/justificatifs/ID", None),
    ("POST", "/api/v1/dossiers/{id}/steps/1/validation", None),
    ("POST", "/api/v1/dossiers/{id}/transmission", None),
    ("POST", "/api/v1/dossiers/{id}/withdrawal", {"reason": "test"}),
    ("GET", "/api/v1/dossiers/{id}/history", None),
    ("GET", "/api/v1/dossiers/{id}/messages", None),
    ("POST", "/api/v1/dossiers/{id}/messages", {"body": "Bonjour"}),
    ("POST", "/api/v1/dossiers/{id}/messages/read", None),
]
COLLECTION_ROUTES = [
    ("GET", "/api/v1/dossiers", None), ("POST", "/api/v1/dossiers", None), ("GET", "/api/v1/dossiers/reference", None),
    ("GET", "/api/v1/search/dossiers", None), ("GET", "/api/v1/search/dossiers/export", None),
    ("GET", "/api/v1/search/authorisations", None), ("GET", "/api/v1/search/authorisations/export", None),
    ("GET", "/api/v1/authorisations", None), ("GET", f"/api/v1/authorisations/{uuid.uuid4()}", None),
]


@pytest.fixture(scope="module")
async def owned(env, keys):
    """A transmitted dossier of one applicant (a draft would hide routes behind 409)."""
    owner = keys.applicant()
    d = await complete_dossier(env, owner)
    sent = (await transmit(env, owner, d))["dossier"]
    return owner, sent


def _call(env, method, path, body, headers):
    return env.client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), DOSSIER_ROUTES + COLLECTION_ROUTES)
async def test_no_token_answers_401(env, owned, method, path, body):
    _, d = owned
    r = await _call(env, method, path.format(id=d["id"]), body, {"If-Match": '"1"'})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["officer", "supervisor", "pae_agent", "admin"])
@pytest.mark.parametrize(("method", "path", "body"), DOSSIER_ROUTES + COLLECTION_ROUTES)
async def test_staff_tokens_are_refused(env, keys, owned, role, method, path, body):
    _, d = owned
    token = keys.officer(roles=[role])
    r = await _call(env, method, path.format(id=d["id"]), body, h(token, d["version"]))
    assert r.status_code == 403
    assert r.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body"), DOSSIER_ROUTES)
async def test_another_applicants_dossier_answers_404(env, keys, owned, method, path, body):
    owner, d = owned
    for intruder in (keys.applicant(), keys.applicant(access_level="OPPD", operator_id=uuid.uuid4())):
        r = await _call(env, method, path.format(id=d["id"]), body, h(intruder, d["version"]))
        assert r.status_code == 404, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    # The owner still sees it unchanged.
    r = await env.client.get(f"/api/v1/dossiers/{d['id']}", headers=h(owner))
    assert r.status_code == 200 and r.json()["version"] == d["version"]


async def test_another_applicants_dossier_never_shows_in_lists_search_or_export(env, keys, owned):
    _, d = owned
    intruder = keys.applicant()
    for path in ("/api/v1/dossiers", f"/api/v1/search/dossiers?number={d['registration_number']}"):
        r = await env.client.get(path, headers=h(intruder))
        assert r.status_code == 200 and r.json()["total"] == 0
    r = await env.client.get("/api/v1/search/dossiers/export?format=csv", headers=h(intruder))
    assert r.status_code == 200
    assert d["registration_number"] not in r.content.decode("utf-8-sig")


async def test_oppd_members_share_their_companys_dossiers_and_as_users_only_their_own(env, keys):
    company, other_company = uuid.uuid4(), uuid.uuid4()
    alice = keys.applicant(access_level="OPPD", operator_id=company)
    bob = keys.applicant(access_level="OPPD", operator_id=company)
    mallory = keys.applicant(access_level="OPPD", operator_id=other_company)
    d = await complete_dossier(env, alice)
    r = await env.client.get(f"/api/v1/dossiers/{d['id']}", headers=h(bob))
    assert r.status_code == 200
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json={"motive_details": "Pour un client"},
                             headers=h(bob, d["version"]))
    assert r.status_code == 200
    assert (await env.client.get(f"/api/v1/dossiers/{d['id']}", headers=h(mallory))).status_code == 404
    # The same person signed in with simplified access (AS) does not see the company's dossiers.
    alice_as = keys.applicant(sub=uuid.UUID(_sub(alice)), access_level="AS")
    assert (await env.client.get(f"/api/v1/dossiers/{d['id']}", headers=h(alice_as))).status_code == 404
    r = await env.client.get("/api/v1/dossiers", headers=h(bob))
    assert d["id"] in [x["id"] for x in r.json()["items"]]


async def test_an_oppd_token_without_operator_is_refused(env, keys):
    r = await env.client.get("/api/v1/dossiers", headers=h(keys.applicant(access_level="OPPD")))
    assert r.status_code == 403


def _sub(token: str) -> str:
    from dossier_testkit import token_claims

    return str(token_claims(token)["sub"])
