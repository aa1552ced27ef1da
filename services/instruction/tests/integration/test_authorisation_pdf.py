"""The authorisation PDF through the real documents service (served in-process on a free port,
with its own database and a private S3 server): pending while documents is unreachable, stored
by the job once it answers, then downloaded by the holder and read with pypdf."""

import contextlib
import io
import uuid
from typing import Any

import pytest
from eaps_kit.db import drop_database
from eaps_kit.testing import bearer, eventually, free_port, serve_app, test_database_url, unique_suffix
from moto.server import ThreadedMotoServer
from pypdf import PdfReader

documents_main = pytest.importorskip("documents.main", reason="the documents service is not in this tree")


@pytest.fixture(scope="module")
async def documents_url(settings: Any, keys: Any) -> Any:
    from documents.config import Settings as DocumentsSettings

    port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    s3.start()
    suffix = unique_suffix()
    doc_settings = DocumentsSettings(
        environment="test", database_url=test_database_url("documents"), bus_prefix=f"t{suffix}.",
        s3_endpoint=f"127.0.0.1:{port}", s3_access_key="test", s3_secret_key="test",
        library_bucket=f"lib-{suffix}", pinned_bucket=f"pin-{suffix}", clamd_port=free_port(),
        internal_token=settings.internal_token, log_json=False, rescan_interval_seconds=3600,
        reconcile_interval_seconds=3600)
    app = documents_main.create_app(doc_settings, token_verifier=keys.verifier())
    try:
        async with serve_app(app) as url:
            yield url
            with contextlib.suppress(Exception):
                await app.state.runtime.broker.delete_declared()
    finally:
        s3.stop()
        await drop_database(doc_settings.database_url)


async def test_the_pdf_is_stored_by_the_documents_service_and_readable_by_the_holder(
        app: Any, journey: Any, keys: Any, documents_url: str, clock: Any) -> None:
    holder = uuid.uuid4()
    # documents is not reachable yet: the decision is signed anyway and the PDF waits.
    case_id, auth = await journey.grant({"conditions": "Présentation obligatoire au bureau de dédouanement."},
                                        account_id=holder)
    await journey.probe.wait_for("instruction.decision.issued", case_id=case_id)
    documents = app.state.runtime.extras["ctx"].documents
    dead = documents.base_url

    async def pending() -> bool:
        r = await journey.client.get(f"/api/v1/instruction/authorisations/{auth['authorisation_id']}",
                                     headers=journey.officer)
        return r.json()["pdf_document_id"] is None and journey.probe.of_type(
            "instruction.authorisation.document_issued", number=auth["number"]) == []

    assert await pending()
    documents.base_url = documents_url
    try:
        issued = await journey.probe.wait_for("instruction.authorisation.document_issued", number=auth["number"])
    finally:
        documents.base_url = dead
    assert issued["holder_account_id"] == str(holder)
    r = await journey.client.get(f"/api/v1/instruction/authorisations/{auth['authorisation_id']}",
                                 headers=journey.officer)
    assert r.json()["pdf_document_id"] == issued["document_id"]

    import httpx

    async with httpx.AsyncClient(base_url=documents_url) as docs:
        meta = await docs.get(f"/api/v1/documents/{issued['document_id']}", headers=bearer(keys.applicant(holder)))
        assert meta.status_code == 200, meta.text
        assert meta.json()["status"] == "available" and meta.json()["filename"] == f"{auth['number']}.pdf"
        content = await eventually(lambda: _content(docs, issued["document_id"], keys, holder))
        other = await docs.get(f"/api/v1/documents/{issued['document_id']}/content",
                               headers=bearer(keys.applicant(uuid.uuid4())))
        assert other.status_code == 404
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    for expected in (f"Autorisation n° {auth['number']}", "Armurerie du Centre", "Pistolet semi-automatique",
                     f"Valable du {clock.today().strftime('%d/%m/%Y')}",
                     "Présentation obligatoire au bureau de dédouanement.",
                     f"Code de vérification : {issued['verification_code']}"):
        assert expected in text, expected


async def _content(docs: Any, document_id: str, keys: Any, holder: uuid.UUID) -> bytes | None:
    r = await docs.get(f"/api/v1/documents/{document_id}/content", headers=bearer(keys.applicant(holder)),
                       follow_redirects=True)
    return r.content if r.status_code == 200 else None
