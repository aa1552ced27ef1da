"""Exemptions of domain.md §2.3, supporting documents of §3, and the engine's refusals."""

from __future__ import annotations

from datetime import date

import pytest
from classification.domain.engine import DeterminationError, determine

TODAY = date(2026, 11, 26)


def run(ref, build_request, *args, **kwargs):
    return determine(ref, build_request(*args, **kwargs), today=TODAY)


# --- exemptions ----------------------------------------------------------------------------------
# (exemption, flow, items, kind, profile, motive, authorisation without the exemption)
EXEMPTIONS = [
    ("aimg-perfectionnement-admission-temporaire", "IMP", [("B-1", 2)], "professional", "armurier", "reparation",
     "AIMG"),
    ("aimg-perfectionnement-admission-temporaire", "IMP", [("C-1-c", 2)], "professional", "fabricant", "exposition",
     "AIMG"),
    ("aimg-cooperation-intergouvernementale", "IMP", [("A2-4", 1)], "professional", "administration",
     "cooperation_intergouvernementale", "AIMG"),
    ("aimg-competition-exercice-ceremonie", "IMP", [("C-1-c", 2)], "individual", "tireur_sportif",
     "competition_internationale", "AIMG"),
    ("aimg-reimportation", "IMP", [("C-1-b", 1)], "professional", "commercant", "reimportation", "AIMG"),
    ("aimg-retour-voyage-chasse-tir", "IMP", [("C-1-c", 2), ("C-7", 100)], "individual", "chasseur",
     "retour_voyage_chasse_tir", "AIMG"),
    ("aimg-retour-en-france-a-b", "IMP", [("B-1", 1)], "individual", "tireur_sportif", "retour_en_france", "AIMG"),
    ("aimg-visiteurs-pays-tiers-chasse-tir", "IMP", [("C-1-c", 2), ("C-7", 200)], "individual", "chasseur",
     "voyage_chasse", "AIMG"),
    ("ap-int-efp-chasseurs", "INT", [("C-1-c", 3), ("C-7", 300)], "individual", "chasseur", "voyage_chasse",
     "AP-INT"),
    ("ap-int-efp-tireurs", "INT", [("B-1", 4), ("A1-7", 2), ("C-1-b", 2)], "individual", "tireur_sportif",
     "voyage_tir", "AP-INT"),
    ("pt-efp-residents-francais", "EXD", [("C-1-c", 2)], "individual", "chasseur", "voyage_chasse", "PT"),
    ("leaf-exportation-temporaire-chasse-tir", "EXP", [("C-1-c", 2), ("C-7", 100)], "individual", "chasseur",
     "voyage_chasse", "LEAF"),
    ("retour-apres-reparation-exposition", "INT", [("C-1-c", 1)], "professional", "armurier",
     "retour_reparation_exposition", "AP-INT"),
    ("retour-apres-reparation-exposition", "INT", [("B-6", 1)], "professional", "armurier",
     "retour_reparation_exposition", "AIMG"),
]


@pytest.mark.parametrize(("exemption", "flow", "items", "kind", "profile", "motive", "without"), EXEMPTIONS)
def test_exemption_waives_the_authorisation(ref, build_request, exemption, flow, items, kind, profile, motive,
                                            without):
    result = run(ref, build_request, flow, items, kind=kind, profile=profile, motive=motive)
    assert result.authorisation is None and not result.outside_scope
    assert exemption in [e["code"] for e in result.exemptions]
    ex = next(e for e in ref.ruleset.exemptions if e.id == exemption)
    assert set(ex.documents) <= set(result.required_documents)
    assert "Dispense applicable" in result.explanation
    assert all(d.waived_by for d in result.items)
    # Without the motive, the authorisation comes back.
    plain = run(ref, build_request, flow, items, kind=kind, profile=profile, motive="achat")
    assert plain.authorisation == without and plain.exemptions == []


def test_every_exemption_is_covered_by_the_table(ref):
    assert {e[0] for e in EXEMPTIONS} | {"ap-int-efp-reconstitution"} == {e.id for e in ref.ruleset.exemptions}


def test_reenactors_travel_with_their_ceaf_and_invitation(ref, build_request):
    result = run(ref, build_request, "INT", [("C-9", 3)], profile="reconstitueur", motive="reconstitution_historique")
    assert result.authorisation is None
    assert [e["code"] for e in result.exemptions] == ["ap-int-efp-reconstitution"]
    assert result.required_documents == ["INVIT", "CEAF"]
    over = run(ref, build_request, "INT", [("C-9", 4)], profile="reconstitueur", motive="reconstitution_historique")
    assert over.exemptions == []


@pytest.mark.parametrize(("flow", "items", "profile", "motive", "expected"), [
    # EFP hunters: at most 3 guns, 100 cartridges per gun.
    ("INT", [("C-1-c", 4)], "chasseur", "voyage_chasse", "AP-INT"),
    ("INT", [("C-1-c", 2), ("C-7", 201)], "chasseur", "voyage_chasse", "AP-INT"),
    ("INT", [("B-1", 1)], "chasseur", "voyage_chasse", "AP-INT"),  # a B handgun is not a hunting gun
    # EFP sport shooters: at most 6 guns, no ammunition.
    ("INT", [("B-1", 7)], "tireur_sportif", "voyage_tir", "AP-INT"),
    ("INT", [("B-1", 2), ("B-10", 50)], "tireur_sportif", "voyage_tir", "AP-INT"),
    ("INT", [("B-1", 2)], "chasseur", "voyage_tir", "AP-INT"),  # profile does not match
    # Third-country visitors: 2 guns, 100 cartridges per gun.
    ("IMP", [("C-1-c", 3)], "chasseur", "voyage_chasse", "AIMG"),
    # Returning residents: only A and B weapons.
    ("IMP", [("C-1-c", 1)], "chasseur", "retour_en_france", "AIMG"),
])
def test_exemption_conditions_are_enforced(ref, build_request, flow, items, profile, motive, expected):
    result = run(ref, build_request, flow, items, profile=profile, motive=motive)
    assert result.authorisation == expected
    assert result.exemptions == []


def test_exemptions_for_individuals_do_not_apply_to_professionals(ref, build_request):
    result = run(ref, build_request, "EXP", [("C-1-c", 1)], kind="professional", profile="armurier",
                 motive="voyage_chasse")
    assert result.authorisation == "LEAF"


# --- supporting documents --------------------------------------------------------------------------
# (rule, flow, items, kind, profile, motive, documents that must be required)
DOCUMENT_CASES = [
    ("identite-particuliers", "IMP", [("C-1-c", 1)], "individual", "chasseur", None, {"ID"}),
    ("domicile-particuliers", "INT", [("C-1-c", 1)], "individual", "chasseur", None, {"DOM"}),
    ("autorisation-a-b-particuliers", "INT", [("B-1", 1)], "individual", "tireur_sportif", None, {"AUT-B"}),
    ("permis-chasser", "INT", [("C-1-c", 1)], "individual", "chasseur", None, {"PC"}),
    ("licence-tir-c", "EXD", [("C-1-b", 1)], "individual", "ball_trap", None, {"LIC"}),
    ("licence-fftir-a-b", "IMP", [("B-1", 1)], "individual", "tireur_sportif", None, {"LIC", "AUT-B"}),
    ("carte-collectionneur", "IMP", [("C-1-c", 1)], "individual", "collectionneur", None, {"COLL"}),
    ("detention-reguliere-pt", "EXD", [("C-1-c", 1)], "individual", "chasseur", None, {"REC", "AP-DEST"}),
    ("detention-reguliere-munitions", "INT", [("C-7", 100)], "individual", "chasseur", "achat", {"REC"}),
    ("autorisation-commerce", "IMP", [("B-1", 5)], "professional", "fabricant", None, {"AFCI"}),
    ("agrement-armurier", "INT", [("C-1-c", 5)], "professional", "armurier", None, {"AFCI", "AGR-ARM"}),
    ("commercial-leaf", "EXP", [("C-1-c", 1)], "professional", "commercant", None, {"COM"}),
    ("commercial-aimg", "IMP", [("C-1-c", 1)], "professional", "commercant", None, {"COM"}),
    ("autorisation-pays-tiers", "EXP", [("C-1-c", 1)], "individual", "chasseur", None, {"AI-PT"}),
    ("non-reexportation", "EXP", [("C-1-c", 1)], "individual", "chasseur", None, {"NRX"}),
    ("emigration", "EXP", [("C-1-c", 1)], "individual", "expatrie", "demenagement", {"EMIG"}),
    ("accord-destination", "EXD", [("C-1-c", 1)], "professional", "armurier", None, {"AP-DEST"}),
]


@pytest.mark.parametrize(("rule", "flow", "items", "kind", "profile", "motive", "docs"), DOCUMENT_CASES)
def test_document_rule(ref, build_request, rule, flow, items, kind, profile, motive, docs):
    result = run(ref, build_request, flow, items, kind=kind, profile=profile, motive=motive)
    assert docs <= set(result.required_documents), result.required_documents


def test_every_document_rule_is_covered(ref):
    covered = {c[0] for c in DOCUMENT_CASES} | {"accord-prealable-francais", "certificat-international-importation"}
    assert covered == {r.id for r in ref.ruleset.document_rules}


def test_optional_documents(ref, build_request):
    individual = run(ref, build_request, "INT", [("C-1-c", 1)])
    assert "AP-FR" in individual.optional_documents and "AP-FR" not in individual.required_documents
    pro = run(ref, build_request, "IMP", [("C-1-c", 1)], kind="professional", profile="armurier")
    assert "CII" in pro.optional_documents


@pytest.mark.parametrize(("flow", "items", "kind", "profile", "absent"), [
    ("IMP", [("C-1-c", 1)], "professional", "armurier", {"ID", "DOM", "PC"}),  # professionals: no personal ID
    ("IMP", [("C-1-c", 1)], "individual", "chasseur", {"AUT-B", "AFCI", "DOM"}),  # C goods: no A/B authorisation
    ("INT", [("B-1", 1)], "individual", "chasseur", {"PC"}),  # hunting permit only for C goods
    ("EXP", [("C-1-c", 1)], "individual", "chasseur", {"AP-DEST", "EMIG"}),
    ("IMP", [("B-1", 1)], "professional", "exploitant_tir", {"AFCI", "AGR-ARM"}),
])
def test_documents_that_do_not_apply_are_not_asked(ref, build_request, flow, items, kind, profile, absent):
    result = run(ref, build_request, flow, items, kind=kind, profile=profile)
    assert not absent & set(result.required_documents), result.required_documents


def test_no_documents_when_no_authorisation_is_needed(ref, build_request):
    result = run(ref, build_request, "EXD", [("D-e", 1)], profile="collectionneur")
    assert result.authorisation is None and result.required_documents == [] and result.exemptions == []


def test_documents_come_in_the_reference_order(ref, build_request):
    result = run(ref, build_request, "EXD", [("B-1", 1)], profile="tireur_sportif")
    order = [d.code for d in ref.ruleset.document_types]
    assert result.required_documents == sorted(result.required_documents, key=order.index)
    assert result.required_documents[0] == "ID"


# --- refusals ---------------------------------------------------------------------------------------

def test_items_needing_different_authorisations_are_refused_with_each_item(ref, build_request):
    # The user guide's example: a dagger (AIMG) and a hunting gun (accord préalable) from one member state.
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, "INT", [("D-a", 1), ("C-1-c", 1)])
    assert err.value.status == 409
    assert "plusieurs demandes" in err.value.detail
    items = err.value.extra["items"]
    assert [(i["classification_code"], i["authorisation"]) for i in items] == [("D-a", "AIMG"), ("C-1-c", "AP-INT")]


def test_in_scope_and_outside_scope_items_are_refused_together(ref, build_request):
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, "EXP", [("C-1-c", 1), ("A2-4", 1)])
    assert err.value.status == 409
    assert [i["outside_scope"] for i in err.value.extra["items"]] == [False, True]


def test_items_needing_nothing_and_items_needing_an_authorisation_are_separated(ref, build_request):
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, "EXD", [("C-1-c", 1), ("D-e", 1)])
    assert err.value.status == 409
    assert "aucune autorisation requise" in err.value.detail


def test_items_with_the_same_authorisation_are_one_request(ref, build_request):
    result = run(ref, build_request, "INT", [("C-1-c", 2), ("C-7", 500), ("B-1", 1)], profile="tireur_sportif")
    assert result.authorisation == "AP-INT" and len(result.items) == 3


def test_unknown_codes_are_listed(ref, build_request):
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, "IMP", [("B-99", 1), ("C-1-c", 1), ("Z", 2)])
    assert err.value.status == 422
    assert err.value.extra["unknown_codes"] == ["B-99", "Z"]
    assert "B-99" in err.value.detail and "Z" in err.value.detail


def test_older_numbering_is_accepted_and_answered_with_the_current_code(ref, build_request):
    result = run(ref, build_request, "INT", [("D-2-a", 1)])
    assert result.items[0].classification_code == "D-a" and result.items[0].requested_code == "D-2-a"
    assert result.authorisation == "AIMG"
    assert run(ref, build_request, "INT", [("D1", 1)]).items[0].classification_code == "C-1-c"


@pytest.mark.parametrize(("flow", "origin", "destination", "field"), [
    ("IMP", "DE", "FR", "origin_country"),  # an EU state is not a third country
    ("IMP", "US", "DE", "destination_country"),
    ("INT", "US", "FR", "origin_country"),
    ("INT", "FR", "FR", "origin_country"),
    ("EXP", "FR", "IT", "destination_country"),
    ("EXP", "BE", "US", "origin_country"),
    ("EXD", "FR", "CH", "destination_country"),
    ("EXD", "FR", "NC", "destination_country"),  # New Caledonia is outside the EU customs territory
    ("EXD", "GP", "NC", "destination_country"),
])
def test_flow_must_agree_with_the_countries(ref, build_request, flow, origin, destination, field):
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, flow, [("C-1-c", 1)], origin=origin, destination=destination)
    assert err.value.status == 422
    assert [e["field"] for e in err.value.errors] == [field]
    assert f"Le flux {flow}" in err.value.detail


def test_overseas_territories_are_third_countries_even_from_metropolitan_france(ref, build_request):
    assert run(ref, build_request, "EXP", [("C-1-c", 1)], destination="NC").authorisation == "LEAF"
    assert run(ref, build_request, "IMP", [("C-1-c", 1)], origin="PF").authorisation == "AIMG"
    # An outermost region is France.
    assert run(ref, build_request, "INT", [("C-1-c", 1)], destination="RE").authorisation == "AP-INT"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"profile": "astronaute"}, "applicant.profile"),
    ({"kind": "professional", "profile": "chasseur"}, "applicant.profile"),
    ({"motive": "tourisme"}, "motive"),
    ({"motive": "importation_globale", "flow": "EXP"}, "motive"),  # a motive for another flow
    ({"origin": "XX"}, "origin_country"),
])
def test_vocabulary_errors(ref, build_request, kwargs, field):
    flow = kwargs.pop("flow", "IMP")
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, flow, [("C-1-c", 1)], **kwargs)
    assert err.value.status == 422
    assert field in [e["field"] for e in err.value.errors]


def test_goods_must_belong_to_the_classification(ref, build_request):
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, "EXP", [("B-1", 1, "C-8-douilles-vides")])
    assert err.value.status == 422 and err.value.errors[0]["field"] == "items.0.goods_code"
    with pytest.raises(DeterminationError) as err:
        run(ref, build_request, "EXP", [("B-1", 1, "inconnue")])
    assert err.value.status == 422


def test_answers_name_the_ruleset_version_and_explain_in_french(ref, build_request):
    result = run(ref, build_request, "INT", [("C-1-c", 1)])
    assert result.ruleset_version == "2026-01-01"
    assert "accord préalable" in result.explanation and "version 2026-01-01" in result.explanation
    assert result.authorisation_name == "Accord préalable (introduction ou transfert vers la France)"


def test_assumptions_used_are_reported(ref, build_request):
    result = run(ref, build_request, "IMP", [("C-9", 1)])
    assert result.authorisation == "AIMG"
    assert any(a["source"] == "matrice imp-c9-neutralisees" for a in result.assumptions)
    assert run(ref, build_request, "EXD", [("C-1-c", 1)], kind="professional", profile="armurier").assumptions == []
