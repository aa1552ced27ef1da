"""Fixtures of the dossier service's tests: a fresh PostgreSQL database, a bus prefix on the real
RabbitMQ, tokens signed like identity's, a spy on the events the service publishes."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dossier.config import Settings  # noqa: E402
from dossier.main import create_app  # noqa: E402
from dossier_testkit import Env, FakeClassification, FakeDocuments  # noqa: E402
from eaps_contracts.events import dossier_v1  # noqa: E402
from eaps_kit.db import drop_database  # noqa: E402
from eaps_kit.messaging import ConsumerRunner, MessageContext, Subscription  # noqa: E402
from eaps_kit.testing import TestKeys, app_client, test_database_url, unique_suffix  # noqa: E402


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
async def env(keys: TestKeys) -> AsyncIterator[Env]:
    url = test_database_url("dossier")
    settings = Settings(database_url=url, bus_prefix=f"t{unique_suffix()}.", outbox_poll_seconds=0.2,
                        environment="test", internal_token="test-internal-token", log_json=False)
    fc, fd = FakeClassification(), FakeDocuments()
    app = create_app(settings, token_verifier=keys.verifier(), classification=fc, documents=fd)
    try:
        async with app_client(app) as client:
            e = Env(client, app, keys, fc, fd)

            async def collect(ctx: MessageContext) -> None:
                e.published.append(ctx.envelope)

            spy = ConsumerRunner(app.state.runtime.broker, app.state.runtime.session_factory, "spy", [
                Subscription("dossier-events", events=[dossier_v1.DossierSubmittedV1, dossier_v1.DossierResubmittedV1,
                                                       dossier_v1.DossierWithdrawnV1,
                                                       dossier_v1.DossierMessagePostedV1], handler=collect)])
            await spy.start()
            try:
                yield e
            finally:
                await spy.stop()
                await app.state.runtime.broker.delete_declared()
    finally:
        await drop_database(url)


