"""The edge's span is the parent of the service's span: one trace, W3C traceparent carried over HTTP."""

from __future__ import annotations

import httpx
from eaps_kit.testing import TestKeys, bearer, eventually
from opentelemetry.trace import SpanKind


def _traceparent(record: dict) -> tuple[str, str]:
    values = [v for k, v in record["headers"] if k.lower() == "traceparent"]
    assert len(values) == 1, values
    _, trace_id, parent_id, _ = values[0].split("-")
    return trace_id, parent_id


async def test_edge_span_is_the_parent_of_the_service_span(public_url: str, keys: TestKeys, span_exporter) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/v1/dossiers/traced", headers=bearer(keys.applicant()))
    assert resp.status_code == 200
    trace_id, client_span_id = _traceparent(resp.json())

    def spans_of_trace() -> dict[str, object] | None:
        spans = {format(s.context.span_id, "016x"): s for s in span_exporter.get_finished_spans()
                 if format(s.context.trace_id, "032x") == trace_id}
        servers = [s for s in spans.values() if s.kind == SpanKind.SERVER]
        return spans if len(servers) == 2 and client_span_id in spans else None

    spans = await eventually(spans_of_trace)
    client_span = spans[client_span_id]
    assert client_span.kind == SpanKind.CLIENT
    edge_span = spans[format(client_span.parent.span_id, "016x")]
    assert edge_span.kind == SpanKind.SERVER
    assert edge_span.parent is None  # the trace starts at the edge
    service_span = next(s for s in spans.values() if s.kind == SpanKind.SERVER and s is not edge_span)
    assert format(service_span.parent.span_id, "016x") == client_span_id


async def test_callers_trace_context_is_continued(public_url: str) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.get("/api/v1/classification/items/1",
                                headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    seen_trace, parent = _traceparent(resp.json())
    assert seen_trace == trace_id
    assert parent != "00f067aa0ba902b7"  # the service's parent is the edge's span, not the caller's
