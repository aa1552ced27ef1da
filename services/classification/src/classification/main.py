"""Composition root of the classification service."""

from fastapi import FastAPI

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import create_service_app

from classification.config import Settings
from classification.entrypoints.api import routers
from classification.entrypoints.consumers import subscriptions


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="e-APS — classification",
        description="Référentiel réglementaire versionné, aide au classement et moteur d'autorisation.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        token_verifier=token_verifier,
    )
