"""Scheduled jobs: implicit rejections at the deadline, authorisation statuses on their dates,
PDFs not stored yet. Each pass is one transaction; several replicas share rows (SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from instruction.service_layer import authorisations, cases
from instruction.service_layer.context import Context

log = logging.getLogger("instruction.jobs")


async def run_once(session_factory: async_sessionmaker[AsyncSession], ctx: Context) -> dict[str, int]:
    async with session_factory() as session, session.begin():
        rejected = await cases.record_implicit_rejections(session, ctx)
    async with session_factory() as session, session.begin():
        refreshed = await authorisations.refresh_statuses(session, ctx)
    pdfs = await authorisations.store_pending_pdfs(session_factory, ctx)
    return {"implicit_rejections": rejected, "authorisation_statuses": refreshed, "pdfs": pdfs}


async def run_forever(session_factory: async_sessionmaker[AsyncSession], ctx: Context, interval: float) -> None:
    while True:
        try:
            done = await run_once(session_factory, ctx)
            if any(done.values()):
                log.info("jobs: %s", done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next pass retries
            log.warning("jobs pass failed: %s", exc)
        await asyncio.sleep(interval)
