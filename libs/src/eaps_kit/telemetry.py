"""OpenTelemetry set up once per process, W3C trace context through HTTP, AMQP and the outbox,
and JSON logs that carry the trace id and the request id."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("eaps_request_id", default=None)

_provider: TracerProvider | None = None


def setup_tracing(service_name: str, *, otlp_endpoint: str | None = None,
                  exporter: SpanExporter | None = None) -> TracerProvider:
    """Install the process's tracer provider (first call wins; later calls add exporters)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(_provider)
    if exporter is not None:
        _provider.add_span_processor(SimpleSpanProcessor(exporter))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    return _provider


def tracer(name: str = "eaps") -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers() -> dict[str, Any]:
    carrier: dict[str, Any] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers: dict[str, Any] | None) -> otel_context.Context:
    carrier = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in (headers or {}).items()}
    return propagate.extract(carrier)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if span.is_valid:
            out["trace_id"] = format(span.trace_id, "032x")
            out["span_id"] = format(span.span_id, "016x")
        rid = request_id_var.get()
        if rid:
            out["request_id"] = rid
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "INFO", *, json_logs: bool = True, service: str | None = None) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service or ''} %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiormq", "aio_pika", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel("WARNING")
    logging.getLogger("alembic").setLevel("WARNING")
