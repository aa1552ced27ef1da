"""A service assembled by the kit: health, problem+json, migrations at start, and one trace
that joins the HTTP request, the outbox publish and the consumer of another service."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from eaps_contracts.events.documents_v1 import DocumentDeletedV1
from eaps_kit import telemetry
from eaps_kit.db import drop_database
from eaps_kit.messaging import MessageContext, Subscription, add_event
from eaps_kit.problems import ProblemError
from eaps_kit.service import create_service_app
from eaps_kit.settings import ServiceSettings
from eaps_kit.testing import TestKeys, app_client, eventually, test_database_url, unique_suffix
from fastapi import APIRouter, Request
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, Field

MIGRATIONS = Path(__file__).parent / "migrations_fixture"
widgets = sa.Table("widgets", sa.MetaData(), sa.Column("id", sa.Uuid, primary_key=True), sa.Column("name", sa.Text))
effects = sa.Table("effects", sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True),
                   sa.Column("message_id", sa.Text), sa.Column("note", sa.Text))


class WidgetIn(BaseModel):
    name: str = Field(min_length=2, max_length=20)
    count: int = Field(ge=1)


def producer_router() -> APIRouter:
    router = APIRouter()

    @router.post("/widgets", status_code=201)
    async def create_widget(body: WidgetIn, request: Request) -> dict[str, str]:
        if body.name == "interdit":
            raise ProblemError(409, "Ce nom est déjà utilisé.")
        runtime = request.app.state.runtime
        wid = uuid.uuid4()
        async with runtime.session_factory() as s, s.begin():
            await s.execute(sa.insert(widgets).values(id=wid, name=body.name))
            await add_event(s, DocumentDeletedV1(document_id=wid, owner_account_id=uuid.uuid4()))
        return {"id": str(wid)}

    return router


@pytest.fixture
async def two_services():  # type: ignore[no-untyped-def]
    exporter = InMemorySpanExporter()
    telemetry.setup_tracing("kit-tests", exporter=exporter)
    prefix = f"t{unique_suffix()}."
    urls = [test_database_url("kitproducer"), test_database_url("kitconsumer")]
    keys = TestKeys()

    async def on_deleted(ctx: MessageContext) -> None:
        await ctx.session.execute(sa.insert(effects).values(message_id=str(ctx.envelope.event_id), note="seen"))

    producer = create_service_app(
        settings=ServiceSettings(service_name="producer", database_url=urls[0], bus_prefix=prefix,
                                 outbox_poll_seconds=0.2),
        title="producer", description="test", migrations_dir=MIGRATIONS, routers=[producer_router()],
        token_verifier=keys.verifier())
    consumer = create_service_app(
        settings=ServiceSettings(service_name="consumer", database_url=urls[1], bus_prefix=prefix),
        title="consumer", description="test", migrations_dir=MIGRATIONS,
        subscriptions=[Subscription("documents", [DocumentDeletedV1], on_deleted)], token_verifier=keys.verifier())
    async with app_client(consumer) as cc, app_client(producer) as pc:
        yield pc, cc, exporter, consumer
        await producer.state.runtime.broker.delete_declared()
        await consumer.state.runtime.broker.delete_declared()
    for url in urls:
        await drop_database(url)


async def test_health_and_problem_json(two_services) -> None:  # type: ignore[no-untyped-def]
    pc, cc, _, _ = two_services
    live = await pc.get("/health/live")
    assert live.json() == {"status": "ok"}
    ready = await pc.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "broker": True}
    bad = await pc.post("/widgets", json={"name": "x", "count": 0})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert fields["name"].startswith("Ce champ est trop court") and "count" in fields
    notjson = await pc.post("/widgets", content=b"{oops", headers={"content-type": "application/json"})
    assert notjson.status_code == 422 and "JSON" in notjson.text
    conflict = await pc.post("/widgets", json={"name": "interdit", "count": 1})
    assert conflict.status_code == 409 and conflict.json()["detail"] == "Ce nom est déjà utilisé."
    # Text PostgreSQL cannot store is the client's fault: 422, and nothing was written.
    nul = await pc.post("/widgets", json={"name": "a\u0000b", "count": 1})
    assert nul.status_code == 422 and "caractère non autorisé" in nul.json()["detail"]
    missing = await pc.get("/nulle-part")
    assert missing.status_code == 404 and missing.json()["title"] == "Ressource introuvable"
    assert (await pc.get("/openapi.json")).json()["paths"]["/widgets"]["post"]["operationId"] == "create_widget"


async def test_one_trace_joins_request_outbox_publish_and_consumer(two_services) -> None:  # type: ignore[no-untyped-def]
    pc, cc, exporter, consumer = two_services
    exporter.clear()
    resp = await pc.post("/widgets", json={"name": "traced", "count": 1}, headers={"x-request-id": "req-trace-1"})
    assert resp.status_code == 201 and resp.headers["x-request-id"] == "req-trace-1"

    async def consumed() -> bool:
        async with consumer.state.runtime.session_factory() as s:
            return (await s.execute(sa.select(sa.func.count()).select_from(effects))).scalar_one() == 1

    await eventually(consumed)
    spans = await eventually(lambda: [s for s in exporter.get_finished_spans()
                                      if s.name.endswith("process") or s.name.endswith("publish")
                                      or s.name.startswith("POST /widgets")]
                             if len(exporter.get_finished_spans()) else None)
    by_kind = {}
    for s in exporter.get_finished_spans():
        if s.name.startswith("POST /widgets") and s.kind.name == "SERVER":
            by_kind["http"] = s
        elif s.name.endswith(" publish"):
            by_kind["publish"] = s
        elif s.name.endswith(" process"):
            by_kind["consume"] = s
    assert set(by_kind) == {"http", "publish", "consume"}, [s.name for s in spans]
    trace_ids = {s.context.trace_id for s in by_kind.values()}
    assert len(trace_ids) == 1
    assert by_kind["consume"].parent.span_id == by_kind["publish"].context.span_id


def test_wrong_database_url_stops_with_one_clear_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    code = (
        "from eaps_kit.runner import serve\n"
        "from eaps_kit.settings import ServiceSettings\n"
        "s = ServiceSettings(service_name='demo', database_url='postgresql+asyncpg://postgres@127.0.0.1:1/x')\n"
        "serve(lambda: None, s)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("demo: cannot start: database server unreachable at 127.0.0.1:1")
    code = code.replace("database_url='postgresql+asyncpg://postgres@127.0.0.1:1/x'",
                        "amqp_url='amqp://guest:guest@127.0.0.1:1/', "
                        "database_url='postgresql+asyncpg://postgres@127.0.0.1:5432/postgres'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "message broker unreachable" in lines[0], proc.stderr
    assert httpx  # used by the app clients
