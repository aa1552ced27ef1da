"""Statuses, baskets, the thread and « Mes autorisations » follow the instructing service's events:
idempotent on redelivery and tolerant of any order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from dossier_testkit import complete_dossier, get, h, transmit
from eaps_contracts.events import documents_v1 as doc_ev
from eaps_contracts.events import instruction_v1 as ins
from eaps_contracts.events.common import AuthorisationLine
from eaps_contracts.events.dossier_v1 import DossierMessagePostedV1, DossierResubmittedV1, DossierWithdrawnV1
from eaps_kit.testing import eventually

OFFICER = uuid.uuid4()


def at(minutes: int) -> datetime:
    return datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


async def sent_dossier(env, token):
    d = await complete_dossier(env, token)
    body = await transmit(env, token, d)
    return body["dossier"]


async def status_of(env, token, dossier_id):
    return (await get(env, token, dossier_id))["status"]["code"]


async def wait_status(env, token, dossier_id, code):
    async def check():
        return await status_of(env, token, dossier_id) == code
    await eventually(check)


def opened(d, minute=1):
    return ins.CaseOpenedV1(case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]),
                            registration_number=d["registration_number"], authorisation_type="LEAF",
                            opened_at=at(minute))


def stage(d, name, minute):
    return ins.CaseStageChangedV1(case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]), stage=name,
                                  changed_at=at(minute))


def authorisation(d, holder, number, *, operator=None):
    return ins.AuthorisationSnapshot(
        authorisation_id=uuid.uuid4(), number=number, type="LEAF", holder_account_id=holder,
        holder_operator_id=operator, holder_name="Armurerie du Centre", flow="EXP", origin_country="FR",
        destination_country="US", valid_from=date(2026, 3, 10), valid_until=date(2026, 12, 10),
        lines=[AuthorisationLine(line_no=1, classification_code="C-1-c", designation="Carabine de chasse",
                                 calibre="308 Win", quantity=2, quantity_remaining=2)],
        status="valide", pdf_document_id=uuid.uuid4())


def decision(d, outcome, minute, auth=None):
    return ins.DecisionIssuedV1(decision_id=uuid.uuid4(), case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]),
                                registration_number=d["registration_number"], outcome=outcome,
                                reasons=None if outcome == "granted" else "Pièces insuffisantes",
                                signed_by=OFFICER, issued_at=at(minute), authorisation=auth)


async def test_statuses_and_baskets_follow_the_case_and_history_records_each_step(env, keys):
    token = keys.applicant()
    d = await sent_dossier(env, token)
    await env.publish(opened(d))
    await wait_status(env, token, d["id"], "en_etude")
    await env.publish(ins.DossierAdmissibleV1(case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]),
                                              registration_number=d["registration_number"], decided_by=OFFICER,
                                              decided_at=at(2)))
    await wait_status(env, token, d["id"], "en_instruction")
    await env.publish(stage(d, "en_decision", 3))
    await wait_status(env, token, d["id"], "en_decision")
    current = await get(env, token, d["id"])
    assert current["basket"] == {"code": "en_attente", "label": "En attente"}
    assert current["status"]["label"] == "En décision"
    r = await env.client.get(f"/api/v1/dossiers/{d['id']}/history", headers=h(token))
    items = r.json()["items"]
    assert [i["status"]["label"] for i in items] == ["Brouillon", "Transmis", "En étude", "En instruction",
                                                     "En décision"]
    assert items[1]["by"]["label"] == "Demandeur" and d["registration_number"] in items[1]["note"]
    assert items[3]["by"] == {"kind": "officer", "label": "Service instructeur", "account_id": None}


async def test_a_redelivered_or_late_event_changes_nothing(env, keys):
    token = keys.applicant()
    d = await sent_dossier(env, token)
    event_id = uuid.uuid4()
    await env.publish(stage(d, "en_instruction", 5), event_id=event_id)
    await wait_status(env, token, d["id"], "en_instruction")
    version = (await get(env, token, d["id"]))["version"]
    # The same message again (same id), then an older stage and the case opening arriving late.
    await env.publish(stage(d, "en_instruction", 5), event_id=event_id)
    await env.publish(opened(d, minute=1))
    await env.publish(stage(d, "en_etude", 2))
    await env.publish(stage(d, "en_decision", 9))
    await wait_status(env, token, d["id"], "en_decision")
    r = await env.client.get(f"/api/v1/dossiers/{d['id']}/history", headers=h(token))
    assert [i["status"]["code"] for i in r.json()["items"]] == ["brouillon", "transmise", "en_instruction",
                                                                "en_decision"]
    assert (await get(env, token, d["id"]))["version"] == version + 1


async def test_a_stage_change_after_the_decision_does_not_reopen_it(env, keys):
    token = keys.applicant()
    d = await sent_dossier(env, token)
    await env.publish(decision(d, "refused", 10))
    await wait_status(env, token, d["id"], "refusee")
    await env.publish(stage(d, "en_decision", 8))
    await env.publish(stage(d, "en_instruction", 20))
    marker = uuid.uuid4()
    await env.publish(ins.MessagePostedV1(message_id=marker, case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]),
                                          registration_number=d["registration_number"], author_id=OFFICER,
                                          body="Décision notifiée.", posted_at=at(21)))

    async def marker_arrived():
        r = await env.client.get(f"/api/v1/dossiers/{d['id']}/messages", headers=h(token))
        return any(m["id"] == str(marker) for m in r.json()["items"])
    await eventually(marker_arrived)  # the stage events before it on the same queue were handled
    current = await get(env, token, d["id"])
    assert current["status"] == {"code": "refusee", "label": "Refusée"}
    assert current["basket"]["code"] == "termines"
    assert [a["code"] for a in current["actions"]] == ["comment"]


async def test_inadmissible_dossier_is_closed_with_its_reason(env, keys):
    token = keys.applicant()
    d = await sent_dossier(env, token)
    await env.publish(ins.DossierInadmissibleV1(case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]),
                                                registration_number=d["registration_number"],
                                                reason="Demande hors du champ e-APS", decided_by=OFFICER,
                                                decided_at=at(3)))
    await wait_status(env, token, d["id"], "irrecevable")
    r = await env.client.get(f"/api/v1/dossiers/{d['id']}/history", headers=h(token))
    assert r.json()["items"][-1]["note"] == "Demande hors du champ e-APS"
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/withdrawal", headers={**h(token), "If-Match": "*"})
    assert r.status_code == 409


async def test_completion_request_modification_and_resubmission(env, keys):
    token = keys.applicant()
    d = await sent_dossier(env, token)
    await env.publish(opened(d))
    await wait_status(env, token, d["id"], "en_etude")
    await env.publish(ins.CompletionRequestedV1(
        case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]), registration_number=d["registration_number"],
        missing=[ins.MissingItem(kind="document", code="AI-PT", label="Autorisation d'importation lisible")],
        message="Merci de fournir une copie lisible.", requested_by=OFFICER, requested_at=at(5)))
    await wait_status(env, token, d["id"], "a_completer")
    current = await get(env, token, d["id"])
    assert current["basket"] == {"code": "a_traiter", "label": "À traiter"}
    assert current["editable"] is True
    assert {"code": "modify", "label": "Modifier le formulaire"} in current["actions"]
    assert current["completion_request"]["message"] == "Merci de fournir une copie lisible."
    assert current["completion_request"]["missing"][0]["code"] == "AI-PT"
    r = await env.client.get("/api/v1/dossiers?basket=a_traiter", headers=h(token))
    assert d["id"] in [x["id"] for x in r.json()["items"]]

    # « Modifier le formulaire »: a new document, a changed quantity; then transmit again.
    doc = env.documents.add(token, filename="licence-us-lisible.pdf")
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/AI-PT", json={"document_id": str(doc)},
                             headers=h(token, current["version"]))
    assert r.status_code == 200
    line = {**current["lines"][0], "quantity": 3, "serial_numbers": ["VC123", "VC124", "VC125"]}
    line = {k: v for k, v in line.items() if k not in ("line_no", "total_value_eur")}
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/lines/1", json=line, headers=h(token, r.json()["version"]))
    assert r.status_code == 200, r.text
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=h(token, r.json()["version"]))
    assert r.status_code == 200
    body = r.json()
    assert body["resubmission"] is True
    assert body["registration_number"] == d["registration_number"]
    assert body["dossier"]["status"]["code"] == "en_etude"
    assert body["dossier"]["submission_no"] == 2
    assert body["dossier"]["completion_request"] is None

    ev = (await eventually(lambda: env.events_of(DossierResubmittedV1, d["id"])))[0]
    assert ev.data["dossier"]["submission_no"] == 2
    assert set(ev.data["changed_fields"]) == {"attachments.AI-PT.document_id", "attachments.AI-PT.filename",
                                              "lines.1.quantity", "lines.1.serial_numbers"}
    # A stage change issued before the reply is stale.
    await env.publish(stage(d, "en_instruction", 4))
    await env.publish(stage(d, "en_decision", 10**6))
    await wait_status(env, token, d["id"], "en_decision")


async def test_withdrawal_of_an_undecided_dossier(env, keys):
    token = keys.applicant()
    d = await sent_dossier(env, token)
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/withdrawal", json={"reason": "Vente annulée"},
                              headers=h(token, d["version"]))
    assert r.status_code == 200
    assert r.json()["status"] == {"code": "retiree", "label": "Retirée"}
    ev = (await eventually(lambda: env.events_of(DossierWithdrawnV1, d["id"])))[0]
    assert ev.data["reason"] == "Vente annulée" and ev.data["registration_number"] == d["registration_number"]
    await env.publish(stage(d, "en_instruction", 10**6))
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/withdrawal", headers=h(token, r.json()["version"]))
    assert r.status_code == 409
    assert await status_of(env, token, d["id"]) == "retiree"


async def test_comments_both_ways_with_unread_marks(env, keys):
    token = keys.applicant(name="Jeanne Martin")
    d = await sent_dossier(env, token)
    attached = env.documents.add(token, filename="facture.pdf")
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/messages",
                              json={"body": "Voici la facture demandée.", "document_id": str(attached)},
                              headers=h(token))
    assert r.status_code == 201
    ev = (await eventually(lambda: env.events_of(DossierMessagePostedV1, d["id"])))[0]
    assert ev.data["body"] == "Voici la facture demandée." and ev.data["document_id"] == str(attached)
    assert ev.data["pinned_document_id"]
    assert ev.data["registration_number"] == d["registration_number"]

    officer_msg = ins.MessagePostedV1(message_id=uuid.uuid4(), case_id=uuid.uuid4(), dossier_id=uuid.UUID(d["id"]),
                                      registration_number=d["registration_number"], author_id=OFFICER,
                                      body="Merci, bien reçu.", posted_at=datetime.now(UTC))
    await env.publish(officer_msg)
    await env.publish(officer_msg, event_id=uuid.uuid4())  # the same message published twice

    async def two_messages():
        r = await env.client.get(f"/api/v1/dossiers/{d['id']}/messages", headers=h(token))
        return r.json() if len(r.json()["items"]) == 2 else None
    thread = await eventually(two_messages)
    assert thread["unread"] == 1
    mine, theirs = thread["items"]
    assert mine["author"] == {"kind": "applicant", "label": "Jeanne Martin"} and mine["unread"] is False
    assert mine["document"]["filename"] == "facture.pdf"
    assert mine["document"]["href"].startswith("/api/v1/documents/pinned/")
    assert theirs["author"] == {"kind": "officer", "label": "Service instructeur"} and theirs["unread"] is True
    listed = (await env.client.get("/api/v1/dossiers", headers=h(token))).json()["items"]
    assert next(x for x in listed if x["id"] == d["id"])["unread_messages"] == 1
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/messages/read", headers=h(token))
    assert r.json() == {"marked_read": 1}
    assert (await get(env, token, d["id"]))["unread_messages"] == 0


async def test_comments_are_refused_on_a_draft_and_bad_bodies_answer_422(env, keys):
    token = keys.applicant()
    d = await complete_dossier(env, token)
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/messages", json={"body": "Bonjour"}, headers=h(token))
    assert r.status_code == 409
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/messages", json={"body": ""}, headers=h(token))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


async def test_granted_decision_gives_the_applicant_its_authorisation(env, keys):
    token = keys.applicant()
    d = await sent_dossier(env, token)
    holder = uuid.UUID(d["owner_account_id"])
    auth = authorisation(d, holder, f"LEAF-2026-{uuid.uuid4().int % 10**6:06d}")
    # A status change arriving before the decision waits for it (retried), then applies.
    await env.publish(ins.AuthorisationStatusChangedV1(
        authorisation_id=auth.authorisation_id, number=auth.number, dossier_id=uuid.UUID(d["id"]),
        holder_account_id=holder, old_status="valide", new_status="suspendue", reason="Contrôle",
        changed_at=at(30), lines=[]))
    await env.publish(decision(d, "granted", 20, auth))
    await wait_status(env, token, d["id"], "accordee")

    async def listed():
        r = await env.client.get("/api/v1/authorisations", headers=h(token))
        items = r.json()["items"]
        return items[0] if items and items[0]["status"]["code"] == "suspendue" else None
    item = await eventually(listed, timeout=30)
    assert item["number"] == auth.number
    assert item["type_label"] == "Licence d'exportation d'armes à feu"
    assert item["status"] == {"code": "suspendue", "label": "Suspendue"}
    assert item["valid_from"] == "2026-03-10" and item["valid_until"] == "2026-12-10"
    assert item["lines"][0]["quantity_remaining"] == 2
    assert item["pdf"]["href"] == f"/api/v1/documents/{auth.pdf_document_id}/content"
    assert item["registration_number"] == d["registration_number"]
    r = await env.client.get(f"/api/v1/authorisations/{item['id']}", headers=h(token))
    assert r.status_code == 200 and r.json()["number"] == auth.number
    r = await env.client.get(f"/api/v1/authorisations/{item['id']}", headers=h(keys.applicant()))
    assert r.status_code == 404
    # Quantities used at the border and an older status event arriving late.
    used = [AuthorisationLine(line_no=1, classification_code="C-1-c", designation="Carabine de chasse", quantity=2,
                              quantity_remaining=0)]
    await env.publish(ins.AuthorisationStatusChangedV1(
        authorisation_id=auth.authorisation_id, number=auth.number, dossier_id=uuid.UUID(d["id"]),
        holder_account_id=holder, old_status="suspendue", new_status="soldee", changed_at=at(50), lines=used))
    await env.publish(ins.AuthorisationStatusChangedV1(
        authorisation_id=auth.authorisation_id, number=auth.number, dossier_id=uuid.UUID(d["id"]),
        holder_account_id=holder, old_status="valide", new_status="valide", changed_at=at(40), lines=[]))

    async def soldee():
        r = await env.client.get(f"/api/v1/authorisations/{item['id']}", headers=h(token))
        return r.json() if r.json()["status"]["code"] == "soldee" else None
    final = await eventually(soldee)
    assert final["status"]["label"] == "Soldée" and final["lines"][0]["quantity_remaining"] == 0


async def test_the_antivirus_verdict_event_updates_a_pending_justificatif(env, keys):
    token = keys.applicant()
    d = await complete_dossier(env, token)
    pending = env.documents.add(token, status="pending_scan", filename="permis.pdf")
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/ID", json={"document_id": str(pending)},
                             headers=h(token, d["version"]))
    assert r.json()["ready_to_transmit"] is False
    owner = uuid.UUID(d["owner_account_id"])
    await env.publish(doc_ev.DocumentRejectedV1(document_id=pending, owner_account_id=owner, filename="permis.pdf",
                                                signature="Eicar-Test-Signature"))

    async def refused():
        j = (await get(env, token, d["id"]))["justificatifs"][0]
        return j if j["state"] == "refuse" else None
    j = await eventually(refused)
    assert j["state_label"] == "Refusé par l'analyse antivirus"
    assert j["rejection_reason"] == "Eicar-Test-Signature"
