"""Writes outside the dossier aggregate: the thread's messages and the applicant's authorisations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import CursorResult
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dossier.adapters.orm import authorisations, dossier_messages
from dossier.adapters.repository import normalise


async def insert_message(session: AsyncSession, **values: Any) -> bool:
    """Insert a message once (an officer's message redelivered keeps its id)."""
    result = cast(CursorResult[Any], await session.execute(
        pg_insert(dossier_messages).values(**values).on_conflict_do_nothing(index_elements=[dossier_messages.c.id])))
    return bool(result.rowcount)


async def mark_read(session: AsyncSession, dossier_id: uuid.UUID, at: datetime) -> int:
    result = cast(CursorResult[Any], await session.execute(
        sa.update(dossier_messages).where(dossier_messages.c.dossier_id == dossier_id,
                                          dossier_messages.c.read_by_applicant_at.is_(None))
        .values(read_by_applicant_at=at)))
    return int(result.rowcount or 0)


def _lines_json(lines: list[Any]) -> list[dict[str, Any]]:
    return [ln.model_dump(mode="json") for ln in lines]


def authorisation_values(snap: Any, *, dossier_id: uuid.UUID, registration_number: str | None,
                         issued_at: datetime) -> dict[str, Any]:
    """The applicant's copy of an authorisation, from the snapshot carried by ``decision.issued``."""
    lines = _lines_json(snap.lines)
    text = " ".join([snap.number, snap.holder_name, *(ln["designation"] for ln in lines),
                     *(ln["classification_code"] for ln in lines), registration_number or ""])
    return dict(
        id=snap.authorisation_id, number=snap.number, type=snap.type, dossier_id=dossier_id,
        registration_number=registration_number, holder_account_id=snap.holder_account_id,
        holder_operator_id=snap.holder_operator_id, holder_name=snap.holder_name, flow=snap.flow,
        origin_country=snap.origin_country, destination_country=snap.destination_country,
        valid_from=snap.valid_from, valid_until=snap.valid_until, status=snap.status, status_changed_at=issued_at,
        issued_at=issued_at, lines=lines, classification_codes=sorted({ln["classification_code"] for ln in lines}),
        conditions=snap.conditions, pdf_document_id=snap.pdf_document_id, search_text=normalise(text))


async def save_authorisation(session: AsyncSession, values: dict[str, Any]) -> bool:
    result = cast(CursorResult[Any], await session.execute(
        pg_insert(authorisations).values(**values).on_conflict_do_nothing(index_elements=[authorisations.c.id])))
    return bool(result.rowcount)


async def change_authorisation_status(session: AsyncSession, authorisation_id: uuid.UUID, status: str,
                                      at: datetime, lines: list[Any]) -> bool | None:
    """Apply a status change unless a newer one was applied already; None if the copy is unknown yet."""
    row = (await session.execute(sa.select(authorisations.c.status_changed_at)
                                 .where(authorisations.c.id == authorisation_id).with_for_update())).first()
    if row is None:
        return None
    if at < row.status_changed_at:
        return False
    values: dict[str, Any] = {"status": status, "status_changed_at": at}
    if lines:
        values["lines"] = _lines_json(lines)
    await session.execute(sa.update(authorisations).where(authorisations.c.id == authorisation_id).values(**values))
    return True


async def set_authorisation_pdf(session: AsyncSession, authorisation_id: uuid.UUID,
                                document_id: uuid.UUID) -> bool:
    result = cast(CursorResult[Any], await session.execute(
        sa.update(authorisations).where(authorisations.c.id == authorisation_id).values(pdf_document_id=document_id)))
    return bool(result.rowcount)
