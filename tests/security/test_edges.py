"""The edges as the first wall: /internal/ never reachable (whatever the encoding), the services
refuse /internal/ without the internal token, roles and audiences are not confusable, errors say
nothing about the inside, and sign-in guessing is rate limited."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import pytest
from system_testkit import bearer

INTERNAL_TARGETS = ["internal/dossiers/{id}", "internal/documents/{id}/pins", "internal/classification/rulesets/reload",
                    "internal/documents/reconciliation"]
ENCODINGS = [
    "/{t}", "//{t}", "/{t}/", "/{t};x=1", "/./{t}", "/api/v1/classification/../../../{t}",
    "/api/v1/classification/%2e%2e/%2e%2e/%2e%2e/{t}", "/api/v1/classification/..%2f..%2f..%2f{t}",
    "/api/v1/classification/%2E%2E%2F%2E%2E%2F%2E%2E%2F{t}", "/%69nternal/{rest}", "/INTERNAL/{rest}",
    "/Internal/{rest}", "/internal%2f{rest}", "/api/v1/classification/..\\..\\..\\{t}", "/%2finternal/{rest}",
    "/api/v1/classification/items/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f{t}",
]


def raw_request(port: int, method: str, target: str, headers: str = "") -> tuple[int, bytes]:
    """A request line sent as written (clients normalise dot segments and encodings)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: 0\r\n"
                  f"Connection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


@pytest.mark.parametrize("edge_port", [8000, 8001])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_internal_routes_are_unreachable_through_either_edge(stack, edge_port: int, method: str) -> None:
    failures = []
    for target in INTERNAL_TARGETS:
        t = target.format(id=uuid.uuid4())
        rest = t.removeprefix("internal/")
        for enc in ENCODINGS:
            path = enc.format(t=t, rest=rest)
            status, data = await asyncio.to_thread(raw_request, edge_port, method, path,
                                                   "X-Internal-Token: devine\r\n")
            # 400 (refused by the HTTP parser) and 404 are both "never routed"; nothing else is
            if status not in (400, 404) or b"Cette route est r\xc3\xa9serv\xc3\xa9e" in data:
                failures.append((path, status, data[-200:]))
    assert not failures, failures


async def test_services_refuse_internal_routes_without_the_internal_token(stack) -> None:
    calls = [(8103, "GET", f"/internal/dossiers/{uuid.uuid4()}"),
             (8104, "POST", f"/internal/documents/{uuid.uuid4()}/pins"),
             (8104, "POST", "/internal/documents/generated"), (8104, "POST", "/internal/documents/reconciliation"),
             (8102, "POST", "/internal/classification/rulesets/reload")]
    for port, method, path in calls:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            for headers in ({}, {"X-Internal-Token": ""}, {"X-Internal-Token": "devine"}):
                r = await c.request(method, path, headers=headers, json={})
                assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json"), \
                    (port, path, headers, r.status_code, r.text[:200])


async def test_roles_are_not_confusable(public: httpx.AsyncClient, internal: httpx.AsyncClient, alice, gunsmith,
                                        officer, supervisor, pae_agent, machine, reader_machine) -> None:
    off, pae = await officer.token(), await pae_agent.token()
    case = f"/api/v1/instruction/cases/{uuid.uuid4()}"
    expectations = [
        # (client, method, path, token, allowed statuses)
        (internal, "GET", "/api/v1/instruction/cases", pae, {403}),                      # PAE agent on instruction
        (internal, "POST", f"{case}/take", pae, {403}),
        (internal, "GET", "/api/v1/instruction/cases", machine, {403}),                  # machine on officer routes
        (internal, "GET", "/api/v1/identity/pae/habilitation-requests", off, {403}),     # officer on PAE routes
        (internal, "GET", "/api/v1/identity/pae/habilitation-requests", machine, {403}),
        (internal, "GET", "/api/v1/webhooks/endpoints", off, {403}),                     # officer on machine routes
        (internal, "GET", "/api/v1/webhooks/endpoints", pae, {403}),
        (internal, "POST", "/api/v1/instruction/imputations", reader_machine, {403}),    # wrong scope
        (internal, "POST", f"/api/v1/instruction/imputations/{uuid.uuid4()}/reversal", reader_machine, {403}),
        (internal, "POST", f"{case}/proposals/{uuid.uuid4()}/signature", pae, {403}),
        (internal, "GET", f"/api/v1/documents/pinned/{uuid.uuid4()}/content", pae, {403}),
        (internal, "GET", f"/api/v1/documents/pinned/{uuid.uuid4()}/content", machine, {403}),
        (internal, "GET", "/api/v1/identity/me", off, {404}),                            # applicant routes hidden
        (internal, "GET", "/api/v1/dossiers", off, {404}),
        (public, "GET", "/api/v1/identity/pae/habilitation-requests", alice.token, {404}),  # hidden on public
        (public, "GET", "/api/v1/identity/officers/me", alice.token, {404}),
        (public, "POST", "/api/v1/identity/oauth/token", None, {404}),
        (public, "GET", "/api/v1/instruction/cases", alice.token, {404}),
        (public, "GET", "/api/v1/webhooks/endpoints", alice.token, {404}),
    ]
    failures = []
    for client, method, path, token, allowed in expectations:
        r = await client.request(method, path, headers=bearer(token) if token else {}, json={})
        if r.status_code not in allowed or not r.headers["content-type"].startswith("application/problem+json"):
            failures.append((str(client.base_url), method, path, r.status_code, r.text[:150]))
    # behind the edge: the services check the role again (an officer's token straight to them)
    direct = [(8105, "GET", "/api/v1/instruction/cases", pae), (8105, "POST", "/api/v1/instruction/imputations",
                                                                 reader_machine),
              (8101, "GET", "/api/v1/identity/pae/habilitation-requests", off),
              (8106, "GET", "/api/v1/webhooks/endpoints", off), (8103, "GET", "/api/v1/dossiers", off),
              (8104, "GET", "/api/v1/documents", off), (8104, "GET", f"/api/v1/documents/pinned/{uuid.uuid4()}", pae),
              (8105, "POST", f"{case}/take", alice.token), (8101, "GET", "/api/v1/identity/officers/me", alice.token)]
    for port, method, path, token in direct:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            r = await c.request(method, path, headers=bearer(token), json={})
        if r.status_code != 403:
            failures.append((port, method, path, r.status_code, r.text[:150]))
    assert not failures, failures


async def test_one_administration_never_sees_anothers_webhook_endpoints(internal: httpx.AsyncClient, machine,
                                                                         reader_machine) -> None:
    r = await internal.post("/api/v1/webhooks/endpoints", headers=bearer(machine), json={
        "url": "http://127.0.0.1:9/hook", "event_types": ["decision.granted"]})
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    r = await internal.get("/api/v1/webhooks/endpoints", headers=bearer(reader_machine))
    assert r.status_code == 200 and eid not in r.text
    for method, path in (("GET", f"/api/v1/webhooks/endpoints/{eid}"), ("PATCH", f"/api/v1/webhooks/endpoints/{eid}"),
                         ("POST", f"/api/v1/webhooks/endpoints/{eid}/secret/rotate"),
                         ("GET", f"/api/v1/webhooks/endpoints/{eid}/deliveries"),
                         ("DELETE", f"/api/v1/webhooks/endpoints/{eid}")):
        body = {"description": "volé"} if method == "PATCH" else None
        r = await internal.request(method, path, headers=bearer(reader_machine), json=body)
        assert r.status_code == 404, (method, path, r.status_code, r.text[:200])
    assert (await internal.delete(f"/api/v1/webhooks/endpoints/{eid}", headers=bearer(machine))).status_code == 204


async def test_error_bodies_say_nothing_about_the_inside(public: httpx.AsyncClient, internal: httpx.AsyncClient,
                                                         alice) -> None:
    probes = [(public, "GET", "/api/v1/dossiers/pas-un-uuid", {}), (public, "POST", "/api/v1/dossiers", {"x": 1}),
              (public, "GET", "/api/v1/search/dossiers?sort=%27", {}), (public, "PUT", "/api/v1/dossiers/x", {}),
              (public, "POST", "/api/v1/documents", {}), (internal, "GET", "/api/v1/instruction/cases/x", {}),
              (public, "GET", "/api/v1/classification/items/%27%22%3C", {}),
              (public, "POST", "/api/v1/identity/sessions", {"email": [], "password": {}})]
    for client, method, path, body in probes:
        r = await client.request(method, path, json=body, headers=bearer(alice.token))
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json"), (path, r.headers)
        low = r.text.lower()
        for leak in ("traceback", 'file "', "sqlalchemy", "asyncpg", "127.0.0.1", "localhost", ":810", "postgres",
                     "exception", "/work/"):
            assert leak not in low, (path, leak, r.text[:300])


@pytest.mark.parametrize("edge", ["public", "internal"])
async def test_api_answers_carry_security_headers(public: httpx.AsyncClient, internal: httpx.AsyncClient,
                                                  edge: str) -> None:
    client = public if edge == "public" else internal
    for path in ("/api/v1/dossiers", "/nulle-part", "/.well-known/jwks.json"):
        r = await client.get(path)
        assert r.headers.get("x-content-type-options") == "nosniff", (path, dict(r.headers))
        assert r.headers.get("x-frame-options") == "DENY" or "frame-ancestors" in r.headers.get(
            "content-security-policy", "")
        assert r.headers.get("referrer-policy"), (path, dict(r.headers))


async def test_sign_in_guessing_from_one_client_is_stopped(stack) -> None:
    """A fresh client address is not needed: the sign-in bucket counts per address whatever the email."""
    async with httpx.AsyncClient(base_url=stack.public, timeout=30) as c:
        statuses = []
        for i in range(40):
            r = await c.post("/api/v1/identity/sessions", json={"email": f"victime{i % 3}@example.fr",
                                                                "password": f"essai-{i}"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
                assert r.headers["content-type"].startswith("application/problem+json")
                break
        assert 429 in statuses, statuses
        assert set(statuses) <= {401, 429, 423}, statuses
