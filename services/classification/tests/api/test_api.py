"""The public classification API over HTTP, as the portal and the dossier service see it
(real app on its own PostgreSQL database and RabbitMQ prefix)."""

from __future__ import annotations

import pytest
from eaps_kit.testing import TestKeys, bearer

PROBLEM = "application/problem+json"
BASE = "/api/v1/classification"


def body(flow="INT", origin="DE", destination="FR", items=None, kind="individual", profile="chasseur", motive=None):
    out = {"flow": flow, "origin_country": origin, "destination_country": destination,
           "applicant": {"kind": kind, "profile": profile},
           "items": items if items is not None else [{"classification_code": "C-1-c", "quantity": 2}]}
    if motive:
        out["motive"] = motive
    return out


async def test_determination_answers_the_authorisation_documents_and_version(service):
    r = await service.client.post(f"{BASE}/determinations", json=body())
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["authorisation"] == "AP-INT" and data["outside_scope"] is False
    assert data["outside_scope_procedure"] is None
    assert data["required_documents"] == ["ID", "DOM", "PC"]
    assert data["exemptions"] == [] and data["ruleset_version"] == "2026-01-01"
    assert r.headers["X-Ruleset-Version"] == "2026-01-01"
    assert "accord préalable" in data["explanation"]
    assert data["items"][0]["classification_code"] == "C-1-c"


async def test_determination_with_an_exemption_and_no_authorisation(service):
    r = await service.client.post(f"{BASE}/determinations", json=body(
        items=[{"classification_code": "C-1-c", "quantity": 2}, {"classification_code": "C-7", "quantity": 200}],
        motive="voyage_chasse"))
    data = r.json()
    assert r.status_code == 200 and data["authorisation"] is None and data["outside_scope"] is False
    assert data["exemptions"][0]["code"] == "ap-int-efp-chasseurs"
    assert data["required_documents"] == ["INVIT", "CEAF"]


async def test_determination_outside_scope(service):
    r = await service.client.post(f"{BASE}/determinations", json=body(
        flow="EXP", origin="FR", destination="US", items=[{"classification_code": "A2-1", "quantity": 1}],
        kind="professional", profile="fabricant"))
    data = r.json()
    assert data["authorisation"] is None and data["outside_scope"] is True
    assert "LEMG" in data["outside_scope_procedure"]


async def test_goods_code_selects_the_export_licence(service):
    r = await service.client.post(f"{BASE}/determinations", json=body(
        flow="EXP", origin="FR", destination="CH",
        items=[{"classification_code": "B-1", "quantity": 1, "goods_code": "B-1-pistolet-annulaire"}],
        profile="tireur_sportif"))
    assert r.json()["authorisation"] == "LEAF"
    r = await service.client.post(f"{BASE}/determinations", json=body(
        flow="EXP", origin="FR", destination="CH", items=[{"classification_code": "B-1", "quantity": 1}],
        profile="tireur_sportif"))
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["undetermined_items"][0]["goods"]


async def test_items_needing_different_authorisations_answer_409(service):
    r = await service.client.post(f"{BASE}/determinations", json=body(items=[
        {"classification_code": "D-a", "quantity": 1}, {"classification_code": "C-1-c", "quantity": 1}]))
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert "plusieurs demandes" in problem["detail"]
    assert [(i["classification_code"], i["needs"]) for i in problem["items"]] == [("D-a", "AIMG"),
                                                                                 ("C-1-c", "AP-INT")]


async def test_unknown_codes_answer_422_listing_them(service):
    r = await service.client.post(f"{BASE}/determinations", json=body(items=[
        {"classification_code": "C-1-c", "quantity": 1}, {"classification_code": "X-42", "quantity": 1}]))
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["unknown_codes"] == ["X-42"] and "X-42" in r.json()["detail"]


async def test_flow_disagreeing_with_the_countries_answers_422_saying_why(service):
    r = await service.client.post(f"{BASE}/determinations", json=body(flow="INT", origin="US"))
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["errors"][0]["field"] == "origin_country"
    assert "État membre" in problem["detail"] and "États-Unis" in problem["detail"]


@pytest.mark.parametrize("payload", [
    {},
    {"flow": "TRANSIT"},
    {"origin_country": "fra"},
    {"items": []},
    {"items": [{"classification_code": "C-1-c", "quantity": 0}]},
    {"items": [{"classification_code": "C-1-c", "quantity": "beaucoup"}]},
    {"applicant": {"kind": "robot", "profile": "chasseur"}},
    {"applicant": {"kind": "individual", "profile": "astronaute"}},
    {"applicant": {"kind": "professional", "profile": "chasseur"}},
    {"motive": "tourisme"},
    {"unexpected": 1},
])
async def test_bad_input_answers_422_in_french(service, payload):
    data = body() if payload else {}
    data.update(payload)
    r = await service.client.post(f"{BASE}/determinations", json=data)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["status"] == 422 and problem["errors"] and problem["detail"]


async def test_malformed_json_answers_422(service):
    r = await service.client.post(f"{BASE}/determinations", content=b"{not json",
                                  headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM


async def test_tree_of_categories_and_items_with_legal_links(service):
    r = await service.client.get(f"{BASE}/categories")
    data = r.json()
    assert [c["code"] for c in data["categories"]] == ["A1", "A2", "B", "C", "D"]
    for cat in data["categories"]:
        assert cat["legal_text_url"].startswith("https://www.legifrance.gouv.fr/")
        assert "R311-2" in cat["legal_reference"]
    r = await service.client.get(f"{BASE}/categories/B")
    assert r.json()["groups"][0]["items"][0]["code"] == "B-1"
    r = await service.client.get(f"{BASE}/categories/E")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


async def test_item_by_code_and_by_older_number(service):
    r = await service.client.get(f"{BASE}/items/D-g")
    item = r.json()
    assert (item["code"], item["category"], item["firearm"]) == ("D-g", "D", True)
    assert item["goods"] and item["label"]
    r = await service.client.get(f"{BASE}/items/D-2-g")
    assert r.json()["code"] == "D-g" and r.json()["requested_code"] == "D-2-g"
    r = await service.client.get(f"{BASE}/items/Z-9")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM and "Z-9" in r.json()["detail"]


async def test_known_path_step_by_step(service):
    r = await service.client.get(f"{BASE}/known-path", params={"category": "C"})
    step = r.json()
    assert step["next_field"]["name"] == "field1" and step["category"]["legal_text_url"]
    r = await service.client.get(f"{BASE}/known-path", params={"category": "C", "field1": "C-G-1"})
    assert [o["value"] for o in r.json()["next_field"]["options"]] == ["C-1-a", "C-1-b", "C-1-c", "C-1-d"]
    r = await service.client.get(f"{BASE}/known-path", params={"category": "C", "field1": "C-G-1", "field2": "C-1-c"})
    done = r.json()
    assert done["complete"] and done["classifications"][0]["code"] == "C-1-c"
    assert len(done["classifications"][0]["goods"]) >= 2  # several goods share one classification
    assert [s["field"] for s in done["selections"]] == ["category", "field1", "field2"]
    r = await service.client.get(f"{BASE}/known-path", params={"category": "C", "field1": "nope"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM


async def test_unknown_path_step_by_step(service):
    r = await service.client.get(f"{BASE}/descriptor-path", params={"category": "D"})
    assert r.json()["next_question"]["label"] == "Descriptif 1"
    r = await service.client.get(f"{BASE}/descriptor-path",
                                 params={"category": "D", "answers": ["arme_historique", "apres_1900_liste"]})
    done = r.json()
    assert done["complete"] and done["classification"]["code"] == "D-g"
    assert [s["answer"] for s in done["route"]] == ["arme_historique", "apres_1900_liste"]
    r = await service.client.get(f"{BASE}/descriptor-path", params={"category": "D", "answers": ["fusee"]})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = await service.client.get(f"{BASE}/descriptor-path")
    assert r.status_code == 422


async def test_helper_lists_for_the_forms(service):
    types = (await service.client.get(f"{BASE}/authorisation-types")).json()["authorisation_types"]
    leaf = next(t for t in types if t["code"] == "LEAF")
    assert leaf["processing_time"]["working_days"] == 60 and leaf["name"].startswith("Licence")
    docs = (await service.client.get(f"{BASE}/document-types")).json()["document_types"]
    assert {"code": "PC", "label": "Permis de chasser"}.items() <= next(d for d in docs if d["code"] == "PC").items()
    profiles = (await service.client.get(f"{BASE}/profiles")).json()["profiles"]
    assert {p["code"] for p in profiles} >= {"chasseur", "tireur_sportif", "ball_trap", "collectionneur", "armurier",
                                             "fabricant", "commercant"}
    motives = (await service.client.get(f"{BASE}/motives")).json()["motives"]
    assert next(m for m in motives if m["code"] == "reparation")["label"].startswith("Réparation")
    flows = (await service.client.get(f"{BASE}/flows")).json()["flows"]
    assert [f["code"] for f in flows] == ["IMP", "INT", "EXP", "EXD"]
    countries = (await service.client.get(f"{BASE}/countries")).json()
    by_code = {c["code"]: c for c in countries["countries"]}
    assert by_code["DE"]["eu_member"] and by_code["DE"]["name"] == "Allemagne"
    assert by_code["NC"]["treated_as"] == "third" and not by_code["CH"]["eu_member"]
    assert countries["france"] == "FR"


async def test_a_ruleset_version_can_be_asked_for(service):
    r = await service.client.get(f"{BASE}/items/C-1-c", params={"ruleset_version": "2026-01-01"})
    assert r.status_code == 200 and r.json()["ruleset_version"] == "2026-01-01"
    r = await service.client.post(f"{BASE}/determinations", params={"ruleset_version": "1999-01-01"}, json=body())
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM and "1999-01-01" in r.json()["detail"]
    versions = (await service.client.get(f"{BASE}/rulesets")).json()
    current = [v for v in versions if v["in_force"]]
    assert [v["version"] for v in current] == ["2026-01-01"]


async def test_public_routes_need_no_sign_in_and_ignore_any_token(service):
    keys = TestKeys()
    for headers in ({}, bearer(keys.applicant()), bearer(keys.officer()), {"Authorization": "Bearer garbage"}):
        r = await service.client.post(f"{BASE}/determinations", json=body(), headers=headers)
        assert r.status_code == 200


async def test_internal_reload_is_refused_without_the_internal_token(service):
    r = await service.client.post("/internal/classification/rulesets/reload")
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    r = await service.client.post("/internal/classification/rulesets/reload",
                                  headers={"X-Internal-Token": "wrong"})
    assert r.status_code == 403
    r = await service.client.post("/internal/classification/rulesets/reload",
                                  headers={"X-Internal-Token": service.settings.internal_token})
    assert r.status_code == 200 and r.json()["published"] == []


async def test_health(service):
    assert (await service.client.get("/health/live")).json() == {"status": "ok"}
    ready = await service.client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["rulesets"] is True


async def test_the_packaged_2029_version_takes_effect_on_12_february_2029(service):
    from datetime import date

    saved = service.clock.today
    try:
        service.clock.today = date(2029, 2, 11)
        r = await service.client.get(f"{BASE}/authorisation-types")
        aimg = next(t for t in r.json()["authorisation_types"] if t["code"] == "AIMG")
        assert r.json()["ruleset_version"] == "2026-01-01" and aimg["processing_time"]["working_days"] is None
        service.clock.today = date(2029, 2, 12)
        r = await service.client.get(f"{BASE}/authorisation-types")
        aimg = next(t for t in r.json()["authorisation_types"] if t["code"] == "AIMG")
        assert r.json()["ruleset_version"] == "2029-02-12"
        times = aimg["processing_time"]
        assert (times["working_days"], times["exceptional_working_days"]) == (90, 110)
        r = await service.client.post(f"{BASE}/determinations", json=body())
        assert r.json()["ruleset_version"] == "2029-02-12" and r.json()["authorisation"] == "AP-INT"
    finally:
        service.clock.today = saved
