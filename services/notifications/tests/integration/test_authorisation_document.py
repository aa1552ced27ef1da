"""The authorisation's PDF (instruction.authorisation.document_issued, after decision.issued which
may carry no PDF yet): the holder gets an in-app notification linked to the authorisation, once
whatever the redeliveries, and nobody else sees it; no second email follows the decision's."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from eaps_contracts.events import instruction_v1
from eaps_kit.testing import bearer, eventually
from notif_helpers import authorisation_snapshot, new_account, now, rows, submitted
from notifications.adapters.orm import messages

BASE = "/api/v1/notifications"


def _pdf_issued(auth: dict[str, Any], dossier_id: uuid.UUID, account_id: uuid.UUID) -> Any:
    return instruction_v1.AuthorisationDocumentIssuedV1(
        authorisation_id=auth["authorisation_id"],
        number=auth["number"],
        dossier_id=dossier_id,
        holder_account_id=account_id,
        document_id=uuid.uuid4(),
        verification_code="K7Q2-9XPA",
        issued_at=now(),
    )


async def _titled(client: httpx.AsyncClient, headers: dict[str, str], title: str) -> list[dict[str, Any]]:
    body = (await client.get(BASE, headers=headers)).json()
    return [i for i in body["items"] if i["title"] == title]


async def test_the_holder_is_told_in_the_app_that_the_pdf_is_available(
    bus: Any, client: httpx.AsyncClient, keys: Any, runtime: Any
) -> None:
    account = new_account()
    await bus.publish(account)
    dossier = submitted(account)
    await bus.publish(dossier)
    d = dossier.dossier
    auth = authorisation_snapshot(account.account_id)
    await bus.publish(
        instruction_v1.DecisionIssuedV1(
            decision_id=uuid.uuid4(),
            case_id=uuid.uuid4(),
            dossier_id=d.dossier_id,
            registration_number=d.registration_number,
            outcome="granted",
            issued_at=now(),
            authorisation=auth,
        )
    )
    headers = bearer(keys.applicant(account.account_id))
    decision_title = f"Décision : demande {d.registration_number} accordée"
    await eventually(lambda: _titled(client, headers, decision_title))

    event = _pdf_issued(auth, d.dossier_id, account.account_id)
    first = await bus.publish(event)
    title = f"Votre autorisation {auth['number']} est disponible (PDF)"
    [item] = await eventually(lambda: _titled(client, headers, title))
    assert item["kind"] == "authorisation_document_issued" and item["read"] is False
    assert item["authorisation_id"] == str(auth["authorisation_id"])
    assert item["authorisation_number"] == auth["number"]
    assert item["dossier_id"] == str(d.dossier_id) and item["registration_number"] == d.registration_number
    assert item["link"].endswith(f"/autorisations/{auth['authorisation_id']}")
    assert f"demande {d.registration_number}" in item["body"] and "K7Q2-9XPA" in item["body"]
    assert "Afficher mes autorisations" in item["body"]

    # Redelivered (same message id), then a later event on the same queue: once that one is
    # visible, the duplicate was consumed before it, with no second notification.
    await bus.publish(event, envelope=first)
    other = authorisation_snapshot(account.account_id)
    await bus.publish(_pdf_issued(other, d.dossier_id, account.account_id))
    await eventually(lambda: _titled(client, headers, f"Votre autorisation {other['number']} est disponible (PDF)"))
    assert len(await _titled(client, headers, title)) == 1
    # In the app only: the decision's email already points to the authorisations page.
    assert await rows(runtime, sa.select(messages).where(messages.c.cause_event_id == first.event_id)) == []

    # Another applicant never sees it, nor marks it read.
    intruder = bearer(keys.applicant(uuid.uuid4()))
    assert (await client.get(BASE, headers=intruder)).json()["total"] == 0
    r = await client.post(f"{BASE}/{item['id']}/read", headers=intruder)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert (await _titled(client, headers, title))[0]["read"] is False


async def test_a_pdf_of_an_authorisation_not_learnt_yet_still_reaches_its_holder(
    bus: Any, client: httpx.AsyncClient, keys: Any
) -> None:
    # Neither the dossier nor the decision was consumed here (e.g. a dossier older than this
    # service's data): the event carries the holder and the authorisation, which is enough.
    account_id = uuid.uuid4()
    auth = authorisation_snapshot(account_id)
    dossier_id = uuid.uuid4()
    await bus.publish(_pdf_issued(auth, dossier_id, account_id))
    headers = bearer(keys.applicant(account_id))
    [item] = await eventually(
        lambda: _titled(client, headers, f"Votre autorisation {auth['number']} est disponible (PDF)")
    )
    assert item["registration_number"] is None and item["dossier_id"] == str(dossier_id)
    assert item["authorisation_id"] == str(auth["authorisation_id"])
    assert "(demande" not in item["body"]
