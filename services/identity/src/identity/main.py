"""Composition root of the identity service."""

from eaps_kit.auth import TokenVerifier
from eaps_kit.service import Runtime, create_service_app
from fastapi import FastAPI

from identity.adapters.passwords import Passwords
from identity.bootstrap import build
from identity.config import Settings
from identity.entrypoints.api import routers
from identity.entrypoints.api.deps import LocalKeysVerifier
from identity.entrypoints.consumers import subscriptions


def create_app(settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None,
               passwords: Passwords | None = None) -> FastAPI:
    """``token_verifier`` defaults to identity's own keys; ``passwords`` lets tests share one hasher."""
    settings = settings or Settings()
    verifier = token_verifier or LocalKeysVerifier(issuer=settings.token_issuer, audiences=settings.token_audiences)

    async def start(runtime: Runtime) -> None:
        ident = build(settings, runtime.session_factory, passwords)
        await ident.keys.ensure_active_key()
        runtime.extras["identity"] = ident
        if isinstance(verifier, LocalKeysVerifier):
            verifier.identity = ident

    async def stop(runtime: Runtime) -> None:
        ident = runtime.extras.get("identity")
        if ident is not None:
            await ident.redis.aclose()

    async def redis_ok(runtime: Runtime) -> bool:
        return bool(await runtime.extras["identity"].redis.ping())

    app: FastAPI = create_service_app(
        settings=settings,
        title="e-APS — identity",
        description="Comptes prodou@ne, accès simplifié et OPPD, habilitations PAE, agents avec MFA, jetons.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=subscriptions,
        on_startup=[start],
        on_shutdown=[stop],
        ready_checks={"redis": redis_ok},
        token_verifier=verifier,
    )
    return app
