"""Real upstream stub apps on loopback ports, a JWKS served by the identity stub, real Redis,
and edges served with uvicorn: the gateway is exercised over real HTTP end to end."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from eaps_kit import telemetry
from eaps_kit.testing import TestKeys, eventually, free_port, serve_app
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, create_model
from redis.asyncio import Redis

# pytest's importlib mode names this file "gateway.tests.conftest" and, finding no module
# "gateway" yet, stands the folder /work/main/gateway in for it, hiding the real package
# (gateway/src/gateway). Drop the stand-in so that the real package is imported.
if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
    del sys.modules["gateway"]

from gateway.app import create_edge_app  # noqa: E402
from gateway.config import SERVICES, GatewaySettings  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"


class ItemRead(BaseModel):  # classification's shape
    code: str
    label: str


class DossierRead(BaseModel):
    id: str
    reference: str | None = None


def _dossier_item_model() -> type[BaseModel]:
    # The same schema name as classification's, another shape: the merged document must keep both.
    return create_model("ItemRead", line=(int, ...), quantity=(int, ...))


# (method, path, operation id, response model) documented by each stub's /openapi.json.
DOCUMENTED: dict[str, list[tuple[str, str, str, Any]]] = {
    "identity": [
        ("POST", "/api/v1/identity/sessions", "sign_in", None),
        ("POST", "/api/v1/identity/registrations", "register", None),
        ("GET", "/api/v1/identity/me", "read_me", None),
        ("GET", "/api/v1/identity/pae/habilitation-requests", "list_habilitation_requests", None),
        ("POST", "/api/v1/identity/oauth/token", "oauth_token", None),
        ("POST", "/internal/identity/accounts/{account_id}/lock", "lock_account", None),
    ],
    "classification": [
        ("POST", "/api/v1/classification/determinations", "determine", None),
        ("GET", "/api/v1/classification/items/{code}", "read_item", ItemRead),
    ],
    "dossier": [
        ("POST", "/api/v1/dossiers", "create_dossier", DossierRead),
        ("GET", "/api/v1/dossiers/{dossier_id}", "read_dossier", DossierRead),
        ("GET", "/api/v1/dossiers/{dossier_id}/items", "list_items", "dossier-item"),
        ("GET", "/internal/dossiers/{dossier_id}", "read_snapshot", None),
    ],
    "documents": [
        ("GET", "/api/v1/documents/{document_id}", "read_document", None),
        ("GET", "/api/v1/documents/pinned/{pinned_id}/content", "read_pinned_content", None),
        ("POST", "/internal/documents/{document_id}/pins", "pin_document", None),
    ],
    "instruction": [
        ("GET", "/api/v1/instruction/cases", "list_cases", None),
        ("POST", "/api/v1/instruction/authorisations/{number}/imputations", "record_imputation", None),
    ],
    "notifications": [
        ("GET", "/api/v1/notifications", "list_notifications", None),
        ("POST", "/api/v1/webhooks/endpoints", "register_endpoint", None),
    ],
}


@dataclass
class Stub:
    """One fake service: records what reached it, echoes it back."""

    name: str
    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    signals: dict[str, asyncio.Event] = field(default_factory=dict)
    release: dict[str, asyncio.Event] = field(default_factory=dict)
    jwks: dict[str, Any] | None = None
    openapi_up: bool = True

    def signal(self, key: str) -> asyncio.Event:
        return self.signals.setdefault(key, asyncio.Event())

    def gate(self, key: str) -> asyncio.Event:
        return self.release.setdefault(key, asyncio.Event())

    def paths_seen(self) -> list[str]:
        return [s["path"] for s in self.seen]


def build_stub(stub: Stub) -> FastAPI:
    app = FastAPI(title=f"stub {stub.name}", openapi_url=None)

    async def echo(request: Request) -> JSONResponse:
        signal = request.headers.get("x-test-signal")
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.stream():
            if chunk and size == 0 and signal:
                stub.signal(signal).set()
            size += len(chunk)
            digest.update(chunk)
        record = {
            "service": stub.name, "method": request.method, "path": request.url.path,
            "raw_path": request.scope.get("raw_path", b"").decode("latin-1"),
            "query": request.url.query, "headers": [[k, v] for k, v in request.headers.items()],
            "body_size": size, "body_sha256": digest.hexdigest(),
        }
        stub.seen.append(record)
        response = JSONResponse(record)
        response.headers.append("set-cookie", "a=1; Path=/")
        response.headers.append("set-cookie", "b=2; Path=/")
        response.headers["proxy-authenticate"] = "Basic"
        response.headers["x-upstream-hop"] = "secret"
        response.headers["connection"] = "x-upstream-hop"
        return response

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    if stub.name == "identity":
        @app.get("/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            return stub.jwks or {"keys": []}

    # Test helpers, reached through the edges under each service's own prefix.
    prefix = {"identity": "/api/v1/identity", "classification": "/api/v1/classification",
              "dossier": "/api/v1/dossiers", "documents": "/api/v1/documents",
              "instruction": "/api/v1/instruction", "notifications": "/api/v1/notifications"}[stub.name]

    @app.get(prefix + "/_test/slow", include_in_schema=False)
    async def slow(key: str) -> dict[str, str]:
        # Answers only when the test lets it go (bounded so that a failing test ends).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stub.gate(key).wait(), timeout=30)
        return {"status": "late"}

    @app.get(prefix + "/_test/download", include_in_schema=False)
    async def download(size: int, key: str | None = None) -> StreamingResponse:
        chunk = b"x" * 65536

        async def body() -> AsyncIterator[bytes]:
            sent = 0
            first = True
            while sent < size:
                part = chunk[: min(len(chunk), size - sent)]
                yield part
                sent += len(part)
                if first and key:
                    first = False
                    # The rest comes only once the client has seen the first chunk through the edge.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stub.gate(key).wait(), timeout=30)

        return StreamingResponse(body(), media_type="application/octet-stream")

    @app.get(prefix + "/_test/broken", include_in_schema=False)
    async def broken() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"x" * 65536
            raise RuntimeError("the service fails half-way through its answer")

        return StreamingResponse(body(), media_type="application/octet-stream")

    for method, path, op_id, model in DOCUMENTED[stub.name]:
        model = _dossier_item_model() if model == "dossier-item" else model
        responses = {200: {"model": model}} if model else None
        app.add_api_route(path, echo, methods=[method], operation_id=op_id, responses=responses,
                          summary=f"Opération {op_id}", tags=[stub.name])

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        if not stub.openapi_up:
            return JSONResponse({"detail": "down"}, status_code=503)
        return JSONResponse(app.openapi())

    app.add_api_route("/{path:path}", echo, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                      include_in_schema=False)
    FastAPIInstrumentor.instrument_app(app)
    return app


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    telemetry.setup_tracing("gateway-tests", exporter=exporter)
    return exporter


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
async def stubs(keys: TestKeys, span_exporter: InMemorySpanExporter) -> AsyncIterator[dict[str, Stub]]:
    out = {name: Stub(name) for name in SERVICES}
    out["identity"].jwks = keys.jwks()
    async with contextlib.AsyncExitStack() as stack:
        for stub in out.values():
            stub.url = await stack.enter_async_context(serve_app(build_stub(stub)))
        yield out


@pytest.fixture(scope="session")
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"t{uuid.uuid4().hex[:10]}:gw:"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    keys_ = [k async for k in redis.scan_iter(match=prefix + "*")]
    if keys_:
        await redis.delete(*keys_)
    await redis.aclose()


def edge_settings(stubs: dict[str, Stub], redis_prefix: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {f"{name}_url": stub.url for name, stub in stubs.items()}
    values.update(
        jwks_url=stubs["identity"].url + "/.well-known/jwks.json", redis_url=REDIS_URL,
        rate_limit_prefix=f"{redis_prefix}{uuid.uuid4().hex[:6]}:", rate_limit_default=10_000,
        rate_limit_sign_in=10_000, rate_limit_window_seconds=3600, jwks_refresh_seconds=0.0,
        openapi_cache_seconds=0.0, log_json=False, environment="test",
    )
    values.update(overrides)
    return GatewaySettings(**values)


@contextlib.asynccontextmanager
async def running_edge(edge: str, settings: GatewaySettings) -> AsyncIterator[str]:
    """Serve an edge like ``python -m gateway`` does: uvicorn without its own X-Forwarded-For handling
    (the edge decides which proxies it trusts)."""
    config = uvicorn.Config(create_edge_app(edge, settings), host="127.0.0.1", port=free_port(),  # type: ignore[arg-type]
                            log_config=None, lifespan="on", access_log=False, proxy_headers=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done())
    if task.done():
        task.result()
        raise RuntimeError("edge stopped during start")
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def public_url(stubs: dict[str, Stub], redis_prefix: str) -> AsyncIterator[str]:
    async with running_edge("public", edge_settings(stubs, redis_prefix)) as url:
        yield url


@pytest.fixture(scope="session")
async def public_small_limit(stubs: dict[str, Stub], redis_prefix: str) -> AsyncIterator[str]:
    """A public edge that forwards bodies of at most 2 MiB."""
    async with running_edge("public", edge_settings(stubs, redis_prefix, max_body_bytes=2 * 1024 * 1024)) as url:
        yield url


@pytest.fixture(scope="session")
async def internal_url(stubs: dict[str, Stub], redis_prefix: str) -> AsyncIterator[str]:
    async with running_edge("internal", edge_settings(stubs, redis_prefix)) as url:
        yield url


@pytest.fixture(scope="session")
def make_edge(stubs: dict[str, Stub], redis_prefix: str):  # type: ignore[no-untyped-def]
    """``async with make_edge("public", read_timeout=0.2) as url``: an edge with its own settings."""

    def factory(edge: str, **overrides: Any) -> contextlib.AbstractAsyncContextManager[str]:
        return running_edge(edge, edge_settings(stubs, redis_prefix, **overrides))

    return factory
