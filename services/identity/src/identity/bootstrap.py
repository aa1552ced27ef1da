"""Composition root: the adapters every handler uses, built once in the lifespan (or by the CLI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.adapters.keys import KeyStore
from identity.adapters.passwords import Passwords
from identity.adapters.ratelimit import LoginLimiter, LoginPolicy
from identity.config import Settings
from identity.domain.catalogue import Catalogue


@dataclass
class Identity:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    catalogue: Catalogue
    passwords: Passwords
    keys: KeyStore
    redis: Redis
    limiter: LoginLimiter


def build(settings: Settings, session_factory: async_sessionmaker[AsyncSession],
          passwords: Passwords | None = None) -> Identity:
    redis = Redis.from_url(settings.redis_url)
    policy = LoginPolicy(
        delay_after=settings.login_delay_after, delay_base_seconds=settings.login_delay_base_seconds,
        delay_max_seconds=settings.login_delay_max_seconds, lock_after=settings.login_lock_after,
        lock_seconds=settings.login_lock_seconds, failure_window_seconds=settings.login_failure_window_seconds,
        ip_max_failures=settings.ip_max_failures, ip_window_seconds=settings.ip_window_seconds)
    max_ttl = max(settings.access_token_ttl, settings.internal_access_token_ttl, settings.machine_token_ttl)
    return Identity(
        settings=settings,
        session_factory=session_factory,
        catalogue=Catalogue.load(settings.data_dir),
        passwords=passwords or Passwords(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost,
                                         parallelism=settings.argon2_parallelism),
        keys=KeyStore(session_factory, encryption_secret=settings.key_encryption_key, alg=settings.signing_alg,
                      cache_seconds=settings.key_cache_seconds, max_token_ttl=max_ttl),
        redis=redis,
        limiter=LoginLimiter(redis, settings.redis_prefix, policy),
    )


@asynccontextmanager
async def standalone(settings: Settings) -> AsyncIterator[Identity]:
    """The adapters outside the web process (administration command, seed): migrated database,
    an active signing key. Events they cause go to the outbox; the service's relay publishes them."""
    from eaps_kit.db import make_engine, make_session_factory, migrate

    await migrate(settings.migrations_dir, settings.database_url)
    engine = make_engine(settings.database_url, pool_size=2)
    ident = build(settings, make_session_factory(engine))
    try:
        await ident.keys.ensure_active_key()
        yield ident
    finally:
        await ident.redis.aclose()
        await engine.dispose()
