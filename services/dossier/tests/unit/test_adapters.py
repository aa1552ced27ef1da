"""The HTTP adapters of classification and documents, against httpx mock transports."""

from __future__ import annotations

import uuid

import httpx
import pytest
from dossier.adapters.classification import HttpClassification
from dossier.adapters.documents import HttpDocuments
from dossier.domain.errors import Conflict, Invalid, NotFound, Unavailable

REQUEST = {"flow": "INT", "origin_country": "BE", "destination_country": "FR",
           "applicant": {"kind": "individual", "profile": "chasseur"},
           "items": [{"classification_code": "D-a", "quantity": 1}, {"classification_code": "C-1-c", "quantity": 1}]}


def classification(handler) -> HttpClassification:
    return HttpClassification("http://classification", client=httpx.AsyncClient(
        base_url="http://classification", transport=httpx.MockTransport(handler)))


def documents(handler) -> HttpDocuments:
    return HttpDocuments("http://documents", "secret", client=httpx.AsyncClient(
        base_url="http://documents", transport=httpx.MockTransport(handler)))


async def test_a_conflict_says_separate_requests_are_needed_and_keeps_the_details():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"type": "about:blank", "title": "Conflit", "status": 409,
                                         "detail": "Le poignard nécessite une AIMG, le fusil un accord préalable.",
                                         "items": [{"classification_code": "D-a", "authorisation": "AIMG"}]})
    with pytest.raises(Conflict) as exc:
        await classification(handler).determine(REQUEST)
    assert "il vous faudra faire plusieurs demandes différentes" in exc.value.detail
    assert "Le poignard nécessite une AIMG" in exc.value.detail
    assert exc.value.extra["classification"]["items"][0]["authorisation"] == "AIMG"


async def test_bad_codes_pass_through_as_422():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": "Codes inconnus : Z-9.", "errors": [{"field": "items"}]})
    with pytest.raises(Invalid, match="Codes inconnus"):
        await classification(handler).determine(REQUEST)


@pytest.mark.parametrize("failure", ["connect", "timeout", "500"])
async def test_classification_down_or_failing_answers_503_with_retry_after(failure):
    def handler(request: httpx.Request) -> httpx.Response:
        if failure == "connect":
            raise httpx.ConnectError("refused", request=request)
        if failure == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(500, text="boom")
    with pytest.raises(Unavailable) as exc:
        await classification(handler).determine(REQUEST)
    assert exc.value.headers == {"Retry-After": "10"}
    assert exc.value.status == 503


async def test_document_labels_are_cached_and_a_failure_leaves_codes():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"ruleset_version": "2026-01-01",
                                         "document_types": [{"code": "ID", "label": "Pièce d'identité"}]})
    c = classification(handler)
    assert await c.document_types() == {"ID": "Pièce d'identité"}
    await c.document_types()
    assert calls == ["/api/v1/classification/document-types"]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)
    assert await classification(down).document_types() == {}


async def test_documents_forwards_the_applicants_token_and_hides_foreign_documents():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(404, json={"detail": "Introuvable"})
    with pytest.raises(NotFound):
        await documents(handler).get(uuid.uuid4(), "Bearer abc")
    assert seen["auth"] == "Bearer abc"


async def test_pinning_sends_the_internal_token_and_maps_409_and_outage():
    doc, dossier_id, owner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Internal-Token"] == "secret"
        assert request.url.path == f"/internal/documents/{doc}/pins"
        return httpx.Response(409, json={"detail": "pas disponible"})
    with pytest.raises(Conflict):
        await documents(handler).pin(doc, dossier_id, owner, None)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)
    with pytest.raises(Unavailable):
        await documents(down).pin(doc, dossier_id, owner, None)

    def ok(request: httpx.Request) -> httpx.Response:
        import json
        assert json.loads(request.content) == {"dossier_id": str(dossier_id), "owner_account_id": str(owner),
                                               "owner_operator_id": None}
        return httpx.Response(201, json={"pinned_document_id": str(uuid.uuid4()), "sha256": "ab"})
    assert (await documents(ok).pin(doc, dossier_id, owner, None))["sha256"] == "ab"
