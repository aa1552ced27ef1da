"""Another administration through the internal edge (issues 7 and 8): the demo machine client gets
a token, registers a webhook on its own loopback receiver, receives the signed decision of a
granted dossier and checks it as documented, then reports border crossings until « soldée »."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from eaps_kit.testing import eventually, serve_app
from fastapi import FastAPI, Request, Response
from notifications.webhook_signature import WebhookVerificationError, verify
from system_testkit import (
    Applicant,
    assert_problem,
    bearer,
    fill_and_transmit,
    hunter_draft,
    unique,
    wait_case,
    wait_status,
)


class Receiver:
    """What an administration runs: an HTTP endpoint that records each delivery as received."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()

        @self.app.post("/hooks/decisions")
        async def receive(request: Request) -> Response:
            self.deliveries.append(({k.lower(): v for k, v in request.headers.items()}, await request.body()))
            return Response(status_code=204)

    def find(self, secret: str, change: str, registration_number: str) -> tuple[dict[str, Any], dict[str, str],
                                                                                  bytes] | None:
        for headers, body in list(self.deliveries):
            payload = json.loads(body)
            if payload["type"] == f"decision.{change}" and \
                    payload["data"]["registration_number"] == registration_number:
                return verify(secret, headers, body), headers, body
        return None


async def test_machine_client_receives_the_signed_decision_and_reports_imputations(
        internal: httpx.AsyncClient, public: httpx.AsyncClient, machine: str, officer, supervisor,  # type: ignore[no-untyped-def]
        demo_hunter: Applicant):
    mac, off, sup = bearer(machine), bearer(await officer.token()), bearer(await supervisor.token())
    receiver = Receiver()
    async with serve_app(receiver.app) as base:
        r = await internal.post("/api/v1/webhooks/endpoints", headers=mac, json={
            "url": f"{base}/hooks/decisions", "event_types": ["decision.granted", "decision.exhausted"],
            "description": f"Tests système {unique()}"})
        assert r.status_code == 201, r.text
        endpoint, secret = r.json()["id"], r.json()["secret"]
        try:
            await _journey(internal, public, receiver, secret, mac, off, sup, demo_hunter)
        finally:
            await internal.delete(f"/api/v1/webhooks/endpoints/{endpoint}", headers=mac)


async def _journey(internal: httpx.AsyncClient, public: httpx.AsyncClient, receiver: Receiver, secret: str,
                   mac: dict[str, str], off: dict[str, str], sup: dict[str, str], applicant: Applicant) -> None:
    # a hunter's request, transmitted through the public edge
    d = (await hunter_draft(public, applicant))["dossier"]
    d, number = await fill_and_transmit(public, applicant, d)
    case = await wait_case(internal, off["Authorization"][7:], number)
    c = f"/api/v1/instruction/cases/{case['id']}"

    # four eyes: the supervisor who proposes cannot sign; sent back, reassigned, proposed again
    assert (await internal.post(f"{c}/take", headers=sup)).status_code == 204
    assert (await internal.post(f"{c}/admissibility", json={"decision": "recevable"}, headers=sup)).status_code == 204
    r = await internal.post(f"{c}/proposals", json={"outcome": "granted"}, headers=sup)
    assert r.status_code == 201, r.text
    own = r.json()["id"]
    assert_problem(await internal.post(f"{c}/proposals/{own}/signature", headers=sup), 403, "quatre yeux")
    r = await internal.post(f"{c}/proposals/{own}/send-back", json={"comment": "À proposer par l'instructeur."},
                            headers=sup)
    assert r.status_code == 204, r.text
    officer_id = (await internal.get("/api/v1/identity/officers/me", headers=off)).json()["id"]
    r = await internal.post(f"{c}/assignment", json={"officer_id": officer_id}, headers=sup)
    assert r.status_code == 204, r.text
    r = await internal.post(f"{c}/proposals", json={"outcome": "granted", "conditions": "Sous clé."}, headers=off)
    assert r.status_code == 201, r.text
    r = await internal.post(f"{c}/proposals/{r.json()['id']}/signature", headers=sup)
    assert r.status_code == 201, r.text
    auth = r.json()["authorisation"]
    auth_number, auth_id = auth["number"], auth["authorisation_id"]

    # the administration receives the decision, signed; the documented check accepts it
    found = await eventually(lambda: receiver.find(secret, "granted", number), timeout=60, interval=0.2)
    payload, headers, body = found
    data = payload["data"]
    assert payload["schema"] == "public.decision.changed.v1"
    assert data["authorisation_number"] == auth_number and data["authorisation_type"] == "AP-INT"
    assert data["change"] == "granted" and data["flow"] == "INT" and data["origin_country"] == "BE"
    assert [(x["line_no"], x["quantity"]) for x in data["lines"]] == [(1, 2)]
    # ... and refuses the same delivery altered, or signed with another secret, or replayed later
    forged = body.replace(auth_number.encode(), b"AP-INT-1999-000001")
    for h, b, s in ((headers, forged, secret), (headers, body, "whsec_" + "QUJD" * 8),
                    ({**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 3600)}, body, secret)):
        try:
            verify(s, h, b)
        except WebhookVerificationError:
            continue
        raise AssertionError("a forged or replayed delivery passed the check")

    # quantities used at the border: every refusal once, then down to « soldée »
    # the French administration's date: an authorisation granted after midnight in Paris starts that day
    today = datetime.now(ZoneInfo("Europe/Paris")).date()

    def crossing(ref: str, **kw: Any) -> dict[str, Any]:
        return {"authorisation_number": auth_number, "declaration_reference": ref, "crossing_date": str(today),
                "office": "FR000690", "flow": "INT", "country": "BE", "line_no": 1, "quantity": 1, **kw}
    imp = "/api/v1/instruction/imputations"
    mrn = f"26FR{unique().upper()}"
    refusals = [
        (crossing(f"{mrn}X1", flow="EXP"), 422, "flux"),
        (crossing(f"{mrn}X2", country="DE"), 422, "pays"),
        (crossing(f"{mrn}X3", quantity=3), 409, "quantité restante"),
        (crossing(f"{mrn}X4", crossing_date=str(today - timedelta(days=400))), 409, "n'est pas valide"),
        (crossing(f"{mrn}X5", crossing_date=str(today + timedelta(days=1))), 422, "futur"),
        (crossing(f"{mrn}X6", line_no=9), 422, "ligne 9"),
    ]
    for body_, status, words in refusals:
        assert_problem(await internal.post(imp, json=body_, headers=mac), status, words)
    assert_problem(await internal.post(imp, json=crossing(f"{mrn}X7"), headers=bearer("pas-un-jeton")), 401)
    r = await internal.post(imp, json=crossing(f"{mrn}A"), headers=mac)
    assert r.status_code == 201, r.text
    again = await internal.post(imp, json=crossing(f"{mrn}A"), headers=mac)  # the same declaration, sent again
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    r = await internal.post(imp, json=crossing(f"{mrn}B"), headers=mac)
    assert r.status_code == 201, r.text
    detail = (await internal.get(f"/api/v1/instruction/authorisations/{auth_id}", headers=off)).json()
    assert detail["status"] == "soldee", detail
    assert_problem(await internal.post(imp, json=crossing(f"{mrn}C"), headers=mac), 409)

    # the holder sees it « Soldée », nothing remaining; the administration is told it is exhausted
    async def holder_sees() -> dict[str, Any] | None:
        r = await public.get(f"/api/v1/authorisations/{auth_id}", headers=bearer(applicant.token))
        return r.json() if r.json()["status"]["code"] == "soldee" else None
    mine = await eventually(holder_sees, timeout=30)
    assert mine["status"]["label"] == "Soldée" and mine["lines"][0]["quantity_remaining"] == 0
    exhausted = await eventually(lambda: receiver.find(secret, "exhausted", number), timeout=60, interval=0.2)
    assert exhausted[0]["data"]["authorisation_number"] == auth_number
    await wait_status(public, applicant.token, d["id"], "accordee")
    assert isinstance(date.fromisoformat(data["valid_from"]), date)
