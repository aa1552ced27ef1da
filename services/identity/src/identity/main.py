"""Composition root of the identity service."""

from fastapi import FastAPI

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import create_service_app

from identity.config import Settings
from identity.entrypoints.api import routers
from identity.entrypoints.consumers import subscriptions


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="e-APS — identity",
        description="Comptes prodou@ne, accès simplifié et OPPD, habilitations PAE, agents avec MFA, jetons.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        token_verifier=token_verifier,
    )
