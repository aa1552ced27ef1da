"""The two edges: ``create_edge_app("public" | "internal", settings)``.

A request goes: request id → path safety → access table → token (identity's JWKS, the edge's
audience) → rate limit → access check → the service, bodies streamed. The portals (issue 9) will be
mounted here: ``gateway.portal`` at / on the public edge and at /agent on the internal edge."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from eaps_kit import telemetry
from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE, Principal, TokenVerifier, bearer_token
from eaps_kit.problems import PROBLEM_JSON, ProblemError, install_problem_handlers
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from redis.asyncio import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Edge, GatewaySettings
from gateway.openapi import OpenApiAggregator, docs_page
from gateway.proxy import forward
from gateway.ratelimit import RateLimiter
from gateway.rules import Match, RuleTable, load_rules
from gateway.tokens import CachedVerifier

log = logging.getLogger("eaps.gateway")

AUDIENCES: dict[Edge, str] = {"public": PUBLIC_AUDIENCE, "internal": INTERNAL_AUDIENCE}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class RequestIdMiddleware:
    """Takes a well-formed X-Request-Id from the client or makes one; puts it on the response,
    in the logs (contextvar) and on the forwarded request (scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-request-id"), "")
        rid = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = rid
        token = telemetry.request_id_var.set(rid)
        header = (b"x-request-id", rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"].append(header)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            telemetry.request_id_var.reset(token)


# Set on every answer of the edge that does not carry its own (the portals set theirs): API answers
# are never sniffed, framed nor allowed to load anything; an HTML page without a policy gets one
# that fits the portals (own origin only).
_API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_HTML_CSP = (b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
             b"object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                     (b"referrer-policy", b"no-referrer"))


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _SECURITY_HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                    headers.append((b"content-security-policy",
                                    _HTML_CSP if ctype.lower().startswith(b"text/html") else _API_CSP))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _unsafe_path(path: str) -> bool:
    """Dot segments or empty segments could be normalised by a client library into another path
    than the one the rules saw (e.g. /api/v1/dossiers/../../../internal/...)."""
    segments = path.split("/")[1:]
    return any(s in (".", "..") for s in segments) or "\\" in path or "\x00" in path


class EdgeState:
    """What one edge holds at run time (built in the lifespan)."""

    def __init__(self, edge: Edge, settings: GatewaySettings, table: RuleTable, verifier: TokenVerifier) -> None:
        self.edge = edge
        self.settings = settings
        self.rules = table.for_edge(edge)
        self.audience = AUDIENCES[edge]
        self.verifier = CachedVerifier(verifier, self.audience, max_entries=settings.token_cache_size,
                                       max_age=settings.token_cache_seconds)
        self.services = self.rules.services()
        self.upstreams = {s: settings.upstream_url(s) for s in self.services}
        self.client: httpx.AsyncClient | None = None
        self.redis: Redis | None = None
        self.limiter: RateLimiter | None = None
        self.openapi: OpenApiAggregator | None = None

    def client_ip(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        if peer in self.settings.trusted_proxies:
            chain = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
            for hop in reversed(chain):
                if hop not in self.settings.trusted_proxies:
                    return hop
        return peer

    def forwarded_for(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        incoming = request.headers.get("x-forwarded-for", "")
        if incoming and peer in self.settings.trusted_proxies:
            return f"{incoming}, {peer}"
        return peer


def create_edge_app(edge: Edge, settings: GatewaySettings | None = None, *,
                    token_verifier: TokenVerifier | None = None, rules: RuleTable | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    table = rules or load_rules()
    verifier = token_verifier or TokenVerifier(
        issuer=settings.token_issuer, audiences=[AUDIENCES[edge]], jwks_url=settings.jwks_url,
        refresh_interval=settings.jwks_refresh_seconds)
    state = EdgeState(edge, settings, table, verifier)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry.setup_tracing(f"gateway-{edge}", otlp_endpoint=settings.otlp_endpoint)
        timeout = httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                                write=settings.write_timeout, pool=settings.pool_timeout)
        limits = httpx.Limits(max_connections=settings.max_connections,
                              max_keepalive_connections=settings.max_connections)
        client = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False, trust_env=False)
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client)
        state.client = client
        state.redis = Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        if settings.rate_limit_enabled:
            state.limiter = RateLimiter(state.redis, prefix=settings.rate_limit_prefix,
                                        window_seconds=settings.rate_limit_window_seconds,
                                        limits={"default": settings.rate_limit_default,
                                                "sign_in": settings.rate_limit_sign_in})
        state.openapi = OpenApiAggregator(state.rules, client, state.upstreams,
                                          cache_seconds=settings.openapi_cache_seconds,
                                          timeout=settings.health_timeout)
        log.info("gateway %s edge ready, services: %s", edge, ", ".join(state.services))
        try:
            yield
        finally:
            await client.aclose()
            await state.redis.aclose()

    app = FastAPI(title=f"e-APS — passerelle {edge}", lifespan=lifespan, openapi_url=None,
                  docs_url=None, redoc_url=None)
    app.state.edge = state
    install_problem_handlers(app)

    @app.get("/health/live", include_in_schema=False)
    async def health_live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def health_ready() -> Response:
        assert state.client is not None and state.redis is not None

        async def redis_ok() -> bool:
            try:
                return bool(await asyncio.wait_for(state.redis.ping(), timeout=settings.health_timeout))  # type: ignore[union-attr]
            except Exception:
                return False

        async def upstream_ok(service: str) -> bool:
            try:
                resp = await state.client.get(f"{state.upstreams[service]}/health/live",  # type: ignore[union-attr]
                                              timeout=settings.health_timeout)
                return resp.status_code == 200
            except httpx.HTTPError:
                return False

        names = ["redis", *state.services]
        results = await asyncio.gather(redis_ok(), *(upstream_ok(s) for s in state.services))
        checks = dict(zip(names, results, strict=True))
        if all(checks.values()):
            return JSONResponse({"status": "ok", "checks": checks})
        down = ", ".join(n for n, ok in checks.items() if not ok)
        return JSONResponse({"type": "about:blank", "title": "Service momentanément indisponible", "status": 503,
                             "detail": f"Dépendances injoignables : {down}.", "checks": checks},
                            status_code=503, media_type=PROBLEM_JSON)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        assert state.openapi is not None
        return JSONResponse(await state.openapi.document())

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        assert state.openapi is not None
        return HTMLResponse(docs_page(await state.openapi.document()))

    # The web portals, before the catch-all route: the API's own paths above keep priority.
    from gateway.portal import mount as mount_portals

    mount_portals(app, edge, settings)
    if edge == "internal":  # the officer portal at /agent (gateway.agent)
        from gateway.agent import install_agent_portal
        from gateway.portal.common.settings import PortalSettings

        install_agent_portal(app, PortalSettings(environment=settings.environment))

    @app.api_route("/{path:path}", methods=ALL_METHODS, include_in_schema=False)
    async def edge_route(request: Request) -> Response:
        return await _handle(state, request)

    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/live,health/ready")
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


async def _handle(state: EdgeState, request: Request) -> Response:
    started = time.perf_counter()
    method, path = request.method, request.scope["path"]
    match = None if _unsafe_path(path) or path.startswith("/internal/") or path == "/internal" \
        else state.rules.match(method, path)
    if b"%00" in (request.scope.get("query_string") or b"").lower():  # PostgreSQL text never holds NUL
        raise ProblemError(400, "La requête contient un caractère non autorisé (caractère nul).")
    principal: Principal | None = None
    auth_error: ProblemError | None = None
    token = bearer_token(request)
    if isinstance(match, Match) and token:
        try:
            principal = await state.verifier.verify(token)
        except ProblemError as exc:
            auth_error = exc
    if state.limiter is not None:
        bucket = match.rule.limit if isinstance(match, Match) else "default"
        # Credential-guessing routes count per address whatever token comes along (accounts are cheap).
        by_subject = principal is not None and bucket != "sign_in"
        client_key = f"sub:{principal.sub}" if by_subject and principal else f"ip:{state.client_ip(request)}"
        verdict = await state.limiter.hit(state.edge, bucket, client_key)
        if verdict is not None and not verdict.allowed:
            raise ProblemError(
                429, f"Trop de requêtes. Veuillez réessayer dans {verdict.retry_after} seconde(s).",
                headers={"Retry-After": str(verdict.retry_after), "RateLimit-Limit": str(verdict.limit),
                         "RateLimit-Remaining": "0"})
    if match is None:
        raise ProblemError(404, "La ressource demandée n'existe pas.")
    if isinstance(match, list):
        raise ProblemError(405, "Cette méthode n'est pas autorisée sur cette ressource.",
                           headers={"Allow": ", ".join(match)})
    if not match.rule.is_public:
        if auth_error is not None:
            raise auth_error
        if principal is None:
            raise ProblemError(401, "Vous devez être connecté pour accéder à cette ressource.",
                               headers={"WWW-Authenticate": 'Bearer realm="eaps"'})
        if not match.rule.permits(principal):
            raise ProblemError(403, "Votre profil ne permet pas d'accéder à cette ressource.")
    assert state.client is not None
    rid = request.scope.get("state", {}).get("request_id") or str(uuid.uuid4())
    response = await forward(state.client, request, service=match.service, base_url=state.upstreams[match.service],
                             request_id=rid, forwarded_for=state.forwarded_for(request),
                             max_body_bytes=state.settings.max_body_bytes)
    log.info("%s %s -> %s %s (%.1f ms to headers)", method, path, match.service, response.status_code,
             (time.perf_counter() - started) * 1000)
    return response

