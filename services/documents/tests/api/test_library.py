"""The library through the API: upload checks, antivirus, listing, metadata, download, delete."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
from documents_testkit import (
    ELF,
    JPEG,
    PNG,
    PROBLEM,
    TEST_LIMIT,
    eicar,
    eicar_png,
    encrypted_pdf,
    objects_in,
    pdf,
    raw_form,
)


async def test_pdf_upload_is_scanned_and_available(applicant, events):
    content = pdf()
    r = await applicant.upload(content, "permis.pdf", title="Permis de chasser", document_type="PC",
                               valid_from="2024-01-01", valid_until="2029-01-01")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["status"] == "available"
    assert doc["content_type"] == "application/pdf"
    assert doc["filename"] == "permis.pdf"
    assert doc["size"] == len(content)
    assert doc["sha256"] == hashlib.sha256(content).hexdigest()
    assert doc["valid_until"] == "2029-01-01"
    body = await applicant.get(f"/api/v1/documents/{doc['id']}/content")
    assert body.status_code == 200
    assert body.content == content
    assert body.headers["content-type"] == "application/pdf"
    assert "attachment" in body.headers["content-disposition"]
    stored = await events.wait_for("documents.document.stored", document_id=doc["id"])
    assert stored["sha256"] == doc["sha256"]
    assert stored["owner_account_id"] == str(applicant.account_id)


async def test_png_renamed_pdf_is_accepted_as_png(applicant):
    r = await applicant.upload(PNG, "scan.pdf")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["content_type"] == "image/png"
    assert doc["filename"] == "scan.png"
    body = await applicant.get(f"/api/v1/documents/{doc['id']}/content")
    assert body.headers["content-type"] == "image/png"
    assert body.content == PNG


async def test_jpeg_accepted(applicant):
    r = await applicant.upload(JPEG, "photo.jpeg")
    assert r.status_code == 201
    assert r.json()["content_type"] == "image/jpeg"
    assert r.json()["filename"] == "photo.jpeg"


async def test_executable_renamed_pdf_is_refused(applicant, s3, settings):
    before = objects_in(s3, settings.library_bucket)
    r = await applicant.upload(ELF, "licence.pdf")
    assert r.status_code == 415
    assert r.headers["content-type"] == PROBLEM
    assert "type accepté" in r.json()["detail"]
    listing = await applicant.get("/api/v1/documents")
    assert listing.json()["total"] == 0
    assert objects_in(s3, settings.library_bucket) == before


async def test_eicar_is_rejected_and_never_downloadable(applicant, events, s3, settings):
    # Plain EICAR text is refused by type before the antivirus; behind an image's magic
    # bytes it reaches clamd, which must find it.
    assert (await applicant.upload(eicar(), "facture.pdf")).status_code == 415
    r = await applicant.upload(eicar_png(), "photo.png")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["status"] == "rejected"
    assert "menace" in doc["rejection_reason"]
    assert "Eicar" in doc["rejection_reason"]
    for path in (f"/api/v1/documents/{doc['id']}/content", f"/api/v1/documents/{doc['id']}/download-url"):
        refused = await applicant.get(path)
        assert refused.status_code == 409
        assert refused.headers["content-type"] == PROBLEM
    assert f"library/{doc['id']}" not in objects_in(s3, settings.library_bucket)
    rejected = await events.wait_for("documents.document.rejected", document_id=doc["id"])
    assert "Eicar" in rejected["signature"]
    assert rejected["owner_account_id"] == str(applicant.account_id)
    assert not events.of("documents.document.stored", document_id=doc["id"])


async def test_encrypted_pdf_is_refused(applicant):
    r = await applicant.upload(encrypted_pdf(), "protege.pdf")
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert "chiffrés" in r.json()["detail"]
    assert (await applicant.get("/api/v1/documents")).json()["total"] == 0


async def test_empty_file_is_refused(applicant):
    r = await applicant.upload(b"", "vide.pdf")
    assert r.status_code == 422
    assert r.json()["detail"] == "Le fichier est vide."


async def test_missing_file_and_non_multipart_are_refused(applicant, client):
    r = await client.post("/api/v1/documents", headers=applicant.headers, data={"title": "Sans fichier"},
                          files={"autre": ("x.txt", b"abc", "text/plain")})
    assert r.status_code == 422
    assert r.json()["detail"] == "Le fichier est obligatoire."
    r = await client.post("/api/v1/documents", headers=applicant.headers, json={"title": "x"})
    assert r.status_code == 415
    assert r.headers["content-type"] == PROBLEM
    assert "multipart/form-data" in r.json()["detail"]


async def test_malformed_multipart_is_refused(applicant, client):
    headers = {**applicant.headers, "content-type": "multipart/form-data; boundary=abc"}
    r = await client.post("/api/v1/documents", headers=headers, content=b"--abc\r\nnot a header line\r\n\r\n")
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM


async def test_invalid_fields_are_refused_and_leave_nothing(applicant, s3, settings):
    before = objects_in(s3, settings.library_bucket)
    r = await applicant.upload(pdf(), "a.pdf", valid_from="2025-01-01", valid_until="2024-01-01")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "valid_until"
    r = await applicant.upload(pdf(), "a.pdf", valid_from="demain", document_type="PC; DROP")
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"valid_from", "document_type"}
    assert all(e["message"] for e in r.json()["errors"])
    assert (await applicant.get("/api/v1/documents")).json()["total"] == 0
    assert objects_in(s3, settings.library_bucket) == before


async def test_file_names_are_sanitised(applicant):
    headers, body = raw_form(b"../../etc/pass\x07wd\x1b.png", PNG)
    r = await applicant.client.post("/api/v1/documents", headers={**applicant.headers, **headers}, content=body)
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "passwd.png"
    r = await applicant.upload(PNG, "C:\\Users\\moi\\Mes documents\\carte<1>.png")
    assert r.json()["filename"] == "carte_1_.png"
    body = await applicant.get(f"/api/v1/documents/{r.json()['id']}/content")
    assert body.headers["content-disposition"].startswith('attachment; filename="carte_1_.png"')


async def test_title_defaults_to_the_file_name(applicant, client):
    r = await client.post("/api/v1/documents", headers=applicant.headers,
                          files={"file": ("Licence FFTir.pdf", pdf(), "application/pdf")})
    assert r.status_code == 201
    assert r.json()["title"] == "Licence FFTir"
    assert r.json()["document_type"] is None


async def test_oversize_declared_length_is_refused_before_reading(applicant, client):
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(200):
            pulled += 64 * 1024
            yield b"\0" * (64 * 1024)

    headers = {**applicant.headers, "content-type": "multipart/form-data; boundary=xyz",
               "content-length": str(200 * 64 * 1024)}
    r = await client.post("/api/v1/documents", headers=headers, content=body())
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    assert "taille maximale" in r.json()["detail"]
    assert pulled <= 64 * 1024  # not a byte of the body was needed to answer


async def test_oversize_streamed_body_is_refused_without_reading_it_whole(applicant, client, s3, settings):
    """No declared length (chunked): the limit is enforced while the bytes stream in."""
    before = objects_in(s3, settings.library_bucket)
    total_chunks, chunk = 64, 64 * 1024  # 4 MiB offered against a 1 MiB limit
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        head = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="gros.png"\r\n'
                b"Content-Type: image/png\r\n\r\n" + PNG[:8])
        pulled += len(head)
        yield head
        for _ in range(total_chunks):
            pulled += chunk
            yield b"\1" * chunk
        yield b"\r\n--xyz--\r\n"

    headers = {**applicant.headers, "content-type": "multipart/form-data; boundary=xyz"}
    r = await client.post("/api/v1/documents", headers=headers, content=body())
    assert r.status_code == 413
    assert pulled < TEST_LIMIT + 2 * chunk < total_chunks * chunk
    assert (await applicant.get("/api/v1/documents")).json()["total"] == 0
    assert objects_in(s3, settings.library_bucket) == before


async def test_file_at_the_limit_is_accepted(applicant):
    content = PNG[:8] + b"\2" * (TEST_LIMIT - 8)
    r = await applicant.upload(content, "limite.png")
    assert r.status_code == 201, r.text
    assert r.json()["size"] == TEST_LIMIT
    body = await applicant.get(f"/api/v1/documents/{r.json()['id']}/content")
    assert body.content == content
    assert (await applicant.upload(content + b"\2", "trop.png")).status_code == 413


async def test_list_paginates_filters_and_sorts(applicant):
    for title, dtype in (("B licence", "LIC"), ("A permis", "PC"), ("C permis", "PC")):
        assert (await applicant.upload(PNG, "x.png", title=title, document_type=dtype)).status_code == 201
    page = (await applicant.get("/api/v1/documents", params={"sort": "title", "page_size": 2})).json()
    assert page["total"] == 3
    assert [d["title"] for d in page["items"]] == ["A permis", "B licence"]
    page2 = (await applicant.get("/api/v1/documents", params={"sort": "title", "page_size": 2, "page": 2})).json()
    assert [d["title"] for d in page2["items"]] == ["C permis"]
    pcs = (await applicant.get("/api/v1/documents", params={"document_type": "PC", "sort": "-title"})).json()
    assert [d["title"] for d in pcs["items"]] == ["C permis", "A permis"]
    bad = await applicant.get("/api/v1/documents", params={"sort": "password"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    assert (await applicant.get("/api/v1/documents", params={"page": 0})).status_code == 422


async def test_metadata_can_be_changed(applicant):
    doc = (await applicant.upload(pdf(), "permis.pdf")).json()
    r = await applicant.client.patch(f"/api/v1/documents/{doc['id']}", headers=applicant.headers,
                                     json={"title": "Permis 2025", "document_type": "PC", "valid_until": "2030-06-30"})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Permis 2025"
    again = (await applicant.get(f"/api/v1/documents/{doc['id']}")).json()
    assert again["valid_until"] == "2030-06-30"
    assert again["sha256"] == doc["sha256"]
    r = await applicant.client.patch(f"/api/v1/documents/{doc['id']}", headers=applicant.headers,
                                     json={"valid_from": "2031-01-01"})
    assert r.status_code == 422
    assert "précède" in r.json()["detail"]
    r = await applicant.client.patch(f"/api/v1/documents/{doc['id']}", headers=applicant.headers,
                                     json={"sha256": "0" * 64})
    assert r.status_code == 422


async def test_delete_in_one_click(applicant, events, s3, settings):
    doc = (await applicant.upload(pdf(), "permis.pdf")).json()
    r = await applicant.client.delete(f"/api/v1/documents/{doc['id']}", headers=applicant.headers)
    assert r.status_code == 204
    assert (await applicant.get(f"/api/v1/documents/{doc['id']}")).status_code == 404
    assert (await applicant.get(f"/api/v1/documents/{doc['id']}/content")).status_code == 404
    assert f"library/{doc['id']}" not in objects_in(s3, settings.library_bucket)
    deleted = await events.wait_for("documents.document.deleted", document_id=doc["id"])
    assert deleted["owner_account_id"] == str(applicant.account_id)
    again = await applicant.client.delete(f"/api/v1/documents/{doc['id']}", headers=applicant.headers)
    assert again.status_code == 404


async def test_presigned_url_serves_the_bytes(applicant):
    content = pdf("lien")
    doc = (await applicant.upload(content, "permis.pdf")).json()
    link = await applicant.get(f"/api/v1/documents/{doc['id']}/download-url")
    assert link.status_code == 200
    assert link.json()["expires_in"] == 60
    async with httpx.AsyncClient() as raw:
        fetched = await raw.get(link.json()["url"])
    assert fetched.status_code == 200
    assert fetched.content == content
