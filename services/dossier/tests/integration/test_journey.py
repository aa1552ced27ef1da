"""The applicant's whole journey through the public edge, with the real classification and
documents services (S3 server, clamd), RabbitMQ and PostgreSQL. The instructing service's side
is played by publishing its contract events on the same bus."""

from __future__ import annotations

import csv
import io
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from eaps_contracts.envelope import Envelope
from eaps_contracts.events import instruction_v1 as ins
from eaps_contracts.events.common import AuthorisationLine
from eaps_kit.db import drop_database
from eaps_kit.messaging import Broker
from eaps_kit.testing import (
    TestKeys,
    app_client,
    bearer,
    eventually,
    free_port,
    serve_app,
    test_database_url,
    unique_suffix,
)
from moto.server import ThreadedMotoServer
from openpyxl import load_workbook
from reportlab.pdfgen import canvas

if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
    del sys.modules["gateway"]

from classification.config import Settings as ClassificationSettings  # noqa: E402
from classification.main import create_app as classification_app  # noqa: E402
from documents.config import Settings as DocumentsSettings  # noqa: E402
from documents.main import create_app as documents_app  # noqa: E402
from dossier.config import Settings  # noqa: E402
from dossier.main import create_app as dossier_app  # noqa: E402
from gateway.app import create_edge_app  # noqa: E402
from gateway.config import GatewaySettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]
INTERNAL = "journey-internal-token"
OFFICER = uuid.uuid4()


def pdf(text: str) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.save()
    return buf.getvalue()


class Stack:
    def __init__(self, client, broker, keys):
        self.client, self.broker, self.keys = client, broker, keys

    async def publish(self, event) -> None:
        envelope = Envelope.wrap(event)
        await self.broker.publish(f"{event.producer()}.events", envelope.routing_key,
                                  envelope.model_dump_json().encode(), message_id=str(envelope.event_id))


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    keys = TestKeys()
    prefix = f"t{unique_suffix()}."
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    s3.start()
    clamd_port, clamd_state = free_port(), ROOT / "var" / f"test-clamd-{unique_suffix()}"
    start_clamd = [str(ROOT / "deploy/local/clamd/start-clamd.sh"), str(clamd_port), str(clamd_state)]
    clamd = subprocess.Popen(start_clamd, stdout=subprocess.DEVNULL,  # noqa: ASYNC220 - returns at once
                             stderr=subprocess.DEVNULL)
    urls = {name: test_database_url(name) for name in ("classification", "documents", "dossier")}
    suffix = unique_suffix()
    cls = classification_app(ClassificationSettings(database_url=urls["classification"], bus_prefix=prefix,
                                                    environment="test", log_json=False),
                             token_verifier=keys.verifier())
    broker = Broker("amqp://guest:guest@127.0.0.1:5672/", prefix)
    await broker.connect()
    try:
        async with serve_app(cls) as cls_url:
            # documents checks document types against this classification instance
            docs = documents_app(DocumentsSettings(
                environment="test", database_url=urls["documents"], bus_prefix=prefix,
                s3_endpoint=f"127.0.0.1:{s3._port}", s3_access_key="test", s3_secret_key="test",
                library_bucket=f"lib-{suffix}", pinned_bucket=f"pin-{suffix}", clamd_port=clamd_port,
                rescan_interval_seconds=0.3, internal_token=INTERNAL, log_json=False, classification_url=cls_url),
                token_verifier=keys.verifier())
            async with serve_app(docs) as docs_url:
                dos = dossier_app(Settings(database_url=urls["dossier"], bus_prefix=prefix, environment="test",
                                           classification_url=cls_url, documents_url=docs_url, internal_token=INTERNAL,
                                           outbox_poll_seconds=0.2, log_json=False), token_verifier=keys.verifier())
                async with serve_app(dos) as dos_url:
                    edge = create_edge_app("public", GatewaySettings(
                        environment="test", classification_url=cls_url, documents_url=docs_url, dossier_url=dos_url,
                        rate_limit_prefix=f"{prefix}rl:", log_json=False), token_verifier=keys.verifier())
                    async with app_client(edge) as client:
                        yield Stack(client, broker, keys)
                    await dos.state.runtime.broker.delete_declared()
                await docs.state.runtime.broker.delete_declared()
                await cls.state.runtime.broker.delete_declared()
    finally:
        await broker.delete_declared()
        await broker.close()
        clamd.send_signal(signal.SIGTERM)
        clamd.wait(timeout=30)
        shutil.rmtree(clamd_state, ignore_errors=True)
        s3.stop()
        for url in urls.values():
            await drop_database(url)


def hh(token: str, version: int | None = None) -> dict[str, str]:
    headers = bearer(token)
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return headers


async def upload(stack: Stack, token: str, code: str, text: str) -> str:
    r = await stack.client.post("/api/v1/documents", headers=bearer(token),
                                files={"file": (f"{code}.pdf", pdf(text), "application/pdf")},
                                data={"title": text, "document_type": code})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def attach_all(stack: Stack, token: str, d: dict) -> dict:
    for j in d["justificatifs"]:
        if j["state"] == "disponible":
            continue
        doc = await upload(stack, token, j["code"], f"Justificatif {j['code']}")
        r = await stack.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/{j['code']}",
                                   json={"document_id": doc}, headers=hh(token, d["version"]))
        assert r.status_code == 200, r.text
        d = r.json()

    async def scanned():
        r = await stack.client.post(f"/api/v1/dossiers/{d['id']}/steps/2/validation", headers=hh(token))
        return r.json() if r.status_code == 200 else None
    return await eventually(scanned, timeout=60, interval=0.3)


async def status(stack: Stack, token: str, dossier_id: str) -> str:
    r = await stack.client.get(f"/api/v1/dossiers/{dossier_id}", headers=hh(token))
    return r.json()["status"]["code"]


async def test_the_whole_journey(stack: Stack):
    client, keys = stack.client, stack.keys
    token = keys.applicant(name="Jeanne Martin", email="jeanne@example.fr")

    # Step 1: a draft saved with partial data, then completed; « back » is just another read.
    r = await client.post("/api/v1/dossiers", json={"applicant_kind": "professional"}, headers=hh(token))
    assert r.status_code == 201, r.text
    d = r.json()
    r = await client.put(f"/api/v1/dossiers/{d['id']}/informations", json={
        "profile": "armurier", "flow": "EXP", "origin_country": "FR", "destination_country": "US",
        "profile_details": {"company_name": "Armurerie du Centre", "siret": "12345678901234",
                            "agrement_number": "AGR-2024-77", "eori": "FR12345678901"}},
        headers=hh(token, d["version"]))
    assert r.status_code == 200, r.text
    d = r.json()
    line = {"classification_code": "C-1-c", "designation": "Carabine de chasse", "brand": "Verney-Carron",
            "calibre": "308 Win", "quantity": 2, "unit_value_eur": "1250.00", "classification_path": "known"}
    r = await client.post(f"/api/v1/dossiers/{d['id']}/lines", json=line, headers=hh(token, d["version"]))
    assert r.status_code == 201, r.text
    assert r.json()["authorisation_type"] == "LEAF"
    assert "Licence d'exportation d'armes à feu" in r.json()["message"]
    d = r.json()["dossier"]
    assert d["authorisation"]["ruleset_version"] == "2026-01-01"
    war = {**line, "classification_code": "A2-1", "designation": "Char de combat", "quantity": 1}
    r = await client.post(f"/api/v1/dossiers/{d['id']}/lines", json=war, headers=hh(token, d["version"]))
    assert r.status_code == 409
    assert "plusieurs demandes différentes" in r.json()["detail"]
    r = await client.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=hh(token))
    assert r.status_code == 200, r.text
    labels = {j["code"]: j["label"] for j in r.json()["justificatifs"]}
    assert labels["COM"] != "COM"  # labels come from the classification's document types

    # Step 2: parties, motive, then each justificatif uploaded through the documents service.
    r = await client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json={
        "applicant": {"first_name": "Jeanne", "last_name": "Martin", "email": "jeanne@example.fr",
                      "address": {"line1": "3 rue des Armes", "city": "Saint-Étienne", "country": "FR"}},
        "sender": {"name": "Armurerie du Centre", "address": {"line1": "3 rue des Armes", "city": "Saint-Étienne",
                                                             "country": "FR"}},
        "recipient": {"name": "Hunting Supplies Inc.", "address": {"line1": "1 Main St", "city": "Dallas",
                                                                  "country": "US"}},
        "motive": "vente"}, headers=hh(token, r.json()["version"]))
    assert r.status_code == 200, r.text
    d = await attach_all(stack, token, r.json())
    assert d["ready_to_transmit"] is True

    # Steps 3 and 4.
    r = await client.get(f"/api/v1/dossiers/{d['id']}/recapitulatif", headers=hh(token))
    assert r.status_code == 200 and r.json()["lines"][0]["designation"] == "Carabine de chasse"
    r = await client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=hh(token, d["version"]))
    assert r.status_code == 200, r.text
    number = r.json()["registration_number"]
    assert number == f"EAPS-{datetime.now(UTC).year}-000001"
    d = r.json()["dossier"]
    r = await client.get("/api/v1/dossiers?basket=en_attente", headers=hh(token))
    assert [x["registration_number"] for x in r.json()["items"]] == [number]
    pinned = d["justificatifs"][0]["pinned_document_id"]
    r = await client.get(f"/api/v1/documents/pinned/{pinned}/content", headers=hh(token))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")

    # The officer asks for completion: back in « À traiter », modified and transmitted again.
    dossier_id = uuid.UUID(d["id"])
    await stack.publish(ins.CaseOpenedV1(case_id=uuid.uuid4(), dossier_id=dossier_id, registration_number=number,
                                         authorisation_type="LEAF", opened_at=datetime.now(UTC)))
    await eventually(lambda: _is(stack, token, d["id"], "en_etude"))
    await stack.publish(ins.CompletionRequestedV1(
        case_id=uuid.uuid4(), dossier_id=dossier_id, registration_number=number,
        missing=[ins.MissingItem(kind="document", code="COM", label="Facture pro forma signée")],
        message="Merci de joindre la facture signée.", requested_by=OFFICER, requested_at=datetime.now(UTC)))
    await eventually(lambda: _is(stack, token, d["id"], "a_completer"))
    r = await client.get("/api/v1/dossiers?basket=a_traiter", headers=hh(token))
    assert [x["id"] for x in r.json()["items"]] == [d["id"]]
    d = (await client.get(f"/api/v1/dossiers/{d['id']}", headers=hh(token))).json()
    doc = await upload(stack, token, "COM", "Facture pro forma signée")
    r = await client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/COM", json={"document_id": doc},
                         headers=hh(token, d["version"]))
    d = await attach_all(stack, token, r.json())
    r = await client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=hh(token, d["version"]))
    assert r.status_code == 200, r.text
    assert r.json()["resubmission"] is True and r.json()["registration_number"] == number
    assert r.json()["dossier"]["status"]["code"] == "en_etude"

    # Comments both ways.
    r = await client.post(f"/api/v1/dossiers/{d['id']}/messages", json={"body": "La facture est jointe."},
                          headers=hh(token))
    assert r.status_code == 201, r.text
    await stack.publish(ins.MessagePostedV1(message_id=uuid.uuid4(), case_id=uuid.uuid4(), dossier_id=dossier_id,
                                            registration_number=number, author_id=OFFICER,
                                            body="Bien reçu, merci.", posted_at=datetime.now(UTC)))

    async def thread():
        r = await client.get(f"/api/v1/dossiers/{d['id']}/messages", headers=hh(token))
        return r.json() if len(r.json()["items"]) == 2 else None
    t = await eventually(thread)
    assert [m["author"]["kind"] for m in t["items"]] == ["applicant", "officer"] and t["unread"] == 1

    # The grant: the authorisation appears in « Mes autorisations ».
    auth = ins.AuthorisationSnapshot(
        authorisation_id=uuid.uuid4(), number="LEAF-2026-000001", type="LEAF",
        holder_account_id=uuid.UUID(d["owner_account_id"]), holder_name="Armurerie du Centre", flow="EXP",
        origin_country="FR", destination_country="US", valid_from=date(2026, 12, 1), valid_until=date(2027, 11, 30),
        lines=[AuthorisationLine(line_no=1, classification_code="C-1-c", designation="Carabine de chasse",
                                 quantity=2, quantity_remaining=2)], status="non_encore_valide")
    await stack.publish(ins.DecisionIssuedV1(decision_id=uuid.uuid4(), case_id=uuid.uuid4(), dossier_id=dossier_id,
                                             registration_number=number, outcome="granted", signed_by=OFFICER,
                                             issued_at=datetime.now(UTC), authorisation=auth))
    await eventually(lambda: _is(stack, token, d["id"], "accordee"))
    r = await client.get("/api/v1/authorisations", headers=hh(token))
    assert [a["number"] for a in r.json()["items"]] == ["LEAF-2026-000001"]
    assert r.json()["items"][0]["status"]["label"] == "Non encore valide"

    # Search and both exports through the edge.
    r = await client.get("/api/v1/search/dossiers", params={"q": "verney", "status": "accordee"}, headers=hh(token))
    assert [x["registration_number"] for x in r.json()["items"]] == [number]
    r = await client.get("/api/v1/search/dossiers/export", params={"format": "xlsx"}, headers=hh(token))
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert ws.freeze_panes == "A2" and rows[0][0] == "Numéro d'enregistrement"
    assert rows[1][0] == number and rows[1][1] == "Accordée" and rows[1][11] == 2
    assert isinstance(rows[1][9], datetime) and rows[1][12] == 2500
    r = await client.get("/api/v1/search/authorisations/export", params={"format": "csv"}, headers=hh(token))
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][0] == "LEAF-2026-000001" and rows[1][2] == "Non encore valide"
    assert rows[1][7:9] == ["01/12/2026", "30/11/2027"] and rows[1][13] == number

    # Another applicant sees none of it.
    intruder = keys.applicant()
    auth_id = (await client.get("/api/v1/authorisations", headers=hh(token))).json()["items"][0]["id"]
    for path in (f"/api/v1/dossiers/{d['id']}", f"/api/v1/dossiers/{d['id']}/messages",
                 f"/api/v1/authorisations/{auth_id}", f"/api/v1/documents/pinned/{pinned}/content"):
        r = await client.get(path, headers=hh(intruder))
        assert r.status_code == 404, (path, r.status_code)


async def _is(stack: Stack, token: str, dossier_id: str, code: str) -> bool:
    return await status(stack, token, dossier_id) == code
