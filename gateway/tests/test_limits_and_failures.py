"""Rate limit per client in real Redis, the stricter sign-in limit, and services that are down or slow."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator

import httpx
from eaps_kit.testing import TestKeys, bearer, free_port
from redis.asyncio import Redis


async def test_rate_limit_per_token_subject(make_edge, keys: TestKeys) -> None:
    async with make_edge("public", rate_limit_default=3) as url, httpx.AsyncClient(base_url=url) as client:
        alice, bob = keys.applicant(), keys.applicant()
        statuses = [(await client.get("/api/v1/dossiers", headers=bearer(alice))).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        refused = await client.get("/api/v1/dossiers", headers=bearer(alice))
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert refused.json()["detail"].startswith("Trop de requêtes.")
        # Another account from the same address has its own budget.
        assert (await client.get("/api/v1/dossiers", headers=bearer(bob))).status_code == 200


async def test_rate_limit_per_address_without_token(make_edge) -> None:
    async with make_edge("public", rate_limit_default=2) as url, httpx.AsyncClient(base_url=url) as client:
        assert [(await client.get("/api/v1/classification/items/1")).status_code for _ in range(3)] == [200, 200, 429]
        # Scanning unknown paths counts too.
        assert (await client.get("/nope")).status_code == 429


async def test_sign_in_routes_have_a_stricter_limit(make_edge, stubs: dict) -> None:
    async with make_edge("public", rate_limit_default=50, rate_limit_sign_in=2) as url, \
            httpx.AsyncClient(base_url=url) as client:
        before = len(stubs["identity"].seen)
        statuses = [(await client.post("/api/v1/identity/sessions", json={"email": "a@b.fr", "password": "x"}))
                    .status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert len(stubs["identity"].seen) == before + 2
        assert (await client.post("/api/v1/identity/password-resets", json={})).status_code == 429
        # Other routes still answer.
        assert (await client.get("/api/v1/classification/items/1")).status_code == 200


async def test_sign_in_limit_counts_per_address_whatever_the_token(make_edge, keys: TestKeys) -> None:
    async with make_edge("public", rate_limit_sign_in=2) as url, httpx.AsyncClient(base_url=url) as client:
        statuses = [(await client.post("/api/v1/identity/sessions", json={}, headers=bearer(keys.applicant())))
                    .status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_officer_sign_in_is_limited_on_the_internal_edge(make_edge) -> None:
    async with make_edge("internal", rate_limit_sign_in=1) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.post("/api/v1/identity/officers/sessions", json={})).status_code == 200
        assert (await client.post("/api/v1/identity/officers/sessions", json={})).status_code == 429
        assert (await client.post("/api/v1/identity/oauth/token", data={})).status_code == 429


async def test_counters_live_under_the_configured_prefix(make_edge, keys: TestKeys) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}:own:"
    sub = uuid.uuid4()
    async with make_edge("public", rate_limit_prefix=prefix) as url, httpx.AsyncClient(base_url=url) as client:
        await client.get("/api/v1/dossiers", headers=bearer(keys.applicant(sub)))
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        found = [k.decode() async for k in redis.scan_iter(match=prefix + "*")]
        assert found == [f"{prefix}public:default:sub:{sub}"]
        assert 0 < await redis.ttl(found[0]) <= 3600
    finally:
        await redis.delete(*found) if found else None
        await redis.aclose()


async def test_redis_down_lets_traffic_through_and_shows_in_readiness(make_edge, keys: TestKeys) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with make_edge("public", redis_url=dead, rate_limit_default=1) as url, \
            httpx.AsyncClient(base_url=url) as client:
        assert [(await client.get("/api/v1/classification/items/1")).status_code for _ in range(3)] == [200] * 3
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] is False


async def test_service_down_answers_502(make_edge, keys: TestKeys) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with make_edge("public", dossier_url=dead) as url, httpx.AsyncClient(base_url=url) as client:
        resp = await client.get("/api/v1/dossiers/1", headers=bearer(keys.applicant()))
    assert resp.status_code == 502
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "Le service « dossier » est momentanément injoignable. Veuillez réessayer."
    assert resp.json()["title"] == "Service indisponible"


async def test_slow_service_answers_504(make_edge, stubs: dict, keys: TestKeys) -> None:
    key = uuid.uuid4().hex
    try:
        async with make_edge("public", read_timeout=0.2) as url, httpx.AsyncClient(base_url=url) as client:
            resp = await client.get("/api/v1/dossiers/_test/slow", params={"key": key},
                                    headers=bearer(keys.applicant()))
    finally:
        stubs["dossier"].gate(key).set()
    assert resp.status_code == 504
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "Le service « dossier » n'a pas répondu à temps. Veuillez réessayer."


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A listening socket whose accept queue is full: the kernel drops new handshakes, so a
    connection attempt hangs until the client's connect timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for s in [*fillers, server]:
            s.close()


async def test_connect_timeout_answers_504(make_edge, keys: TestKeys) -> None:
    with unanswered_port() as port:
        async with make_edge("internal", instruction_url=f"http://127.0.0.1:{port}", connect_timeout=0.2) as url, \
                httpx.AsyncClient(base_url=url) as client:
            resp = await client.get("/api/v1/instruction/cases", headers=bearer(keys.officer()))
    assert resp.status_code == 504
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "Le service « instruction » n'a pas répondu à temps. Veuillez réessayer."


async def test_health_live_and_ready(public_url: str, internal_url: str) -> None:
    async with httpx.AsyncClient() as client:
        for base, services in ((public_url, {"identity", "classification", "dossier", "documents", "notifications"}),
                               (internal_url, {"identity", "documents", "instruction", "notifications"})):
            assert (await client.get(base + "/health/live")).json() == {"status": "ok"}
            ready = await client.get(base + "/health/ready")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"redis": True, **{s: True for s in services}}


async def test_ready_names_the_service_that_is_down(make_edge) -> None:
    async with make_edge("internal", instruction_url=f"http://127.0.0.1:{free_port()}") as url, \
            httpx.AsyncClient(base_url=url) as client:
        ready = await client.get("/health/ready")
        assert (await client.get("/health/live")).status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"]["instruction"] is False
    assert ready.json()["checks"]["identity"] is True
    assert "instruction" in ready.json()["detail"]
