"""Shared Alembic environment: each service's ``migrations/env.py`` calls :func:`run_env`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, pool
from sqlalchemy.engine import make_url


def sync_url(url: str) -> str:
    """Alembic runs synchronously with psycopg on the same database."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def run_env(target_metadata: MetaData | None) -> None:
    config = context.config
    url = sync_url(config.get_main_option("sqlalchemy.url") or "")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # One service may run several replicas: serialise their migrations.
        connection.exec_driver_sql("SELECT pg_advisory_lock(7253001)")
        try:
            context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.exec_driver_sql("SELECT pg_advisory_unlock(7253001)")
            connection.commit()
    engine.dispose()
