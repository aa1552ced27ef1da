"""Composition root of the dossier service."""

from __future__ import annotations

from eaps_kit.auth import TokenVerifier
from eaps_kit.problems import problem_response
from eaps_kit.service import Runtime, create_service_app
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dossier.adapters.classification import ClassificationPort, HttpClassification
from dossier.adapters.documents import DocumentsPort, HttpDocuments
from dossier.config import Settings
from dossier.domain.errors import DossierError
from dossier.domain.reference import reference
from dossier.entrypoints.api import routers
from dossier.entrypoints.consumers import subscriptions
from dossier.service_layer.handlers import DossierService


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None,
               classification: ClassificationPort | None = None,
               documents: DocumentsPort | None = None) -> FastAPI:
    settings = settings or Settings()
    reference()  # a broken reference file stops the start, not a user's request

    async def start(runtime: Runtime) -> None:
        owned: list[HttpClassification | HttpDocuments] = []
        cls = classification
        if cls is None:
            cls = HttpClassification(settings.classification_url, timeout=settings.classification_timeout)
            owned.append(cls)
        docs = documents
        if docs is None:
            docs = HttpDocuments(settings.documents_url, settings.internal_token, timeout=settings.documents_timeout)
            owned.append(docs)
        runtime.extras["http_clients"] = owned
        runtime.extras["dossier_service"] = DossierService(runtime.session_factory, cls, docs)

    async def stop(runtime: Runtime) -> None:
        for client in runtime.extras.get("http_clients", []):
            await client.aclose()

    app = create_service_app(
        settings=settings,
        title="e-APS — dossier",
        description="Demandes d'autorisation du brouillon à la transmission, corbeilles, dialogue, autorisations, "
                    "recherche.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        on_startup=[start],
        on_shutdown=[stop],
        token_verifier=token_verifier,
    )

    @app.exception_handler(DossierError)
    async def _domain_error(request: Request, exc: DossierError) -> JSONResponse:
        return problem_response(exc.status, exc.detail, headers=exc.headers or None, instance=str(request.url.path),
                                errors=exc.errors, **exc.extra)

    return app
