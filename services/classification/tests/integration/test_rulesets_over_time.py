"""Ruleset versions on the real stack: published once through the outbox to RabbitMQ, immutable
once published, and a future-dated version taking effect on its date."""

from __future__ import annotations

from datetime import date

import pytest

BASE = "/api/v1/classification"
BODY = {"flow": "IMP", "origin_country": "US", "destination_country": "FR",
        "applicant": {"kind": "individual", "profile": "tireur_sportif"},
        "items": [{"classification_code": "B-4", "quantity": 1}]}


def suspend_b4(files):
    # The future version suspends imports of B-4 weapons (R316-35-1 CSI) for six months.
    files["authorisations.yaml"] = files["authorisations.yaml"].replace("suspensions: []", (
        "suspensions:\n  - id: suspension-b4\n    reference: \"Arrêté de test du 1er juin 2027\"\n"
        "    flows: [IMP]\n    items: {codes: [B-4]}\n    start: 2027-07-01\n    end: 2027-12-31\n"))
    files["goods.yaml"] = files["goods.yaml"].replace("Fusil de chasse juxtaposé",
                                                      "Fusil de chasse à canons juxtaposés")


async def test_each_version_is_published_once_even_across_restarts(tmp_path, ruleset_copy, settings_for,
                                                                   start_service):
    ruleset_copy(tmp_path, "2026-01-01", date(2026, 1, 1))
    ruleset_copy(tmp_path, "2027-07-01", date(2027, 7, 1), edit=suspend_b4)
    settings = settings_for(rulesets_dirs=[tmp_path])
    async with start_service(settings) as svc:
        first = await svc.events.wait("classification.ruleset.published", version="2026-01-01")
        future = await svc.events.wait("classification.ruleset.published", version="2027-07-01")
        assert first["effective_date"] == "2026-01-01" and first["item_count"] == 72
        assert future["effective_date"] == "2027-07-01" and len(future["sha256"]) == 64
        versions = (await svc.client.get(f"{BASE}/rulesets")).json()
        assert [(v["version"], v["in_force"], v["future"]) for v in versions] == [
            ("2026-01-01", True, False), ("2027-07-01", False, True)]
    async with start_service(settings) as svc:
        # A restart reads the same files: nothing new is announced.
        r = await svc.client.post("/internal/classification/rulesets/reload",
                                  headers={"X-Internal-Token": settings.internal_token})
        assert r.json()["published"] == []
        assert svc.events.of("classification.ruleset.published") == []


async def test_a_future_dated_version_takes_effect_on_its_date(tmp_path, ruleset_copy, settings_for, start_service):
    ruleset_copy(tmp_path, "2026-01-01", date(2026, 1, 1))
    ruleset_copy(tmp_path, "2027-07-01", date(2027, 7, 1), edit=suspend_b4)
    async with start_service(settings_for(rulesets_dirs=[tmp_path])) as svc:
        svc.clock.today = date(2027, 6, 30)
        before = await svc.client.post(f"{BASE}/determinations", json=BODY)
        assert before.status_code == 200
        assert before.json()["authorisation"] == "AIMG" and before.json()["ruleset_version"] == "2026-01-01"
        goods = (await svc.client.get(f"{BASE}/items/C-1-c")).json()["goods"]
        assert "Fusil de chasse juxtaposé" in [g["label"] for g in goods]

        svc.clock.today = date(2027, 7, 1)
        after = await svc.client.post(f"{BASE}/determinations", json=BODY)
        assert after.status_code == 409 and after.headers["content-type"] == "application/problem+json"
        assert after.json()["ruleset_version"] == "2027-07-01"
        assert "suspension" in after.json()["detail"] and after.json()["suspensions"][0]["until"] == "2027-12-31"
        goods = (await svc.client.get(f"{BASE}/items/C-1-c")).json()
        assert goods["ruleset_version"] == "2027-07-01"
        assert "Fusil de chasse à canons juxtaposés" in [g["label"] for g in goods["goods"]]

        # An answer given under the earlier version is replayed unchanged with that version.
        replay = await svc.client.post(f"{BASE}/determinations", params={"ruleset_version": "2026-01-01"}, json=BODY)
        assert replay.json() == before.json()

        svc.clock.today = date(2028, 1, 1)  # the suspension has ended
        assert (await svc.client.post(f"{BASE}/determinations", json=BODY)).json()["authorisation"] == "AIMG"


async def test_a_new_version_dropped_in_is_published_on_reload(tmp_path, ruleset_copy, settings_for, start_service):
    ruleset_copy(tmp_path, "2026-01-01", date(2026, 1, 1))
    settings = settings_for(rulesets_dirs=[tmp_path])
    async with start_service(settings) as svc:
        await svc.events.wait("classification.ruleset.published", version="2026-01-01")
        ruleset_copy(tmp_path, "2028-01-01", date(2028, 1, 1))
        r = await svc.client.post("/internal/classification/rulesets/reload",
                                  headers={"X-Internal-Token": settings.internal_token})
        assert r.status_code == 200 and r.json()["published"] == ["2028-01-01"]
        await svc.events.wait("classification.ruleset.published", version="2028-01-01")
        assert len(svc.events.of("classification.ruleset.published", version="2026-01-01")) == 1
        # An invalid version dropped in is reported, and the loaded versions keep serving.
        bad = tmp_path / "2029-01-01"
        bad.mkdir()
        (bad / "ruleset.yaml").write_text('version: "2029-01-01"\neffective_date: 2029-01-01\ntitle: "x"\n'
                                          'description: "x"\nextends: "2026-01-01"\n', encoding="utf-8")
        (bad / "goods.yaml").write_text("goods:\n  - {code: X, label: X, classification: Z-1}\n", encoding="utf-8")
        r = await svc.client.post("/internal/classification/rulesets/reload",
                                  headers={"X-Internal-Token": settings.internal_token})
        assert r.status_code == 422 and "Z-1" in r.json()["reason"]
        assert (await svc.client.post(f"{BASE}/determinations", json=BODY)).status_code == 200


async def test_a_published_version_whose_files_changed_is_refused(tmp_path, ruleset_copy, settings_for,
                                                                 start_service):
    ruleset_copy(tmp_path, "2026-01-01", date(2026, 1, 1))
    settings = settings_for(rulesets_dirs=[tmp_path])
    async with start_service(settings) as svc:
        await svc.events.wait("classification.ruleset.published", version="2026-01-01")
        goods = tmp_path / "2026-01-01" / "goods.yaml"
        goods.write_text(goods.read_text(encoding="utf-8").replace("Poignard", "Dague"), encoding="utf-8")
        r = await svc.client.post("/internal/classification/rulesets/reload",
                                  headers={"X-Internal-Token": settings.internal_token})
        assert r.status_code == 409 and "nouvelle version" in r.json()["detail"]
        # The content published before keeps being served.
        labels = [g["label"] for g in (await svc.client.get(f"{BASE}/items/D-a")).json()["goods"]]
        assert "Poignard" in labels
    # A restart on the changed files refuses to serve them.
    with pytest.raises(Exception, match="immutable"):
        async with start_service(settings):
            pass


async def test_no_version_in_force_answers_503(tmp_path, ruleset_copy, settings_for, start_service):
    ruleset_copy(tmp_path, "2030-01-01", date(2030, 1, 1))
    async with start_service(settings_for(rulesets_dirs=[tmp_path])) as svc:
        r = await svc.client.post(f"{BASE}/determinations", json=BODY)
        assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
        r = await svc.client.get(f"{BASE}/items/B-4", params={"ruleset_version": "2030-01-01"})
        assert r.status_code == 200
