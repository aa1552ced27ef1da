"""The four steps from draft to transmission, as the applicant's portal drives them."""

from __future__ import annotations

import re

from dossier_testkit import DEMANDEUR, INFORMATIONS, LINE, complete_dossier, get, h, new_draft, transmit
from eaps_contracts.events.dossier_v1 import DossierSubmittedV1
from eaps_kit.testing import eventually

PROBLEM = "application/problem+json"


async def test_a_new_draft_is_in_a_traiter_with_four_steps_and_prefilled_applicant(env, keys):
    token = keys.applicant(name="Jeanne Martin", email="jeanne@example.fr")
    r = await env.client.post("/api/v1/dossiers", headers=h(token))
    assert r.status_code == 201
    assert r.headers["ETag"] == '"1"'
    d = r.json()
    assert r.headers["Location"] == f"/api/v1/dossiers/{d['id']}"
    assert d["status"] == {"code": "brouillon", "label": "Brouillon"}
    assert d["basket"] == {"code": "a_traiter", "label": "À traiter"}
    assert [s["label"] for s in d["steps"]] == ["Informations & matériel", "Demandeur & expéditeur",
                                                "Récapitulatif", "Transmission"]
    assert not any(s["complete"] for s in d["steps"])
    assert d["demandeur"]["applicant"]["email"] == "jeanne@example.fr"
    assert d["demandeur"]["applicant"]["last_name"] == "Martin"
    assert {"code": "save", "label": "Sauvegarder ma saisie"} in d["actions"]


async def test_partial_save_keeps_the_data_and_step_validation_lists_what_is_missing_in_french(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token, {"applicant_kind": "professional"})
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations", json={"flow": "EXP"},
                             headers=h(token, d["version"]))
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    saved = await get(env, token, d["id"])
    assert saved["informations"]["flow"] == "EXP"
    assert saved["informations"]["applicant_kind_label"] == "Professionnel"

    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=h(token))
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert errors["profile"] == "Précisez votre profil."
    assert errors["origin_country"] == "Indiquez le pays de provenance."
    assert errors["lines"] == "Ajoutez au moins un matériel à votre demande."


async def test_profile_fields_follow_the_kind_and_are_checked_field_by_field(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token, {"applicant_kind": "professional", "profile": "armurier"})
    fields = {f["code"]: f for f in d["informations"]["profile_fields"]}
    assert set(fields) == {"company_name", "siret", "agrement_number", "eori"}
    assert fields["siret"]["label"] == "Numéro SIRET"
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations",
                             json={"profile_details": {"siret": "123", "hunting_permit_number": "X1234"}},
                             headers=h(token, d["version"]))
    assert r.status_code == 422
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert errors["profile_details.siret"] == "Le numéro SIRET comporte 14 chiffres."
    assert errors["profile_details.hunting_permit_number"] == "Ce champ n'est pas attendu pour ce profil."
    # Nothing was changed by the refused request.
    assert (await get(env, token, d["id"]))["version"] == d["version"]

    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations", json={"profile": "chasseur"},
                             headers=h(token, d["version"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "profile"


async def test_eori_is_required_for_a_professional_import_or_export_only(env, keys):
    token = keys.applicant()
    info = {**INFORMATIONS, "profile_details": {k: v for k, v in INFORMATIONS["profile_details"].items()
                                                if k != "eori"}}
    d = await new_draft(env, token, info)
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=h(token))
    fields = {e["field"] for e in r.json()["errors"]}
    assert "profile_details.eori" in fields
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations",
                             json={"flow": "EXD", "destination_country": "DE"}, headers=h(token, d["version"]))
    d = r.json()
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=h(token))
    assert "profile_details.eori" not in {e["field"] for e in r.json()["errors"]}


async def test_adding_a_line_asks_classification_and_shows_the_authorisation_requested(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=LINE, headers=h(token, d["version"]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["authorisation_type"] == "LEAF"
    assert "Licence d'exportation d'armes à feu" in body["message"]
    dossier = body["dossier"]
    assert dossier["authorisation"]["type"] == "LEAF"
    assert dossier["authorisation"]["ruleset_version"] == env.classification.version
    assert dossier["lines"][0]["total_value_eur"] == "2501.00"
    assert [j["code"] for j in dossier["justificatifs"]] == ["ID", "AI-PT"]
    assert dossier["justificatifs"][0] == {
        "code": "ID", "label": "Pièce d'identité", "required": True, "state": "manquant", "state_label": "À fournir",
        "document_id": None, "filename": None, "title": None, "rejection_reason": None, "pinned_document_id": None}
    assert env.classification.calls[-1]["items"] == [{"classification_code": "C-1-c", "quantity": 2}]
    assert env.classification.calls[-1]["applicant"] == {"kind": "professional", "profile": "armurier"}


async def test_a_line_needing_another_authorisation_is_refused_and_nothing_changes(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token, {**INFORMATIONS, "flow": "INT", "origin_country": "BE",
                                     "destination_country": "FR"})
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=LINE, headers=h(token, d["version"]))
    d = r.json()["dossier"]
    assert d["authorisation"]["type"] == "AP-INT"
    dagger = {**LINE, "classification_code": "D-a", "designation": "Poignard", "serial_numbers": []}
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=dagger, headers=h(token, d["version"]))
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert "plusieurs demandes" in r.json()["detail"]
    after = await get(env, token, d["id"])
    assert len(after["lines"]) == 1 and after["version"] == d["version"]


async def test_a_line_needing_no_authorisation_is_refused(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines",
                              json={**LINE, "classification_code": "D-e", "serial_numbers": []},
                              headers=h(token, d["version"]))
    assert r.status_code == 422
    assert "ne nécessite pas d'autorisation" in r.json()["detail"]


async def test_lines_need_the_flow_first_and_bad_lines_are_refused_per_field(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token, {"applicant_kind": "individual"})
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=LINE, headers=h(token, d["version"]))
    assert r.status_code == 409
    assert "Renseignez d'abord" in r.json()["detail"]
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines",
                              json={**LINE, "quantity": 0, "serial_numbers": []}, headers=h(token, d["version"]))
    assert r.status_code == 422
    assert r.json()["errors"][0] == {"field": "quantity", "message": "La valeur est trop petite.",
                                     "type": "greater_than"}
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json={**LINE, "quantity": 1},
                              headers=h(token, d["version"]))
    assert r.status_code == 422
    assert "numéros de série" in r.json()["errors"][0]["message"]


async def test_classification_down_answers_503_with_retry_after(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    env.classification.down = True
    try:
        r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=LINE, headers=h(token, d["version"]))
    finally:
        env.classification.down = False
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "10"
    assert r.headers["content-type"] == PROBLEM
    assert "momentanément indisponible" in r.json()["detail"]


async def test_edit_and_remove_lines_and_return_to_step_one(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=LINE, headers=h(token, d["version"]))
    d = r.json()["dossier"]
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json={**LINE, "classification_code": "C-2-a"},
                              headers=h(token, d["version"]))
    d = r.json()["dossier"]
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/lines/2", json={**LINE, "quantity": 5},
                             headers=h(token, d["version"]))
    assert r.status_code == 200
    d = r.json()
    assert [ln["quantity"] for ln in d["lines"]] == [2, 5]
    r = await env.client.delete(f"/api/v1/dossiers/{d['id']}/lines/1", headers=h(token, d["version"]))
    d = r.json()
    assert [ln["line_no"] for ln in d["lines"]] == [2]
    r = await env.client.delete(f"/api/v1/dossiers/{d['id']}/lines/9", headers=h(token, d["version"]))
    assert r.status_code == 404
    # Back to step 1: a change of flow asks classification again.
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations",
                             json={"flow": "IMP", "origin_country": "US", "destination_country": "FR"},
                             headers=h(token, d["version"]))
    assert r.status_code == 200
    assert r.json()["authorisation"]["type"] == "AIMG"
    assert [j["code"] for j in r.json()["justificatifs"]] == ["ID"]


async def test_step_two_requires_parties_motive_and_every_justificatif_available(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    d = (await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=LINE,
                               headers=h(token, d["version"]))).json()["dossier"]
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json={"motive": "inconnu"},
                             headers=h(token, d["version"]))
    assert r.status_code == 422
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur",
                             json={"sender": {"siret": "12"}}, headers=h(token, d["version"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sender.siret"
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json=DEMANDEUR, headers=h(token, d["version"]))
    d = r.json()
    assert d["demandeur"]["motive_label"] == "Vente"
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/steps/2/validation", headers=h(token))
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"justificatifs.ID", "justificatifs.AI-PT"}

    # One from the library, one still being scanned: the dossier cannot go on.
    ok = env.documents.add(token, filename="cni.pdf")
    scanning = env.documents.add(token, status="pending_scan", filename="licence-us.pdf")
    for code, doc in (("ID", ok), ("AI-PT", scanning)):
        r = await env.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/{code}", json={"document_id": str(doc)},
                                 headers=h(token, d["version"]))
        assert r.status_code == 200, r.text
        d = r.json()
    states = {j["code"]: (j["state"], j["state_label"], j["filename"]) for j in d["justificatifs"]}
    assert states == {"ID": ("disponible", "Fourni", "cni.pdf"),
                      "AI-PT": ("en_analyse", "En cours d'analyse antivirus", "licence-us.pdf")}
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/steps/2/validation", headers=h(token))
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "justificatifs.AI-PT", "message":
                                   "Ce justificatif est en cours d'analyse antivirus : attendez la fin de l'analyse "
                                   "pour poursuivre."}]
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=h(token, d["version"]))
    assert r.status_code == 422
    # The scan ends: the step is complete.
    env.documents.docs[scanning]["status"] = "available"
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/steps/2/validation", headers=h(token))
    assert r.status_code == 200
    assert r.json()["ready_to_transmit"] is True
    assert [s["complete"] for s in r.json()["steps"]] == [True, True, True, False]


async def test_a_motive_that_changes_the_justificatifs_reshapes_the_checklist(env, keys):
    token = keys.applicant()
    d = await complete_dossier(env, token)
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json={"motive": "exposition"},
                             headers=h(token, d["version"]))
    d = r.json()
    assert [(j["code"], j["state"]) for j in d["justificatifs"]] == [
        ("ID", "disponible"), ("AI-PT", "disponible"), ("INVIT", "manquant")]
    assert d["ready_to_transmit"] is False


async def test_a_document_of_another_applicant_cannot_be_attached(env, keys):
    token, other = keys.applicant(), keys.applicant()
    d = await new_draft(env, token)
    d = (await env.client.post(f"/api/v1/dossiers/{d['id']}/lines", json=LINE,
                               headers=h(token, d["version"]))).json()["dossier"]
    foreign = env.documents.add(other)
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/ID", json={"document_id": str(foreign)},
                             headers=h(token, d["version"]))
    assert r.status_code == 404
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/PC",
                             json={"document_id": str(env.documents.add(token))}, headers=h(token, d["version"]))
    assert r.status_code == 404
    assert r.json()["detail"] == "Ce justificatif n'est pas demandé pour ce dossier."
    rejected = env.documents.add(token, status="rejected")
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/justificatifs/ID", json={"document_id": str(rejected)},
                             headers=h(token, d["version"]))
    assert r.status_code == 409


async def test_transmission_numbers_pins_and_publishes_the_full_snapshot(env, keys):
    token = keys.applicant()
    d = await complete_dossier(env, token)
    r = await env.client.get(f"/api/v1/dossiers/{d['id']}/recapitulatif", headers=h(token))
    assert r.status_code == 200 and r.json()["ready_to_transmit"]
    body = await transmit(env, token, d)
    number = body["registration_number"]
    assert re.fullmatch(r"EAPS-\d{4}-\d{6}", number)
    assert number in body["message"] and "Dossiers en attente" in body["message"]
    sent = body["dossier"]
    assert sent["status"]["code"] == "transmise" and sent["basket"] == {"code": "en_attente", "label": "En attente"}
    assert sent["editable"] is False
    assert all(j["pinned_document_id"] for j in sent["justificatifs"])
    assert all(s["complete"] for s in sent["steps"])

    envelope = (await eventually(lambda: env.events_of(DossierSubmittedV1, d["id"])))[0]
    snap = envelope.data["dossier"]
    assert snap["registration_number"] == number
    assert snap["authorisation_type"] == "LEAF" and snap["ruleset_version"] == env.classification.version
    assert snap["applicant"]["company_name"] == "Armurerie du Centre"
    assert snap["applicant"]["profile_details"]["agrement_number"] == "AGR-2024-77"
    assert snap["lines"][0]["serial_numbers"] == ["VC123", "VC124"]
    assert snap["recipient"]["address"]["country"] == "US"
    assert {a["document_code"] for a in snap["attachments"]} == {"ID", "AI-PT"}
    assert all(a["pinned_document_id"] for a in snap["attachments"])

    # A transmitted dossier is read-only and cannot be transmitted twice.
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json={"motive": "achat"},
                             headers=h(token, sent["version"]))
    assert r.status_code == 409
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=h(token, sent["version"]))
    assert r.status_code == 409

    # The internal snapshot for other services.
    r = await env.client.get(f"/internal/dossiers/{d['id']}", headers={"X-Internal-Token": "test-internal-token"})
    assert r.status_code == 200 and r.json()["snapshot"]["registration_number"] == number
    r = await env.client.get(f"/internal/dossiers/{d['id']}", headers={"X-Internal-Token": "wrong"})
    assert r.status_code == 403


async def test_an_incomplete_dossier_cannot_be_transmitted(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    r = await env.client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=h(token, d["version"]))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert "etape1.lines" in fields and "etape2.motive" in fields


async def test_a_draft_can_be_deleted_but_not_a_transmitted_dossier(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    r = await env.client.delete(f"/api/v1/dossiers/{d['id']}", headers=h(token, d["version"]))
    assert r.status_code == 204
    assert (await env.client.get(f"/api/v1/dossiers/{d['id']}", headers=h(token))).status_code == 404
    d = await complete_dossier(env, token)
    sent = (await transmit(env, token, d))["dossier"]
    r = await env.client.delete(f"/api/v1/dossiers/{d['id']}", headers=h(token, sent["version"]))
    assert r.status_code == 409
