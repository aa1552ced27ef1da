"""The running system (issue 2): every service ready, both edges serve their aggregated OpenAPI,
answer unknown routes in French problem+json, and keep each audience on its own edge."""

from __future__ import annotations

import httpx
import pytest
from system_testkit import READY_BOUND_SECONDS, SERVICES, Applicant, assert_problem, bearer


async def test_every_service_and_edge_is_ready(stack, public: httpx.AsyncClient,  # type: ignore[no-untyped-def]
                                               internal: httpx.AsyncClient):
    if stack.started_here:  # the bound is measured only when this session started the stack
        assert stack.ready_after is not None and stack.ready_after <= READY_BOUND_SECONDS, stack.ready_after
    async with httpx.AsyncClient(timeout=5) as client:
        for name, port in SERVICES.items():  # a service's own port, for its health only
            r = await client.get(f"http://127.0.0.1:{port}/health/ready")
            assert r.status_code == 200, (name, r.text)
            assert (await client.get(f"http://127.0.0.1:{port}/health/live")).status_code == 200
    for edge, services in ((public, {"identity", "classification", "dossier", "documents", "notifications"}),
                           (internal, {"identity", "instruction", "documents", "notifications"})):
        r = await edge.get("/health/ready")
        assert r.status_code == 200, r.text
        assert services | {"redis"} <= {k for k, ok in r.json()["checks"].items() if ok}, r.json()


@pytest.mark.parametrize(("edge", "title", "present", "absent"), [
    ("public", "API publique", ["/api/v1/dossiers", "/api/v1/classification/determinations",
                                "/api/v1/documents", "/api/v1/identity/registrations", "/api/v1/search/dossiers"],
     ["/api/v1/instruction/cases", "/api/v1/webhooks/endpoints", "/api/v1/identity/oauth/token"]),
    ("internal", "API interne", ["/api/v1/instruction/cases", "/api/v1/instruction/imputations",
                                 "/api/v1/webhooks/endpoints", "/api/v1/identity/oauth/token",
                                 "/api/v1/identity/officers/sessions"],
     ["/api/v1/dossiers", "/api/v1/identity/registrations"]),
])
async def test_each_edge_serves_its_aggregated_openapi(edge: str, title: str, present: list[str],
                                                       absent: list[str], public: httpx.AsyncClient,
                                                       internal: httpx.AsyncClient):
    client = public if edge == "public" else internal
    r = await client.get("/openapi.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["openapi"].startswith("3.") and title in doc["info"]["title"]
    for path in present:
        assert path in doc["paths"], (edge, path)
    for path in absent:
        assert path not in doc["paths"], (edge, path)
    assert not [p for p in doc["paths"] if p.startswith("/internal/")]
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()
                     if isinstance(op, dict) and "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))  # stable, unique ids across services
    page = await client.get("/api/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


# API paths only: the portals (issue 9) answer their own HTML pages for other paths.
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/dossiers", "/internal/dossiers/x",
                                  "/api/v1/dossiers-inexistants/1"])
async def test_unknown_routes_answer_a_french_404(path: str, public: httpx.AsyncClient,
                                                  internal: httpx.AsyncClient):
    for client in (public, internal):
        body = assert_problem(await client.get(path), 404)
        assert body["detail"] == "La ressource demandée n'existe pas."


async def test_each_audience_stays_on_its_edge(public: httpx.AsyncClient, internal: httpx.AsyncClient,
                                               demo_hunter: Applicant, officer, machine: str):  # type: ignore[no-untyped-def]
    applicant, off = bearer(demo_hunter.token), bearer(await officer.token())
    # each token works on its own edge
    assert (await public.get("/api/v1/dossiers", headers=applicant)).status_code == 200
    assert (await internal.get("/api/v1/instruction/cases", headers=off)).status_code == 200
    # an applicant's token is refused on the internal edge
    for path in ("/api/v1/instruction/cases", "/api/v1/instruction/authorisations", "/api/v1/notifications",
                 "/api/v1/identity/officers/me"):
        r = await internal.get(path, headers=applicant)
        assert r.status_code in (401, 403), (path, r.status_code)
        assert_problem(r, r.status_code)
    # an officer's token is refused on the public edge
    for path in ("/api/v1/dossiers", "/api/v1/authorisations", "/api/v1/identity/me", "/api/v1/notifications"):
        r = await public.get(path, headers=off)
        assert r.status_code in (401, 403), (path, r.status_code)
        assert_problem(r, r.status_code)
    # a machine client reaches neither the applicants' routes nor the officers' queues
    assert (await public.get("/api/v1/dossiers", headers=bearer(machine))).status_code in (401, 403)
    assert_problem(await internal.get("/api/v1/instruction/cases", headers=bearer(machine)), 403)
    # no token at all: 401 on protected routes, in French
    assert_problem(await public.get("/api/v1/dossiers"), 401, "connecté")
    assert_problem(await internal.get("/api/v1/instruction/cases"), 401, "connecté")
