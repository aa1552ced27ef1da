"""The broker cut off from one service (issue 2): a dossier transmitted while the dossier service
cannot reach RabbitMQ waits in its outbox, then reaches the instruction service, which opens
exactly one case, once the connection is back. The dossier service is assembled in this process
behind a TCP proxy to RabbitMQ that the test cuts (the stack's services connect directly)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from eaps_kit.messaging.tables import outbox_table
from eaps_kit.testing import TcpProxy, eventually
from system_inprocess import applicant_token, bearer, museum_dossier, services

pytestmark = pytest.mark.fault

outbox = outbox_table(sa.MetaData())


async def test_a_submission_waits_in_the_outbox_while_the_broker_is_cut_off_then_opens_one_case():
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    try:
        async with services(dossier_amqp_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/") as env:
            token, _ = applicant_token(env.keys)
            officer = bearer(env.keys.officer())
            d = await museum_dossier(env.edge, token)
            factory = env.dossier.state.runtime.session_factory

            async def submitted_rows() -> list[sa.Row]:  # type: ignore[type-arg]
                async with factory() as s:
                    return list((await s.execute(sa.select(outbox).where(
                        outbox.c.routing_key == "dossier.dossier.submitted.v1"))).all())

            async def cases() -> list[dict]:  # type: ignore[type-arg]
                r = await env.instruction_client.get("/api/v1/instruction/cases",
                                                     params={"registration_number": number}, headers=officer)
                assert r.status_code == 200, r.text
                return list(r.json()["items"])

            await proxy.cut()
            try:
                # The applicant still transmits: the state change and its event commit together.
                r = await env.edge.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=bearer(token, d["version"]))
                assert r.status_code == 200, r.text
                number = r.json()["registration_number"]

                async def waiting() -> bool:  # the relay tried, failed, and keeps the event
                    rows = await submitted_rows()
                    return len(rows) == 1 and rows[0].published_at is None and rows[0].attempts >= 1
                await eventually(waiting, timeout=60)
                assert await cases() == []  # nothing reached the instruction service
            finally:
                await proxy.restore()

            async def published() -> bool:
                rows = await submitted_rows()
                return len(rows) == 1 and rows[0].published_at is not None
            await eventually(published, timeout=90, interval=0.3)
            opened = await eventually(cases, timeout=30)
            assert [c["registration_number"] for c in opened] == [number]
            assert opened[0]["status"] == "en_etude" and opened[0]["authorisation_type"] == "AP-INT"

            async def applicant_sees_en_etude() -> bool:  # the case.opened event came back to the dossier
                r = await env.edge.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(token))
                return r.json()["status"]["code"] == "en_etude"
            await eventually(applicant_sees_en_etude, timeout=60)
            async with factory() as s:  # delivered once: still one submitted event, published once
                rows = (await s.execute(sa.select(outbox.c.event_id).where(
                    outbox.c.routing_key == "dossier.dossier.submitted.v1"))).all()
            assert len(rows) == 1
    finally:
        await proxy.restore()
        await proxy.close()
