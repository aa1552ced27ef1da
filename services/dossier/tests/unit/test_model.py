"""Domain rules of the dossier aggregate, on plain objects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dossier.domain import model
from dossier.domain.errors import Conflict, Invalid
from dossier.domain.model import Dossier, Justificatif, JustificatifState, Line, Status
from dossier.domain.reference import REFERENCE_FILE, _load, reference

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def dossier(**kw) -> Dossier:
    return Dossier(id=uuid.uuid4(), owner_account_id=uuid.uuid4(), operator_id=None, created_at=T0, updated_at=T0,
                   **kw)


def sent(status: Status = Status.EN_ETUDE) -> Dossier:
    d = dossier(status=status, registration_number="EAPS-2026-000001", submission_no=1)
    return d


def test_registration_numbers_have_six_digits_and_the_year():
    assert model.format_registration_number(2026, 42) == "EAPS-2026-000042"
    assert model.REGISTRATION_RE.match(model.format_registration_number(2027, 999_999))
    with pytest.raises(ValueError):
        model.format_registration_number(2026, 1_000_000)


def test_an_empty_draft_lists_every_missing_field_of_step_one_in_french():
    errors = {e.field: e.message for e in model.step1_errors(dossier(), reference())}
    assert errors == {
        "applicant_kind": "Indiquez si vous êtes un professionnel ou un particulier.",
        "flow": "Indiquez la nature du flux (importation, exportation, introduction, expédition).",
        "origin_country": "Indiquez le pays de provenance.",
        "destination_country": "Indiquez le pays de destination.",
        "lines": "Ajoutez au moins un matériel à votre demande.",
    }


def test_the_fields_asked_depend_on_kind_profile_and_flow():
    ref = reference()
    assert ref.fields_for("individual", "chasseur", "IMP") == ["hunting_permit_number"]
    assert ref.fields_for("professional", "armurier", "EXD") == ["company_name", "siret", "agrement_number", "eori"]
    assert ref.field_required("eori", "professional", "IMP") is True
    assert ref.field_required("eori", "professional", "EXD") is False
    hunter = dossier(general={"applicant_kind": "individual", "profile": "chasseur", "flow": "INT",
                              "origin_country": "BE", "destination_country": "FR"})
    assert [e.field for e in model.step1_errors(hunter, ref)] == ["profile_details.hunting_permit_number", "lines"]


def test_a_profile_must_belong_to_the_kind_and_countries_are_iso_codes():
    errors = model.profile_errors({"applicant_kind": "individual", "profile": "armurier", "origin_country": "fr"},
                                  reference())
    assert [e.field for e in errors] == ["profile", "origin_country"]


def test_a_determination_reshapes_the_checklist_but_keeps_what_is_still_asked():
    d = dossier()
    model.apply_determination(d, {"authorisation": "LEAF", "required_documents": ["ID", "AI-PT"],
                                  "ruleset_version": "1"})
    doc = uuid.uuid4()
    d.justificatifs["ID"] = Justificatif("ID", document_id=doc, state=JustificatifState.DISPONIBLE)
    model.apply_determination(d, {"authorisation": "AIMG", "required_documents": ["ID", "COM"],
                                  "ruleset_version": "2"})
    assert list(d.justificatifs) == ["ID", "COM"]
    assert d.justificatifs["ID"].document_id == doc
    assert d.justificatifs["COM"].state == JustificatifState.MANQUANT
    assert d.ruleset_version == "2" and d.authorisation_type == "AIMG"


@pytest.mark.parametrize(("det", "message"), [
    ({"authorisation": None, "outside_scope": False}, "ne nécessite pas d'autorisation"),
    ({"authorisation": None, "outside_scope": True, "outside_scope_procedure": "Demandez une LEMG."},
     "ne relève pas du téléservice e-APS"),
])
def test_material_needing_no_authorisation_or_out_of_scope_cannot_make_a_request(det, message):
    with pytest.raises(Invalid, match=message):
        model.check_determination(det, reference())


def test_asking_classification_needs_the_flow_and_profile_first():
    with pytest.raises(Conflict) as exc:
        model.determination_request(dossier(general={"flow": "EXP"}), [])
    assert {e["field"] for e in exc.value.errors} == {"applicant_kind", "profile", "origin_country",
                                                      "destination_country"}


def test_transmission_assigns_the_number_once_and_resubmission_keeps_it():
    d = dossier()
    assert model.mark_transmitted(d, T0, "EAPS-2026-000007") is False
    assert (d.status, d.registration_number, d.submission_no) == (Status.TRANSMISE, "EAPS-2026-000007", 1)
    with pytest.raises(Conflict):
        model.mark_transmitted(d, T0, "EAPS-2026-000008")
    assert model.apply_instruction_status(d, Status.EN_INSTRUCTION, T0 + timedelta(hours=1))
    assert model.request_completion(d, T0 + timedelta(hours=2), [], "Pièce illisible")
    assert d.status == Status.A_COMPLETER and d.editable
    later = T0 + timedelta(days=1)
    assert model.mark_transmitted(d, later, None) is True
    assert (d.status, d.registration_number, d.submission_no) == (Status.EN_INSTRUCTION, "EAPS-2026-000007", 2)
    assert d.completion is None
    # A stage event emitted before the reply is stale.
    assert not model.apply_instruction_status(d, Status.EN_DECISION, later - timedelta(minutes=1))


def test_an_outcome_is_final_whatever_arrives_after_it():
    d = sent()
    assert model.apply_instruction_status(d, Status.ACCORDEE, T0)
    for target in (Status.EN_INSTRUCTION, Status.EN_DECISION, Status.REFUSEE):
        assert not model.apply_instruction_status(d, target, T0 + timedelta(days=1))
    assert d.status == Status.ACCORDEE and d.closed_at == T0


def test_older_stages_are_ignored_and_newer_ones_applied():
    d = sent(Status.TRANSMISE)
    assert model.apply_instruction_status(d, Status.EN_INSTRUCTION, T0 + timedelta(minutes=5))
    assert not model.apply_instruction_status(d, Status.EN_ETUDE, T0 + timedelta(minutes=1))
    assert model.apply_instruction_status(d, Status.EN_DECISION, T0 + timedelta(minutes=9))
    assert d.status == Status.EN_DECISION


def test_a_decision_is_applied_even_when_older_than_the_last_stage():
    d = sent()
    model.apply_instruction_status(d, Status.EN_DECISION, T0 + timedelta(minutes=10))
    assert model.apply_instruction_status(d, Status.REFUSEE, T0 + timedelta(minutes=5))


def test_events_never_touch_a_draft():
    d = dossier()
    assert not model.apply_instruction_status(d, Status.EN_ETUDE, T0)
    assert d.status == Status.BROUILLON


@pytest.mark.parametrize(("status", "allowed"), [
    (Status.TRANSMISE, True), (Status.EN_ETUDE, True), (Status.A_COMPLETER, True), (Status.EN_DECISION, True),
    (Status.ACCORDEE, False), (Status.IRRECEVABLE, False), (Status.RETIREE, False), (Status.BROUILLON, False),
])
def test_only_an_undecided_transmitted_dossier_can_be_withdrawn(status, allowed):
    d = sent(status)
    if allowed:
        model.withdraw(d, T0)
        assert d.status == Status.RETIREE and d.closed_at == T0
    else:
        with pytest.raises(Conflict):
            model.withdraw(d, T0)


def test_step_two_blocks_on_missing_scanning_or_refused_justificatifs():
    d = dossier()
    model.apply_determination(d, {"authorisation": "PT", "required_documents": ["ID", "AP-DEST", "REC"]})
    d.justificatifs["AP-DEST"].state = JustificatifState.EN_ANALYSE
    d.justificatifs["REC"].state = JustificatifState.REFUSE
    errors = {e.field: e.message for e in model.step2_errors(d, reference()) if e.field.startswith("justificatifs")}
    assert errors["justificatifs.ID"].startswith("Ce justificatif est obligatoire")
    assert "en cours d'analyse antivirus" in errors["justificatifs.AP-DEST"]
    assert "refusé par l'analyse antivirus" in errors["justificatifs.REC"]


def test_changed_fields_names_each_changed_leaf():
    before = {"lines": {"1": {"quantity": 2}}, "motive": "vente", "sender": {"name": "A"}}
    after = {"lines": {"1": {"quantity": 3}, "2": {"quantity": 1}}, "motive": "vente", "sender": None}
    assert model.changed_fields(before, after) == ["lines.1.quantity", "lines.2", "sender"]


def test_line_values_round_trip_and_total():
    line = Line(line_no=1, classification_code="C-1-c", designation="Fusil", quantity=3,
                unit_value_eur=__import__("decimal").Decimal("10.50"), serial_numbers=["A"])
    again = Line.from_dict(line.as_dict())
    assert again == line and str(again.total_value) == "31.50"


def test_the_reference_file_refuses_dangling_codes(tmp_path: Path):
    text = REFERENCE_FILE.read_text(encoding="utf-8").replace("fields: [hunting_permit_number]",
                                                               "fields: [permis_inconnu]")
    broken = tmp_path / "dossier.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="permis_inconnu"):
        _load(broken)


def test_every_status_has_a_basket_label_and_the_guide_baskets_exist():
    ref = reference()
    assert ref.baskets["a_traiter"] == "À traiter" and ref.baskets["en_attente"] == "En attente"
    assert set(ref.statuses_in("en_attente")) == {"transmise", "en_etude", "en_instruction", "en_decision"}
    assert {s.value for s in Status} == set(ref.statuses)
    assert {s.value for s in model.TERMINAL} == {c for c, s in ref.statuses.items() if s.terminal}


def test_a_motive_must_apply_to_the_flow():
    d = dossier(general={"flow": "EXP"}, parties={"motive": "retour_en_france"})
    errors = {e.field: e.message for e in model.step2_errors(d, reference())}
    assert errors["motive"] == ("Le motif « Retour en France d'un résident avec ses armes » ne s'applique pas au "
                                "flux « Exportation vers un pays tiers ».")
