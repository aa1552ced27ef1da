"""Composition root of the dossier service."""

from fastapi import FastAPI

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import create_service_app

from dossier.config import Settings
from dossier.entrypoints.api import routers
from dossier.entrypoints.consumers import subscriptions


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        title="e-APS — dossier",
        description="Demandes d'autorisation du brouillon à la transmission, corbeilles, dialogue, autorisations, recherche.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        token_verifier=token_verifier,
    )
