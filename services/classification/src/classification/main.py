"""Composition root of the classification service."""

from __future__ import annotations

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import Runtime, create_service_app
from fastapi import FastAPI

from classification.config import Settings
from classification.entrypoints.api import routers
from classification.entrypoints.consumers import subscriptions
from classification.service_layer.catalogue import Catalogue, Clock, paris_today


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None,
               clock: Clock = paris_today) -> FastAPI:
    """``clock`` gives today's date; tests move it to bring a future-dated ruleset into force."""
    settings = settings or Settings()
    catalogue = Catalogue(list(settings.rulesets_dirs), clock)

    async def load_rulesets(runtime: Runtime) -> None:
        # Every version is validated, and the new ones published through the outbox, before serving.
        runtime.extras["catalogue"] = catalogue
        await catalogue.load(runtime.session_factory)

    async def rulesets_ready(runtime: Runtime) -> bool:
        return bool(catalogue.versions.all())

    return create_service_app(
        settings=settings,
        title="e-APS — classification",
        description="Référentiel réglementaire versionné, aide au classement et moteur d'autorisation.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        on_startup=[load_rulesets],
        ready_checks={"rulesets": rulesets_ready},
        token_verifier=token_verifier,
    )
