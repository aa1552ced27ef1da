"""Shared fixtures: the real instruction app on a fresh PostgreSQL database and a private bus
prefix on the local RabbitMQ, a movable clock, token factories, and helpers that play the
dossier service (publishing its events) and watch what instruction publishes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import orjson
import pytest
from eaps_contracts.base import Event, exchange_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.events.common import AttachedDocument, MaterialLine
from eaps_contracts.events.dossier_v1 import ApplicantSnapshot, DossierSnapshot, DossierSubmittedV1
from eaps_kit.db import drop_database
from eaps_kit.messaging import Broker
from eaps_kit.testing import TestKeys, app_client, bearer, eventually, test_database_url
from instruction.config import Settings
from instruction.domain.clock import MovableClock
from instruction.main import create_app

AMQP = "amqp://guest:guest@127.0.0.1:5672/"


class BusProbe:
    """Publishes events as another producer would, and records what instruction publishes."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.broker = Broker(AMQP, prefix)
        self.received: list[Envelope] = []
        self._conn: Any = None

    async def start(self) -> None:
        await self.broker.connect()
        self._conn = await aio_pika.connect_robust(AMQP)
        ch = await self._conn.channel()
        ex = await ch.declare_exchange(f"{self.prefix}{exchange_of('instruction')}", aio_pika.ExchangeType.TOPIC,
                                       durable=True)
        self.broker.declared_exchanges.add(ex.name)
        q = await ch.declare_queue(exclusive=True, auto_delete=True)
        await q.bind(ex, "#")

        async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with msg.process():
                self.received.append(Envelope.model_validate(orjson.loads(msg.body)))

        await q.consume(on_message)

    async def publish(self, event: Event, *, event_id: uuid.UUID | None = None) -> Envelope:
        env = Envelope.wrap(event)
        if event_id is not None:
            env = env.model_copy(update={"event_id": event_id})
        await self.broker.publish(exchange_of(event.producer()), event.routing_key(), env.model_dump_json().encode(),
                                  message_id=str(env.event_id), message_type=env.type)
        return env

    def of_type(self, event_type: str, **match: Any) -> list[dict[str, Any]]:
        out = []
        for env in self.received:
            if env.type == event_type and all(str(env.data.get(k)) == str(v) for k, v in match.items()):
                out.append(env.data)
        return out

    async def wait_for(self, event_type: str, **match: Any) -> dict[str, Any]:
        found = await eventually(lambda: self.of_type(event_type, **match))
        return found[-1]  # type: ignore[no-any-return]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._conn.close()
        with contextlib.suppress(Exception):
            await self.broker.delete_declared()
        await self.broker.close()


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
def clock() -> MovableClock:
    # A Monday morning in Paris, away from public holidays.
    return MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def bus_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture(scope="session")
def settings(bus_prefix: str) -> Settings:
    return Settings(database_url=test_database_url("instruction"), bus_prefix=bus_prefix, environment="test",
                    outbox_poll_seconds=0.2, jobs_interval_seconds=0.2, log_json=False,
                    internal_token="test-internal-token",
                    # Nothing listens there: PDFs stay pending unless a test serves a documents service.
                    documents_url="http://127.0.0.1:9")


@pytest.fixture(scope="session")
async def probe(bus_prefix: str) -> AsyncIterator[BusProbe]:
    p = BusProbe(bus_prefix)
    await p.start()
    yield p
    await p.close()


@pytest.fixture(scope="session")
async def app(settings: Settings, keys: TestKeys, clock: MovableClock, probe: BusProbe) -> AsyncIterator[Any]:
    application = create_app(settings, token_verifier=keys.verifier(), clock=clock)
    async with app_client(application) as client:
        application.state.test_client = client
        yield application
        runtime = application.state.runtime
        with contextlib.suppress(Exception):
            await runtime.broker.delete_declared()
    await drop_database(settings.database_url)


@pytest.fixture(scope="session")
def client(app: Any) -> Any:
    return app.state.test_client


@pytest.fixture(scope="session")
def officer_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture(scope="session")
def supervisor_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture(scope="session")
def as_officer(keys: TestKeys, officer_id: uuid.UUID) -> dict[str, str]:
    return bearer(keys.officer(officer_id, ttl=3600 * 4))


@pytest.fixture(scope="session")
def as_supervisor(keys: TestKeys, supervisor_id: uuid.UUID) -> dict[str, str]:
    return bearer(keys.officer(supervisor_id, roles=["supervisor"], ttl=3600 * 4))


@pytest.fixture(scope="session")
def as_customs(keys: TestKeys) -> dict[str, str]:
    """A machine client of another administration allowed to report quantities used."""
    return bearer(keys.token(uuid.uuid4(), roles=["machine"], audience="eaps-internal", access_level=None,
                             scope="imputations:write", ttl=3600 * 4))


_counter = iter(range(1, 10**6))


def make_snapshot(*, authorisation_type: str = "AIMG", flow: str = "IMP", kind: str = "professional",
                  lines: list[MaterialLine] | None = None, origin: str = "US", destination: str = "FR",
                  submission_no: int = 1, dossier_id: uuid.UUID | None = None, motive: str = "achat",
                  registration_number: str | None = None, account_id: uuid.UUID | None = None) -> DossierSnapshot:
    n = next(_counter)
    return DossierSnapshot(
        dossier_id=dossier_id or uuid.uuid4(),
        registration_number=registration_number or f"EAPS-2026-{uuid.uuid4().hex[:6].upper()}{n}",
        submission_no=submission_no, submitted_at=datetime.now(UTC),
        applicant=ApplicantSnapshot(account_id=account_id or uuid.uuid4(), kind=kind,
                                    profile="armurier" if kind == "professional" else "chasseur",
                                    company_name="Armurerie du Centre" if kind == "professional" else None,
                                    first_name=None if kind == "professional" else "Jeanne",
                                    last_name=None if kind == "professional" else "Dupont",
                                    address={"line1": "3 rue des Forges", "postal_code": "18000", "city": "Bourges",
                                             "country": "FR"}),
        flow=flow, origin_country=origin, destination_country=destination, authorisation_type=authorisation_type,
        ruleset_version="2026-01", motive=motive,
        lines=lines or [
            MaterialLine(line_no=1, classification_code="B-1", designation="Pistolet semi-automatique",
                         calibre="9x19", quantity=10, unit_value_eur="450.00"),
            MaterialLine(line_no=2, classification_code="C-1-c", designation="Fusil de chasse à un coup",
                         calibre="12", quantity=5, unit_value_eur="800.00"),
        ],
        attachments=[AttachedDocument(document_code="AFCI", document_id=uuid.uuid4(), filename="afci.pdf")],
    )


class Journey:
    """Drives a case through the API like the officers' portal does."""

    def __init__(self, client: Any, probe: BusProbe, officer: dict[str, str], supervisor: dict[str, str]) -> None:
        self.client, self.probe, self.officer, self.supervisor = client, probe, officer, supervisor

    async def submit(self, **kw: Any) -> tuple[DossierSnapshot, str]:
        snap = make_snapshot(**kw)
        await self.probe.publish(DossierSubmittedV1(dossier=snap))
        opened = await self.probe.wait_for("instruction.case.opened", dossier_id=snap.dossier_id)
        return snap, opened["case_id"]

    async def case(self, case_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/instruction/cases/{case_id}", headers=self.officer)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def post(self, path: str, body: Any = None, *, who: dict[str, str] | None = None,
                   expect: int | None = None) -> Any:
        r = await self.client.post(f"/api/v1/instruction{path}", json=body, headers=who or self.officer)
        if expect is not None:
            assert r.status_code == expect, r.text
        return r

    async def to_instruction(self, **kw: Any) -> tuple[DossierSnapshot, str]:
        snap, case_id = await self.submit(**kw)
        await self.post(f"/cases/{case_id}/take", expect=204)
        await self.post(f"/cases/{case_id}/admissibility", {"decision": "recevable"}, expect=204)
        return snap, case_id

    async def grant(self, body: dict[str, Any] | None = None, **kw: Any) -> tuple[str, dict[str, Any]]:
        _, case_id = await self.to_instruction(**kw)
        r = await self.post(f"/cases/{case_id}/proposals", {"outcome": "granted", **(body or {})}, expect=201)
        r = await self.post(f"/cases/{case_id}/proposals/{r.json()['id']}/signature", who=self.supervisor,
                            expect=201)
        return case_id, r.json()["authorisation"]


@pytest.fixture(scope="session")
def journey(client: Any, probe: BusProbe, as_officer: dict[str, str], as_supervisor: dict[str, str]) -> Journey:
    return Journey(client, probe, as_officer, as_supervisor)




@pytest.fixture(scope="session")
def snapshot() -> Any:
    """The factory of dossier snapshots (test modules cannot import conftest under importlib)."""
    return make_snapshot
