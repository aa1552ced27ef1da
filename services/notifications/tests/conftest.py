"""Fixtures of the notifications tests: one app for the session on its own database and bus
prefix, a real SMTP sink (aiosmtpd) and the real SMS sink, both on free loopback ports, and an
offset clock that lets tests jump ahead in time."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from eaps_kit.db import drop_database
from eaps_kit.testing import TestKeys, app_client, free_port, serve_app, test_database_url
from notifications.config import Settings
from notifications.domain.clock import OffsetClock
from notifications.main import create_app

sys.path.insert(0, str(Path(__file__).parent))
from notif_helpers import Bus  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def _load_sinks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eaps_local_sinks", ROOT / "deploy" / "local" / "sinks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eaps_local_sinks"] = module
    spec.loader.exec_module(module)
    return module


sinks = _load_sinks()


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
def clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="eaps-notifications-") as d:
        yield Path(d)


@pytest.fixture(scope="session")
def mail_sink(tmp_root: Path) -> Iterator[Any]:
    sink = sinks.MailSink(tmp_root / "mail", "127.0.0.1", free_port()).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
async def sms_url(tmp_root: Path) -> AsyncIterator[str]:
    async with serve_app(sinks.create_sms_app(tmp_root / "sms")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(mail_sink: Any, sms_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=test_database_url("notifications"),
        bus_prefix=f"t{uuid.uuid4().hex[:10]}.",
        smtp_port=mail_sink.port,
        sms_url=sms_url,
        dispatch_poll_seconds=0.2,
        outbox_poll_seconds=0.2,
        webhook_timeout_seconds=3.0,
        log_json=False,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings, keys: TestKeys, clock: OffsetClock) -> AsyncIterator[Any]:
    application = create_app(settings, token_verifier=keys.verifier(), clock=clock)
    yield application


@pytest.fixture(scope="session")
async def client(app: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    try:
        async with app_client(app) as c:
            yield c
            await app.state.runtime.broker.delete_declared()
    finally:
        await drop_database(settings.database_url)


@pytest.fixture(scope="session")
def runtime(client: httpx.AsyncClient, app: Any) -> Any:
    return app.state.runtime


@pytest.fixture(scope="session")
def bus(runtime: Any) -> Bus:
    return Bus(runtime)
