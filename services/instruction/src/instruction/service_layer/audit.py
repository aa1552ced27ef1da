"""The audit trail: one append-only row per action (who, when, what, before and after)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from instruction.adapters.orm import audit_log
from instruction.service_layer.context import Actor, jsonable


async def record(session: AsyncSession, *, actor: Actor, action: str, at: datetime, case_id: UUID | None = None,
                 authorisation_id: UUID | None = None, before: Any = None, after: Any = None,
                 details: Any = None) -> None:
    await session.execute(sa.insert(audit_log).values(
        occurred_at=at, actor_id=actor.id, actor_role=actor.role, action=action, case_id=case_id,
        authorisation_id=authorisation_id, before=jsonable(before), after=jsonable(after), details=jsonable(details)))
