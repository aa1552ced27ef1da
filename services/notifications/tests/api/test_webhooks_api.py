"""The webhook subscription API: only machine clients with ``decisions:read`` on the internal
edge; validation answers French problem+json; each client sees only its own endpoints."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE
from eaps_kit.testing import bearer
from notifications.webhook_signature import generate_secret

BASE = "/api/v1/webhooks"
PROBLEM = "application/problem+json"


def machine(
    keys: Any, sub: str | None = None, scope: str = "decisions:read", audience: str = INTERNAL_AUDIENCE
) -> dict[str, str]:
    return bearer(
        keys.token(
            sub or f"admin-{uuid.uuid4().hex[:6]}", roles=["machine"], audience=audience, access_level=None, scope=scope
        )
    )


@pytest.fixture
async def endpoint(client: httpx.AsyncClient, keys: Any) -> Any:
    headers = machine(keys)
    resp = await client.post(
        f"{BASE}/endpoints",
        headers=headers,
        json={
            "url": "http://127.0.0.1:9/hooks",
            "event_types": ["decision.granted"],
            "description": "Douane — bureau de Roissy",
        },
    )
    assert resp.status_code == 201
    yield resp.json(), headers
    await client.delete(f"{BASE}/endpoints/{resp.json()['id']}", headers=headers)


async def test_register_read_update_and_delete_an_endpoint(client: httpx.AsyncClient, keys: Any) -> None:
    headers = machine(keys)
    secret = generate_secret()
    created = await client.post(
        f"{BASE}/endpoints",
        headers=headers,
        json={
            "url": "https://administration.example/hooks",
            "event_types": ["decision.revoked", "decision.granted"],
            "secret": secret,
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"] == secret and body["enabled"] is True
    assert body["event_types"] == ["decision.granted", "decision.revoked"]
    listed = (await client.get(f"{BASE}/endpoints", headers=headers)).json()
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    patched = await client.patch(
        f"{BASE}/endpoints/{body['id']}",
        headers=headers,
        json={"event_types": ["decision.suspended"], "enabled": False},
    )
    assert patched.json()["event_types"] == ["decision.suspended"] and patched.json()["enabled"] is False
    assert patched.json()["disabled_reason"] == "Désactivé par l'administration abonnée."
    assert (await client.delete(f"{BASE}/endpoints/{body['id']}", headers=headers)).status_code == 204
    gone = await client.get(f"{BASE}/endpoints/{body['id']}", headers=headers)
    assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM


async def test_event_types_are_listed(client: httpx.AsyncClient, keys: Any) -> None:
    types = (await client.get(f"{BASE}/event-types", headers=machine(keys))).json()
    assert {"type": "decision.granted", "schema": "public.decision.changed.v1"} in types
    assert len(types) == 8


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"url": "ftp://example.fr/x", "event_types": ["decision.granted"]}, "url", "http ou https"),
        ({"url": "pas une adresse", "event_types": ["decision.granted"]}, "url", "http ou https"),
        ({"url": "https://user:pw@example.fr/x", "event_types": ["decision.granted"]}, "url", "identifiants"),
        ({"url": "https://example.fr/x", "event_types": []}, "event_types", "trop peu"),
        ({"url": "https://example.fr/x", "event_types": ["decision.lunar"]}, "event_types", "Type d'événement inconnu"),
        ({"url": "https://example.fr/x", "event_types": ["decision.granted"], "secret": "court"}, "secret", "whsec_"),
        ({"url": "https://example.fr/x", "event_types": ["decision.granted"], "extra": 1}, "extra", "pas attendu"),
        ({"event_types": ["decision.granted"]}, "url", "obligatoire"),
    ],
)
async def test_invalid_registrations_answer_422_in_french(
    body: dict[str, Any], field: str, message: str, client: httpx.AsyncClient, keys: Any
) -> None:
    headers = machine(keys)
    resp = await client.post(f"{BASE}/endpoints", headers=headers, json=body)
    assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM
    errors = {e["field"]: e["message"] for e in resp.json()["errors"]}
    assert message.lower() in errors[field].lower(), errors
    assert (await client.get(f"{BASE}/endpoints", headers=headers)).json() == []


async def test_bad_updates_rotations_and_ids_answer_4xx(endpoint: Any, client: httpx.AsyncClient) -> None:
    ep, headers = endpoint
    path = f"{BASE}/endpoints/{ep['id']}"
    assert (await client.patch(path, headers=headers, json={"url": None})).status_code == 422
    assert (await client.patch(path, headers=headers, json={"event_types": ["nope"]})).status_code == 422
    rotate = f"{path}/secret/rotate"
    assert (await client.post(rotate, headers=headers, json={"overlap_hours": -1})).status_code == 422
    assert (await client.post(rotate, headers=headers, json={"overlap_hours": 1000})).status_code == 422
    assert (await client.post(f"{BASE}/endpoints/pas-un-uuid", headers=headers)).status_code == 405
    assert (await client.get(f"{BASE}/endpoints/pas-un-uuid", headers=headers)).status_code == 422
    assert (await client.get(f"{path}/deliveries", headers=headers, params={"status": "perdu"})).status_code == 422
    missing = await client.get(f"{BASE}/deliveries/msg_inconnu", headers=headers)
    assert missing.status_code == 404 and missing.json()["detail"] == "Cette livraison n'existe pas."
    assert (await client.post(f"{BASE}/deliveries/msg_inconnu/replay", headers=headers)).status_code == 404
    rotated = await client.post(rotate, headers=headers)
    assert rotated.status_code == 200 and rotated.json()["secret"] != ""
    state = (await client.get(path, headers=headers)).json()
    assert state["previous_secret_expires_at"] == rotated.json()["previous_secret_expires_at"]


@pytest.mark.parametrize(
    "who",
    ["anonymous", "applicant", "officer", "supervisor", "pae_agent", "machine_without_scope", "machine_on_public_edge"],
)
async def test_only_machine_clients_with_the_scope_reach_webhooks(
    who: str, endpoint: Any, client: httpx.AsyncClient, keys: Any
) -> None:
    ep, _ = endpoint
    tokens = {
        "anonymous": {},
        "applicant": bearer(keys.applicant(uuid.uuid4())),
        "officer": bearer(keys.officer(uuid.uuid4())),
        "supervisor": bearer(keys.officer(uuid.uuid4(), roles=["supervisor"])),
        "pae_agent": bearer(keys.officer(uuid.uuid4(), roles=["pae_agent"])),
        "machine_without_scope": machine(keys, scope="quantities:write"),
        "machine_on_public_edge": machine(keys, audience=PUBLIC_AUDIENCE),
    }
    expected = 401 if who == "anonymous" else 403
    for method, path, body in [
        ("GET", f"{BASE}/event-types", None),
        ("POST", f"{BASE}/endpoints", {"url": "https://example.fr/x", "event_types": ["decision.granted"]}),
        ("GET", f"{BASE}/endpoints", None),
        ("GET", f"{BASE}/endpoints/{ep['id']}", None),
        ("PATCH", f"{BASE}/endpoints/{ep['id']}", {"enabled": False}),
        ("DELETE", f"{BASE}/endpoints/{ep['id']}", None),
        ("POST", f"{BASE}/endpoints/{ep['id']}/secret/rotate", {}),
        ("GET", f"{BASE}/endpoints/{ep['id']}/deliveries", None),
        ("GET", f"{BASE}/deliveries/msg_x", None),
        ("POST", f"{BASE}/deliveries/msg_x/replay", None),
    ]:
        resp = await client.request(method, path, json=body, headers=tokens[who])
        assert resp.status_code == expected, (who, method, path, resp.text)
        assert resp.headers["content-type"] == PROBLEM


async def test_https_is_required_when_configured(endpoint: Any, client: httpx.AsyncClient, settings: Any) -> None:
    _, headers = endpoint
    settings.webhook_require_https = True
    try:
        resp = await client.post(
            f"{BASE}/endpoints",
            headers=headers,
            json={"url": "http://example.fr/hooks", "event_types": ["decision.granted"]},
        )
        assert resp.status_code == 422 and "https" in resp.json()["detail"]
    finally:
        settings.webhook_require_https = False
