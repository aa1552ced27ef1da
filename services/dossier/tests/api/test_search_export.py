"""« Recherche avancée » over dossiers and authorisations, and the spreadsheet exports read back
with real readers (openpyxl, csv) cell by cell."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from dossier_testkit import INFORMATIONS, LINE, complete_dossier, h, new_draft, transmit
from eaps_contracts.events import instruction_v1 as ins
from eaps_contracts.events.common import AuthorisationLine
from eaps_kit.testing import eventually
from openpyxl import load_workbook

DOSSIER_HEADERS = ["Numéro d'enregistrement", "Statut", "Corbeille", "Type d'autorisation", "Flux",
                   "Pays de provenance", "Pays de destination", "Demandeur", "Date de création",
                   "Date de transmission", "Nombre de lignes", "Quantité totale", "Valeur totale (EUR)", "Classements",
                   "Motif"]


@pytest.fixture(scope="module")
async def data(env, keys):
    """One applicant: a LEAF export transmitted and granted, an AIMG import transmitted, a draft."""
    token = keys.applicant()
    leaf = await transmit(env, token, await complete_dossier(env, token))
    imp_info = {**INFORMATIONS, "flow": "IMP", "origin_country": "US", "destination_country": "FR"}
    pistol = {**LINE, "classification_code": "D-a", "designation": "Dague de collection", "brand": "Laguiole",
              "model": None, "calibre": None, "quantity": 7, "unit_value_eur": "80.00", "serial_numbers": []}
    aimg = await transmit(env, token, await complete_dossier(env, token, informations=imp_info, lines=[pistol]))
    draft = await new_draft(env, token)
    holder = uuid.UUID(leaf["dossier"]["owner_account_id"])
    auth = ins.AuthorisationSnapshot(
        authorisation_id=uuid.uuid4(), number=f"LEAF-2026-{uuid.uuid4().int % 10**6:06d}", type="LEAF",
        holder_account_id=holder, holder_name="Armurerie du Centre", flow="EXP", origin_country="FR",
        destination_country="US", valid_from=date(2026, 3, 10), valid_until=date(2026, 12, 31),
        lines=[AuthorisationLine(line_no=1, classification_code="C-1-c", designation="Carabine de chasse",
                                 quantity=2, quantity_remaining=1)], status="valide")
    await env.publish(ins.DecisionIssuedV1(
        decision_id=uuid.uuid4(), case_id=uuid.uuid4(), dossier_id=uuid.UUID(leaf["dossier"]["id"]),
        registration_number=leaf["registration_number"], outcome="granted", issued_at=datetime.now(UTC),
        authorisation=auth))

    async def granted():
        r = await env.client.get("/api/v1/authorisations", headers=h(token))
        return r.json()["total"] == 1
    await eventually(granted)
    return {"token": token, "leaf": leaf, "aimg": aimg, "draft": draft, "auth": auth}


async def search(env, token, **params):
    r = await env.client.get("/api/v1/search/dossiers", params=params, headers=h(token))
    assert r.status_code == 200, r.text
    return r.json()


async def test_search_by_each_criterion(env, data):
    t, leaf, aimg = data["token"], data["leaf"], data["aimg"]
    assert (await search(env, t))["total"] == 3
    assert [x["id"] for x in (await search(env, t, number=leaf["registration_number"]))["items"]] == \
        [leaf["dossier"]["id"]]
    assert (await search(env, t, number=leaf["registration_number"][:9]))["total"] >= 2
    assert {x["id"] for x in (await search(env, t, status="accordee"))["items"]} == {leaf["dossier"]["id"]}
    assert {x["id"] for x in (await search(env, t, authorisation_type="AIMG"))["items"]} == {aimg["dossier"]["id"]}
    assert (await search(env, t, flow="IMP"))["items"][0]["flow_label"] == "Importation depuis un pays tiers"
    assert (await search(env, t, country="US"))["total"] == 3
    assert {x["id"] for x in (await search(env, t, classification="D-a"))["items"]} == {aimg["dossier"]["id"]}
    assert {x["id"] for x in (await search(env, t, q="laguiole dague"))["items"]} == {aimg["dossier"]["id"]}
    assert {x["id"] for x in (await search(env, t, q="VERNEY"))["items"]} == {leaf["dossier"]["id"]}
    assert (await search(env, t, q="Étienne"))["total"] == 2  # accents ignored
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()  # dates are Paris days
    assert (await search(env, t, submitted_from=today, submitted_to=today))["total"] == 2
    assert (await search(env, t, submitted_to="2000-01-01"))["total"] == 0
    assert {x["id"] for x in (await search(env, t, basket="a_traiter"))["items"]} == {data["draft"]["id"]}


async def test_pagination_and_sorting(env, data):
    t = data["token"]
    page1 = await search(env, t, size=2, page=1, sort="numero")
    page2 = await search(env, t, size=2, page=2, sort="numero")
    assert page1["total"] == 3 and page1["pages"] == 2
    numbers = [x["registration_number"] for x in page1["items"] + page2["items"]]
    assert numbers[:2] == sorted(numbers[:2]) and numbers[2] is None  # drafts have no number: last
    desc = await search(env, t, sort="-date_creation")
    created = [x["created_at"] for x in desc["items"]]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "prix"}, "query.sort"), ({"status": "perdu"}, "status"), ({"country": "France"}, "query.country"),
    ({"submitted_from": "2026-02-30"}, "query.submitted_from"), ({"size": 1000}, "query.size"),
    ({"flow": "TRANSIT"}, "query.flow"), ({"submitted_from": "2026-05-01", "submitted_to": "2026-04-01"},
                                          "submitted_from"),
])
async def test_bad_criteria_answer_422_in_french(env, data, params, field):
    r = await env.client.get("/api/v1/search/dossiers", params=params, headers=h(data["token"]))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == field


async def test_xlsx_export_has_typed_cells_french_headers_and_a_frozen_header_row(env, data):
    t, leaf, aimg = data["token"], data["leaf"], data["aimg"]
    r = await env.client.get("/api/v1/search/dossiers/export", params={"format": "xlsx", "sort": "numero"},
                             headers=h(t))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["content-disposition"].startswith('attachment; filename="e-aps-dossiers-')
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["Dossiers"]
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == DOSSIER_HEADERS
    assert ws["A1"].font.bold
    assert len(rows) == 4
    first = dict(zip(DOSSIER_HEADERS, rows[1], strict=True))
    assert first["Numéro d'enregistrement"] == leaf["registration_number"]
    assert first["Statut"] == "Accordée" and first["Corbeille"] == "Traités"
    assert first["Type d'autorisation"] == "LEAF" and first["Flux"] == "Exportation vers un pays tiers"
    assert (first["Pays de provenance"], first["Pays de destination"]) == ("FR", "US")
    assert first["Demandeur"] == "Armurerie du Centre (Jeanne Martin)"
    assert isinstance(first["Date de création"], datetime) and isinstance(first["Date de transmission"], datetime)
    assert ws.cell(row=2, column=10).number_format == "DD/MM/YYYY HH:MM"
    assert first["Nombre de lignes"] == 1 and first["Quantité totale"] == 2
    assert first["Valeur totale (EUR)"] == pytest.approx(2501.0)
    assert ws.cell(row=2, column=13).number_format == "#,##0.00"
    assert first["Classements"] == "C-1-c" and first["Motif"] == "Vente"
    second = dict(zip(DOSSIER_HEADERS, rows[2], strict=True))
    assert second["Numéro d'enregistrement"] == aimg["registration_number"]
    assert second["Valeur totale (EUR)"] == pytest.approx(560.0) and second["Quantité totale"] == 7
    draft = dict(zip(DOSSIER_HEADERS, rows[3], strict=True))
    assert draft["Numéro d'enregistrement"] is None and draft["Date de transmission"] is None
    assert draft["Statut"] == "Brouillon"


async def test_csv_export_is_utf8_with_bom_and_semicolons_and_follows_the_filters(env, data):
    t, aimg = data["token"], data["aimg"]
    r = await env.client.get("/api/v1/search/dossiers/export", params={"format": "csv", "flow": "IMP"},
                             headers=h(t))
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == DOSSIER_HEADERS
    assert len(rows) == 2
    row = dict(zip(DOSSIER_HEADERS, rows[1], strict=True))
    assert row["Numéro d'enregistrement"] == aimg["registration_number"]
    assert row["Statut"] == "Transmis" and row["Corbeille"] == "En attente"
    assert row["Valeur totale (EUR)"] == "560,00" and row["Quantité totale"] == "7"
    assert datetime.strptime(row["Date de transmission"], "%d/%m/%Y %H:%M")
    assert row["Demandeur"] == "Armurerie du Centre (Jeanne Martin)"


async def test_authorisation_search_and_exports(env, data):
    t, auth = data["token"], data["auth"]
    r = await env.client.get("/api/v1/search/authorisations", params={"valid_on": "2026-06-01", "type": "LEAF",
                                                                       "q": "carabine"}, headers=h(t))
    assert r.json()["total"] == 1 and r.json()["items"][0]["number"] == auth.number
    r = await env.client.get("/api/v1/search/authorisations", params={"valid_on": "2027-06-01"}, headers=h(t))
    assert r.json()["total"] == 0
    r = await env.client.get("/api/v1/search/authorisations/export", params={"format": "xlsx"}, headers=h(t))
    ws = load_workbook(io.BytesIO(r.content))["Autorisations"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("Numéro d'autorisation", "Type", "Statut", "Titulaire")
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Numéro d'autorisation"] == auth.number and row["Statut"] == "Valide"
    assert row["Début de validité"] == datetime(2026, 3, 10) and row["Fin de validité"] == datetime(2026, 12, 31)
    assert row["Quantité autorisée"] == 2 and row["Quantité restante"] == 1
    assert row["Numéro de dossier"] == data["leaf"]["registration_number"]
    r = await env.client.get("/api/v1/search/authorisations/export", params={"format": "csv"}, headers=h(t))
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][7:9] == ["10/03/2026", "31/12/2026"]
    assert Decimal(rows[1][10]) == 2
