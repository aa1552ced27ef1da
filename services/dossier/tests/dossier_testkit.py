"""Test kit of the dossier service: fakes of the classification and documents ports (for the tests
that are about the dossier service's own rules), the test environment and wizard helpers."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from dossier.domain.errors import Conflict, Invalid, NotFound, Unavailable
from eaps_contracts.base import Event
from eaps_contracts.envelope import Envelope
from eaps_kit.testing import TestKeys, bearer, eventually

# --- fakes of the two services the dossier service calls (the real ones run in integration/) ---

AUTHORISATIONS = {  # (flow, code) -> authorisation; absent: no authorisation needed
    ("EXP", "C-1-c"): "LEAF", ("EXP", "C-2-a"): "LEAF", ("EXP", "B-1"): "LEAF",
    ("IMP", "C-1-c"): "AIMG", ("IMP", "D-a"): "AIMG",
    ("INT", "C-1-c"): "AP-INT", ("INT", "D-a"): "AIMG",
    ("EXD", "C-1-c"): "PT",
}
DOCUMENTS = {"LEAF": ["ID", "AI-PT"], "AIMG": ["ID"], "AP-INT": ["ID", "PC"], "PT": ["ID", "AP-DEST"]}


class FakeClassification:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.down = False
        self.version = "fake-2026.1"

    async def determine(self, request: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(request)
        if self.down:
            raise Unavailable("Le service de classification est momentanément indisponible.",
                              headers={"Retry-After": "10"})
        needs = {it["classification_code"]: AUTHORISATIONS.get((request["flow"], it["classification_code"]))
                 for it in request["items"]}
        if any(code.startswith("X") for code in needs):
            raise Invalid("Code de classement inconnu.", errors=[{"field": "items", "message": "inconnu"}])
        if len(set(needs.values())) > 1:
            raise Conflict("Ces matériels nécessitent des autorisations distinctes : il vous faudra faire "
                           "plusieurs demandes différentes.", errors=[
                               {"field": code, "message": str(auth)} for code, auth in needs.items()])
        auth = next(iter(needs.values()))
        docs = list(DOCUMENTS.get(auth or "", []))
        if request.get("motive") == "exposition" and auth:
            docs.append("INVIT")
        return {"authorisation": auth, "outside_scope": False, "outside_scope_procedure": None,
                "required_documents": docs, "exemptions": [], "ruleset_version": self.version,
                "explanation": f"Le flux {request['flow']} requiert {auth}."}

    async def document_types(self) -> dict[str, str]:
        return {"ID": "Pièce d'identité", "AI-PT": "Autorisation d'importation du pays tiers",
                "PC": "Permis de chasser", "AP-DEST": "Accord préalable de l'État de destination"}


def token_claims(authorization: str) -> dict[str, Any]:
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class FakeDocuments:
    def __init__(self) -> None:
        self.docs: dict[uuid.UUID, dict[str, Any]] = {}
        self.pins: list[dict[str, Any]] = []

    def add(self, token: str, status: str = "available", filename: str = "piece.pdf") -> uuid.UUID:
        claims = token_claims(token)
        doc_id = uuid.uuid4()
        owner = claims.get("operator_id") if claims.get("access_level") == "OPPD" else claims["sub"]
        self.docs[doc_id] = {"id": str(doc_id), "owner": owner, "status": status, "filename": filename,
                             "title": filename, "sha256": "ab" * 32}
        return doc_id

    async def get(self, document_id: uuid.UUID, authorization: str) -> dict[str, Any]:
        claims = token_claims(authorization)
        owner = claims.get("operator_id") if claims.get("access_level") == "OPPD" else claims["sub"]
        doc = self.docs.get(document_id)
        if doc is None or doc["owner"] != owner:
            raise NotFound("Ce document n'existe pas dans votre bibliothèque.")
        return dict(doc)

    async def pin(self, document_id: uuid.UUID, dossier_id: uuid.UUID, owner_account_id: uuid.UUID,
                  owner_operator_id: uuid.UUID | None) -> dict[str, Any]:
        doc = self.docs[document_id]
        if doc["status"] != "available":
            raise Conflict("Un justificatif n'est pas encore disponible.")
        pin = {"pinned_document_id": str(uuid.uuid4()), "document_id": str(document_id), "sha256": doc["sha256"],
               "filename": doc["filename"], "content_type": "application/pdf", "size": 10,
               "dossier_id": str(dossier_id)}
        self.pins.append(pin)
        return pin


# --- the app under test ----------------------------------------------------------------

@dataclass
class Env:
    client: httpx.AsyncClient
    app: Any
    keys: TestKeys
    classification: FakeClassification
    documents: FakeDocuments
    published: list[Envelope] = field(default_factory=list)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def publish(self, event: Event, *, event_id: uuid.UUID | None = None) -> Envelope:
        """Publish another service's event on the real broker, as its outbox relay would."""
        envelope = Envelope.wrap(event, event_id=event_id)
        await self.runtime.broker.publish(f"{event.producer()}.events", envelope.routing_key,
                                          envelope.model_dump_json().encode(), message_id=str(envelope.event_id),
                                          message_type=envelope.type)
        return envelope

    def events_of(self, cls: type[Event], dossier_id: str | uuid.UUID | None = None) -> list[Envelope]:
        out = [e for e in self.published if e.type == cls.event_type]
        if dossier_id is not None:
            out = [e for e in out if str(e.data.get("dossier_id") or e.data.get("dossier", {}).get("dossier_id"))
                   == str(dossier_id)]
        return out


# --- helpers -----------------------------------------------------------------------------

def h(token: str, version: int | str | None = None) -> dict[str, str]:
    headers = bearer(token)
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return headers


INFORMATIONS = {"applicant_kind": "professional", "profile": "armurier",
                "profile_details": {"company_name": "Armurerie du Centre", "siret": "12345678901234",
                                    "agrement_number": "AGR-2024-77", "eori": "FR12345678901"},
                "flow": "EXP", "origin_country": "FR", "destination_country": "US"}
LINE = {"classification_code": "C-1-c", "designation": "Carabine de chasse", "brand": "Verney-Carron",
        "model": "Impact", "calibre": "308 Win", "quantity": 2, "unit_value_eur": "1250.50",
        "serial_numbers": ["VC123", "VC124"], "classification_path": "known"}
DEMANDEUR = {
    "applicant": {"first_name": "Jeanne", "last_name": "Martin", "email": "jeanne.martin@example.fr",
                  "phone": "+33 6 12 34 56 78",
                  "address": {"line1": "3 rue des Armes", "postal_code": "42000", "city": "Saint-Étienne",
                              "country": "FR"}},
    "sender": {"name": "Armurerie du Centre", "siret": "12345678901234",
               "address": {"line1": "3 rue des Armes", "city": "Saint-Étienne", "country": "FR"}},
    "recipient": {"name": "Hunting Supplies Inc.",
                  "address": {"line1": "1 Main Street", "city": "Dallas", "country": "US"}},
    "motive": "vente",
}


async def new_draft(env: Env, token: str, informations: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await env.client.post("/api/v1/dossiers", json=informations or INFORMATIONS, headers=h(token))
    assert r.status_code == 201, r.text
    return r.json()


async def complete_dossier(env: Env, token: str, *, lines: list[dict[str, Any]] | None = None,
                           informations: dict[str, Any] | None = None) -> dict[str, Any]:
    """A draft with every step filled and every justificatif available, ready to transmit."""
    d = await new_draft(env, token, informations)
    v = d["version"]
    for line in lines or [LINE]:
        r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=line, headers=h(token, v))
        assert r.status_code == 201, r.text
        v = r.json()["dossier"]["version"]
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json=DEMANDEUR, headers=h(token, v))
    assert r.status_code == 200, r.text
    d = r.json()
    for j in d["justificatifs"]:
        doc = env.documents.add(token, filename=f"{j['code']}.pdf")
        r = await env.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/{j['code']}",
                                 json={"document_id": str(doc)}, headers=h(token, d["version"]))
        assert r.status_code == 200, r.text
        d = r.json()
    assert d["ready_to_transmit"], d["validation"]
    return d


async def transmit(env: Env, token: str, d: dict[str, Any]) -> dict[str, Any]:
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=h(token, d["version"]))
    assert r.status_code == 200, r.text
    return r.json()


async def get(env: Env, token: str, dossier_id: str) -> dict[str, Any]:
    r = await env.client.get(f"/api/v1/dossiers/{dossier_id}", headers=h(token))
    assert r.status_code == 200, r.text
    return r.json()


__all__ = ["eventually"]
