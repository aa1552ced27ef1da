"""Composition root of the documents service."""

from fastapi import FastAPI

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import create_service_app

from documents.config import Settings
from documents.entrypoints.api import routers
from documents.entrypoints.consumers import subscriptions


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="e-APS — documents",
        description="Bibliothèque de documents, contrôles à l'envoi, antivirus, copies figées des dossiers transmis.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        token_verifier=token_verifier,
    )
