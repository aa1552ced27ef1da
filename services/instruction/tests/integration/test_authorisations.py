"""Authorisations after the grant: imputations down to « soldée », every refusal, reversal,
suspension, lifting and revocation, with the events other services receive."""

import uuid
from datetime import timedelta
from typing import Any

from eaps_kit.testing import bearer

API = "/api/v1/instruction"


def crossing(auth: dict, clock: Any, **kw: Any) -> dict:
    body = {"authorisation_number": auth["number"], "declaration_reference": f"26FR{uuid.uuid4().hex[:14].upper()}",
            "crossing_date": clock.today().isoformat(), "office": "FR000690", "flow": "IMP", "country": "US",
            "line_no": 1, "quantity": 1}
    body.update(kw)
    return body


async def test_imputations_down_to_solde_and_every_refusal(journey: Any, client: Any, clock: Any,
                                                           as_customs: dict) -> None:
    _, auth = await journey.grant()  # line 1: 10 × 450 €, line 2: 5 × 800 €, IMP from US
    impute = lambda body: client.post(f"{API}/imputations", json=body, headers=as_customs)  # noqa: E731

    first = crossing(auth, clock, quantity=4, value_eur="1800.00")
    r = await impute(first)
    assert r.status_code == 201, r.text
    imp = r.json()
    assert imp["quantity"] == 4 and imp["office"] == "FR000690"
    changed = await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"])
    assert changed["new_status"] == "valide" and changed["lines"][0]["quantity_remaining"] == 6
    # Idempotent on the declaration reference; the same reference with other figures is a conflict.
    r = await impute(first)
    assert r.status_code == 200 and r.json()["id"] == imp["id"]
    r = await impute({**first, "quantity": 5})
    assert r.status_code == 409 and "déjà été imputée" in r.json()["detail"]

    refusals = [
        (crossing(auth, clock, flow="EXP"), 422, "flux"),
        (crossing(auth, clock, country="DE"), 422, "pays"),
        (crossing(auth, clock, crossing_date=(clock.today() + timedelta(days=1)).isoformat()), 422, "futur"),
        (crossing(auth, clock, line_no=9), 422, "ligne 9"),
        (crossing(auth, clock, quantity=7), 409, "quantité restante sur la ligne 1 (6)"),
        (crossing(auth, clock, quantity=1, value_eur="2800.00"), 409, "valeur restante"),
        (crossing(auth, clock, crossing_date=(clock.today() - timedelta(days=1)).isoformat()), 409,
         "n'est pas valide le"),
        (crossing(auth, clock, authorisation_number="AIMG-1999-000001"), 404, "n'existe pas"),
        (crossing(auth, clock, quantity=0), 422, "quantity"),
        (crossing(auth, clock, country="USA"), 422, "country"),
    ]
    for body, code, text in refusals:
        r = await impute(body)
        assert r.status_code == code, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert text in r.text, (text, r.text)

    r = await impute(crossing(auth, clock, quantity=6))
    assert r.status_code == 201
    r = await impute(crossing(auth, clock, line_no=2, quantity=5, value_eur="4000.00"))
    last = r.json()
    assert r.status_code == 201
    solde = await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"],
                                         new_status="soldee")
    assert solde["old_status"] == "valide" and all(x["quantity_remaining"] == 0 for x in solde["lines"])
    detail = (await client.get(f"{API}/authorisations/{auth['authorisation_id']}", headers=journey.officer)).json()
    assert detail["status"] == "soldee" and detail["status_label"] == "Soldée" and len(detail["imputations"]) == 3
    r = await impute(crossing(auth, clock, line_no=2, quantity=1))
    assert r.status_code == 409 and "soldée" in r.json()["detail"]

    # Reversal gives the quantity back and the authorisation is valid again.
    r = await client.post(f"{API}/imputations/{last['id']}/reversal", json={"reason": "Déclaration invalidée"},
                          headers=as_customs)
    assert r.status_code == 200 and r.json()["reversal_reason"] == "Déclaration invalidée"
    back = await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"],
                                        old_status="soldee", new_status="valide")
    assert back["lines"][1]["quantity_remaining"] == 5
    r = await client.post(f"{API}/imputations/{last['id']}/reversal", json={"reason": "encore"}, headers=as_customs)
    assert r.status_code == 409
    r = await client.post(f"{API}/imputations/{uuid.uuid4()}/reversal", json={"reason": "x"}, headers=as_customs)
    assert r.status_code == 404
    r = await client.post(f"{API}/imputations/{last['id']}/reversal", json={"reason": ""}, headers=as_customs)
    assert r.status_code == 422


async def test_a_global_authorisation_records_usage_without_limit(journey: Any, client: Any, clock: Any,
                                                                  as_customs: dict) -> None:
    _, auth = await journey.grant(authorisation_type="AGIMG")
    assert auth["valid_until"] == (clock.today().replace(year=clock.today().year + 1) - timedelta(days=1)).isoformat()
    r = await client.post(f"{API}/imputations", json=crossing(auth, clock, quantity=500), headers=as_customs)
    assert r.status_code == 201
    detail = (await client.get(f"{API}/authorisations/{auth['authorisation_id']}", headers=journey.officer)).json()
    assert detail["status"] == "valide" and detail["lines"][0]["quantity_used"] == 500
    assert detail["lines"][0]["quantity_remaining"] is None


async def test_an_authorisation_not_yet_valid_refuses_imputations(journey: Any, client: Any, clock: Any,
                                                                  as_customs: dict) -> None:
    start = clock.today() + timedelta(days=10)
    _, auth = await journey.grant({"valid_from": start.isoformat()})
    assert auth["status"] == "non_encore_valide"
    r = await client.post(f"{API}/imputations", json=crossing(auth, clock), headers=as_customs)
    assert r.status_code == 409 and "non encore valide" in r.json()["detail"]


async def test_suspend_lift_and_revoke(journey: Any, client: Any, clock: Any, as_customs: dict,
                                       as_supervisor: dict) -> None:
    _, auth = await journey.grant()
    aid = auth["authorisation_id"]
    path = f"{API}/authorisations/{aid}"
    r = await client.post(f"{path}/suspension", json={"reason": "Enquête en cours"}, headers=journey.officer)
    assert r.status_code == 403
    r = await client.post(f"{path}/suspension/lift", json={"reason": "x"}, headers=as_supervisor)
    assert r.status_code == 409
    r = await client.post(f"{path}/suspension", json={"reason": "Enquête en cours",
                                                      "until": (clock.today() - timedelta(days=1)).isoformat()},
                          headers=as_supervisor)
    assert r.status_code == 422
    r = await client.post(f"{path}/suspension", json={"reason": "Enquête en cours"}, headers=as_supervisor)
    assert r.status_code == 200 and r.json()["status"] == "suspendue"
    event = await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"],
                                         new_status="suspendue")
    assert event["reason"] == "Enquête en cours"
    r = await client.post(f"{API}/imputations", json=crossing(auth, clock), headers=as_customs)
    assert r.status_code == 409 and "suspendue" in r.json()["detail"]
    r = await client.post(f"{path}/suspension/lift", json={"reason": "Enquête close"}, headers=as_supervisor)
    assert r.json()["status"] == "valide"
    await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"],
                                 old_status="suspendue", new_status="valide")
    r = await client.post(f"{API}/imputations", json=crossing(auth, clock), headers=as_customs)
    assert r.status_code == 201
    imp = r.json()
    r = await client.post(f"{path}/revocation", json={"reason": "Conditions plus remplies"}, headers=as_supervisor)
    assert r.json()["status"] == "abrogee"
    await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"],
                                 new_status="abrogee")
    r = await client.post(f"{API}/imputations", json=crossing(auth, clock), headers=as_customs)
    assert r.status_code == 409 and "abrogée" in r.json()["detail"]
    r = await client.post(f"{API}/imputations/{imp['id']}/reversal", json={"reason": "x"}, headers=as_customs)
    assert r.status_code == 409
    for action in ("revocation", "suspension"):
        r = await client.post(f"{path}/{action}", json={"reason": "encore"}, headers=as_supervisor)
        assert r.status_code == 409
    r = await client.get(f"{path}/audit", headers=journey.officer)
    actions = [a["action"] for a in r.json()]
    assert actions[:1] == ["authorisation.issued"] and "authorisation.suspended" in actions
    assert "authorisation.suspension_lifted" in actions and actions[-1] == "authorisation.revoked"


async def test_imputation_needs_the_scope(keys: Any, client: Any, journey: Any, clock: Any) -> None:
    _, auth = await journey.grant()
    no_scope = bearer(keys.token(uuid.uuid4(), roles=["machine"], audience="eaps-internal", access_level=None,
                                 scope="decisions:read"))
    r = await client.post(f"{API}/imputations", json=crossing(auth, clock), headers=no_scope)
    assert r.status_code == 403 and "scope" in r.json()["detail"]
