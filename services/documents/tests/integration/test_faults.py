"""Faults of the real dependencies: clamd stopped then restarted, S3 stopped, a crash
between object and row (reconciliation)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from documents.adapters.orm import documents
from documents.service_layer.handlers import reconcile
from documents_testkit import PNG, PROBLEM, eicar_png, objects_in, pdf
from eaps_kit.testing import eventually

pytestmark = pytest.mark.fault


async def status_of(applicant, doc_id):
    return (await applicant.get(f"/api/v1/documents/{doc_id}")).json()["status"]


async def test_clamd_stopped_then_restarted_pending_document_becomes_available(applicant, clamd, client,
                                                                              internal, events, s3, settings):
    clamd.stop()
    try:
        content = pdf("envoyé pendant la panne")
        r = await applicant.upload(content, "attente.pdf")
        assert r.status_code == 201, r.text
        doc = r.json()
        assert doc["status"] == "pending_scan"
        infected = (await applicant.upload(eicar_png(), "cache.png")).json()
        assert infected["status"] == "pending_scan"
        # Never served nor attached unscanned.
        for d in (doc, infected):
            served = await applicant.get(f"/api/v1/documents/{d['id']}/content")
            assert served.status_code == 409
            assert served.headers["content-type"] == PROBLEM
            assert "en cours d'analyse" in served.json()["detail"]
            assert (await applicant.get(f"/api/v1/documents/{d['id']}/download-url")).status_code == 409
        attach = await client.post(f"/internal/documents/{doc['id']}/pins", headers=internal, json={
            "dossier_id": str(uuid.uuid4()), "owner_account_id": str(applicant.account_id)})
        assert attach.status_code == 409
    finally:
        await clamd.start()
    assert await eventually(lambda: _is(applicant, doc["id"], "available"), timeout=30)
    served = await applicant.get(f"/api/v1/documents/{doc['id']}/content")
    assert served.status_code == 200
    assert served.content == content
    await events.wait_for("documents.document.stored", document_id=doc["id"])
    assert await eventually(lambda: _is(applicant, infected["id"], "rejected"), timeout=30)
    await events.wait_for("documents.document.rejected", document_id=infected["id"])
    assert f"library/{infected['id']}" not in objects_in(s3, settings.library_bucket)
    assert (await applicant.get(f"/api/v1/documents/{infected['id']}/content")).status_code == 409


async def _is(applicant, doc_id, status):
    return await status_of(applicant, doc_id) == status


async def test_s3_stopped_answers_503_and_leaves_no_orphan(applicant, client, internal, s3, settings):
    kept = (await applicant.upload(PNG, "avant.png")).json()
    before = set(objects_in(s3, settings.library_bucket))
    s3.stop()
    try:
        r = await applicant.upload(pdf(), "pendant.pdf")
        assert r.status_code == 503
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["retry-after"] == "15"
        assert "stockage" in r.json()["detail"]
        big = PNG[:8] + b"\3" * (900 * 1024)
        assert (await applicant.upload(big, "gros.png")).status_code == 503
        listing = (await applicant.get("/api/v1/documents")).json()
        assert [d["id"] for d in listing["items"]] == [kept["id"]]
        served = await applicant.get(f"/api/v1/documents/{kept['id']}/content")
        assert served.status_code == 503
        assert served.headers["retry-after"] == "15"
        deleted = await applicant.client.delete(f"/api/v1/documents/{kept['id']}", headers=applicant.headers)
        assert deleted.status_code == 503
        attach = await client.post(f"/internal/documents/{kept['id']}/pins", headers=internal, json={
            "dossier_id": str(uuid.uuid4()), "owner_account_id": str(applicant.account_id)})
        assert attach.status_code == 503
    finally:
        s3.start()
    assert set(objects_in(s3, settings.library_bucket)) == before
    assert (await applicant.get("/api/v1/documents")).json()["total"] == 1
    served = await applicant.get(f"/api/v1/documents/{kept['id']}/content")
    assert served.status_code == 200
    assert served.content == PNG


async def test_reconciliation_removes_objects_without_rows_and_rows_without_objects(app, applicant, s3, settings,
                                                                                     events):
    deps = app.state.runtime.extras["documents"]
    kept = (await applicant.upload(pdf(), "garde.pdf")).json()
    # A crash after the object was written, before its row: an object without a row.
    orphan_key = f"library/{uuid.uuid4()}"
    s3.client().put_object(settings.library_bucket, orphan_key, io.BytesIO(PNG), len(PNG))
    # A row whose object vanished (crash after removing it, before the row's commit).
    lost_id = uuid.uuid4()
    old = datetime.now(UTC) - timedelta(hours=2)
    async with deps.session_factory() as session, session.begin():
        await session.execute(sa.insert(documents).values(
            id=lost_id, owner_account_id=applicant.account_id, origin="upload", title="perdu", filename="p.pdf",
            content_type="application/pdf", size=3, sha256="0" * 64, status="available",
            object_key=f"library/{lost_id}", created_at=old, updated_at=old))
    assert (await applicant.get("/api/v1/documents")).json()["total"] == 2

    # The old row goes; the young object is left alone (an upload may be between the two).
    report = await reconcile(deps, grace_seconds=3600)
    assert report == {"objects_removed": 0, "rows_removed": 1, "pinned_missing": 0}
    assert orphan_key in objects_in(s3, settings.library_bucket)

    report = await reconcile(deps, grace_seconds=0)
    assert report == {"objects_removed": 1, "rows_removed": 0, "pinned_missing": 0}
    assert orphan_key not in objects_in(s3, settings.library_bucket)
    listing = (await applicant.get("/api/v1/documents")).json()
    assert [d["id"] for d in listing["items"]] == [kept["id"]]
    await events.wait_for("documents.document.deleted", document_id=str(lost_id))
    assert (await applicant.get(f"/api/v1/documents/{kept['id']}/content")).status_code == 200
