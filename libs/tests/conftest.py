"""Fixtures of the kit's integration tests: a real PostgreSQL database and a real RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from eaps_kit.db import drop_database, make_engine, make_session_factory, migrate
from eaps_kit.messaging import Broker
from eaps_kit.testing import test_database_url, unique_suffix
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations_fixture"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"

@pytest.fixture(scope="session")
async def db_url() -> AsyncIterator[str]:
    url = test_database_url("kit")
    await migrate(MIGRATIONS, url)
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


@pytest.fixture
async def clean_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("TRUNCATE outbox, inbox, widgets, effects"))


@pytest.fixture
def prefix() -> str:
    return f"t{unique_suffix()}."


@pytest.fixture
async def broker(prefix: str) -> AsyncIterator[Broker]:
    b = Broker(AMQP_URL, prefix)
    await b.connect()
    yield b
    await b.delete_declared()
    await b.close()
