"""Services assembled inside the test process (for what the running stack cannot show: spans in
an in-memory exporter, a broker cut off from one service): classification, dossier and
instruction apps on their own databases and bus prefix, and the public edge in front of them.
A professional museum introducing a rifle from Belgium needs an AP-INT and no justificatif, so
the dossier can be transmitted without the documents service."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from eaps_kit.db import drop_database
from eaps_kit.testing import TestKeys, app_client, free_port, serve_app, test_database_url, unique_suffix
from fastapi import FastAPI

if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
    del sys.modules["gateway"]  # a tests/ folder named gateway may have shadowed the package

from classification.config import Settings as ClassificationSettings  # noqa: E402
from classification.main import create_app as classification_app  # noqa: E402
from dossier.config import Settings as DossierSettings  # noqa: E402
from dossier.main import create_app as dossier_app  # noqa: E402
from gateway.app import create_edge_app  # noqa: E402
from gateway.config import GatewaySettings  # noqa: E402
from instruction.config import Settings as InstructionSettings  # noqa: E402
from instruction.main import create_app as instruction_app  # noqa: E402

INTERNAL_TOKEN = f"system-inprocess-{unique_suffix()}"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class InProcess:
    keys: TestKeys
    prefix: str
    edge: httpx.AsyncClient  # the public edge, ASGI
    dossier: FastAPI
    instruction: FastAPI
    instruction_client: httpx.AsyncClient  # the instruction app, ASGI (officers' reads)


@contextlib.asynccontextmanager
async def services(*, dossier_amqp_url: str = AMQP) -> AsyncIterator[InProcess]:
    keys = TestKeys()
    prefix = f"t{unique_suffix()}."
    nowhere = f"http://127.0.0.1:{free_port()}"  # documents: never called by these journeys
    urls = {n: test_database_url(n) for n in ("classification", "dossier", "instruction")}
    common: dict[str, Any] = {"bus_prefix": prefix, "environment": "test", "log_json": False,
                              "outbox_poll_seconds": 0.2}
    cls = classification_app(ClassificationSettings(database_url=urls["classification"], **common),
                             token_verifier=keys.verifier())
    ins = instruction_app(InstructionSettings(database_url=urls["instruction"], documents_url=nowhere,
                                              internal_token=INTERNAL_TOKEN, run_jobs=False, **common),
                          token_verifier=keys.verifier())
    apps: list[FastAPI] = [cls, ins]
    try:
        async with serve_app(cls) as cls_url, app_client(ins) as ins_client:
            dos = dossier_app(DossierSettings(database_url=urls["dossier"], classification_url=cls_url,
                                              documents_url=nowhere, internal_token=INTERNAL_TOKEN,
                                              amqp_url=dossier_amqp_url, **common),
                              token_verifier=keys.verifier())
            apps.append(dos)
            async with serve_app(dos) as dos_url:
                edge = create_edge_app("public", GatewaySettings(
                    environment="test", classification_url=cls_url, dossier_url=dos_url, documents_url=nowhere,
                    identity_url=nowhere, notifications_url=nowhere, instruction_url=nowhere,
                    rate_limit_prefix=f"{prefix}rl:", log_json=False), token_verifier=keys.verifier())
                async with app_client(edge) as edge_client:
                    yield InProcess(keys, prefix, edge_client, dos, ins, ins_client)
    finally:
        for app in apps:
            runtime = getattr(app.state, "runtime", None)
            if runtime is not None and runtime.broker is not None:
                with contextlib.suppress(Exception):
                    await runtime.broker.delete_declared()
        for url in urls.values():
            await drop_database(url)


def bearer(token: str, version: int | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return headers


async def museum_dossier(edge: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """A museum's request ready to transmit: one line, parties, no justificatif required."""
    r = await edge.post("/api/v1/dossiers", json={
        "applicant_kind": "professional", "profile": "musee", "flow": "INT", "origin_country": "BE",
        "destination_country": "FR",
        "profile_details": {"company_name": "Musée de la Chasse", "siret": "18004502100013"}},
        headers=bearer(token))
    assert r.status_code == 201, r.text
    d = r.json()
    r = await edge.post(f"/api/v1/dossiers/{d['id']}/lines", headers=bearer(token, d["version"]), json={
        "classification_code": "C-1-c", "designation": "Fusil de chasse du XIXe siècle", "quantity": 1,
        "unit_value_eur": "3200.00", "classification_path": "known"})
    assert r.status_code == 201, r.text
    assert r.json()["authorisation_type"] == "AP-INT"
    d = r.json()["dossier"]
    address = {"line1": "62 rue des Archives", "postal_code": "75003", "city": "Paris", "country": "FR"}
    r = await edge.put(f"/api/v1/dossiers/{d['id']}/demandeur", headers=bearer(token, d["version"]), json={
        "applicant": {"first_name": "Anne", "last_name": "Conservatrice", "company_name": "Musée de la Chasse",
                      "email": "conservation@musee-chasse.example.fr",
                      "address": address},
        "sender": {"name": "Galerie d'armes anciennes", "address": {"line1": "1 place du Sablon",
                                                                   "city": "Bruxelles", "country": "BE"}},
        "recipient": {"name": "Musée de la Chasse", "address": address},
        "motive": "achat"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["justificatifs"] == [] or all(j["state"] == "disponible" for j in d["justificatifs"]), d
    r = await edge.post(f"/api/v1/dossiers/{d['id']}/steps/2/validation", headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def applicant_token(keys: TestKeys) -> tuple[str, uuid.UUID]:
    sub = uuid.uuid4()
    return keys.applicant(sub, name="Anne Conservatrice", email=f"musee-{unique_suffix()}@example.fr"), sub
