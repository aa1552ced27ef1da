"""Loading and saving the dossier aggregate; ownership is part of every query."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import CursorResult
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dossier.adapters.orm import (
    dossier_documents,
    dossier_history,
    dossier_revisions,
    dossier_submissions,
    dossiers,
    registration_counters,
)
from dossier.domain.errors import NotFound
from dossier.domain.model import Dossier, Justificatif, Line, Status

NOT_FOUND = "Ce dossier n'existe pas ou vous n'y avez pas accès."


@dataclass(frozen=True)
class Scope:
    """Whose dossiers a caller sees: an AS user its own; an OPPD member its company's (and its own)."""

    account_id: uuid.UUID
    operator_id: uuid.UUID | None = None

    def dossier_clause(self, table: sa.Table = dossiers) -> sa.ColumnElement[bool]:
        own = sa.and_(table.c.owner_account_id == self.account_id, table.c.operator_id.is_(None))
        if self.operator_id is None:
            return own
        return sa.or_(table.c.operator_id == self.operator_id, own)

    def authorisation_clause(self, table: sa.Table) -> sa.ColumnElement[bool]:
        own = sa.and_(table.c.holder_account_id == self.account_id, table.c.holder_operator_id.is_(None))
        if self.operator_id is None:
            return own
        return sa.or_(table.c.holder_operator_id == self.operator_id, own)


def normalise(text: str) -> str:
    """Lower case without accents: what free-text search compares."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def to_domain(row: Any) -> Dossier:
    c = row.content
    return Dossier(
        id=row.id, owner_account_id=row.owner_account_id, operator_id=row.operator_id,
        created_at=row.created_at, updated_at=row.updated_at, status=Status(row.status), version=row.version,
        general=c.get("general") or {}, lines=[Line.from_dict(x) for x in c.get("lines") or []],
        determination=c.get("determination"), parties=c.get("parties") or {},
        justificatifs={j["code"]: Justificatif.from_dict(j) for j in c.get("justificatifs") or []},
        registration_number=row.registration_number, submission_no=row.submission_no,
        submitted_at=row.submitted_at, first_submitted_at=row.first_submitted_at,
        completion=c.get("completion"), status_event_at=row.status_event_at, closed_at=row.closed_at,
    )


def applicant_name(d: Dossier) -> str | None:
    a = d.parties.get("applicant") or {}
    company = a.get("company_name") or (d.general.get("profile_details") or {}).get("company_name")
    person = " ".join(x for x in (a.get("first_name"), a.get("last_name")) if x)
    if company:
        return f"{company} ({person})" if person else company
    return person or None


def _search_text(d: Dossier) -> str:
    parts: list[str] = [d.registration_number or ""]
    parts.append(applicant_name(d) or "")
    for key in ("sender", "recipient"):
        party = d.parties.get(key) or {}
        parts += [party.get("name") or "", (party.get("address") or {}).get("city") or ""]
    for ln in d.lines:
        parts += [ln.designation, ln.brand or "", ln.model or "", ln.calibre or "", ln.classification_code,
                  *ln.serial_numbers]
    return normalise(" ".join(p for p in parts if p))


def to_row(d: Dossier) -> dict[str, Any]:
    total_value: Decimal | None = None
    for ln in d.lines:
        if ln.total_value is not None:
            total_value = (total_value or Decimal(0)) + ln.total_value
    return {
        "id": d.id, "owner_account_id": d.owner_account_id, "operator_id": d.operator_id,
        "status": d.status.value, "version": d.version, "registration_number": d.registration_number,
        "submission_no": d.submission_no, "created_at": d.created_at, "updated_at": d.updated_at,
        "submitted_at": d.submitted_at, "first_submitted_at": d.first_submitted_at, "closed_at": d.closed_at,
        "status_event_at": d.status_event_at, "authorisation_type": d.authorisation_type,
        "flow": d.general.get("flow"), "origin_country": d.general.get("origin_country"),
        "destination_country": d.general.get("destination_country"),
        "classification_codes": sorted({ln.classification_code for ln in d.lines}),
        "applicant_name": applicant_name(d), "motive": d.parties.get("motive"),
        "lines_count": len(d.lines), "total_quantity": sum(ln.quantity for ln in d.lines),
        "total_value_eur": total_value, "ruleset_version": d.ruleset_version, "search_text": _search_text(d),
        "content": {
            "general": d.general, "lines": [ln.as_dict() for ln in d.lines], "determination": d.determination,
            "parties": d.parties, "justificatifs": [j.as_dict() for j in d.justificatifs.values()],
            "completion": d.completion,
        },
    }


class DossierRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, dossier_id: uuid.UUID, scope: Scope | None, *, for_update: bool = False) -> Dossier:
        """The dossier if ``scope`` may see it (``None``: internal callers and event reactions)."""
        q = sa.select(dossiers).where(dossiers.c.id == dossier_id)
        if scope is not None:
            q = q.where(scope.dossier_clause())
        if for_update:
            q = q.with_for_update()
        row = (await self.session.execute(q)).first()
        if row is None:
            raise NotFound(NOT_FOUND)
        return to_domain(row)

    async def find(self, dossier_id: uuid.UUID, *, for_update: bool = False) -> Dossier | None:
        try:
            return await self.get(dossier_id, None, for_update=for_update)
        except NotFound:
            return None

    async def add(self, d: Dossier, by: uuid.UUID | None) -> None:
        await self.session.execute(sa.insert(dossiers).values(**to_row(d)))
        await self.session.execute(sa.insert(dossier_revisions).values(
            dossier_id=d.id, version=d.version, changed=["creation"], at=d.created_at, by_account_id=by))
        await self._sync_documents(d)

    async def save(self, d: Dossier, changed: list[str], at: datetime, by: uuid.UUID | None) -> None:
        """Write the aggregate as the next version and record what changed."""
        d.version += 1
        d.updated_at = at
        values = to_row(d)
        values.pop("id")
        result = cast(CursorResult[Any], await self.session.execute(
            sa.update(dossiers).where(dossiers.c.id == d.id, dossiers.c.version == d.version - 1).values(**values)))
        if result.rowcount != 1:  # the caller holds the row lock, so this is a programming error
            raise RuntimeError("dossier saved without its row lock")
        await self.session.execute(sa.insert(dossier_revisions).values(
            dossier_id=d.id, version=d.version, changed=changed or ["dossier"], at=at, by_account_id=by))
        await self._sync_documents(d)

    async def _sync_documents(self, d: Dossier) -> None:
        await self.session.execute(sa.delete(dossier_documents).where(dossier_documents.c.dossier_id == d.id))
        rows = [{"dossier_id": d.id, "document_code": j.code, "document_id": j.document_id, "state": j.state.value}
                for j in d.justificatifs.values() if j.document_id is not None]
        if rows:
            await self.session.execute(sa.insert(dossier_documents), rows)

    async def delete(self, d: Dossier) -> None:
        await self.session.execute(sa.delete(dossiers).where(dossiers.c.id == d.id))

    async def revisions_since(self, dossier_id: uuid.UUID, version: int) -> list[dict[str, Any]]:
        rows = (await self.session.execute(
            sa.select(dossier_revisions).where(dossier_revisions.c.dossier_id == dossier_id,
                                               dossier_revisions.c.version > version)
            .order_by(dossier_revisions.c.version))).all()
        return [{"version": r.version, "at": r.at.isoformat(), "fields": list(r.changed)} for r in rows]

    async def dossiers_holding_document(self, document_id: uuid.UUID) -> list[uuid.UUID]:
        rows = (await self.session.execute(
            sa.select(dossier_documents.c.dossier_id).where(dossier_documents.c.document_id == document_id))).all()
        return [r.dossier_id for r in rows]

    async def next_registration_seq(self, year: int) -> int:
        """Take the year's next number; the counter row stays locked until this transaction ends."""
        stmt = pg_insert(registration_counters).values(year=year, last_value=1)
        stmt = stmt.on_conflict_do_update(index_elements=[registration_counters.c.year],
                                          set_={"last_value": registration_counters.c.last_value + 1})
        return int((await self.session.execute(stmt.returning(registration_counters.c.last_value))).scalar_one())

    async def add_history(self, dossier_id: uuid.UUID, at: datetime, status: Status, actor_kind: str,
                          actor_id: uuid.UUID | None, note: str | None = None) -> None:
        await self.session.execute(sa.insert(dossier_history).values(
            dossier_id=dossier_id, at=at, status=status.value, actor_kind=actor_kind, actor_id=actor_id, note=note))

    async def add_submission(self, dossier_id: uuid.UUID, submission_no: int, at: datetime,
                             snapshot: dict[str, Any], changed: list[str]) -> None:
        await self.session.execute(sa.insert(dossier_submissions).values(
            dossier_id=dossier_id, submission_no=submission_no, submitted_at=at, snapshot=snapshot,
            changed_fields=changed))

    async def last_submission(self, dossier_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            sa.select(dossier_submissions.c.snapshot).where(dossier_submissions.c.dossier_id == dossier_id)
            .order_by(dossier_submissions.c.submission_no.desc()).limit(1))).first()
        return dict(row.snapshot) if row else None

    async def latest_applicant(self, scope: Scope) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The applicant details of the caller's most recent dossier (to pre-fill a new one)."""
        row = (await self.session.execute(
            sa.select(dossiers.c.content).where(dossiers.c.owner_account_id == scope.account_id)
            .order_by(dossiers.c.updated_at.desc()).limit(1))).first()
        if row is None:
            return None
        c = row.content
        return (c.get("general") or {}), ((c.get("parties") or {}).get("applicant") or {})
