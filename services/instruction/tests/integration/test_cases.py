"""The officer's journey up to the decision, with the real app on PostgreSQL and RabbitMQ."""

import uuid
from typing import Any

from eaps_contracts.events.common import MaterialLine
from eaps_contracts.events.dossier_v1 import (
    DossierMessagePostedV1,
    DossierResubmittedV1,
    DossierSubmittedV1,
    DossierWithdrawnV1,
)
from eaps_kit.testing import bearer, eventually

API = "/api/v1/instruction"


async def test_a_case_is_opened_once_even_when_the_submission_is_delivered_twice(
        snapshot: Any, journey: Any, client: Any, as_officer: dict) -> None:
    snap = snapshot(authorisation_type="LEAF", flow="EXP", origin="FR", destination="CH")
    event = DossierSubmittedV1(dossier=snap)
    env = await journey.probe.publish(event)
    await journey.probe.publish(event, event_id=env.event_id)  # redelivery of the same message
    await journey.probe.publish(event)                         # a replay under another message id
    opened = await journey.probe.wait_for("instruction.case.opened", dossier_id=snap.dossier_id)

    r = await client.get(f"{API}/cases", params={"registration_number": snap.registration_number},
                         headers=as_officer)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["id"] == opened["case_id"] and item["status"] == "en_etude" and item["status_label"] == "En étude"
    assert item["applicant_name"] == "Armurerie du Centre"
    # LEAF: 60 working days; nothing used yet.
    assert item["deadline_working_days"] == 60 and item["remaining_working_days"] == 60
    assert item["ageing_working_days"] == 0 and item["deadline"] == opened["deadline"]
    # A later submission is handled once the duplicates were: still one case and one event for the first.
    await journey.submit()
    r = await client.get(f"{API}/cases", params={"registration_number": snap.registration_number},
                         headers=as_officer)
    assert r.json()["total"] == 1
    assert len(journey.probe.of_type("instruction.case.opened", dossier_id=snap.dossier_id)) == 1


async def test_queues_filter_by_type_status_and_officer_with_counts(journey: Any, client: Any, as_officer: dict,
                                                                    officer_id: uuid.UUID) -> None:
    _, mine = await journey.submit(authorisation_type="PT", flow="EXD", origin="FR", destination="BE")
    _, free = await journey.submit(authorisation_type="PT", flow="EXD", origin="FR", destination="BE")
    await journey.post(f"/cases/{mine}/take", expect=204)
    r = await client.get(f"{API}/cases", params={"authorisation_type": "PT", "assigned": "me"}, headers=as_officer)
    ids = [c["id"] for c in r.json()["items"]]
    assert mine in ids and free not in ids
    r = await client.get(f"{API}/cases", params={"authorisation_type": "PT", "assigned": "none",
                                                  "status": ["en_etude"]}, headers=as_officer)
    ids = [c["id"] for c in r.json()["items"]]
    assert free in ids and mine not in ids
    r = await client.get(f"{API}/cases/counts", params={"authorisation_type": "PT"}, headers=as_officer)
    counts = r.json()
    assert counts["by_status"]["en_etude"] >= 2 and counts["by_type"]["PT"]["en_etude"] >= 2
    r = await client.get(f"{API}/cases", params={"status": "nimporte"}, headers=as_officer)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def test_take_and_assign(journey: Any, keys: Any, as_supervisor: dict) -> None:
    _, case_id = await journey.submit()
    colleague = bearer(keys.officer(uuid.uuid4()))
    await journey.post(f"/cases/{case_id}/take", expect=204)
    await journey.post(f"/cases/{case_id}/take", expect=204)  # taking one's own case again changes nothing
    r = await journey.post(f"/cases/{case_id}/take", who=colleague, expect=409)
    assert "déjà pris en charge" in r.json()["detail"]
    # Only the assignee acts on the case.
    r = await journey.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, who=colleague, expect=403)
    assert "attribué à un autre agent" in r.json()["detail"]
    colleague_id = str(uuid.uuid4())
    await journey.post(f"/cases/{case_id}/assignment", {"officer_id": colleague_id}, who=as_supervisor, expect=204)
    case = await journey.case(case_id)
    assert case["assigned_to"] == colleague_id
    r = await journey.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, expect=403)


async def test_an_unassigned_case_must_be_taken_before_deciding(journey: Any) -> None:
    _, case_id = await journey.submit()
    r = await journey.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, expect=409)
    assert "Prenez d'abord ce dossier" in r.json()["detail"]


async def test_inadmissible_closes_the_case_and_tells_the_applicant_why(journey: Any) -> None:
    snap, case_id = await journey.submit()
    await journey.post(f"/cases/{case_id}/take", expect=204)
    r = await journey.post(f"/cases/{case_id}/admissibility", {"decision": "irrecevable"}, expect=422)
    assert r.json()["errors"][0]["field"] == "reason"
    reason = "Le matériel relève de l'arrêté du 27 juin 2012 : la demande n'est pas du ressort d'e-APS."
    await journey.post(f"/cases/{case_id}/admissibility", {"decision": "irrecevable", "reason": reason}, expect=204)
    event = await journey.probe.wait_for("instruction.dossier.inadmissible", case_id=case_id)
    assert event["reason"] == reason and event["registration_number"] == snap.registration_number
    case = await journey.case(case_id)
    assert case["status"] == "irrecevable" and case["closed_at"] and case["closing_reason"] == reason
    r = await journey.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, expect=409)
    assert "Irrecevable" in r.json()["detail"]
    r = await journey.post(f"/cases/{case_id}/proposals", {"outcome": "refused", "reasons": "x"}, expect=409)


async def test_completion_request_then_resubmission_resumes_with_the_changes(snapshot: Any, journey: Any) -> None:
    snap, case_id = await journey.submit(authorisation_type="LEAF", flow="EXP", origin="FR", destination="CH")
    await journey.post(f"/cases/{case_id}/take", expect=204)
    await journey.post(f"/cases/{case_id}/completion-requests", {"missing": [], "message": "x"}, expect=422)
    missing = [{"kind": "document", "code": "AI-PT", "label": "Autorisation d'importation du pays de destination"},
               {"kind": "field", "code": "lines.1.quantity", "label": "Quantité de la ligne 1 à justifier"}]
    await journey.post(f"/cases/{case_id}/completion-requests",
                       {"missing": missing, "message": "Merci de joindre l'autorisation suisse."}, expect=201)
    event = await journey.probe.wait_for("instruction.completion.requested", case_id=case_id)
    assert [m["code"] for m in event["missing"]] == ["AI-PT", "lines.1.quantity"]
    assert event["message"] == "Merci de joindre l'autorisation suisse."
    case = await journey.case(case_id)
    assert case["status"] == "incomplet" and case["clock_stopped"] and case["deadline"] is None
    assert case["remaining_working_days"] == 60
    await journey.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, expect=409)

    changed = snapshot(authorisation_type="LEAF", flow="EXP", origin="FR", destination="CH",
                            dossier_id=snap.dossier_id, registration_number=snap.registration_number,
                            account_id=snap.applicant.account_id, submission_no=2,
                            lines=[snap.lines[0].model_copy(update={"quantity": 6}), snap.lines[1]])
    changed = changed.model_copy(update={"attachments": [*snap.attachments, *changed.attachments[:0]],
                                         "motive": "vente"})
    resubmitted = DossierResubmittedV1(dossier=changed, changed_fields=["lines", "motive"])
    await journey.probe.publish(resubmitted)
    await journey.probe.publish(resubmitted)  # a replay has no second effect
    await journey.probe.wait_for("instruction.case.stage_changed", case_id=case_id, stage="en_etude")
    case = await journey.case(case_id)
    assert case["status"] == "en_etude" and not case["clock_stopped"] and case["deadline"] is not None
    assert case["submission_no"] == 2 and [v["submission_no"] for v in case["versions"]] == [1, 2]
    changes = {c["field"]: (c["before"], c["after"]) for c in case["changes_since_last_version"]}
    assert changes["lines[line_no=1].quantity"] == (10, 6)
    assert changes["motive"] == ("achat", "vente")
    assert case["completion_requests"][0]["answered_submission_no"] == 2
    assert case["dossier"]["lines"][0]["quantity"] == 6
    await journey.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, expect=204)
    await journey.probe.wait_for("instruction.dossier.admissible", case_id=case_id)


async def test_instruction_notes_consultations_and_the_thread(journey: Any, client: Any, as_officer: dict) -> None:
    snap, case_id = await journey.to_instruction(lines=[
        MaterialLine(line_no=1, classification_code="A2-1", designation="Fusil d'assaut", quantity=2)])
    note = "Vérifier l'agrément AFCI auprès de la préfecture."
    await journey.post(f"/cases/{case_id}/notes", {"body": note}, expect=201)
    # Ministries the rules name for an AIMG of A2 goods: Interior, Foreign Affairs and Defence.
    r = await journey.post(f"/cases/{case_id}/consultations", {"ministry": "defense", "question": "Avis ?"},
                           expect=201)
    cid = r.json()["id"]
    r = await journey.post(f"/cases/{case_id}/consultations/{cid}/opinion",
                           {"opinion": "favorable", "text": "Pas d'objection."}, expect=204)
    r = await journey.post(f"/cases/{case_id}/consultations/{cid}/opinion", {"opinion": "reserve"}, expect=409)
    r = await journey.post(f"/cases/{case_id}/consultations/{uuid.uuid4()}/opinion", {"opinion": "reserve"},
                           expect=404)
    await journey.post(f"/cases/{case_id}/messages", {"body": "Pouvez-vous préciser l'usage prévu ?"}, expect=201)
    posted = await journey.probe.wait_for("instruction.message.posted", case_id=case_id)
    assert posted["body"] == "Pouvez-vous préciser l'usage prévu ?" and posted["dossier_id"] == str(snap.dossier_id)
    reply = DossierMessagePostedV1(message_id=uuid.uuid4(), dossier_id=snap.dossier_id,
                                   author_account_id=snap.applicant.account_id, body="Usage sportif uniquement.",
                                   posted_at=snap.submitted_at)
    await journey.probe.publish(reply)
    await journey.probe.publish(reply)

    async def thread() -> list:
        case = await journey.case(case_id)
        return case["messages"] if len(case["messages"]) >= 2 else []

    msgs = await eventually(thread)
    assert [(m["direction"], m["body"]) for m in msgs] == [
        ("officer", "Pouvez-vous préciser l'usage prévu ?"), ("applicant", "Usage sportif uniquement.")]
    case = await journey.case(case_id)
    assert case["notes"][0]["body"] == note
    assert case["consultations"][0]["ministry"] == "defense" and case["consultations"][0]["opinion"] == "favorable"
    assert case["consultations"][0]["due_on"] > case["consultations"][0]["requested_on"]
    # The internal note never leaves the service: no event carries it.
    assert not any(note in str(env.data) for env in journey.probe.received)


async def test_a_ministry_the_rules_do_not_name_is_refused(journey: Any) -> None:
    _, case_id = await journey.to_instruction(authorisation_type="PT", flow="EXD", origin="FR", destination="BE")
    r = await journey.post(f"/cases/{case_id}/consultations", {"ministry": "defense"}, expect=422)
    assert "Ministère de l'Intérieur" in r.json()["detail"]
    r = await journey.post(f"/cases/{case_id}/consultations", {"ministry": "marine"}, expect=422)


async def test_withdrawal_closes_the_case(journey: Any) -> None:
    snap, case_id = await journey.to_instruction()
    await journey.probe.publish(DossierWithdrawnV1(dossier_id=snap.dossier_id, withdrawn_by=snap.applicant.account_id,
                                                   reason="Vente annulée", withdrawn_at=snap.submitted_at))

    async def closed() -> bool:
        return (await journey.case(case_id))["status"] == "retiree"

    await eventually(closed)
    await journey.post(f"/cases/{case_id}/notes", {"body": "Note après retrait"}, expect=201)
    await journey.post(f"/cases/{case_id}/proposals", {"outcome": "refused", "reasons": "x"}, expect=409)
