"""Composition root of the instruction service."""

from eaps_kit.auth import TokenVerifier
from eaps_kit.problems import problem_response
from eaps_kit.service import Runtime, create_service_app
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from instruction.adapters.documents import DocumentsClient
from instruction.config import Settings
from instruction.domain.clock import Clock, SystemClock
from instruction.domain.errors import DomainError
from instruction.domain.rules import load_rules
from instruction.entrypoints.api import routers
from instruction.entrypoints.consumers import subscriptions
from instruction.service_layer import jobs
from instruction.service_layer.context import Context, DocumentStore


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None,
               clock: Clock | None = None, documents: DocumentStore | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = Context(clock=clock or SystemClock(), rules=load_rules(settings.rules_file),
                  documents=documents or DocumentsClient(settings.documents_url, settings.internal_token,
                                                         settings.documents_timeout_seconds))

    async def install_context(runtime: Runtime) -> None:
        runtime.extras["ctx"] = ctx
        if settings.run_workers and settings.run_jobs:
            runtime.spawn(jobs.run_forever(runtime.session_factory, ctx, settings.jobs_interval_seconds),
                          name="instruction-jobs")

    async def close_clients(runtime: Runtime) -> None:
        close = getattr(ctx.documents, "close", None)
        if close is not None:
            await close()

    def subs(runtime: Runtime):  # type: ignore[no-untyped-def]
        # Consumers start before the startup hooks: make the context available to them first.
        runtime.extras["ctx"] = ctx
        return subscriptions(runtime)

    app = create_service_app(
        settings=settings,
        title="e-APS — instruction",
        description="Instruction des dossiers par le service douanier : files, recevabilité, décisions, autorisations.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subs,
        on_startup=[install_context],
        on_shutdown=[close_clients],
        token_verifier=token_verifier,
    )

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.status, exc.message, instance=str(request.url.path), errors=exc.errors)

    return app
