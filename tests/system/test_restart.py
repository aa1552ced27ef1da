"""Objects, rows and queued messages survive a restart of the stack (issue 2).

An applicant has a document in their library, a draft dossier and a transmitted dossier whose
case is open. The instruction service alone is then stopped (the supervisor is frozen meanwhile,
since it stops the whole stack when one of its processes exits) and a second dossier is
transmitted: its event waits in the instruction service's queue, with no consumer. The whole
stack is then stopped (SIGTERM to the supervisor) and started again (deploy/local/run.py): the
document downloads with the same bytes (S3 objects under var/s3), both dossiers are unchanged,
and the queued event opens the second case."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any

import aio_pika
import httpx
import pytest
from eaps_kit.testing import eventually
from system_testkit import (
    Applicant,
    assert_problem,
    attach,
    bearer,
    dossier,
    fill_and_transmit,
    hunter_draft,
    parties,
    pdf_bytes,
    register_hunter,
    unique,
    upload_document,
    wait_case,
    wait_status,
    wait_step_valid,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(900)]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
INSTRUCTION_QUEUE = "instruction.dossier-events"  # the stack runs with an empty bus prefix


async def queue_state(name: str) -> tuple[int, int]:
    """(ready messages, consumers) of a queue, as the broker reports them (passive declare)."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        result = queue.declaration_result
        return result.message_count or 0, result.consumer_count or 0


async def ready_to_transmit(public: httpx.AsyncClient, a: Applicant, d: dict[str, Any]) -> dict[str, Any]:
    """Steps 1 to 3 of a hunter's dossier (parties, every justificatif uploaded and clean)."""
    r = await public.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=bearer(a.token))
    assert r.status_code == 200, r.text
    r = await public.put(f"/api/v1/dossiers/{d['id']}/demandeur", json=parties(a),
                         headers=bearer(a.token, r.json()["version"]))
    assert r.status_code == 200, r.text
    d = r.json()
    for j in d["justificatifs"]:
        if j["state"] != "disponible":
            doc = await upload_document(public, a.token, j["code"], f"{j['label']} — {a.last_name}")
            d = await attach(public, a.token, d, j["code"], doc["id"])
    return await wait_step_valid(public, a.token, d["id"])


async def test_documents_dossiers_and_a_queued_submission_survive_a_restart_of_the_stack(
        stack, public: httpx.AsyncClient, internal: httpx.AsyncClient, officer) -> None:  # type: ignore[no-untyped-def]
    other = stack.owned_by_another_session()
    if other is not None:
        pytest.skip(f"the running stack belongs to another live test session (pytest pid {other}): "
                    "restarting it would break that session's tests")
    a = await register_hunter(public)
    # A document in the applicant's library, scanned and available.
    content = pdf_bytes("Facture de l'armurerie", f"durabilité {unique()}")
    r = await public.post("/api/v1/documents", headers=bearer(a.token),
                          files={"file": ("facture.pdf", content, "application/pdf")},
                          data={"title": "Facture d'électricité", "document_type": "DOM"})
    assert r.status_code == 201, r.text
    document_id = r.json()["id"]

    async def available() -> dict[str, Any] | None:
        d = (await public.get(f"/api/v1/documents/{document_id}", headers=bearer(a.token))).json()
        return d if d["status"] == "available" else None
    document = await eventually(available, timeout=60, interval=0.3)

    draft = await dossier(public, a.token, (await hunter_draft(public, a))["dossier"]["id"])
    first, first_number = await fill_and_transmit(public, a, (await hunter_draft(public, a))["dossier"])
    first_case = await wait_case(internal, await officer.token(), first_number)
    first = await wait_status(public, a.token, first["id"], "en_etude")
    second = await ready_to_transmit(public, a, (await hunter_draft(public, a))["dossier"])

    frozen: int | None = None
    try:
        # Only the instruction service stops; the supervisor is frozen so that it does not take
        # that exit for a crash and stop everything.
        frozen = stack.supervisor_pid()
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        os.killpg(stack.service_pid("instruction"), signal.SIGTERM)
        await eventually(lambda: not stack.listening_pids_of("instruction"), timeout=60, interval=0.3)
        assert_problem(await internal.get("/api/v1/instruction/cases", headers=bearer(await officer.token())),
                       502, "instruction")

        r = await public.post(f"/api/v1/dossiers/{second['id']}/transmission",
                              headers=bearer(a.token, second["version"]))
        assert r.status_code == 200, r.text
        second_number = r.json()["registration_number"]

        async def waiting_in_the_queue() -> bool:
            messages, consumers = await queue_state(INSTRUCTION_QUEUE)
            return messages >= 1 and consumers == 0
        await eventually(waiting_in_the_queue, timeout=60, interval=0.3)
        assert (await dossier(public, a.token, second["id"]))["status"]["code"] == "transmise"

        stack.restart()  # SIGTERM (and SIGCONT) to the supervisor, wait, deploy/local/run.py again
        frozen = None

        # The document: same metadata, same bytes, from the S3 objects kept on disk.
        r = await public.get(f"/api/v1/documents/{document_id}", headers=bearer(a.token))
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in ("status", "sha256", "size", "filename")} == {
            k: document[k] for k in ("status", "sha256", "size", "filename")}
        r = await public.get(f"/api/v1/documents/{document_id}/content", headers=bearer(a.token))
        assert r.status_code == 200 and r.content == content

        # The draft and the transmitted dossier, unchanged; the first case is still the only one.
        assert await dossier(public, a.token, draft["id"]) == draft
        assert await dossier(public, a.token, first["id"]) == first
        assert (await wait_case(internal, await officer.token(), first_number))["id"] == first_case["id"]

        # The submission queued while the instruction service was down opens its case now.
        second_case = await wait_case(internal, await officer.token(), second_number, bound=90)
        assert second_case["status"] == "en_etude" and second_case["dossier_id"] == second["id"]
        await wait_status(public, a.token, second["id"], "en_etude", bound=60)
    finally:
        if frozen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(frozen, signal.SIGCONT)
        stack.ensure_running()  # a stack that was running is running again, whatever happened
