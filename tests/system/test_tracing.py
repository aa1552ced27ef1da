"""One trace id joins the public edge's span, the dossier service's span, the outbox publish of
`dossier.dossier.submitted.v1` and the instruction service's consumer span (issue 2). The stack
runs in other processes, so the services are assembled in this process around an in-memory
span exporter."""

from __future__ import annotations

from typing import Any

from eaps_kit import telemetry
from eaps_kit.testing import eventually
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from system_inprocess import applicant_token, bearer, museum_dossier, services


def _ancestors(span: Any, by_id: dict[int, Any]) -> list[int]:
    out = []
    while span.parent is not None:
        out.append(span.parent.span_id)
        span = by_id.get(span.parent.span_id)
        if span is None:
            break
    return out


async def test_one_trace_from_the_edge_to_the_consumer_in_another_service():
    exporter = InMemorySpanExporter()
    telemetry.setup_tracing("system-tests", exporter=exporter)
    async with services() as env:
        token, _ = applicant_token(env.keys)
        d = await museum_dossier(env.edge, token)
        exporter.clear()
        r = await env.edge.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=bearer(token, d["version"]))
        assert r.status_code == 200, r.text
        number = r.json()["registration_number"]

        officer = bearer(env.keys.officer())

        async def case_opened() -> bool:
            r = await env.instruction_client.get("/api/v1/instruction/cases", params={"registration_number": number},
                                                 headers=officer)
            return r.status_code == 200 and r.json()["total"] == 1
        await eventually(case_opened)

        consumer_queue = f"{env.prefix}instruction.dossier-events process"

        def spans() -> dict[str, Any] | None:
            found: dict[str, Any] = {}
            for s in exporter.get_finished_spans():
                if s.kind.name == "SERVER" and s.name == "POST /{path:path}":
                    found["edge"] = s
                elif s.kind.name == "SERVER" and s.name == "POST /api/v1/dossiers/{dossier_id}/transmission":
                    found["service"] = s
                elif s.name == "dossier.dossier.submitted.v1 publish":
                    found["publish"] = s
                elif s.name == consumer_queue:
                    found["consume"] = s
            return found if len(found) == 4 else None
        found = await eventually(spans)

    assert len({s.context.trace_id for s in found.values()}) == 1, {k: s.context.trace_id for k, s in found.items()}
    by_id = {s.context.span_id: s for s in exporter.get_finished_spans()}
    # the service's request descends from the edge's (through the edge's HTTP client span)
    assert found["edge"].context.span_id in _ancestors(found["service"], by_id)
    # the outbox publish, run later by the relay, descends from the service's request
    assert found["service"].context.span_id in _ancestors(found["publish"], by_id)
    # the consumer in the instruction service is the child of the publish
    assert found["consume"].parent is not None
    assert found["consume"].parent.span_id == found["publish"].context.span_id
    assert found["consume"].attributes["messaging.destination.name"] == f"{env.prefix}instruction.dossier-events"
