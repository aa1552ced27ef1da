"""Who changed what, when: one row per state change made by a person or the administration."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from identity.adapters.orm import audit_log


async def audit(session: AsyncSession, *, actor: uuid.UUID | None, action: str, target_type: str,
                target_id: object, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    await session.execute(sa.insert(audit_log).values(
        actor_id=actor, action=action, target_type=target_type, target_id=str(target_id),
        before=_jsonable(before), after=_jsonable(after)))


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: (str(v) if isinstance(v, uuid.UUID) or hasattr(v, "isoformat") else v) for k, v in value.items()}
