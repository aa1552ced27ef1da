"""Signed decision webhooks to other administrations: a loopback receiver verifies them with the
documented check, is taken down and gets the delivery later; retries last over 24 h then the
delivery is dead; 410 disables the endpoint; secrets rotate with an overlap; each
administration sees only its own subscriptions; decisions also reach the public exchange."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aio_pika
import httpx
import pytest
import sqlalchemy as sa
from eaps_contracts.envelope import Envelope
from eaps_contracts.events import instruction_v1
from eaps_contracts.events.notifications_v1 import PUBLIC_DECISIONS_EXCHANGE, PublicDecisionV1
from eaps_kit.auth import INTERNAL_AUDIENCE
from eaps_kit.testing import bearer, eventually
from notif_helpers import WebhookReceiver, authorisation_snapshot, new_account, now, rows, submitted
from notifications.adapters.orm import outbox, webhook_attempts, webhook_deliveries
from notifications.webhook_signature import WebhookVerificationError, verify

BASE = "/api/v1/webhooks"


def machine(keys: Any, client_id: str | None = None, scope: str = "decisions:read") -> dict[str, str]:
    return bearer(
        keys.token(
            client_id or f"admin-{uuid.uuid4().hex[:6]}",
            roles=["machine"],
            audience=INTERNAL_AUDIENCE,
            access_level=None,
            scope=scope,
        )
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = WebhookReceiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def subscriber(client: httpx.AsyncClient, keys: Any) -> AsyncIterator[Any]:
    """Registers endpoints for a fresh machine client; deletes them afterwards."""
    headers = machine(keys)
    created: list[str] = []

    async def register(url: str, types: list[str] | None = None) -> dict[str, Any]:
        resp = await client.post(
            f"{BASE}/endpoints",
            headers=headers,
            json={"url": url, "event_types": types or ["decision.granted", "decision.refused", "decision.suspended"]},
        )
        assert resp.status_code == 201, resp.text
        created.append(resp.json()["id"])
        return resp.json()

    register.headers = headers  # type: ignore[attr-defined]
    yield register
    for endpoint_id in created:
        await client.delete(f"{BASE}/endpoints/{endpoint_id}", headers=headers)


async def decide(bus: Any, outcome: str = "granted") -> tuple[Envelope, dict[str, Any]]:
    account = new_account()
    await bus.publish(account)
    dossier = submitted(account)
    await bus.publish(dossier)
    auth = authorisation_snapshot(account.account_id) if outcome == "granted" else None
    env = await bus.publish(
        instruction_v1.DecisionIssuedV1(
            decision_id=uuid.uuid4(),
            case_id=uuid.uuid4(),
            dossier_id=dossier.dossier.dossier_id,
            registration_number=dossier.dossier.registration_number,
            outcome=outcome,
            reasons=None if auth else "Motif de sécurité publique",
            issued_at=now(),
            authorisation=auth,
        )
    )
    return env, {
        "registration_number": dossier.dossier.registration_number,
        "authorisation": auth,
        "dossier_id": dossier.dossier.dossier_id,
        "account_id": account.account_id,
    }


def received_for(receiver: WebhookReceiver, registration_number: str) -> list[tuple[dict[str, str], bytes]]:
    return [(h, b) for h, b in receiver.received if json.loads(b)["data"]["registration_number"] == registration_number]


async def delivery_of(runtime: Any, endpoint_id: str, cause: uuid.UUID) -> Any:
    found = await rows(
        runtime,
        sa.select(webhook_deliveries).where(
            webhook_deliveries.c.endpoint_id == uuid.UUID(endpoint_id), webhook_deliveries.c.cause_event_id == cause
        ),
    )
    return found[0] if found else None


async def test_receiver_verifies_a_signed_decision_then_gets_it_after_an_outage(
    bus: Any, subscriber: Any, receiver: WebhookReceiver, clock: Any, client: httpx.AsyncClient, runtime: Any
) -> None:
    endpoint = await subscriber(receiver.url)
    env, facts = await decide(bus)
    got = await eventually(lambda: received_for(receiver, facts["registration_number"]))
    headers, body = got[0]
    payload = verify(endpoint["secret"], headers, body, now=clock.now().timestamp())
    assert payload["type"] == "decision.granted"
    assert payload["schema"] == "public.decision.changed.v1"
    assert payload["data"]["authorisation_number"] == facts["authorisation"]["number"]
    assert payload["data"]["holder_name"] == "Camille Durand" and payload["data"]["valid_until"] == "2027-02-28"
    assert headers["webhook-id"].startswith("msg_")

    # Forged: another secret, or a body altered in transit, is detected by the documented check.
    with pytest.raises(WebhookVerificationError):
        verify("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", headers, body, now=clock.now().timestamp())
    with pytest.raises(WebhookVerificationError):
        verify(endpoint["secret"], headers, body.replace(b"granted", b"refused"), now=clock.now().timestamp())
    # Replayed: the same captured delivery presented ten minutes later is refused.
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(endpoint["secret"], headers, body, now=clock.now().timestamp() + 600)

    # The receiver goes down: the next decision fails, is scheduled, and arrives when it is back.
    await receiver.stop()
    env2, facts2 = await decide(bus, "refused")

    async def failed_once() -> Any:
        d = await delivery_of(runtime, endpoint["id"], env2.event_id)
        return d is not None and d.attempts == 1 and d.last_error and d

    first = await eventually(failed_once)
    assert first.status == "pending" and first.next_attempt_at > clock.now()
    busy = await client.post(f"{BASE}/deliveries/{first.id}/replay", headers=subscriber.headers)
    assert busy.status_code == 409 and "déjà en cours" in busy.json()["detail"]
    await receiver.start()
    clock.advance(timedelta(seconds=6))
    got2 = await eventually(lambda: received_for(receiver, facts2["registration_number"]))
    payload2 = verify(endpoint["secret"], got2[0][0], got2[0][1], now=clock.now().timestamp())
    assert payload2["type"] == "decision.refused" and payload2["data"]["reason"] == "Motif de sécurité publique"

    await eventually(lambda: _status(runtime, endpoint["id"], env2.event_id, "delivered"))  # outcome committed
    log = await client.get(f"{BASE}/deliveries/{first.id}", headers=subscriber.headers)
    assert log.status_code == 200
    detail = log.json()
    assert detail["status"] == "delivered" and detail["attempts"] == 2
    assert [a["status_code"] for a in detail["attempt_log"]] == [None, 200]


async def test_retries_span_more_than_24_hours_then_the_delivery_is_dead_and_can_be_replayed(
    bus: Any, subscriber: Any, clock: Any, client: httpx.AsyncClient, runtime: Any, settings: Any
) -> None:
    receiver = WebhookReceiver()  # not started: nothing listens on its port
    endpoint = await subscriber(receiver.url)
    env, facts = await decide(bus)
    for attempt, delay in enumerate([*settings.webhook_retry_delays, None], start=1):

        async def tried(attempt: int = attempt) -> Any:
            # The attempt's outcome is recorded (log row and new schedule commit together).
            d = await delivery_of(runtime, endpoint["id"], env.event_id)
            logged = d is not None and await rows(
                runtime, sa.select(webhook_attempts.c.id).where(webhook_attempts.c.delivery_id == d.id)
            )
            return logged and len(logged) == attempt and d

        d = await eventually(tried)
        if delay is not None:
            assert d.status == "pending"
            clock.advance(timedelta(seconds=delay + 1))
    dead = await eventually(lambda: _status(runtime, endpoint["id"], env.event_id, "dead"))
    assert dead.attempts == 8
    assert dead.last_attempt_at - dead.first_attempt_at >= timedelta(hours=24)

    listing = await client.get(
        f"{BASE}/endpoints/{endpoint['id']}/deliveries", params={"status": "dead"}, headers=subscriber.headers
    )
    assert [i["id"] for i in listing.json()["items"]] == [dead.id]

    await receiver.start()
    try:
        replay = await client.post(f"{BASE}/deliveries/{dead.id}/replay", headers=subscriber.headers)
        assert replay.status_code == 202 and replay.json()["status"] == "pending"
        got = await eventually(lambda: received_for(receiver, facts["registration_number"]))
        assert got[0][0]["webhook-id"] == dead.id  # same id: the receiver can deduplicate
        await eventually(lambda: _status(runtime, endpoint["id"], env.event_id, "delivered"))
    finally:
        await receiver.stop()


async def _status(runtime: Any, endpoint_id: str, cause: uuid.UUID, status: str) -> Any:
    d = await delivery_of(runtime, endpoint_id, cause)
    return d is not None and d.status == status and d


async def test_an_endpoint_answering_410_is_disabled(
    bus: Any, subscriber: Any, receiver: WebhookReceiver, client: httpx.AsyncClient, runtime: Any
) -> None:
    receiver.status = 410
    endpoint = await subscriber(receiver.url)
    env, facts = await decide(bus)
    await eventually(lambda: _status(runtime, endpoint["id"], env.event_id, "dead"))
    state = (await client.get(f"{BASE}/endpoints/{endpoint['id']}", headers=subscriber.headers)).json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]
    env2, _ = await decide(bus)
    # The second decision is handled (its public event is staged in the same transaction as the
    # fan-out) but creates no delivery for the disabled endpoint.
    await eventually(
        lambda: rows(runtime, sa.select(outbox.c.seq).where(outbox.c.body["causation_id"].astext == str(env2.event_id)))
    )
    assert await delivery_of(runtime, endpoint["id"], env2.event_id) is None
    assert len(received_for(receiver, facts["registration_number"])) == 1
    # Replay is refused until the endpoint is re-enabled.
    dead = await delivery_of(runtime, endpoint["id"], env.event_id)
    refused = await client.post(f"{BASE}/deliveries/{dead.id}/replay", headers=subscriber.headers)
    assert refused.status_code == 409 and "réactivez" in refused.json()["detail"]
    receiver.status = 200
    enabled = await client.patch(
        f"{BASE}/endpoints/{endpoint['id']}", json={"enabled": True}, headers=subscriber.headers
    )
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
    assert (await client.post(f"{BASE}/deliveries/{dead.id}/replay", headers=subscriber.headers)).status_code == 202
    await eventually(lambda: _status(runtime, endpoint["id"], env.event_id, "delivered"))


async def test_secret_rotation_keeps_both_secrets_valid_during_the_overlap(
    bus: Any, subscriber: Any, receiver: WebhookReceiver, clock: Any, client: httpx.AsyncClient
) -> None:
    endpoint = await subscriber(receiver.url)
    old = endpoint["secret"]
    rotated = await client.post(
        f"{BASE}/endpoints/{endpoint['id']}/secret/rotate", json={"overlap_hours": 1}, headers=subscriber.headers
    )
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    _, facts = await decide(bus)
    headers, body = (await eventually(lambda: received_for(receiver, facts["registration_number"])))[0]
    ts = clock.now().timestamp()
    assert verify(new, headers, body, now=ts) and verify(old, headers, body, now=ts)
    clock.advance(timedelta(hours=1, minutes=1))
    _, facts2 = await decide(bus)
    headers2, body2 = (await eventually(lambda: received_for(receiver, facts2["registration_number"])))[0]
    ts2 = clock.now().timestamp()
    assert verify(new, headers2, body2, now=ts2)
    with pytest.raises(WebhookVerificationError):
        verify(old, headers2, body2, now=ts2)


async def test_one_administration_never_sees_another_s_subscriptions(
    bus: Any, subscriber: Any, receiver: WebhookReceiver, keys: Any, client: httpx.AsyncClient, runtime: Any
) -> None:
    endpoint = await subscriber(receiver.url)
    env, _ = await decide(bus)
    delivery = await eventually(lambda: _status(runtime, endpoint["id"], env.event_id, "delivered"))
    other = machine(keys)
    assert (await client.get(f"{BASE}/endpoints", headers=other)).json() == []
    eid = endpoint["id"]
    for method, path, body in [
        ("GET", f"{BASE}/endpoints/{eid}", None),
        ("PATCH", f"{BASE}/endpoints/{eid}", {"enabled": False}),
        ("DELETE", f"{BASE}/endpoints/{eid}", None),
        ("POST", f"{BASE}/endpoints/{eid}/secret/rotate", {}),
        ("GET", f"{BASE}/endpoints/{eid}/deliveries", None),
        ("GET", f"{BASE}/deliveries/{delivery.id}", None),
        ("POST", f"{BASE}/deliveries/{delivery.id}/replay", None),
    ]:
        resp = await client.request(method, path, json=body, headers=other)
        assert resp.status_code == 404, (method, path, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert "n'existe pas" in resp.json()["detail"]
    mine = await client.get(f"{BASE}/endpoints/{eid}", headers=subscriber.headers)
    assert mine.status_code == 200 and mine.json()["enabled"] is True and "secret" not in mine.json()


async def test_decisions_reach_the_public_exchange(bus: Any, runtime: Any, settings: Any) -> None:
    broker = runtime.broker
    channel = await broker.channel()
    try:
        exchange = await channel.declare_exchange(
            broker.exchange_name(PUBLIC_DECISIONS_EXCHANGE), aio_pika.ExchangeType.TOPIC, durable=True
        )
        broker.declared_exchanges.add(exchange.name)
        queue = await channel.declare_queue(broker.queue_name(f"test-public-{uuid.uuid4().hex[:6]}"), exclusive=True)
        await queue.bind(exchange, routing_key=PublicDecisionV1.routing_key())
        env, facts = await decide(bus)
        number = facts["authorisation"]["number"]
        await bus.publish(
            instruction_v1.AuthorisationStatusChangedV1(
                authorisation_id=facts["authorisation"]["authorisation_id"],
                number=number,
                dossier_id=facts["dossier_id"],
                holder_account_id=facts["account_id"],
                old_status="valid",
                new_status="suspended",
                reason="Contrôle en cours",
                changed_at=now(),
            )
        )
        seen: list[dict[str, Any]] = []

        async def two_messages() -> bool:
            while (msg := await queue.get(no_ack=True, fail=False)) is not None:
                seen.append(json.loads(msg.body))
            return len([m for m in seen if m["data"]["registration_number"] == facts["registration_number"]]) == 2

        await eventually(two_messages)
        mine = [m for m in seen if m["data"]["registration_number"] == facts["registration_number"]]
        assert [m["data"]["change"] for m in mine] == ["granted", "suspended"]
        for m in mine:
            assert m["type"] == "public.decision.changed" and m["version"] == 1
            PublicDecisionV1.parse_consumed(m["data"])
        assert mine[1]["data"]["authorisation_number"] == number and mine[1]["data"]["reason"] == "Contrôle en cours"
        assert mine[0]["causation_id"] == str(env.event_id)
    finally:
        await channel.close()
