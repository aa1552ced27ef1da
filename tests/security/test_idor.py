"""Another applicant's ids: every id-bearing route answers 404 (never 403, never the data) to a
second private person and to OPPD members of other companies; an OPPD colleague of the SAME
company sees the company's dossiers and documents; nothing changes under an intruder's writes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from system_testkit import RIFLE, assert_problem, bearer


def dossier_requests(d: dict[str, Any], doc_id: str) -> list[tuple[str, str, Any]]:
    did = d["id"]
    return [
        ("GET", f"/api/v1/dossiers/{did}", None),
        ("GET", f"/api/v1/dossiers/{did}/recapitulatif", None),
        ("GET", f"/api/v1/dossiers/{did}/history", None),
        ("GET", f"/api/v1/dossiers/{did}/messages", None),
        ("PUT", f"/api/v1/dossiers/{did}/informations", {"origin_country": "DE"}),
        ("POST", f"/api/v1/dossiers/{did}/lines", RIFLE),
        ("PUT", f"/api/v1/dossiers/{did}/lines/1", RIFLE),
        ("DELETE", f"/api/v1/dossiers/{did}/lines/1", None),
        ("PUT", f"/api/v1/dossiers/{did}/demandeur", {"motive": "vente"}),
        ("PUT", f"/api/v1/dossiers/{did}/justificatifs/PC", {"document_id": doc_id}),
        ("DELETE", f"/api/v1/dossiers/{did}/justificatifs/PC", None),
        ("POST", f"/api/v1/dossiers/{did}/steps/1/validation", None),
        ("POST", f"/api/v1/dossiers/{did}/transmission", None),
        ("POST", f"/api/v1/dossiers/{did}/withdrawal", {"reason": "intrusion"}),
        ("POST", f"/api/v1/dossiers/{did}/messages", {"body": "intrusion"}),
        ("POST", f"/api/v1/dossiers/{did}/messages/read", None),
        ("DELETE", f"/api/v1/dossiers/{did}", None),
    ]


def document_requests(doc_id: str, pinned_id: str | None) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = [
        ("GET", f"/api/v1/documents/{doc_id}", None),
        ("GET", f"/api/v1/documents/{doc_id}/content", None),
        ("GET", f"/api/v1/documents/{doc_id}/download-url", None),
        ("PATCH", f"/api/v1/documents/{doc_id}", {"title": "volé"}),
        ("DELETE", f"/api/v1/documents/{doc_id}", None),
    ]
    if pinned_id:
        out += [("GET", f"/api/v1/documents/pinned/{pinned_id}", None),
                ("GET", f"/api/v1/documents/pinned/{pinned_id}/content", None)]
    return out


async def _all_404(public: httpx.AsyncClient, token: str, requests: list[tuple[str, str, Any]],
                   version: int | None = None) -> None:
    failures = []
    for method, path, body in requests:
        r = await public.request(method, path, json=body, headers=bearer(token, version))
        if r.status_code != 404 or not r.headers.get("content-type", "").startswith("application/problem+json"):
            failures.append((method, path, r.status_code, r.text[:200]))
    assert not failures, failures


@pytest.mark.parametrize("intruder", ["bob", "gunsmith", "rival"])
async def test_private_persons_dossiers_and_documents_are_404_to_everyone_else(
        public: httpx.AsyncClient, alice, alice_world, intruder: str, people) -> None:
    other = people[intruder]
    w = alice_world
    before = {d: (await public.get(f"/api/v1/dossiers/{d}", headers=bearer(alice.token))).json()
              for d in (w.draft["id"], w.transmitted["id"])}
    for d in before.values():
        await _all_404(public, other.token, dossier_requests(d, w.document["id"]), d["version"])
    await _all_404(public, other.token, document_requests(w.document["id"], w.pinned_id))
    # and the intruder's writes changed nothing
    for did, snapshot in before.items():
        r = await public.get(f"/api/v1/dossiers/{did}", headers=bearer(alice.token))
        assert r.status_code == 200 and r.json()["version"] == snapshot["version"], r.text
        assert r.json()["status"] == snapshot["status"]
    r = await public.get(f"/api/v1/documents/{w.document['id']}", headers=bearer(alice.token))
    assert r.status_code == 200 and r.json()["title"] == w.document["title"]
    # searches never list them either
    r = await public.get("/api/v1/search/dossiers", params={"number": w.number}, headers=bearer(other.token))
    assert r.status_code == 200 and r.json()["items"] == []
    r = await public.get("/api/v1/dossiers", headers=bearer(other.token))
    assert r.status_code == 200 and w.draft["id"] not in r.text and w.transmitted["id"] not in r.text
    r = await public.get("/api/v1/documents", headers=bearer(other.token), params={"page_size": 100})
    assert r.status_code == 200 and w.document["id"] not in r.text


@pytest.mark.parametrize("intruder", ["alice", "bob", "rival"])
async def test_a_companys_dossiers_and_documents_are_404_outside_the_company(
        public: httpx.AsyncClient, gunsmith_world, intruder: str, people) -> None:
    other = people[intruder]
    d = gunsmith_world.draft
    await _all_404(public, other.token, dossier_requests(d, gunsmith_world.document["id"]), d["version"])
    await _all_404(public, other.token, document_requests(gunsmith_world.document["id"], None))


async def test_an_oppd_colleague_of_the_same_company_sees_the_companys_dossiers_and_documents(
        public: httpx.AsyncClient, colleague, gunsmith_world) -> None:
    d, doc = gunsmith_world.draft, gunsmith_world.document
    r = await public.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(colleague.token))
    assert r.status_code == 200, r.text
    r = await public.get(f"/api/v1/documents/{doc['id']}", headers=bearer(colleague.token))
    assert r.status_code == 200 and r.json()["id"] == doc["id"], r.text
    r = await public.get("/api/v1/dossiers", headers=bearer(colleague.token), params={"page_size": 100})
    assert r.status_code == 200 and d["id"] in r.text


async def test_a_private_person_in_no_company_cannot_reach_company_data_with_an_as_token(
        public: httpx.AsyncClient, bob, gunsmith_world) -> None:
    """bob's AS token carries no operator: the company's draft is not his."""
    assert bob.extra["me"].get("access_level") in (None, "AS")
    r = await public.get(f"/api/v1/dossiers/{gunsmith_world.draft['id']}", headers=bearer(bob.token))
    assert_problem(r, 404)


async def test_notifications_of_another_person_cannot_be_marked_read(
        public: httpx.AsyncClient, alice, alice_world, bob) -> None:
    from eaps_kit.testing import eventually

    async def some() -> list[dict[str, Any]] | None:
        r = await public.get("/api/v1/notifications", headers=bearer(alice.token))
        assert r.status_code == 200, r.text
        items = r.json()["items"] if isinstance(r.json(), dict) else r.json()
        return items or None
    items = await eventually(some, timeout=30, interval=0.5)
    nid = items[0]["id"]
    r = await public.post(f"/api/v1/notifications/{nid}/read", headers=bearer(bob.token))
    assert_problem(r, 404)
    r = await public.get("/api/v1/notifications", headers=bearer(bob.token))
    assert nid not in r.text


async def test_habilitation_requests_and_invitations_of_others_are_404(
        public: httpx.AsyncClient, rival, bob, gunsmith) -> None:
    r = await public.get("/api/v1/identity/habilitation-requests", headers=bearer(rival.token))
    assert r.status_code == 200 and r.json(), r.text
    request_id = r.json()[0]["id"]
    for other in (bob, gunsmith):
        assert_problem(await public.get(f"/api/v1/identity/habilitation-requests/{request_id}",
                                        headers=bearer(other.token)), 404)
    # an invitation addressed to someone else cannot be accepted by bob
    r = await public.post("/api/v1/identity/operators/me/invitations", headers=bearer(gunsmith.token),
                          json={"email": "personne-ici@example.fr"})
    assert r.status_code == 202, r.text
    r = await public.get("/api/v1/identity/invitations", headers=bearer(bob.token))
    assert r.status_code == 200 and "personne-ici@example.fr" not in r.text
    # an operator's members are not readable by a private person
    r = await public.get("/api/v1/identity/operators/me", headers=bearer(bob.token))
    assert r.status_code in (403, 404), r.text
    assert "armurier@demo-eaps.fr" not in r.text
