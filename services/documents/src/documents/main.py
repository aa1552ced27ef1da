"""Composition root of the documents service."""

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import Runtime, create_service_app
from fastapi import FastAPI

from documents.bootstrap import Deps, make_document_types, make_scanner, make_store
from documents.config import Settings
from documents.entrypoints.api import routers
from documents.entrypoints.consumers import subscriptions
from documents.entrypoints.workers import reconcile_loop, rescan_loop


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(runtime: Runtime) -> None:
        store = make_store(settings)
        deps = Deps(settings, runtime.session_factory, store, make_scanner(settings), make_document_types(settings))
        runtime.extras["documents"] = deps
        await store.ensure_buckets(settings.library_bucket, settings.pinned_bucket)
        if settings.run_workers:
            runtime.spawn(rescan_loop(deps), "documents-rescan")
            runtime.spawn(reconcile_loop(deps), "documents-reconcile")

    async def stop(runtime: Runtime) -> None:
        deps: Deps | None = runtime.extras.get("documents")
        if deps is not None:
            await deps.document_types.aclose()

    async def storage_ready(runtime: Runtime) -> bool:
        deps: Deps = runtime.extras["documents"]
        return await deps.store.ping(settings.library_bucket)

    async def antivirus_ready(runtime: Runtime) -> bool:
        deps: Deps = runtime.extras["documents"]
        return await deps.scanner.ping()

    return create_service_app(
        settings=settings,
        title="e-APS — documents",
        description="Bibliothèque de documents, contrôles à l'envoi, antivirus, copies figées des dossiers transmis.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        on_startup=[start],
        on_shutdown=[stop],
        ready_checks={"storage": storage_ready, "antivirus": antivirus_ready},
        token_verifier=token_verifier,
    )
