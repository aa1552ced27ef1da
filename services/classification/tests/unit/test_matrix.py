"""Every cell of domain.md §2.2, item by item and flow by flow, stated here independently of the
ruleset files, and checked against the engine on the packaged ruleset."""

from __future__ import annotations

from datetime import date

import pytest
from classification.domain.engine import DeterminationError, determine

TODAY = date(2026, 11, 26)
OUT = "OUT"  # outside the e-APS scope (another procedure)
NONE = None
ASK = "ASK"  # the outcome depends on the goods: the request must name them

A1_FIREARMS = ["A1-1", "A1-2", "A1-3", "A1-3bis", "A1-3ter", "A1-3qua", "A1-4", "A1-5", "A1-6", "A1-7", "A1-8",
               "A1-9", "A1-10", "A1-11", "A1-12"]
A1_NON_FIREARMS = ["A1-13", "A1-14"]
A2 = [f"A2-{n}" for n in range(1, 12)]
B_FIREARMS = ["B-1", "B-2-a", "B-2-abis", "B-2-b", "B-2-c", "B-2-d", "B-2-e", "B-2-f", "B-3", "B-4", "B-5", "B-10",
              "B-12"]
B_NON_FIREARMS = ["B-6", "B-7", "B-8", "B-9"]
C_FIREARMS = ["C-1-a", "C-1-b", "C-1-c", "C-1-d", "C-2", "C-3", "C-5", "C-6", "C-7", "C-8", "C-11"]
C_SPECIAL = ["C-4", "C-12"]  # air >= 20 J, alarm and signal: not firearms
C_NEUTRALISED = ["C-9"]
D_ABC = ["D-a", "D-b", "D-c"]
D_OTHERS = ["D-d", "D-e", "D-f", "D-h", "D-hbis", "D-i", "D-j", "D-jbis", "D-k"]
D_G = ["D-g"]


def expected_imp(code: str) -> object:
    # Third country -> France: AIMG for A, B, C (C-9 assumed) and D a-c; nothing for the other D.
    return NONE if code in D_OTHERS + D_G else "AIMG"


def expected_int(code: str) -> object:
    if code in ("A2-1", "A2-2"):
        return "AIMG"
    if code in A2:
        return NONE  # the sending State's transfer licence only
    if code in A1_NON_FIREARMS + B_NON_FIREARMS + D_ABC:
        return "AIMG"
    if code in A1_FIREARMS + B_FIREARMS + C_FIREARMS:
        return "AP-INT"
    return NONE  # C-4, C-12, C-9, other D


def expected_exp(code: str) -> object:
    if code in A2:
        return OUT  # LEMG
    if code in ("A1-2", "B-1", "B-2-b", "B-2-e"):
        return ASK  # LEAF only when rimfire
    if code in ("A1-3", "A1-5", "B-2-abis", "B-2-d", "B-2-f", "B-12", "D-g") or code in C_FIREARMS:
        return "LEAF"
    if code in A1_NON_FIREARMS + C_SPECIAL + C_NEUTRALISED + ["D-a"] + D_OTHERS:
        return NONE
    return OUT  # other A1/B: arrêté du 27 juin 2012; B-6..9, D-b, D-c: Reg. 2019/125


def expected_exd(code: str) -> object:
    if code in A2:
        return OUT  # licence de transfert
    if code in A1_FIREARMS + B_FIREARMS + C_FIREARMS:
        return "PT"
    return NONE


EXPECTED = {"IMP": expected_imp, "INT": expected_int, "EXP": expected_exp, "EXD": expected_exd}
ALL_CODES = A1_FIREARMS + A1_NON_FIREARMS + A2 + B_FIREARMS + B_NON_FIREARMS + C_FIREARMS + C_SPECIAL \
    + C_NEUTRALISED + D_ABC + D_OTHERS + D_G


def test_the_table_names_every_item_of_the_ruleset(ref):
    assert sorted(ALL_CODES) == sorted(ref.items)


def _outcome(ref, build_request, flow: str, code: str, goods: str | None = None, profile: str = "particulier_autre"):
    req = build_request(flow, [(code, 1, goods)], profile=profile)
    try:
        result = determine(ref, req, today=TODAY)
    except DeterminationError as exc:
        if exc.status == 422 and "undetermined_items" in exc.extra:
            return ASK
        raise
    if result.outside_scope:
        assert result.outside_scope_procedure
        assert result.authorisation is None
        return OUT
    return result.authorisation


@pytest.mark.parametrize("flow", ["IMP", "INT", "EXP", "EXD"])
@pytest.mark.parametrize("code", ALL_CODES)
def test_matrix_cell(ref, build_request, flow, code):
    assert _outcome(ref, build_request, flow, code) == EXPECTED[flow](code)


@pytest.mark.parametrize(("code", "rimfire", "centrefire"), [
    ("A1-2", "A1-2-pistolet-annulaire", "A1-2-pistolet-centrale"),
    ("B-1", "B-1-pistolet-annulaire", "B-1-revolver-centrale"),
    ("B-2-b", "B-2-b-carabine-annulaire", "B-2-b-carabine-centrale"),
    ("B-2-e", "B-2-e-semi-apparence-annulaire", "B-2-e-semi-apparence-centrale"),
])
def test_export_of_rimfire_goods_needs_a_leaf_and_centrefire_is_outside_e_aps(ref, build_request, code, rimfire,
                                                                               centrefire):
    assert _outcome(ref, build_request, "EXP", code, rimfire) == "LEAF"
    assert _outcome(ref, build_request, "EXP", code, centrefire) == OUT
    # The other flows do not depend on the percussion.
    for flow in ("IMP", "INT", "EXD"):
        assert _outcome(ref, build_request, flow, code, rimfire) == _outcome(ref, build_request, flow, code)


def test_undetermined_goods_are_listed_with_the_goods_to_choose_from(ref, build_request):
    with pytest.raises(DeterminationError) as err:
        determine(ref, build_request("EXP", [("B-1", 1)]), today=TODAY)
    assert err.value.status == 422
    [undetermined] = err.value.extra["undetermined_items"]
    assert undetermined["classification_code"] == "B-1"
    assert {"B-1-pistolet-annulaire", "B-1-revolver-centrale"} <= {g["code"] for g in undetermined["goods"]}
    assert "goods_code" in err.value.errors[0]["field"]


@pytest.mark.parametrize("flow", ["INT", "EXP", "EXD"])
@pytest.mark.parametrize(("code", "goods"), [
    ("C-8", "C-8-douilles-vides"), ("C-6", "C-6-projectiles"), ("C-7", "C-7-projectiles"),
    ("C-8", "C-8-projectiles"), ("C-11", "C-11-projectiles"),
])
def test_c_exemptions_empty_cases_and_projectiles(ref, build_request, flow, code, goods):
    assert _outcome(ref, build_request, flow, code, goods) is NONE
    # Complete cartridges of the same classification are not exempted.
    assert _outcome(ref, build_request, flow, code) == EXPECTED[flow](code)


def test_empty_cases_still_need_an_aimg_from_a_third_country(ref, build_request):
    assert _outcome(ref, build_request, "IMP", "C-8", "C-8-douilles-vides") == "AIMG"


def test_outside_scope_answers_name_the_procedure(ref, build_request):
    result = determine(ref, build_request("EXP", [("A2-4", 1)]), today=TODAY)
    assert result.outside_scope and "LEMG" in result.outside_scope_procedure
    assert result.required_documents == []
    result = determine(ref, build_request("EXP", [("B-6", 1)]), today=TODAY)
    assert "2019/125" in result.outside_scope_procedure
    result = determine(ref, build_request("EXD", [("A2-7", 1)]), today=TODAY)
    assert "licence de transfert" in result.outside_scope_procedure.lower()


def test_professional_regular_imports_get_the_global_aimg(ref, build_request):
    result = determine(ref, build_request("IMP", [("C-1-c", 10)], kind="professional", profile="armurier",
                                          motive="importation_globale"), today=TODAY)
    assert result.authorisation == "AGIMG"
    assert "autorisation globale" in result.explanation
    assert any(a["source"] == "variante agimg-importations-regulieres" for a in result.assumptions)
    # The same motive from an individual, or another motive, keeps the individual AIMG.
    assert determine(ref, build_request("IMP", [("C-1-c", 10)], kind="professional", profile="armurier",
                                        motive="achat"), today=TODAY).authorisation == "AIMG"


def test_every_authorisation_type_the_engine_answers_is_reached(ref, build_request):
    reached = {
        determine(ref, build_request("IMP", [("B-1", 1)]), today=TODAY).authorisation,
        determine(ref, build_request("IMP", [("B-1", 1)], kind="professional", profile="fabricant",
                                     motive="importation_globale"), today=TODAY).authorisation,
        determine(ref, build_request("EXP", [("C-1-c", 1)]), today=TODAY).authorisation,
        determine(ref, build_request("INT", [("C-1-c", 1)]), today=TODAY).authorisation,
        determine(ref, build_request("EXD", [("C-1-c", 1)]), today=TODAY).authorisation,
    }
    assert reached == {a.code for a in ref.ruleset.authorisation_types if a.determinable}
