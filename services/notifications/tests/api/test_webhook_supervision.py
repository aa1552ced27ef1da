"""Supervisors' read-only view of the machine clients' webhook subscriptions: every client's
endpoints (never a secret) and each endpoint's delivery log, after a real decision went out to a
receiver that accepts it and to one that fails; who may read it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from eaps_contracts.events import instruction_v1
from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE
from eaps_kit.testing import bearer, eventually
from notif_helpers import WebhookReceiver, authorisation_snapshot, new_account, now, rows, submitted
from notifications.adapters.orm import webhook_deliveries

BASE = "/api/v1/webhooks"
SUPERVISION = f"{BASE}/supervision/endpoints"
PROBLEM = "application/problem+json"


def machine(keys: Any, client_id: str) -> dict[str, str]:
    return bearer(keys.token(client_id, roles=["machine"], audience=INTERNAL_AUDIENCE, access_level=None,
                             scope="decisions:read"))


def staff(keys: Any, *roles: str, audience: str = INTERNAL_AUDIENCE) -> dict[str, str]:
    return bearer(keys.token(uuid.uuid4(), roles=list(roles), audience=audience, access_level=None))


@pytest.fixture(scope="module")
async def subscriptions(client: httpx.AsyncClient, keys: Any, bus: Any,
                        runtime: Any) -> AsyncIterator[dict[str, Any]]:
    """Two administrations, one endpoint each; a granted decision delivered to the first and failing
    at the second (its receiver answers 500)."""
    ok, failing = WebhookReceiver(), WebhookReceiver()
    failing.status = 500
    await ok.start()
    await failing.start()
    made: list[tuple[str, dict[str, str]]] = []
    out: dict[str, Any] = {}
    try:
        for name, receiver in (("ok", ok), ("failing", failing)):
            client_id = f"douane-{name}-{uuid.uuid4().hex[:6]}"
            headers = machine(keys, client_id)
            resp = await client.post(f"{BASE}/endpoints", headers=headers, json={
                "url": receiver.url, "event_types": ["decision.granted"], "description": f"Bureau {name}"})
            assert resp.status_code == 201, resp.text
            made.append((resp.json()["id"], headers))
            out[name] = {**resp.json(), "client_id": client_id}
        account = new_account()
        await bus.publish(account)
        dossier = submitted(account)
        await bus.publish(dossier)
        await bus.publish(instruction_v1.DecisionIssuedV1(
            decision_id=uuid.uuid4(), case_id=uuid.uuid4(), dossier_id=dossier.dossier.dossier_id,
            registration_number=dossier.dossier.registration_number, outcome="granted", reasons=None,
            issued_at=now(), authorisation=authorisation_snapshot(account.account_id)))

        d = webhook_deliveries

        async def both_tried() -> bool:
            # An attempt's outcome is recorded once the receiver answered (attempts counts claims).
            found = await rows(runtime, sa.select(d).where(
                d.c.endpoint_id.in_([uuid.UUID(e) for e, _ in made]),
                sa.or_(d.c.status == "delivered", d.c.last_status_code.is_not(None))))
            return len(found) == 2

        await eventually(both_tried)
        yield out
    finally:
        for endpoint_id, headers in made:
            await client.delete(f"{BASE}/endpoints/{endpoint_id}", headers=headers)
        await ok.stop()
        await failing.stop()


async def test_supervisor_sees_every_clients_endpoints_without_secrets(client: httpx.AsyncClient, keys: Any,
                                                                        subscriptions: dict[str, Any]) -> None:
    resp = await client.get(SUPERVISION, headers=staff(keys, "supervisor"))
    assert resp.status_code == 200, resp.text
    listed = {e["id"]: e for e in resp.json()}
    ok, failing = subscriptions["ok"], subscriptions["failing"]
    assert listed[ok["id"]]["client_id"] == ok["client_id"]
    assert listed[failing["id"]]["client_id"] == failing["client_id"]
    assert listed[ok["id"]]["url"] == ok["url"] and listed[ok["id"]]["event_types"] == ["decision.granted"]
    assert listed[ok["id"]]["enabled"] is True and listed[ok["id"]]["created_at"]
    assert listed[ok["id"]]["deliveries"]["delivered"] == 1
    assert listed[failing["id"]]["deliveries"]["pending"] == 1
    for secret in (ok["secret"], failing["secret"], "whsec_"):
        assert secret not in resp.text
    assert not any("secret" in key for e in resp.json() for key in e)

    one = await client.get(f"{SUPERVISION}/{failing['id']}", headers=staff(keys, "admin"))
    assert one.status_code == 200 and one.json()["description"] == "Bureau failing"
    assert failing["secret"] not in one.text and "whsec_" not in one.text


async def test_supervisor_reads_each_endpoints_delivery_log(client: httpx.AsyncClient, keys: Any,
                                                            subscriptions: dict[str, Any]) -> None:
    headers = staff(keys, "officer", "supervisor")
    failing = (await client.get(f"{SUPERVISION}/{subscriptions['failing']['id']}/deliveries", headers=headers))
    assert failing.status_code == 200, failing.text
    [item] = failing.json()["items"]
    assert item["status"] == "pending" and item["attempts"] >= 1 and item["last_status_code"] == 500
    assert item["last_error"] and item["next_attempt_at"] and item["event_type"] == "decision.granted"
    assert "payload" not in item
    delivered = (await client.get(f"{SUPERVISION}/{subscriptions['ok']['id']}/deliveries", headers=headers,
                                  params={"status": "delivered"})).json()
    assert delivered["total"] == 1 and delivered["items"][0]["delivered_at"]
    assert delivered["items"][0]["next_attempt_at"] is None
    none_dead = (await client.get(f"{SUPERVISION}/{subscriptions['ok']['id']}/deliveries", headers=headers,
                                  params={"status": "dead"})).json()
    assert none_dead["total"] == 0 and none_dead["items"] == []


@pytest.mark.parametrize(("who", "status"), [
    ("anonymous", 401), ("applicant", 403), ("officer", 403), ("pae_agent", 403), ("machine", 403),
    ("supervisor_on_public_edge", 403),
])
async def test_everyone_but_supervisors_is_refused(client: httpx.AsyncClient, keys: Any,
                                                    subscriptions: dict[str, Any], who: str, status: int) -> None:
    tokens = {
        "anonymous": {},
        "applicant": bearer(keys.applicant(uuid.uuid4())),
        "officer": staff(keys, "officer"),
        "pae_agent": staff(keys, "pae_agent"),
        # The subscription's own client does not read the oversight view either.
        "machine": machine(keys, subscriptions["ok"]["client_id"]),
        "supervisor_on_public_edge": staff(keys, "supervisor", audience=PUBLIC_AUDIENCE),
    }
    endpoint_id = subscriptions["ok"]["id"]
    for path in (SUPERVISION, f"{SUPERVISION}/{endpoint_id}", f"{SUPERVISION}/{endpoint_id}/deliveries"):
        resp = await client.get(path, headers=tokens[who])
        assert resp.status_code == status, (who, path, resp.text)
        assert resp.headers["content-type"] == PROBLEM and resp.json()["detail"]


async def test_unknown_or_malformed_ids_and_bad_filters_answer_4xx_in_french(client: httpx.AsyncClient,
                                                                             keys: Any) -> None:
    headers = staff(keys, "supervisor")
    for path in (f"{SUPERVISION}/{uuid.uuid4()}", f"{SUPERVISION}/{uuid.uuid4()}/deliveries"):
        resp = await client.get(path, headers=headers)
        assert resp.status_code == 404 and resp.headers["content-type"] == PROBLEM
        assert resp.json()["detail"] == "Ce point de terminaison n'existe pas."
    bad = await client.get(f"{SUPERVISION}/pas-un-uuid", headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    endpoint_id = uuid.uuid4()
    for params in ({"status": "perdu"}, {"limit": 0}, {"offset": -1}):
        resp = await client.get(f"{SUPERVISION}/{endpoint_id}/deliveries", headers=headers, params=params)
        assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM, params
