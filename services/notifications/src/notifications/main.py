"""Composition root of the notifications service."""

from __future__ import annotations

import httpx
from eaps_kit.auth import TokenVerifier
from eaps_kit.service import Runtime, create_service_app
from fastapi import FastAPI

from notifications.adapters.mailer import SmtpMailer
from notifications.adapters.sms import SmsProvider, make_sms_provider
from notifications.config import Settings
from notifications.domain.clock import Clock, SystemClock
from notifications.entrypoints.api import routers
from notifications.entrypoints.consumers import make_subscriptions
from notifications.service_layer.dispatch import DispatchConfig, Dispatcher
from notifications.service_layer.handlers import Notifier


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
    sms_provider: SmsProvider | None = None,
) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()
    notifier = Notifier(settings, clock)

    async def start_dispatcher(runtime: Runtime) -> None:
        if not settings.run_workers:
            return
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=50))
        dispatcher = Dispatcher(
            runtime.session_factory,
            database_url=settings.database_url,
            clock=clock,
            mailer=SmtpMailer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.mail_from,
                username=settings.smtp_username,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            ),
            sms=sms_provider or make_sms_provider(settings.sms_provider, settings.sms_url, settings.sms_sender),
            http=http,
            config=DispatchConfig(
                batch_size=settings.dispatch_batch_size,
                poll_seconds=settings.dispatch_poll_seconds,
                lease_seconds=settings.dispatch_lease_seconds,
                message_delays=settings.message_retry_delays,
                webhook_delays=settings.webhook_retry_delays,
                webhook_timeout=settings.webhook_timeout_seconds,
            ),
        )
        runtime.extras["dispatcher"] = dispatcher
        runtime.extras["http"] = http
        await dispatcher.start()

    async def stop_dispatcher(runtime: Runtime) -> None:
        dispatcher = runtime.extras.pop("dispatcher", None)
        if dispatcher is not None:
            await dispatcher.stop()
        http = runtime.extras.pop("http", None)
        if http is not None:
            await http.aclose()

    app = create_service_app(
        settings=settings,
        title="e-APS — notifications",
        description="Courriels, SMS, notifications dans l'application et webhooks des autres administrations.",
        migrations_dir=settings.migrations_dir,
        routers=routers,
        subscriptions=lambda runtime: make_subscriptions(notifier),
        on_startup=[start_dispatcher],
        on_shutdown=[stop_dispatcher],
        token_verifier=token_verifier,
    )
    app.state.clock = clock
    return app
