"""Read-side queries. Every query of a library document is scoped by its owner: another
owner's id simply finds nothing (404)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from documents.adapters.orm import documents, pinned_documents
from documents.domain.model import Origin, Owner

SORTS: dict[str, sa.ColumnElement[Any]] = {
    "created_at": documents.c.created_at,
    "title": documents.c.title,
    "document_type": documents.c.document_type,
    "valid_until": documents.c.valid_until,
    "size": documents.c.size,
    "filename": documents.c.filename,
}


def owned_by(table: sa.Table, owner: Owner) -> sa.ColumnElement[bool]:
    if owner.operator_id is not None:
        return table.c.owner_operator_id == owner.operator_id
    return sa.and_(table.c.owner_account_id == owner.account_id, table.c.owner_operator_id.is_(None))


async def get_document(session: AsyncSession, owner: Owner, document_id: uuid.UUID,
                       *, for_update: bool = False) -> dict[str, Any] | None:
    query = sa.select(documents).where(documents.c.id == document_id, owned_by(documents, owner))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def get_generated(session: AsyncSession, document_id: uuid.UUID) -> dict[str, Any] | None:
    """A document the administration produced (authorisation PDF), for an officer: whoever holds it.
    An applicant's uploaded document is never found this way."""
    query = sa.select(documents).where(documents.c.id == document_id, documents.c.origin == Origin.GENERATED.value)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_documents(session: AsyncSession, owner: Owner, *, document_type: str | None, status: str | None,
                         sort: str, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    where = [owned_by(documents, owner)]
    if document_type:
        where.append(documents.c.document_type == document_type)
    if status:
        where.append(documents.c.status == status)
    total = (await session.execute(sa.select(sa.func.count()).select_from(documents).where(*where))).scalar_one()
    column = SORTS[sort.lstrip("-")]
    order = column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last()
    rows = (await session.execute(
        sa.select(documents).where(*where).order_by(order, documents.c.id)
        .limit(page_size).offset((page - 1) * page_size)
    )).mappings().all()
    return [dict(r) for r in rows], int(total)


async def get_pinned(session: AsyncSession, pinned_id: uuid.UUID, owner: Owner | None) -> dict[str, Any] | None:
    """``owner=None`` is an officer: every pinned copy is readable."""
    query = sa.select(pinned_documents).where(pinned_documents.c.id == pinned_id)
    if owner is not None:
        query = query.where(owned_by(pinned_documents, owner))
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None
