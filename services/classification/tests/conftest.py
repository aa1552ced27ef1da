"""Classification test fixtures: the packaged ruleset, a movable clock, and a real app (own
database, own bus prefix) with a queue recording every event the service publishes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import orjson
import pytest
from classification.adapters.ruleset_files import PACKAGED_RULESETS, load_all, load_directory
from classification.config import Settings
from classification.domain.engine import DeterminationRequest, RequestedItem
from classification.domain.reference import Reference
from classification.main import create_app
from eaps_kit.db import drop_database
from eaps_kit.testing import app_client, eventually, test_database_url, unique_suffix

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
BASE_VERSION = "2026-01-01"


@pytest.fixture(scope="session")
def ref() -> Reference:
    return load_directory(PACKAGED_RULESETS / BASE_VERSION)


@pytest.fixture(scope="session")
def packaged() -> list[Reference]:
    return load_all([PACKAGED_RULESETS])


def request(flow: str, items: list[tuple[Any, ...]], *, origin: str | None = None, destination: str | None = None,
            kind: str = "individual", profile: str = "chasseur", motive: str | None = None) -> DeterminationRequest:
    """A determination request with countries that agree with the flow unless given."""
    default = {"IMP": ("US", "FR"), "INT": ("DE", "FR"), "EXP": ("FR", "US"), "EXD": ("FR", "DE")}[flow]
    return DeterminationRequest(flow=flow, origin_country=origin or default[0],
                                destination_country=destination or default[1], kind=kind, profile=profile,
                                motive=motive, items=[RequestedItem(*i) for i in items])


@dataclass
class MovableClock:
    today: date = field(default_factory=lambda: date(2026, 11, 26))

    def __call__(self) -> date:
        return self.today


def make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = dict(environment="test", database_url=test_database_url("classification"),
                                bus_prefix=f"t{unique_suffix()}.", outbox_poll_seconds=0.2)
    base.update(overrides)
    return Settings(**base)


class EventLog:
    """Every envelope the service published, as another service would receive it."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def of(self, type_: str, **match: Any) -> list[dict[str, Any]]:
        return [e["data"] for e in self.items if e["type"] == type_
                and all(e["data"].get(k) == v for k, v in match.items())]

    async def wait(self, type_: str, **match: Any) -> dict[str, Any]:
        found = await eventually(lambda: self.of(type_, **match))
        return found[-1]


class Listener:
    """Binds a queue to the service's exchange before the service starts, so nothing is missed."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.log = EventLog()
        self._conn: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> EventLog:
        self._conn = await aio_pika.connect_robust(AMQP_URL)
        ch = await self._conn.channel()
        ex = await ch.declare_exchange(f"{self.prefix}classification.events", aio_pika.ExchangeType.TOPIC,
                                       durable=True)
        queue = await ch.declare_queue(f"{self.prefix}classification-test.{unique_suffix()}", exclusive=True)
        await queue.bind(ex, "classification.#")

        async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with msg.process():
                self.log.items.append(orjson.loads(msg.body))

        await queue.consume(on_message)
        return self.log

    async def close(self) -> None:
        if self._conn is not None:
            ch = await self._conn.channel()
            await ch.exchange_delete(f"{self.prefix}classification.events")
            await self._conn.close()


@dataclass
class Running:
    client: httpx.AsyncClient
    clock: MovableClock
    events: EventLog
    settings: Settings


@pytest.fixture
async def start_service() -> AsyncIterator[Callable[..., Any]]:
    """Start a classification app on given settings (several times if needed: a restart);
    every database it used is dropped at the end of the test."""
    urls: set[str] = set()

    @contextlib.asynccontextmanager
    async def start(settings: Settings, clock: MovableClock | None = None) -> AsyncIterator[Running]:
        clock = clock or MovableClock()
        urls.add(settings.database_url)
        listener = Listener(settings.bus_prefix)
        log = await listener.start()
        try:
            async with app_client(create_app(settings, clock=clock)) as client:
                yield Running(client, clock, log, settings)
        finally:
            await listener.close()

    yield start
    for url in urls:
        await drop_database(url)


@pytest.fixture(scope="session")
async def service() -> AsyncIterator[Running]:
    """One app for the API tests (the packaged rulesets, a clock on 26 November 2026)."""
    settings = make_settings()
    clock = MovableClock()
    listener = Listener(settings.bus_prefix)
    log = await listener.start()
    try:
        async with app_client(create_app(settings, clock=clock)) as client:
            yield Running(client, clock, log, settings)
    finally:
        await listener.close()
        await drop_database(settings.database_url)


def copy_ruleset(tmp: Path, version: str, effective: date, *, edit: Callable[[dict[str, str]], None] | None = None,
                 extends: str | None = None) -> Path:
    """A version directory under ``tmp`` made from the packaged one (or extending another directory)."""
    target = tmp / version
    target.mkdir(parents=True)
    header = (f'version: "{version}"\neffective_date: {effective.isoformat()}\n'
              f'title: "Référentiel de test {version}"\ndescription: "Copie de test."\n')
    if extends:
        header += f'extends: "{extends}"\n'
    files: dict[str, str] = {}
    if not extends:
        for path in (PACKAGED_RULESETS / BASE_VERSION).glob("*.yaml"):
            if path.name != "ruleset.yaml":
                files[path.name] = path.read_text(encoding="utf-8")
    if edit:
        edit(files)
    (target / "ruleset.yaml").write_text(header, encoding="utf-8")
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def build_request() -> Callable[..., DeterminationRequest]:
    return request


@pytest.fixture(scope="session")
def ruleset_copy() -> Callable[..., Path]:
    return copy_ruleset


@pytest.fixture(scope="session")
def settings_for() -> Callable[..., Settings]:
    return make_settings
