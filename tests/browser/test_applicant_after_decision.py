"""Issue 9, « Must be shown » (after the decision): a dossier of a hunter's is granted by an
officer and signed by a supervisor (through the internal edge's API); the hunter, in the
browser, sees the authorisation in « Afficher mes autorisations », opens it, downloads its PDF
(a PDF that names the number), runs a « Recherche avancée » that finds it and exports the
results with « Exporter » as XLSX and CSV (the authorisation's row and its dossier's row read
back with openpyxl and csv). Every page visited passes axe-core (no serious or critical issue)."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import httpx
import pytest
from agent_helpers import Applicant as ApiApplicant
from agent_helpers import Staff, create_staff, wait_for
from portal_helpers import check_a11y
from test_professional_journey import register, sign_in

pytestmark = pytest.mark.browser

INTERNAL = "http://127.0.0.1:8001"


def staff_token(client: httpx.Client, who: Staff) -> str:
    """An officer's token from the internal edge, waiting out the shared sign-in limit (429)."""
    deadline = time.monotonic() + 90
    while True:
        r = client.post("/api/v1/identity/officers/sessions",
                        json={"email": who.email, "password": who.password, "otp": who.code()})
        if r.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(int(r.headers.get("Retry-After", "1")))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def grant(number: str) -> str:
    """An officer takes the case, finds it admissible and proposes a grant; a supervisor signs.
    Returns the authorisation's number."""
    officer, supervisor = create_staff([{"first_name": "Hugo", "last_name": "Instructeur", "roles": ["officer"]},
                                        {"first_name": "Anne", "last_name": "Signataire", "roles": ["supervisor"]}])
    with httpx.Client(base_url=INTERNAL, timeout=30, trust_env=False) as c:
        off = {"Authorization": f"Bearer {staff_token(c, officer)}"}

        def case() -> Any:
            r = c.get("/api/v1/instruction/cases", params={"registration_number": number}, headers=off)
            return r.json()["items"][0] if r.status_code == 200 and r.json().get("items") else None
        cid = wait_for(case)["id"]
        assert c.post(f"/api/v1/instruction/cases/{cid}/take", headers=off).status_code == 204
        r = c.post(f"/api/v1/instruction/cases/{cid}/admissibility", json={"decision": "recevable"}, headers=off)
        assert r.status_code == 204, r.text
        r = c.post(f"/api/v1/instruction/cases/{cid}/proposals", headers=off,
                   json={"outcome": "granted", "conditions": "Arme transportée déchargée, sous clé."})
        assert r.status_code == 201, r.text
        sup = {"Authorization": f"Bearer {staff_token(c, supervisor)}"}
        r = c.post(f"/api/v1/instruction/cases/{cid}/proposals/{r.json()['id']}/signature", headers=sup)
        assert r.status_code == 201, r.text
        return str(r.json()["authorisation"]["number"])


def row_of(rows: list[list[Any]], header: str, value: str) -> dict[str, Any]:
    """The one data row whose ``header`` column equals ``value``, as {header: cell}."""
    head = [str(h) for h in rows[0]]
    assert header in head, head
    found = [dict(zip(head, r, strict=False)) for r in rows[1:] if r[head.index(header)] == value]
    assert len(found) == 1, f"{value} in {header}: {len(found)} rows"
    return found[0]


def test_applicant_sees_downloads_searches_and_exports_the_authorisation(page: Any, portal_url: str) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    hunter = register(page)  # a hunter's registration and both verifications through the portal
    api = ApiApplicant(portal_url, hunter.email, hunter.password)
    number = api.transmit(api.hunting_rifle_import())["registration_number"]
    auth_number = grant(number)
    wait_for(lambda: next((a for a in api.call("GET", "/api/v1/authorisations")["items"]
                           if a["number"] == auth_number and a.get("pdf")), None), timeout=90)

    # « Afficher mes autorisations »: the row names the authorisation and its dossier.
    sign_in(page, hunter.email, hunter.password)
    page.get_by_role("link", name="e-APS", exact=True).click()
    page.wait_for_url(re.compile(r"/eaps$"))
    page.get_by_role("link", name="Afficher mes autorisations").first.click()
    page.wait_for_url(re.compile(r"/eaps/autorisations$"))
    check_a11y(page, "mes autorisations")
    row = page.locator("#autorisations tbody tr", has_text=auth_number)
    assert row.count() == 1
    assert number in row.inner_text()
    assert "Valide" in row.inner_text() or "Non encore valide" in row.inner_text()

    # The authorisation's page and its PDF.
    row.get_by_role("link", name=auth_number).click()
    page.wait_for_url(re.compile(r"/eaps/autorisations/[0-9a-f-]+$"))
    assert page.get_by_role("heading", level=1, name=f"Autorisation {auth_number}").is_visible()
    assert page.get_by_role("link", name=number).is_visible()  # its dossier
    assert "Arme transportée déchargée, sous clé." in page.locator("dl").inner_text()
    check_a11y(page, "page de l'autorisation")
    with page.expect_download() as dl:
        page.get_by_role("link", name=re.compile("Télécharger l'autorisation")).click()
    content = open(dl.value.path(), "rb").read()
    assert content.startswith(b"%PDF-")
    pdf_text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(content)).pages)
    assert auth_number in pdf_text, pdf_text[:500]

    # « Recherche avancée » of authorisations by number finds it.
    page.get_by_role("link", name="Recherche avancée").first.click()
    page.wait_for_url(re.compile(r"/eaps/recherche$"))
    check_a11y(page, "recherche avancée")
    page.locator("label[for]", has_text="des autorisations").click()
    page.get_by_label("Numéro (ou son début)").fill(auth_number)
    with page.expect_navigation(url=re.compile(r"objet=autorisations")):
        page.get_by_role("button", name="Rechercher").click()
    results = page.locator("#table-resultats")
    assert results.locator("tbody tr").count() == 1
    assert results.get_by_role("link", name=auth_number).is_visible()
    assert page.get_by_role("heading", name="1 résultat(s)").is_visible()
    check_a11y(page, "recherche avancée (autorisations trouvées)")

    # « Exporter »: XLSX and CSV, each with the authorisation's row.
    with page.expect_download() as dl:
        page.get_by_role("link", name="Exporter (XLSX)").click()
    assert dl.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(dl.value.path().read_bytes()), read_only=True).active
    xlsx_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(xlsx_rows) == 2  # the header and the one authorisation found
    got = row_of(xlsx_rows, "Numéro d'autorisation", auth_number)
    assert got["Numéro de dossier"] == number
    assert got["Classements"] == "C-1-c" and got["Quantité autorisée"] == 2
    assert got["Pays de provenance"] == "BE" and got["Pays de destination"] == "FR"

    with page.expect_download() as dl:
        page.get_by_role("link", name="Exporter (CSV)").click()
    assert dl.value.suggested_filename.endswith(".csv")
    with open(dl.value.path(), encoding="utf-8-sig", newline="") as f:
        csv_rows = [list(r) for r in csv.reader(f, delimiter=";")]
    assert len(csv_rows) == 2
    got = row_of(csv_rows, "Numéro d'autorisation", auth_number)
    assert got["Numéro de dossier"] == number and got["Quantité autorisée"] == "2"

    # The dossier is found too, granted, and its exports say so.
    page.locator("label[for]", has_text="des dossiers").click()
    page.get_by_label("Numéro (ou son début)").fill(number)
    with page.expect_navigation(url=re.compile(r"objet=dossiers")):
        page.get_by_role("button", name="Rechercher").click()
    results = page.locator("#table-resultats")
    assert results.get_by_role("link", name=number).is_visible()
    assert "Accordée" in results.locator("tbody tr").first.inner_text()
    check_a11y(page, "recherche avancée (dossier trouvé)")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Exporter (XLSX)").click()
    sheet = load_workbook(io.BytesIO(dl.value.path().read_bytes()), read_only=True).active
    got = row_of([list(r) for r in sheet.iter_rows(values_only=True)], "Numéro d'enregistrement", number)
    assert got["Statut"] == "Accordée" and got["Classements"] == "C-1-c"
    with page.expect_download() as dl:
        page.get_by_role("link", name="Exporter (CSV)").click()
    with open(dl.value.path(), encoding="utf-8-sig", newline="") as f:
        got = row_of([list(r) for r in csv.reader(f, delimiter=";")], "Numéro d'enregistrement", number)
    assert got["Statut"] == "Accordée" and got["Quantité totale"] == "2"
