"""Routing by prefix, path and query kept, headers cleaned, request ids, unknown and /internal/ paths."""

from __future__ import annotations

import uuid

import httpx
import pytest
from eaps_kit.testing import TestKeys, bearer


def header_values(record: dict, name: str) -> list[str]:
    return [v for k, v in record["headers"] if k.lower() == name]

PUBLIC_ROUTES = [
    ("GET", "/api/v1/classification/items/9303.20?lang=fr", "classification", None),
    ("GET", "/api/v1/dossiers/abc/lines", "dossier", "applicant"),
    ("GET", "/api/v1/authorisations", "dossier", "applicant"),
    ("POST", "/api/v1/search/dossiers?page=2&sort=-date", "dossier", "applicant"),
    ("GET", "/api/v1/documents/42", "documents", "applicant"),
    ("GET", "/api/v1/notifications/unread-count", "notifications", "applicant"),
    ("GET", "/api/v1/identity/teleservices", "identity", "applicant"),
    ("GET", "/.well-known/jwks.json", "identity", None),
]
INTERNAL_ROUTES = [
    ("GET", "/api/v1/instruction/cases?status=en_etude", "instruction", "officer"),
    ("GET", "/api/v1/documents/pinned/7f1/content", "documents", "officer"),
    ("GET", "/api/v1/notifications", "notifications", "officer"),
    ("GET", "/api/v1/identity/pae/habilitation-requests", "identity", "pae_agent"),
    ("GET", "/.well-known/jwks.json", "identity", None),
]


def _token(keys: TestKeys, who: str | None) -> dict[str, str]:
    if who is None:
        return {}
    if who == "applicant":
        return bearer(keys.applicant())
    return bearer(keys.officer(roles=[who]))


async def _check_routed(base: str, stubs: dict, keys: TestKeys, method: str, target: str,
                        service: str, who: str | None) -> None:
    marker = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=base) as client:
        resp = await client.request(method, target, headers={**_token(keys, who), "x-marker": marker})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    path, _, query = target.partition("?")
    if path != "/.well-known/jwks.json":
        assert body["service"] == service
        assert (body["method"], body["path"], body["query"]) == (method, path, query)
        assert header_values(body, "x-marker") == [marker]
    assert any(header_values(r, "x-marker") == [marker] for r in stubs[service].seen) or \
        path == "/.well-known/jwks.json"


@pytest.mark.parametrize(("method", "target", "service", "who"), PUBLIC_ROUTES)
async def test_public_edge_routes_by_prefix(public_url: str, stubs: dict, keys: TestKeys,
                                            method: str, target: str, service: str, who: str | None) -> None:
    await _check_routed(public_url, stubs, keys, method, target, service, who)


@pytest.mark.parametrize(("method", "target", "service", "who"), INTERNAL_ROUTES)
async def test_internal_edge_routes_by_prefix(internal_url: str, stubs: dict, keys: TestKeys,
                                              method: str, target: str, service: str, who: str | None) -> None:
    await _check_routed(internal_url, stubs, keys, method, target, service, who)


async def test_jwks_is_the_identity_services(public_url: str, keys: TestKeys) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/.well-known/jwks.json")
    assert resp.json() == keys.jwks()


async def test_percent_encoding_reaches_the_service_unchanged(public_url: str, keys: TestKeys) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/v1/classification/items/93%2003?q=fusil%20de%20chasse&q=%C3%A9")
    body = resp.json()
    assert body["raw_path"] == "/api/v1/classification/items/93%2003"
    assert body["query"] == "q=fusil%20de%20chasse&q=%C3%A9"


@pytest.mark.parametrize(("edge", "target"), [
    ("public", "/internal/dossiers/1"),
    ("internal", "/internal/documents/1/pins"),
    ("public", "/api/v1/dossiers/../../../internal/dossiers/1"),
    ("public", "/api/v1/dossiers/%2e%2e/%2e%2e/%2e%2e/internal/dossiers/1"),
    ("public", "/api/v1/dossiers/x%2F..%2F..%2F..%2Finternal%2Fdossiers%2F1"),
    ("public", "/api/v1/dossiers//internal"),
    ("public", "/api/v1/unknown"),
    ("public", "/api/v1/instruction/cases"),      # internal edge only
    ("public", "/api/v1/webhooks/endpoints"),     # internal edge only
    ("internal", "/api/v1/dossiers/1"),           # public edge only
    ("internal", "/api/v1/classification/items/1"),
    ("internal", "/api/v1/documents/1"),          # officers read pinned copies only
    ("public", "/api/v1/identity/pae/habilitation-requests"),
    ("public", "/api/v1/identity/oauth/token"),
    ("public", "/api/v2/dossiers/1"),
])
async def test_paths_that_are_not_exposed_answer_404_and_reach_no_service(
        public_url: str, internal_url: str, stubs: dict, keys: TestKeys, edge: str, target: str) -> None:
    base = public_url if edge == "public" else internal_url
    token = keys.applicant() if edge == "public" else keys.officer(roles=["officer", "pae_agent"])
    before = {name: len(s.seen) for name, s in stubs.items()}
    async with httpx.AsyncClient(base_url=base) as client:
        resp = await client.get(target, headers=bearer(token))
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "La ressource demandée n'existe pas."
    assert {name: len(s.seen) for name, s in stubs.items()} == before


async def test_wrong_method_answers_405_with_allow(public_url: str) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.delete("/api/v1/classification/items/1")
    assert resp.status_code == 405
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["allow"] == "GET, POST"
    assert "méthode" in resp.json()["detail"]


async def test_hop_by_hop_and_spoofable_headers_are_not_forwarded(public_url: str, keys: TestKeys) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/v1/dossiers/abc/lines", headers={
            **bearer(keys.applicant()),
            "Connection": "keep-alive, X-Client-Hop", "X-Client-Hop": "1", "Keep-Alive": "timeout=5",
            "TE": "trailers", "Proxy-Authorization": "Basic Zm9vOmJhcg==", "Upgrade": "h2c",
            "X-Internal-Token": "dev-internal-token", "X-Forwarded-For": "10.9.9.9",
            "X-Kept": "yes",
        })
    assert resp.status_code == 200
    sent = {k.lower() for k, _ in resp.json()["headers"]}
    for name in ("x-client-hop", "keep-alive", "te", "proxy-authorization", "upgrade", "x-internal-token"):
        assert name not in sent
    assert "x-kept" in sent
    assert header_values(resp.json(), "authorization")  # services verify the token themselves
    # Forwarded-for is the peer the edge saw, not what an untrusted client claims.
    assert header_values(resp.json(), "x-forwarded-for") == ["127.0.0.1"]
    assert header_values(resp.json(), "x-forwarded-proto") == ["http"]
    # On the way back: the service's hop-by-hop fields are dropped, repeated fields kept.
    assert "proxy-authenticate" not in resp.headers
    assert "x-upstream-hop" not in resp.headers
    assert resp.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]


async def test_forwarded_for_is_extended_behind_a_trusted_proxy(make_edge) -> None:
    async with make_edge("public", trusted_proxies=["127.0.0.1"]) as url, httpx.AsyncClient(base_url=url) as client:
        resp = await client.get("/api/v1/classification/items/1", headers={"X-Forwarded-For": "203.0.113.7"})
    assert header_values(resp.json(), "x-forwarded-for") == ["203.0.113.7, 127.0.0.1"]


async def test_request_id_is_generated_when_missing(public_url: str) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/v1/classification/items/1")
    rid = resp.headers["x-request-id"]
    assert uuid.UUID(rid)
    assert header_values(resp.json(), "x-request-id") == [rid]


async def test_request_id_is_propagated(public_url: str) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/v1/classification/items/1", headers={"X-Request-Id": "portal-abc.123"})
    assert resp.headers["x-request-id"] == "portal-abc.123"
    assert header_values(resp.json(), "x-request-id") == ["portal-abc.123"]


async def test_malformed_request_id_is_replaced(public_url: str) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/v1/classification/items/1", headers={"X-Request-Id": "a b<script>"})
    rid = resp.headers["x-request-id"]
    assert uuid.UUID(rid)
    assert header_values(resp.json(), "x-request-id") == [rid]


async def test_errors_carry_the_request_id_too(public_url: str) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/nope", headers={"X-Request-Id": "req-404"})
    assert resp.status_code == 404
    assert resp.headers["x-request-id"] == "req-404"


async def test_service_status_and_body_pass_through(public_url: str, keys: TestKeys) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.post("/api/v1/dossiers", headers=bearer(keys.applicant()), json={"flow": "import"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["method"] == "POST" and body["body_size"] == len(b'{"flow":"import"}')
