"""Fixtures of the documents service's tests: a private clamd and a private S3 server
(moto) on free loopback ports, each can be stopped and restarted by fault tests; a fresh
database and bus prefix; the app with a test signing key."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import orjson
import pytest
from minio import Minio
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).parent))

from classification.config import Settings as ClassificationSettings
from classification.main import create_app as classification_app
from documents.adapters.clamav import Clamd
from documents.config import Settings
from documents.main import create_app
from documents_testkit import TEST_LIMIT  # noqa: E402
from eaps_kit.db import drop_database
from eaps_kit.testing import (
    TestKeys,
    app_client,
    bearer,
    eventually,
    free_port,
    serve_app,
    test_database_url,
    unique_suffix,
)

ROOT = Path(__file__).resolve().parents[3]
START_CLAMD = ROOT / "deploy" / "local" / "clamd" / "start-clamd.sh"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


class ClamdProcess:
    """A private clamd; stop() and start() for the fault tests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.state = ROOT / "var" / f"test-clamd-{unique_suffix()}"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [str(START_CLAMD), str(self.port), str(self.state)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Clamd("127.0.0.1", self.port, connect_timeout=1)

        async def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "clamd exited"
            return await client.ping()

        await eventually(up, timeout=60, interval=0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.state, ignore_errors=True)


class S3Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.running = False

    def start(self) -> None:
        self.server.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False

    def client(self) -> Minio:
        return Minio(f"127.0.0.1:{self.port}", access_key="test", secret_key="test", secure=False,
                     region="us-east-1")


@pytest.fixture(scope="session")
async def clamd() -> AsyncIterator[ClamdProcess]:
    proc = ClamdProcess()
    await proc.start()
    yield proc
    proc.cleanup()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
def classification_settings() -> ClassificationSettings:
    return ClassificationSettings(environment="test", database_url=test_database_url("classification"),
                                  bus_prefix=f"t{unique_suffix()}.", log_json=False)


@pytest.fixture(scope="session")
async def classification_url(classification_settings: ClassificationSettings, keys: TestKeys
                             ) -> AsyncIterator[str]:
    """The real classification service, served on a free loopback port for the whole session."""
    app = classification_app(classification_settings, token_verifier=keys.verifier())
    async with serve_app(app) as url:
        yield url
        with contextlib.suppress(Exception):
            await app.state.runtime.broker.delete_declared()
    await drop_database(classification_settings.database_url)


@pytest.fixture(scope="session")
async def settings(clamd: ClamdProcess, s3: S3Server, classification_url: str) -> AsyncIterator[Settings]:
    suffix = unique_suffix()
    s = Settings(
        environment="test", database_url=test_database_url("documents"), bus_prefix=f"t{suffix}.",
        s3_endpoint=f"127.0.0.1:{s3.port}", s3_access_key="test", s3_secret_key="test",
        library_bucket=f"lib-{suffix}", pinned_bucket=f"pin-{suffix}", clamd_port=clamd.port,
        max_upload_bytes=TEST_LIMIT, multipart_overhead_bytes=16 * 1024, rescan_interval_seconds=0.2,
        reconcile_interval_seconds=3600, retry_after_seconds=15, internal_token="test-internal-token",
        log_json=False, classification_url=classification_url,
    )
    yield s
    await drop_database(s.database_url)


@pytest.fixture(scope="session")
async def app(settings: Settings, keys: TestKeys) -> Any:
    return create_app(settings, token_verifier=keys.verifier())


@pytest.fixture(scope="session")
async def client(app: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app) as c:
        yield c
        await app.state.runtime.broker.delete_declared()


@pytest.fixture(scope="session")
def internal(settings: Settings) -> dict[str, str]:
    return {"X-Internal-Token": settings.internal_token}


class Applicant:
    """An applicant's token and helpers to call the library with it."""

    def __init__(self, client: httpx.AsyncClient, keys: TestKeys, *, operator_id: uuid.UUID | None = None,
                 account_id: uuid.UUID | None = None) -> None:
        self.client = client
        self.account_id = account_id or uuid.uuid4()
        self.operator_id = operator_id
        level = "OPPD" if operator_id else "AS"
        self.headers = bearer(keys.applicant(self.account_id, access_level=level, operator_id=operator_id))

    async def upload(self, content: bytes, filename: str = "piece.pdf", **fields: str) -> httpx.Response:
        data = {"title": "Pièce justificative", "document_type": "PC", **fields}
        return await self.client.post("/api/v1/documents", headers=self.headers, data=data,
                                      files={"file": (filename, content, "application/pdf")})

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers, **kw)


@pytest.fixture
def applicant(client: httpx.AsyncClient, keys: TestKeys) -> Applicant:
    return Applicant(client, keys)


@pytest.fixture
def other_applicant(client: httpx.AsyncClient, keys: TestKeys) -> Applicant:
    return Applicant(client, keys)


@pytest.fixture
def make_applicant(client: httpx.AsyncClient, keys: TestKeys) -> Any:
    return lambda **kw: Applicant(client, keys, **kw)


class EventLog:
    """What another service would see on the bus: every documents event, in order."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def of(self, event_type: str, **match: Any) -> list[dict[str, Any]]:
        return [m["data"] for m in self.messages if m["type"] == event_type
                and all(m["data"].get(k) == v for k, v in match.items())]

    async def wait_for(self, event_type: str, **match: Any) -> dict[str, Any]:
        found: list[dict[str, Any]] = await eventually(lambda: self.of(event_type, **match), timeout=20)
        return found[0]


@pytest.fixture(scope="session")
async def events(client: httpx.AsyncClient, settings: Settings) -> AsyncIterator[EventLog]:
    log = EventLog()
    connection = await aio_pika.connect_robust(AMQP_URL)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(f"{settings.bus_prefix}documents.events", aio_pika.ExchangeType.TOPIC,
                                              durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, "#")

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            log.messages.append(orjson.loads(message.body))

    await queue.consume(on_message)
    yield log
    with contextlib.suppress(Exception):
        await channel.exchange_delete(exchange.name)
    await connection.close()
