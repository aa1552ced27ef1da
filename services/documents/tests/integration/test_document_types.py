"""Document types come from the classification's document codes: the real classification
service (served in-process), and what happens when it is away."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from classification.main import create_app as classification_app
from documents.adapters.classification import DocumentTypes
from documents_testkit import PROBLEM, objects_in, pdf
from eaps_kit.testing import free_port, serve_app

UNKNOWN = "Ce type de document n'existe pas dans la liste des justificatifs"


@contextlib.contextmanager
def document_types_of(app: Any, replacement: DocumentTypes) -> Iterator[None]:
    """Give the running documents service another classification client (a fresh, empty cache)."""
    deps = app.state.runtime.extras["documents"]
    original = deps.document_types
    deps.document_types = replacement
    try:
        yield
    finally:
        deps.document_types = original


async def patch(applicant, doc_id: str, **body: Any):
    return await applicant.client.patch(f"/api/v1/documents/{doc_id}", headers=applicant.headers, json=body)


async def test_a_classification_code_is_accepted_on_upload_and_change(applicant):
    r = await applicant.upload(pdf(), "permis.pdf", document_type="PC")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["document_type"] == "PC"
    r = await patch(applicant, doc["id"], document_type="AGR-ARM")
    assert r.status_code == 200, r.text
    assert (await applicant.get(f"/api/v1/documents/{doc['id']}")).json()["document_type"] == "AGR-ARM"


async def test_an_unknown_code_is_refused_and_leaves_nothing(applicant, s3, settings):
    before = objects_in(s3, settings.library_bucket)
    # Well formed, but not one of the classification's codes (AUTORISATION is the administration's own).
    for code in ("XYZ", "AUTORISATION", "pc"):
        r = await applicant.upload(pdf(), "inconnu.pdf", document_type=code)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
        body = r.json()
        assert "document_type" in body["detail"]
        assert body["errors"] == [{"field": "document_type", "message": body["errors"][0]["message"],
                                   "type": "value_error"}]
        assert body["errors"][0]["message"].startswith(UNKNOWN)
        assert "8102" not in r.text and "127.0.0.1" not in r.text
    assert (await applicant.get("/api/v1/documents")).json()["total"] == 0
    assert objects_in(s3, settings.library_bucket) == before


async def test_an_unknown_code_is_refused_on_change_and_the_document_is_unchanged(applicant, other_applicant):
    doc = (await applicant.upload(pdf(), "licence.pdf", document_type="LIC")).json()
    r = await patch(applicant, doc["id"], document_type="NOPE", title="Nouveau titre")
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "document_type"
    after = (await applicant.get(f"/api/v1/documents/{doc['id']}")).json()
    assert (after["document_type"], after["title"]) == ("LIC", doc["title"])
    # Another applicant's document stays out of sight, whatever the code.
    for code in ("PC", "NOPE"):
        assert (await patch(other_applicant, doc["id"], document_type=code)).status_code == 404


async def test_classification_down_and_nothing_cached_answers_503_and_writes_nothing(app, applicant, s3,
                                                                                     settings):
    doc = (await applicant.upload(pdf(), "avant.pdf", document_type="PC")).json()
    before = objects_in(s3, settings.library_bucket)
    down = DocumentTypes(f"http://127.0.0.1:{free_port()}", timeout=1)
    try:
        with document_types_of(app, down):
            r = await applicant.upload(pdf(), "panne.pdf", document_type="LIC")
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == PROBLEM
            assert r.headers["retry-after"] == str(settings.retry_after_seconds)
            assert "momentanément indisponible" in r.json()["detail"]
            assert (await applicant.get("/api/v1/documents")).json()["total"] == 1
            assert objects_in(s3, settings.library_bucket) == before
            r = await patch(applicant, doc["id"], document_type="LIC")
            assert r.status_code == 503
            assert r.headers["retry-after"] == str(settings.retry_after_seconds)
            assert (await applicant.get(f"/api/v1/documents/{doc['id']}")).json()["document_type"] == "PC"
            # What needs no code does not need classification.
            assert (await applicant.upload(pdf(), "sans-type.pdf", document_type="")).status_code == 201
            assert (await patch(applicant, doc["id"], document_type="PC", title="Permis")).status_code == 200
    finally:
        await down.aclose()


async def test_classification_down_with_a_cache_uses_it_even_expired(app, applicant, classification_settings,
                                                                     keys, caplog):
    cls = classification_app(classification_settings, token_verifier=keys.verifier())
    async with serve_app(cls) as url:
        cached = DocumentTypes(url, timeout=1, ttl=0, retry_after_failure=0)
        with document_types_of(app, cached):
            doc = (await applicant.upload(pdf(), "permis.pdf", document_type="PC")).json()
            assert doc["document_type"] == "PC"
    try:
        # Classification is gone and the cache expired at once (ttl 0): the cached list still decides.
        with document_types_of(app, cached):
            r = await applicant.upload(pdf(), "licence.pdf", document_type="LIC")
            assert r.status_code == 201, r.text
            assert (await patch(applicant, doc["id"], document_type="CEAF")).status_code == 200
            r = await applicant.upload(pdf(), "inconnu.pdf", document_type="XYZ")
            assert r.status_code == 422
            assert r.json()["errors"][0]["field"] == "document_type"
        assert "classification unreachable" in caplog.text
        assert {d["document_type"] for d in (await applicant.get("/api/v1/documents")).json()["items"]} == {
            "CEAF", "LIC"}
    finally:
        await cached.aclose()


pytestmark = pytest.mark.usefixtures("client")
