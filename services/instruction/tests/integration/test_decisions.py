"""Proposals, four eyes, refusal and grant: the decision event and the authorisation."""

import re
import uuid
from datetime import date, timedelta
from typing import Any

from eaps_kit.testing import bearer
from instruction.domain.rules import add_months

API = "/api/v1/instruction"


async def test_refusal_is_proposed_then_signed_by_a_supervisor(journey: Any, as_supervisor: dict,
                                                               officer_id: uuid.UUID,
                                                               supervisor_id: uuid.UUID) -> None:
    snap, case_id = await journey.to_instruction()
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "refused"}, expect=422)
    assert r.json()["errors"][0]["field"] == "reasons"
    reasons = "Le demandeur ne justifie pas d'une autorisation couvrant la catégorie B."
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "refused", "reasons": reasons}, expect=201)
    pid = r.json()["id"]
    await journey.probe.wait_for("instruction.case.stage_changed", case_id=case_id, stage="en_decision")
    case = await journey.case(case_id)
    assert case["status"] == "en_decision"
    # An officer cannot sign; a second proposal while one is pending is refused.
    await journey.post(f"/cases/{case_id}/proposals/{pid}/signature", expect=403)
    await journey.post(f"/cases/{case_id}/proposals", {"outcome": "refused", "reasons": reasons}, expect=409)
    r = await journey.post(f"/cases/{case_id}/proposals/{pid}/signature", who=as_supervisor, expect=201)
    assert r.json()["outcome"] == "refused" and r.json()["authorisation"] is None
    issued = await journey.probe.wait_for("instruction.decision.issued", case_id=case_id)
    assert issued["outcome"] == "refused" and issued["reasons"] == reasons
    assert issued["proposed_by"] == str(officer_id) and issued["signed_by"] == str(supervisor_id)
    assert "R316-29" in issued["legal_basis"] and issued["authorisation"] is None
    case = await journey.case(case_id)
    assert case["status"] == "refusee" and case["decision"]["outcome"] == "refused"
    await journey.post(f"/cases/{case_id}/proposals/{pid}/signature", who=as_supervisor, expect=409)


async def test_four_eyes_the_proposer_never_signs(journey: Any, keys: Any, as_supervisor: dict,
                                                  supervisor_id: uuid.UUID) -> None:
    # A supervisor instructs a case himself: another supervisor must sign.
    _, case_id = await journey.submit()
    await journey.post(f"/cases/{case_id}/take", who=as_supervisor, expect=204)
    await journey.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, who=as_supervisor, expect=204)
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "granted"}, who=as_supervisor, expect=201)
    pid = r.json()["id"]
    r = await journey.post(f"/cases/{case_id}/proposals/{pid}/signature", who=as_supervisor, expect=403)
    assert "quatre yeux" in r.json()["detail"]
    assert (await journey.case(case_id))["status"] == "en_decision"
    other = bearer(keys.officer(uuid.uuid4(), roles=["supervisor"]))
    r = await journey.post(f"/cases/{case_id}/proposals/{pid}/signature", who=other, expect=201)
    assert r.json()["outcome"] == "granted"


async def test_send_back_returns_the_case_to_instruction(journey: Any, as_supervisor: dict) -> None:
    _, case_id = await journey.to_instruction()
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "granted"}, expect=201)
    pid = r.json()["id"]
    await journey.post(f"/cases/{case_id}/proposals/{pid}/send-back", {"comment": ""}, who=as_supervisor,
                       expect=422)
    await journey.post(f"/cases/{case_id}/proposals/{pid}/send-back",
                       {"comment": "Réduire la quantité de la ligne 1 à 5."}, who=as_supervisor, expect=204)
    await journey.probe.wait_for("instruction.case.stage_changed", case_id=case_id, stage="en_instruction")
    case = await journey.case(case_id)
    assert case["status"] == "en_instruction"
    assert case["proposals"][0]["state"] == "sent_back"
    assert case["proposals"][0]["review_comment"] == "Réduire la quantité de la ligne 1 à 5."
    await journey.post(f"/cases/{case_id}/proposals/{pid}/signature", who=as_supervisor, expect=409)
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "granted", "lines": [
        {"line_no": 1, "quantity": 5}]}, expect=201)
    await journey.post(f"/cases/{case_id}/proposals/{r.json()['id']}/signature", who=as_supervisor, expect=201)


async def test_grant_validity_is_computed_from_the_rules_and_bounded(journey: Any, clock: Any,
                                                                     as_supervisor: dict) -> None:
    _, case_id = await journey.to_instruction(kind="individual")  # AIMG for an individual: at most 1 year
    today = clock.today()
    r = await journey.client.get(f"{API}/cases/{case_id}/validity", headers=journey.officer)
    assert r.json()["valid_from"] == today.isoformat() and r.json()["max_months"] == 12
    too_long = {"outcome": "granted", "valid_from": today.isoformat(),
                "valid_until": (today + timedelta(days=400)).isoformat()}
    r = await journey.post(f"/cases/{case_id}/proposals", too_long, expect=422)
    assert r.headers["content-type"] == "application/problem+json"
    assert "12 mois" in r.json()["errors"][0]["message"]
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "granted", "valid_from": "2001-01-01"},
                           expect=422)
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "granted", "lines": [
        {"line_no": 1, "quantity": 11}, {"line_no": 9, "quantity": 1}]}, expect=422)
    assert {e["field"] for e in r.json()["errors"]} == {"lines.0.quantity", "lines.1.line_no"}
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "granted", "lines": []}, expect=422)
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "granted", "lines": [
        {"line_no": 1, "quantity": 0}]}, expect=422)
    shorter = today + timedelta(days=200)
    r = await journey.post(f"/cases/{case_id}/proposals", {
        "outcome": "granted", "valid_until": shorter.isoformat(), "conditions": "Transport sous escorte.",
        "lines": [{"line_no": 1, "quantity": 4, "value_eur": "1700.00"}]}, expect=201)
    r = await journey.post(f"/cases/{case_id}/proposals/{r.json()['id']}/signature", who=as_supervisor, expect=201)
    auth = r.json()["authorisation"]
    assert auth["valid_from"] == today.isoformat() and auth["valid_until"] == shorter.isoformat()
    assert [(x["line_no"], x["quantity"], x["value_eur"]) for x in auth["lines"]] == [(1, 4, "1700.00")]


async def test_grant_creates_the_authorisation_and_emits_the_decision(journey: Any, clock: Any,
                                                                      officer_id: uuid.UUID) -> None:
    case_id, auth = await journey.grant({"conditions": "Stockage en coffre-fort."})
    today: date = clock.today()
    assert re.fullmatch(rf"AIMG-{today.year}-\d{{6}}", auth["number"])
    issued = await journey.probe.wait_for("instruction.decision.issued", case_id=case_id)
    assert issued["outcome"] == "granted" and issued["proposed_by"] == str(officer_id)
    snap = issued["authorisation"]
    assert snap["number"] == auth["number"] and snap["status"] == "valide"
    assert snap["holder_name"] == "Armurerie du Centre" and snap["conditions"] == "Stockage en coffre-fort."
    # A professional's AIMG: 3 years by default.
    assert snap["valid_from"] == today.isoformat()
    assert snap["valid_until"] == (add_months(today, 36) - timedelta(days=1)).isoformat()
    assert [(x["line_no"], x["quantity"], x["value_eur"], x["quantity_remaining"]) for x in snap["lines"]] == [
        (1, 10, "4500.00", 10), (2, 5, "4000.00", 5)]
    r = await journey.client.get(f"{API}/authorisations", params={"number": auth["number"]},
                                 headers=journey.officer)
    assert r.json()["total"] == 1
    detail = r.json()["items"][0]
    assert detail["status"] == "valide" and detail["status_label"] == "Valide"
    assert len(detail["verification_code"]) == 11
    case = await journey.case(case_id)
    assert case["status"] == "accordee" and case["authorisation"]["number"] == auth["number"]
    # Numbers follow each other within the type and year.
    _, second = await journey.grant()
    assert int(second["number"][-6:]) > int(auth["number"][-6:])
