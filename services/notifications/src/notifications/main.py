"""Composition root of the notifications service."""

from fastapi import FastAPI

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import create_service_app

from notifications.config import Settings
from notifications.entrypoints.api import routers
from notifications.entrypoints.consumers import subscriptions


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="e-APS — notifications",
        description="Courriels, SMS, notifications dans l'application et webhooks des autres administrations.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        token_verifier=token_verifier,
    )
