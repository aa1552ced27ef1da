"""Database helpers: engine, sessions, create-if-missing and Alembic migrations at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class StartupError(RuntimeError):
    """A dependency is misconfigured or unreachable at start: reported in one line."""


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """The plain libpq DSN of a SQLAlchemy URL (for asyncpg LISTEN connections)."""
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the service's database when it is missing."""
    u = make_url(url)
    name = u.database
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(admin, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise StartupError(f"database server unreachable at {u.host}:{u.port or 5432} "
                           f"({exc.__class__.__name__}: {exc})") from None
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
    finally:
        await conn.close()


def _upgrade(migrations_dir: Path, url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


async def migrate(migrations_dir: Path, url: str) -> None:
    """Create the database if needed and run Alembic to head (in a worker thread)."""
    await ensure_database(url)
    await asyncio.to_thread(_upgrade, migrations_dir, url)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends normally, rolls back otherwise."""
    async with factory() as session:
        async with session.begin():
            yield session
