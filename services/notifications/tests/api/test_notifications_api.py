"""In-app notifications through the API: each person lists, counts and marks only their own;
every role and every foreign id is checked; errors are French problem+json."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from eaps_contracts.events import dossier_v1, instruction_v1
from eaps_kit.auth import INTERNAL_AUDIENCE
from eaps_kit.testing import bearer, eventually
from notif_helpers import new_account, now, submitted

BASE = "/api/v1/notifications"
PROBLEM = "application/problem+json"


async def _applicant_with_notifications(
    bus: Any, client: httpx.AsyncClient, keys: Any
) -> tuple[Any, Any, dict[str, str]]:
    account = new_account()
    await bus.publish(account)
    dossier = submitted(account)
    await bus.publish(dossier)
    await bus.publish(
        instruction_v1.CaseOpenedV1(
            case_id=uuid.uuid4(),
            dossier_id=dossier.dossier.dossier_id,
            registration_number=dossier.dossier.registration_number,
            authorisation_type="AIMG",
            opened_at=now(),
        )
    )
    headers = bearer(keys.applicant(account.account_id))

    async def two() -> Any:
        body = (await client.get(BASE, headers=headers)).json()
        return body["total"] == 2 and body

    await eventually(two)
    return account, dossier, headers


async def test_an_applicant_lists_counts_and_marks_its_notifications(
    bus: Any, client: httpx.AsyncClient, keys: Any
) -> None:
    _, dossier, headers = await _applicant_with_notifications(bus, client, keys)
    reg = dossier.dossier.registration_number
    page = (await client.get(BASE, headers=headers)).json()
    assert page["unread"] == 2
    titles = [i["title"] for i in page["items"]]
    assert titles == [f"Demande {reg} en étude", f"Demande {reg} transmise"]
    first = page["items"][0]
    assert first["dossier_id"] == str(dossier.dossier.dossier_id) and first["registration_number"] == reg
    assert first["link"].endswith(f"/dossiers/{dossier.dossier.dossier_id}") and first["read"] is False

    assert (await client.get(f"{BASE}/unread-count", headers=headers)).json() == {"unread": 2}
    marked = await client.post(f"{BASE}/{first['id']}/read", headers=headers)
    assert marked.status_code == 200 and marked.json()["read"] is True and marked.json()["read_at"]
    assert (await client.get(f"{BASE}/unread-count", headers=headers)).json() == {"unread": 1}
    unread = (await client.get(BASE, params={"unread_only": True}, headers=headers)).json()
    assert [i["title"] for i in unread["items"]] == [f"Demande {reg} transmise"]
    assert (await client.post(f"{BASE}/read-all", headers=headers)).json() == {"marked": 1}
    assert (await client.get(f"{BASE}/unread-count", headers=headers)).json() == {"unread": 0}
    paged = (await client.get(BASE, params={"limit": 1, "offset": 1}, headers=headers)).json()
    assert paged["total"] == 2 and [i["title"] for i in paged["items"]] == [f"Demande {reg} transmise"]


async def test_another_applicant_never_sees_or_marks_them(bus: Any, client: httpx.AsyncClient, keys: Any) -> None:
    _, _, headers = await _applicant_with_notifications(bus, client, keys)
    item = (await client.get(BASE, headers=headers)).json()["items"][0]
    intruder = bearer(keys.applicant(uuid.uuid4()))
    assert (await client.get(BASE, headers=intruder)).json()["total"] == 0
    resp = await client.post(f"{BASE}/{item['id']}/read", headers=intruder)
    assert resp.status_code == 404 and resp.headers["content-type"] == PROBLEM
    assert resp.json()["detail"] == "Cette notification n'existe pas."
    assert (await client.post(f"{BASE}/read-all", headers=intruder)).json() == {"marked": 0}
    assert (await client.get(f"{BASE}/unread-count", headers=headers)).json() == {"unread": 2}
    # An officer with the same id on the internal edge is another person's inbox too.
    assert (
        await client.post(f"{BASE}/{item['id']}/read", headers=bearer(keys.officer(uuid.uuid4())))
    ).status_code == 404


async def test_officers_get_their_own_notifications_on_the_internal_edge(
    bus: Any, client: httpx.AsyncClient, keys: Any
) -> None:
    account = new_account()
    await bus.publish(account)
    dossier = submitted(account)
    await bus.publish(dossier)
    officer, other_officer = uuid.uuid4(), uuid.uuid4()
    d = dossier.dossier
    applicant = bearer(keys.applicant(account.account_id))

    async def applicant_told(n: int) -> bool:
        return (await client.get(BASE, headers=applicant)).json()["total"] == n

    # Events follow each other as in real life: transmission, then the officer's request, then the answer.
    await eventually(lambda: applicant_told(1))
    await bus.publish(
        instruction_v1.CompletionRequestedV1(
            case_id=uuid.uuid4(),
            dossier_id=d.dossier_id,
            registration_number=d.registration_number,
            missing=[{"kind": "document", "label": "Permis de chasser"}],
            message="Merci de compléter.",
            requested_by=officer,
            requested_at=now(),
        )
    )
    await eventually(lambda: applicant_told(2))
    await bus.publish(
        dossier_v1.DossierMessagePostedV1(
            message_id=uuid.uuid4(),
            dossier_id=d.dossier_id,
            registration_number=d.registration_number,
            author_account_id=account.account_id,
            body="Voici le permis demandé.",
            posted_at=now(),
        )
    )
    headers = bearer(keys.officer(officer))

    async def told() -> Any:
        return (await client.get(BASE, headers=headers)).json()["items"]

    items = await eventually(told)
    assert items[0]["title"] == f"Commentaire du demandeur sur le dossier {d.registration_number}"
    assert items[0]["body"] == "Voici le permis demandé." and "/officer/dossiers/" in items[0]["link"]
    assert (await client.get(BASE, headers=bearer(keys.officer(other_officer)))).json()["total"] == 0
    pae = bearer(keys.officer(uuid.uuid4(), roles=["pae_agent"]))
    assert (await client.get(f"{BASE}/unread-count", headers=pae)).json() == {"unread": 0}


@pytest.mark.parametrize(
    "who", ["anonymous", "expired", "applicant_on_internal", "officer_on_public", "machine", "unknown_role"]
)
async def test_who_may_not_read_notifications(who: str, client: httpx.AsyncClient, keys: Any) -> None:
    tokens: dict[str, dict[str, str]] = {
        "anonymous": {},
        "expired": bearer(keys.applicant(uuid.uuid4(), ttl=-60)),
        "applicant_on_internal": bearer(keys.token(uuid.uuid4(), roles=["applicant"], audience=INTERNAL_AUDIENCE)),
        "officer_on_public": bearer(keys.token(uuid.uuid4(), roles=["officer"])),
        "machine": bearer(keys.token("admin-x", roles=["machine"], audience=INTERNAL_AUDIENCE, scope="decisions:read")),
        "unknown_role": bearer(keys.token(uuid.uuid4(), roles=["visitor"])),
    }
    expected = 401 if who in ("anonymous", "expired") else 403
    for method, path in [
        ("GET", BASE),
        ("GET", f"{BASE}/unread-count"),
        ("POST", f"{BASE}/read-all"),
        ("POST", f"{BASE}/{uuid.uuid4()}/read"),
    ]:
        resp = await client.request(method, path, headers=tokens[who])
        assert resp.status_code == expected, (who, method, path, resp.text)
        assert resp.headers["content-type"] == PROBLEM
        assert resp.json()["detail"].endswith(".")


async def test_bad_input_answers_422_in_french(client: httpx.AsyncClient, keys: Any) -> None:
    headers = bearer(keys.applicant(uuid.uuid4()))
    resp = await client.post(f"{BASE}/pas-un-uuid/read", headers=headers)
    assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM
    assert resp.json()["errors"][0]["message"] == "Un identifiant (UUID) est attendu."
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"unread_only": "peut-être"}):
        bad = await client.get(BASE, params=params, headers=headers)
        assert bad.status_code == 422, params
        assert bad.json()["detail"].startswith("Certaines données sont invalides")
