"""Loading ruleset versions, publishing each new one once, and choosing the one in force."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from eaps_contracts.events.classification_v1 import RulesetPublishedV1
from eaps_kit.db import transaction
from eaps_kit.messaging import add_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classification.adapters.orm import ruleset_publications
from classification.adapters.ruleset_files import load_all
from classification.domain.reference import Reference, Versions

log = logging.getLogger("classification.catalogue")

Clock = Callable[[], date]
PARIS = ZoneInfo("Europe/Paris")


def paris_today() -> date:
    """Effective dates are French legal dates."""
    return datetime.now(PARIS).date()


class RulesetConflict(RuntimeError):
    """A version already published is being loaded with a different content."""


class UnknownVersion(LookupError):
    pass


class Catalogue:
    def __init__(self, roots: list[Path], clock: Clock = paris_today) -> None:
        self.roots = roots
        self.clock = clock
        self.versions = Versions()

    async def load(self, session_factory: async_sessionmaker[AsyncSession]) -> list[str]:
        """Read every version directory; publish the new ones (outbox) before serving them.

        Returns the versions published by this call. Versions already published elsewhere are
        served once their checksum matches the published one."""
        refs = await asyncio.to_thread(load_all, self.roots)
        published = await publish(session_factory, refs)
        for ref in refs:
            self.versions.add(ref)
        return published

    def in_force(self) -> Reference:
        return self.versions.in_force(self.clock())

    def pick(self, version: str | None) -> Reference:
        if version is None:
            return self.in_force()
        ref = self.versions.get(version)
        if ref is None:
            raise UnknownVersion(version)
        return ref


async def publish(session_factory: async_sessionmaker[AsyncSession], refs: list[Reference]) -> list[str]:
    newly: list[str] = []
    async with transaction(session_factory) as session:
        for ref in refs:
            stmt = (pg_insert(ruleset_publications)
                    .values(version=ref.version, effective_date=ref.effective_date, sha256=ref.sha256,
                            item_count=ref.item_count(), title=ref.ruleset.title)
                    .on_conflict_do_nothing(index_elements=["version"])
                    .returning(ruleset_publications.c.version))
            if (await session.execute(stmt)).first() is not None:
                await add_event(session, RulesetPublishedV1(
                    version=ref.version, effective_date=ref.effective_date, sha256=ref.sha256,
                    item_count=ref.item_count()))
                newly.append(ref.version)
                log.info("ruleset %s published (effective %s)", ref.version, ref.effective_date)
                continue
            published_sha = (await session.execute(
                sa.select(ruleset_publications.c.sha256).where(ruleset_publications.c.version == ref.version)
            )).scalar_one()
            if published_sha != ref.sha256:
                raise RulesetConflict(
                    f"ruleset {ref.version} was published with checksum {published_sha} but its files now give "
                    f"{ref.sha256}: a published version is immutable, publish a new version instead")
    return newly
