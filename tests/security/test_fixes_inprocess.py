"""The fixes of the security review, shown on the fixed code itself (in this process, with real
PostgreSQL): the running stack only shows them once it has been restarted on this code."""

from __future__ import annotations

import csv
import io
import zipfile
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.mark.parametrize("q", ["%", "_", "\\", "'", "\x00", "--", "' OR '1'='1"])
async def test_free_text_without_a_word_is_an_empty_query_not_a_database_error(q: str) -> None:
    from dossier.views import _tsquery

    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    try:
        async with engine.connect() as conn:
            matched = await conn.scalar(sa.select(sa.func.to_tsvector("simple", "beretta 92")
                                                  .op("@@")(_tsquery(q))))
        assert matched is False
        async with engine.connect() as conn:  # and a real word still finds
            assert await conn.scalar(sa.select(sa.func.to_tsvector("simple", "beretta 92")
                                               .op("@@")(_tsquery("beret")))) is True
    finally:
        await engine.dispose()
