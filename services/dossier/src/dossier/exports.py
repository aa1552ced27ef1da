"""Spreadsheet exports of search results, streamed so memory stays flat whatever the row count.

CSV: UTF-8 with BOM and ``;`` separators (what French spreadsheets open directly), written
batch by batch from a server-side cursor. XLSX: openpyxl's write-only mode (rows go to a
temporary file as they are appended), typed cells, French headers, frozen header row; the
finished file is then streamed in chunks.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dossier.adapters.orm import authorisations, dossiers
from dossier.adapters.repository import Scope
from dossier.domain.reference import Reference
from dossier.views import (
    AUTHORISATION_SORTS,
    DOSSIER_SORTS,
    AuthorisationFilters,
    DossierFilters,
    authorisation_where,
    dossier_where,
    order_by,
)

PARIS = ZoneInfo("Europe/Paris")
BATCH = 2000
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # text | int | decimal | date | datetime
    value: Callable[[Any], Any]


def _local(dt: datetime | None) -> datetime | None:
    return dt.astimezone(PARIS).replace(tzinfo=None) if dt else None


def dossier_columns(ref: Reference) -> list[Column]:
    return [
        Column("Numéro d'enregistrement", "text", lambda r: r.registration_number),
        Column("Statut", "text", lambda r: ref.status(r.status).label),
        Column("Corbeille", "text", lambda r: ref.baskets[ref.status(r.status).basket]),
        Column("Type d'autorisation", "text", lambda r: r.authorisation_type),
        Column("Flux", "text", lambda r: ref.flows.get(r.flow, r.flow) if r.flow else None),
        Column("Pays de provenance", "text", lambda r: r.origin_country),
        Column("Pays de destination", "text", lambda r: r.destination_country),
        Column("Demandeur", "text", lambda r: r.applicant_name),
        Column("Date de création", "datetime", lambda r: _local(r.created_at)),
        Column("Date de transmission", "datetime", lambda r: _local(r.submitted_at)),
        Column("Nombre de lignes", "int", lambda r: r.lines_count),
        Column("Quantité totale", "int", lambda r: r.total_quantity),
        Column("Valeur totale (EUR)", "decimal", lambda r: r.total_value_eur),
        Column("Classements", "text", lambda r: ", ".join(r.classification_codes or [])),
        Column("Motif", "text", lambda r: ref.motives.get(r.motive, {}).get("label") if r.motive else None),
    ]


def _sum(lines: list[dict[str, Any]], key: str) -> int:
    total = 0
    for ln in lines:
        value = ln.get(key)
        total += int(value if value is not None else ln.get("quantity") or 0)
    return total


def authorisation_columns(ref: Reference) -> list[Column]:
    return [
        Column("Numéro d'autorisation", "text", lambda r: r.number),
        Column("Type", "text", lambda r: r.type),
        Column("Statut", "text", lambda r: ref.authorisation_status_label(r.status)),
        Column("Titulaire", "text", lambda r: r.holder_name),
        Column("Flux", "text", lambda r: ref.flows.get(r.flow, r.flow)),
        Column("Pays de provenance", "text", lambda r: r.origin_country),
        Column("Pays de destination", "text", lambda r: r.destination_country),
        Column("Début de validité", "date", lambda r: r.valid_from),
        Column("Fin de validité", "date", lambda r: r.valid_until),
        Column("Date de délivrance", "datetime", lambda r: _local(r.issued_at)),
        Column("Quantité autorisée", "int", lambda r: _sum(r.lines, "quantity")),
        Column("Quantité restante", "int", lambda r: _sum(r.lines, "quantity_remaining")),
        Column("Classements", "text", lambda r: ", ".join(r.classification_codes or [])),
        Column("Numéro de dossier", "text", lambda r: r.registration_number),
    ]


DOSSIER_EXPORT_COLUMNS = [dossiers.c[n] for n in (
    "id", "registration_number", "status", "authorisation_type", "flow", "origin_country", "destination_country",
    "applicant_name", "created_at", "submitted_at", "lines_count", "total_quantity", "total_value_eur",
    "classification_codes", "motive")]
AUTHORISATION_EXPORT_COLUMNS = [authorisations.c[n] for n in (
    "id", "number", "type", "status", "holder_name", "flow", "origin_country", "destination_country", "valid_from",
    "valid_until", "issued_at", "lines", "classification_codes", "registration_number")]


def dossier_export_query(scope: Scope, f: DossierFilters, ref: Reference, sort: str) -> sa.Select[Any]:
    return (sa.select(*DOSSIER_EXPORT_COLUMNS).where(*dossier_where(scope, f, ref))
            .order_by(*order_by(sort, DOSSIER_SORTS, dossiers.c.id)))


def authorisation_export_query(scope: Scope, f: AuthorisationFilters, sort: str) -> sa.Select[Any]:
    return (sa.select(*AUTHORISATION_EXPORT_COLUMNS).where(*authorisation_where(scope, f))
            .order_by(*order_by(sort, AUTHORISATION_SORTS, authorisations.c.id)))


async def _batches(factory: async_sessionmaker[AsyncSession], query: sa.Select[Any]) -> AsyncIterator[Sequence[Any]]:
    """Rows from a server-side cursor, a batch at a time (never the whole result in memory)."""
    async with factory() as session, session.begin():
        result = await session.stream(query.execution_options(yield_per=BATCH))
        async for batch in result.partitions(BATCH):
            yield batch


def _csv_text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime":
        return str(value.strftime("%d/%m/%Y %H:%M"))
    if kind == "date":
        return str(value.strftime("%d/%m/%Y"))
    if kind == "decimal":
        return f"{Decimal(value):.2f}".replace(".", ",")
    return _literal(str(value))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _literal(text: str) -> str:
    """A text a spreadsheet would evaluate (=, +, -, @…) keeps its letters behind a quote (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_START) else text


async def stream_csv(factory: async_sessionmaker[AsyncSession], query: sa.Select[Any],
                     columns: list[Column]) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([c.header for c in columns])
    yield b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
    async for batch in _batches(factory, query):
        buf.seek(0)
        buf.truncate()
        for row in batch:
            writer.writerow([_csv_text(c.value(row), c.kind) for c in columns])
        yield buf.getvalue().encode("utf-8")


NUMBER_FORMATS = {"datetime": "DD/MM/YYYY HH:MM", "date": "DD/MM/YYYY", "decimal": "#,##0.00", "int": "0"}


class _XlsxWriter:
    def __init__(self, title: str, columns: list[Column]) -> None:
        self.columns = columns
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet(title)
        self.ws.freeze_panes = "A2"
        for i, c in enumerate(columns):
            letter = _col_letter(i)
            self.ws.column_dimensions[letter].width = max(12, min(40, len(c.header) + 4))
        bold = Font(bold=True)
        header = []
        for c in columns:
            cell = WriteOnlyCell(self.ws, value=c.header)
            cell.font = bold
            header.append(cell)
        self.ws.append(header)
        self._templates = {k: fmt for k, fmt in NUMBER_FORMATS.items()}

    def append(self, batch: Sequence[Any]) -> None:
        for row in batch:
            out: list[Any] = []
            for c in self.columns:
                v = c.value(row)
                if v is not None and c.kind in ("datetime", "date", "decimal"):
                    cell = WriteOnlyCell(self.ws)
                    # Set after creation: the stubs' WriteOnlyCell(value=) omits Decimal, Cell.value takes it.
                    cell.value = v if c.kind != "decimal" else Decimal(v)
                    cell.number_format = self._templates[c.kind]
                    out.append(cell)
                elif isinstance(v, str) and v.startswith("="):
                    cell = WriteOnlyCell(self.ws, value=v)
                    cell.data_type = "s"  # openpyxl would write a text starting with = as a formula
                    out.append(cell)
                else:
                    out.append(v)
            self.ws.append(out)

    def save(self, path: str) -> None:
        self.wb.save(path)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


async def stream_xlsx(factory: async_sessionmaker[AsyncSession], query: sa.Select[Any], columns: list[Column],
                      title: str) -> AsyncIterator[bytes]:
    fd, path = tempfile.mkstemp(prefix="eaps-export-", suffix=".xlsx")
    os.close(fd)
    try:
        writer = _XlsxWriter(title, columns)
        async for batch in _batches(factory, query):
            await asyncio.to_thread(writer.append, batch)
        await asyncio.to_thread(writer.save, path)
        with open(path, "rb") as fh:  # noqa: ASYNC230 - local temporary file, read in small chunks
            while chunk := fh.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def filename(kind: str, ext: str) -> str:
    return f"e-aps-{kind}-{date.today().isoformat()}.{ext}"
