"""Every route against every role, and against another owner's ids (404, never 403: an id
that is not yours does not exist for you)."""

from __future__ import annotations

import uuid

import pytest
from documents_testkit import PNG, PROBLEM, pdf
from eaps_kit.testing import bearer

LIBRARY_ROUTES = [
    ("GET", "/api/v1/documents"),
    ("POST", "/api/v1/documents"),
    ("GET", "/api/v1/documents/{id}"),
    ("PATCH", "/api/v1/documents/{id}"),
    ("DELETE", "/api/v1/documents/{id}"),
    ("GET", "/api/v1/documents/{id}/content"),
    ("GET", "/api/v1/documents/{id}/download-url"),
]
PINNED_ROUTES = [("GET", "/api/v1/documents/pinned/{pid}"), ("GET", "/api/v1/documents/pinned/{pid}/content")]
INTERNAL_ROUTES = [
    ("POST", "/internal/documents/{id}/pins"),
    ("POST", "/internal/documents/generated"),
    ("POST", "/internal/documents/reconciliation"),
]


def tokens(keys):
    return {
        "anonymous": None,
        "officer": keys.officer(),
        "supervisor": keys.officer(roles=["supervisor"]),
        "pae_agent": keys.officer(roles=["pae_agent"]),
        "admin": keys.officer(roles=["admin"]),
        "machine": keys.token(roles=["machine"], audience="eaps-internal", access_level=None, scope="decisions:read"),
        "applicant_on_internal_portal": keys.token(roles=["applicant"], audience="eaps-internal"),
        "forged": keys.applicant()[:-4] + "AAAA",
    }


async def _call(client, method, path, headers):
    kw = {}
    if method == "PATCH":
        kw["json"] = {"title": "x"}
    if method == "POST" and path.endswith("/documents"):
        kw["files"] = {"file": ("a.png", PNG, "image/png")}
    return await client.request(method, path, headers=headers, **kw)


@pytest.fixture
async def owned(applicant, client, internal):
    doc = (await applicant.upload(pdf(), "permis.pdf")).json()
    pin = await client.post(f"/internal/documents/{doc['id']}/pins", headers=internal, json={
        "dossier_id": str(uuid.uuid4()), "owner_account_id": str(applicant.account_id)})
    assert pin.status_code == 201, pin.text
    return doc["id"], pin.json()["pinned_document_id"]


async def test_library_routes_refuse_every_role_but_the_applicant(client, keys, owned):
    doc_id, _ = owned
    for role, token in tokens(keys).items():
        headers = bearer(token) if token else {}
        for method, path in LIBRARY_ROUTES:
            r = await _call(client, method, path.format(id=doc_id), headers)
            expected = 401 if role in ("anonymous", "forged") else 403
            assert r.status_code == expected, (role, method, path, r.status_code)
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["detail"]


async def test_another_applicant_gets_404_everywhere(other_applicant, client, owned, internal, applicant):
    doc_id, pinned_id = owned
    for method, path in LIBRARY_ROUTES:
        if "{id}" not in path:
            continue
        r = await _call(client, method, path.format(id=doc_id), other_applicant.headers)
        assert r.status_code == 404, (method, path, r.status_code)
        assert r.headers["content-type"] == PROBLEM
    for method, path in PINNED_ROUTES:
        r = await client.request(method, path.format(pid=pinned_id), headers=other_applicant.headers)
        assert r.status_code == 404, (method, path)
    # Attaching someone else's document to one's dossier: the dossier service passes the
    # dossier's owner, which is not the document's owner.
    r = await client.post(f"/internal/documents/{doc_id}/pins", headers=internal, json={
        "dossier_id": str(uuid.uuid4()), "owner_account_id": str(other_applicant.account_id)})
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    # Nothing was changed: the owner still has it.
    assert (await applicant.get(f"/api/v1/documents/{doc_id}")).status_code == 200
    listing = (await other_applicant.get("/api/v1/documents")).json()
    assert listing["total"] == 0


async def test_unknown_and_malformed_ids(applicant):
    assert (await applicant.get(f"/api/v1/documents/{uuid.uuid4()}")).status_code == 404
    r = await applicant.get("/api/v1/documents/not-a-uuid")
    assert r.status_code == 422
    assert r.json()["errors"][0]["message"] == "Un identifiant (UUID) est attendu."


async def test_pinned_copies_readable_by_owner_and_officers_only(client, keys, owned, applicant):
    _, pinned_id = owned
    allowed = {"officer": keys.officer(), "supervisor": keys.officer(roles=["supervisor"])}
    for token in allowed.values():
        for _, path in PINNED_ROUTES:
            assert (await client.get(path.format(pid=pinned_id), headers=bearer(token))).status_code == 200
    for _, path in PINNED_ROUTES:
        assert (await client.get(path.format(pid=pinned_id), headers=applicant.headers)).status_code == 200
    refused = {"anonymous": 401, "forged": 401, "pae_agent": 403, "admin": 403, "machine": 403,
               "applicant_on_internal_portal": 403}
    for role, token in tokens(keys).items():
        if role not in refused:
            continue
        for _, path in PINNED_ROUTES:
            r = await client.get(path.format(pid=pinned_id), headers=bearer(token) if token else {})
            assert r.status_code == refused[role], (role, path, r.status_code)
            assert r.headers["content-type"] == PROBLEM


async def test_internal_routes_need_the_internal_token(client, keys, owned):
    doc_id, _ = owned
    for headers in ({}, {"X-Internal-Token": "wrong"}, bearer(keys.officer()), bearer(keys.applicant())):
        for method, path in INTERNAL_ROUTES:
            r = await client.request(method, path.format(id=doc_id), headers=headers)
            assert r.status_code == 403, (headers, path)
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["detail"] == "Cette route est réservée aux services internes."


async def test_oppd_members_share_the_company_library(make_applicant):
    company = uuid.uuid4()
    alice = make_applicant(operator_id=company)
    bob = make_applicant(operator_id=company)
    alice_as = make_applicant(account_id=alice.account_id)  # the same person on simplified access
    outsider = make_applicant(operator_id=uuid.uuid4())
    doc = (await alice.upload(pdf(), "agrement.pdf", document_type="AGR-ARM")).json()
    assert (await bob.get(f"/api/v1/documents/{doc['id']}/content")).status_code == 200
    assert (await bob.get("/api/v1/documents")).json()["total"] == 1
    assert (await alice_as.get(f"/api/v1/documents/{doc['id']}")).status_code == 404
    assert (await outsider.get(f"/api/v1/documents/{doc['id']}")).status_code == 404
    r = await bob.client.delete(f"/api/v1/documents/{doc['id']}", headers=bob.headers)
    assert r.status_code == 204
    assert (await alice.get(f"/api/v1/documents/{doc['id']}")).status_code == 404
