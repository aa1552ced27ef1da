"""Each edge serves one OpenAPI document made of the services' documents, cut to what it exposes."""

from __future__ import annotations

import httpx


async def _doc(base: str) -> dict:
    async with httpx.AsyncClient(base_url=base) as client:
        resp = await client.get("/openapi.json")
    assert resp.status_code == 200
    return resp.json()


def _operations(doc: dict) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item}


async def test_public_document_keeps_only_public_edge_operations(public_url: str) -> None:
    ops = _operations(await _doc(public_url))
    assert ops == {
        ("POST", "/api/v1/identity/sessions"), ("POST", "/api/v1/identity/registrations"),
        ("GET", "/api/v1/identity/me"), ("GET", "/.well-known/jwks.json"),
        ("POST", "/api/v1/classification/determinations"), ("GET", "/api/v1/classification/items/{code}"),
        ("POST", "/api/v1/dossiers"), ("GET", "/api/v1/dossiers/{dossier_id}"),
        ("GET", "/api/v1/dossiers/{dossier_id}/items"),
        ("GET", "/api/v1/documents/{document_id}"), ("GET", "/api/v1/documents/pinned/{pinned_id}/content"),
        ("GET", "/api/v1/notifications"),
    }


async def test_internal_document_keeps_only_internal_edge_operations(internal_url: str) -> None:
    ops = _operations(await _doc(internal_url))
    assert ops == {
        ("GET", "/api/v1/identity/pae/habilitation-requests"), ("POST", "/api/v1/identity/oauth/token"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/api/v1/documents/pinned/{pinned_id}/content"),
        ("GET", "/api/v1/instruction/cases"), ("POST", "/api/v1/instruction/authorisations/{number}/imputations"),
        ("GET", "/api/v1/notifications"), ("POST", "/api/v1/webhooks/endpoints"),
    }


async def test_operation_ids_are_prefixed_by_service_and_unique(public_url: str) -> None:
    doc = await _doc(public_url)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert doc["paths"]["/api/v1/dossiers/{dossier_id}"]["get"]["operationId"] == "dossier_read_dossier"
    assert doc["paths"]["/api/v1/identity/sessions"]["post"]["operationId"] == "identity_sign_in"


async def test_same_schema_name_from_two_services_is_kept_apart(public_url: str) -> None:
    doc = await _doc(public_url)
    schemas = doc["components"]["schemas"]
    assert set(schemas["ItemRead"]["properties"]) == {"code", "label"}
    assert set(schemas["dossier__ItemRead"]["properties"]) == {"line", "quantity"}
    ref = doc["paths"]["/api/v1/dossiers/{dossier_id}/items"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/dossier__ItemRead"
    item_ref = doc["paths"]["/api/v1/classification/items/{code}"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["$ref"]
    assert item_ref == "#/components/schemas/ItemRead"


async def test_protected_operations_declare_the_bearer_scheme(public_url: str) -> None:
    doc = await _doc(public_url)
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    dossier = doc["paths"]["/api/v1/dossiers"]["post"]
    assert dossier["security"] == [{"bearerAuth": []}]
    assert dossier["x-access"] == "rôle applicant, accès AS ou OPPD"
    assert "security" not in doc["paths"]["/api/v1/classification/determinations"]["post"]


async def test_docs_page_lists_the_operations_in_french(public_url: str) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/docs")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    page = resp.text
    assert '<html lang="fr">' in page
    assert "<code>/api/v1/dossiers/{dossier_id}</code>" in page
    assert "Opération read_dossier" in page
    assert "/api/v1/instruction" not in page


async def test_a_service_without_its_document_is_named_and_the_rest_is_served(public_url: str, stubs: dict) -> None:
    stubs["dossier"].openapi_up = False
    try:
        doc = await _doc(public_url)
        async with httpx.AsyncClient(base_url=public_url) as client:
            page = (await client.get("/api/docs")).text
    finally:
        stubs["dossier"].openapi_up = True
    assert doc["info"]["x-unavailable-services"] == ["dossier"]
    assert not [p for p in doc["paths"] if p.startswith("/api/v1/dossiers")]
    assert "/api/v1/classification/determinations" in doc["paths"]
    assert "Services momentanément indisponibles" in page and "dossier" in page
