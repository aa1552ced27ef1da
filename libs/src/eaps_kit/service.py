"""The one way every service is assembled: ``create_service_app`` builds the FastAPI app whose
lifespan migrates the database, connects the broker, starts the outbox relay and consumers,
and stops them gracefully (in-flight handlers finish, nothing acked early)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from eaps_kit import telemetry
from eaps_kit.auth import TokenVerifier
from eaps_kit.db import make_engine, make_session_factory, migrate
from eaps_kit.messaging.broker import Broker
from eaps_kit.messaging.consumer import ConsumerRunner, Subscription
from eaps_kit.messaging.outbox import current_correlation_id
from eaps_kit.messaging.relay import OutboxRelay
from eaps_kit.problems import PROBLEM_JSON, install_problem_handlers
from eaps_kit.settings import ServiceSettings

log = logging.getLogger("eaps.service")

ReadyCheck = Callable[["Runtime"], Awaitable[bool]]
Hook = Callable[["Runtime"], Awaitable[Any]]


@dataclass
class Runtime:
    """What the lifespan built; handlers and routes reach it through ``app.state.runtime``."""

    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    broker: Broker
    relay: OutboxRelay | None = None
    consumers: ConsumerRunner | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    background: list[asyncio.Task[Any]] = field(default_factory=list)

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self.background.append(task)
        return task


def stable_operation_id(route: APIRoute) -> str:
    """Operation ids are the route functions' names: stable across path or tag changes."""
    return route.name


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    migrations_dir: Path,
    routers: Sequence[APIRouter] = (),
    subscriptions: Callable[[Runtime], Sequence[Subscription]] | Sequence[Subscription] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    ready_checks: dict[str, ReadyCheck] | None = None,
    token_verifier: TokenVerifier | None = None,
    version: str = "1.0.0",
) -> FastAPI:
    checks = dict(ready_checks or {})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry.setup_tracing(settings.service_name, otlp_endpoint=settings.otlp_endpoint)
        await migrate(migrations_dir, settings.database_url)
        engine = make_engine(settings.database_url)
        _instrument_engine(engine)
        broker = Broker(settings.amqp_url, settings.bus_prefix)
        await broker.connect()
        runtime = Runtime(settings, engine, make_session_factory(engine), broker)
        app.state.runtime = runtime
        app.state.settings = settings
        app.state.token_verifier = token_verifier or TokenVerifier(
            issuer=settings.token_issuer, audiences=settings.token_audiences, jwks_url=settings.jwks_url)
        async with AsyncExitStack() as stack:
            if settings.run_workers:
                runtime.relay = OutboxRelay(runtime.session_factory, broker, settings.database_url,
                                            poll_seconds=settings.outbox_poll_seconds)
                await runtime.relay.start()
                stack.push_async_callback(runtime.relay.stop)
                subs = subscriptions(runtime) if callable(subscriptions) else subscriptions
                if subs:
                    runtime.consumers = ConsumerRunner(broker, runtime.session_factory, settings.service_name, subs)
                    await runtime.consumers.start()
                    stack.push_async_callback(runtime.consumers.stop)
            for hook in on_startup:
                await hook(runtime)
            for hook in on_shutdown:
                stack.push_async_callback(hook, runtime)
            log.info("%s ready on %s:%s", settings.service_name, settings.host, settings.port)
            try:
                yield
            finally:
                for task in runtime.background:
                    task.cancel()
                if runtime.background:
                    await asyncio.gather(*runtime.background, return_exceptions=True)
        await broker.close()
        await engine.dispose()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  generate_unique_id_function=stable_operation_id)
    install_problem_handlers(app)
    app.middleware("http")(request_id_middleware)
    health = APIRouter(tags=["santé"])

    @health.get("/health/live", summary="Le processus répond")
    async def health_live() -> dict[str, str]:
        return {"status": "ok"}

    @health.get("/health/ready", summary="Le service et ses dépendances répondent")
    async def health_ready(request: Request) -> Response:
        runtime: Runtime | None = getattr(request.app.state, "runtime", None)
        if runtime is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        results: dict[str, bool] = {}
        results["database"] = await _db_ok(runtime)
        results["broker"] = await runtime.broker.ping()
        for name, check in checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(runtime), timeout=3))
            except Exception:
                results[name] = False
        body: dict[str, Any] = {"status": "ok" if all(results.values()) else "degraded", "checks": results}
        if runtime.relay is not None:
            try:
                body["outbox_backlog"] = await runtime.relay.backlog()
            except Exception:
                pass
        return JSONResponse(body, status_code=200 if all(results.values()) else 503,
                            media_type="application/json" if all(results.values()) else PROBLEM_JSON)

    app.include_router(health)
    for router in routers:
        app.include_router(router)
    _instrument_app(app)
    return app


async def _db_ok(runtime: Runtime) -> bool:
    try:
        async with runtime.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(sa.text("SELECT 1")), timeout=3)
        return True
    except Exception:
        return False


async def request_id_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    rid = request.headers.get("x-request-id") or str(uuid.uuid4())
    token = telemetry.request_id_var.set(rid)
    try:
        corr = uuid.UUID(rid)
    except ValueError:
        corr = uuid.uuid5(uuid.NAMESPACE_URL, rid)
    ctoken = current_correlation_id.set(corr)
    try:
        response = await call_next(request)
    finally:
        telemetry.request_id_var.reset(token)
        current_correlation_id.reset(ctoken)
    response.headers["X-Request-Id"] = rid
    return response


def _instrument_app(app: FastAPI) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/live,health/ready")


def _instrument_engine(engine: AsyncEngine) -> None:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
