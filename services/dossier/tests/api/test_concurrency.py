"""Two tabs never overwrite each other silently; concurrent transmissions never share or skip a number."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from dossier.adapters.orm import dossiers
from dossier_testkit import complete_dossier, h, new_draft


async def test_writing_requires_if_match(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations", json={"flow": "IMP"}, headers=h(token))
    assert r.status_code == 428
    assert r.headers["content-type"] == "application/problem+json"
    assert "If-Match" in r.json()["detail"]
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations", json={"flow": "IMP"},
                             headers={**h(token), "If-Match": "pas-un-etag"})
    assert r.status_code == 422


async def test_a_stale_tab_gets_412_with_what_changed_and_nothing_is_overwritten(env, keys):
    token = keys.applicant()
    d = await new_draft(env, token)
    tab_a = tab_b = d["version"]
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations", json={"destination_country": "CA"},
                             headers=h(token, tab_a))
    assert r.status_code == 200
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/demandeur", json={"motive": "achat"},
                             headers=h(token, r.json()["version"]))
    assert r.status_code == 200
    r = await env.client.put(f"/api/v1/dossiers/{d['id']}/informations", json={"origin_country": "BE"},
                             headers=h(token, tab_b))
    assert r.status_code == 412
    assert r.headers["ETag"] == '"3"'
    body = r.json()
    assert body["current_version"] == 3 and body["your_version"] == 1
    assert body["changed_fields"] == ["general.destination_country", "parties.motive"]
    assert [c["version"] for c in body["changes"]] == [2, 3]
    assert "modifié entre-temps" in body["detail"]
    r = await env.client.get(f"/api/v1/dossiers/{d['id']}", headers=h(token))
    assert r.json()["informations"]["origin_country"] == "FR"
    assert r.json()["informations"]["destination_country"] == "CA"


async def test_concurrent_transmissions_never_share_or_skip_a_number(env, keys):
    token = keys.applicant()
    drafts = [await complete_dossier(env, token) for _ in range(12)]
    # Two tabs transmit the same dossier at once: exactly one wins, and no number is lost.
    results = await asyncio.gather(*[
        env.client.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=h(token, d["version"]))
        for d in [*drafts, drafts[0]]])
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 12, [r.text for r in results if r.status_code != 200]
    assert statuses[-1] in (409, 412)
    numbers = sorted(r.json()["registration_number"] for r in results if r.status_code == 200)
    assert len(set(numbers)) == 12
    year = numbers[0].split("-")[1]
    async with env.runtime.session_factory() as session:
        all_numbers = sorted((await session.execute(
            sa.select(dossiers.c.registration_number).where(dossiers.c.registration_number.like(f"EAPS-{year}-%"))
        )).scalars())
    seqs = [int(n.rsplit("-", 1)[1]) for n in all_numbers]
    assert seqs == list(range(1, len(seqs) + 1)), "numbers of the year are not consecutive from 1"
