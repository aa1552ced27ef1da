"""Instructing officers read the documents the administration generated (authorisation PDFs),
whoever holds them, on the internal audience only; never an applicant's own library document."""

from __future__ import annotations

import uuid

import pytest
from documents_testkit import PROBLEM, pdf
from eaps_kit.testing import bearer

ROUTE = "/api/v1/documents/generated/{id}/content"


@pytest.fixture
async def generated(client, internal, applicant):
    content = pdf("Autorisation AIMG n° 2025-000777")
    r = await client.post("/internal/documents/generated", headers=internal, data={
        "owner_account_id": str(applicant.account_id), "title": "Autorisation 2025-000777",
        "document_type": "AUTORISATION"}, files={"file": ("AIMG-2025-000777.pdf", content, "application/pdf")})
    assert r.status_code == 201, r.text
    return r.json()["id"], content


@pytest.mark.parametrize("roles", [["officer"], ["supervisor"], ["officer", "supervisor"]])
async def test_officers_download_the_generated_pdf(client, keys, generated, roles):
    doc_id, content = generated
    r = await client.get(ROUTE.format(id=doc_id), headers=bearer(keys.officer(roles=roles)))
    assert r.status_code == 200, r.text
    assert r.content == content
    assert r.headers["content-type"] == "application/pdf"
    assert 'filename="AIMG-2025-000777.pdf"' in r.headers["content-disposition"]
    assert r.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(("who", "status"), [
    ("anonymous", 401), ("forged", 401), ("holder_on_public_portal", 403), ("pae_agent", 403), ("admin", 403),
    ("machine", 403), ("applicant_on_internal_portal", 403), ("officer_on_public_portal", 403),
])
async def test_everyone_else_is_refused(client, keys, generated, applicant, who, status):
    doc_id, _ = generated
    tokens = {
        "anonymous": None,
        "forged": keys.officer()[:-4] + "AAAA",
        "pae_agent": keys.officer(roles=["pae_agent"]),
        "admin": keys.officer(roles=["admin"]),
        "machine": keys.token(roles=["machine"], audience="eaps-internal", access_level=None, scope="decisions:read"),
        "applicant_on_internal_portal": keys.token(roles=["applicant"], audience="eaps-internal"),
        "officer_on_public_portal": keys.token(roles=["officer"], audience="eaps-public", access_level=None),
    }
    headers = applicant.headers if who == "holder_on_public_portal" else (
        bearer(tokens[who]) if tokens[who] else {})
    r = await client.get(ROUTE.format(id=doc_id), headers=headers)
    assert r.status_code == status, (who, r.status_code, r.text)
    assert r.headers["content-type"] == PROBLEM and r.json()["detail"]


async def test_an_applicants_library_document_is_not_found_by_an_officer(client, keys, applicant):
    uploaded = (await applicant.upload(pdf("Permis de chasser"), "permis.pdf")).json()
    assert (await applicant.get(f"/api/v1/documents/{uploaded['id']}")).status_code == 200
    r = await client.get(ROUTE.format(id=uploaded["id"]), headers=bearer(keys.officer()))
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    assert r.json()["detail"] == "Ce document n'existe pas."


async def test_unknown_and_malformed_ids(client, keys):
    headers = bearer(keys.officer())
    r = await client.get(ROUTE.format(id=uuid.uuid4()), headers=headers)
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    r = await client.get(ROUTE.format(id="pas-un-identifiant"), headers=headers)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["message"] == "Un identifiant (UUID) est attendu."
