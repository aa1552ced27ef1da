"""Writing events into the outbox inside the caller's transaction."""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

import orjson
import sqlalchemy as sa
from eaps_contracts.base import Event, exchange_of
from eaps_contracts.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from eaps_kit import telemetry
from eaps_kit.messaging.tables import outbox_table

_md = sa.MetaData()
_outbox = outbox_table(_md)

# The envelope being handled by a consumer, so that events it causes carry causation and correlation.
current_envelope: contextvars.ContextVar[Envelope | None] = contextvars.ContextVar("eaps_current_envelope",
                                                                                   default=None)
# The HTTP request's correlation id (set by the request-id middleware).
current_correlation_id: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar("eaps_correlation_id",
                                                                                         default=None)


async def add_event(session: AsyncSession, event: Event, *, correlation_id: uuid.UUID | None = None,
                    causation_id: uuid.UUID | None = None) -> Envelope:
    """Stage ``event`` in the outbox; it is published only if the session's transaction commits."""
    cause = current_envelope.get()
    if cause is not None:
        correlation_id = correlation_id or cause.correlation_id
        causation_id = causation_id or cause.event_id
    correlation_id = correlation_id or current_correlation_id.get()
    envelope = Envelope.wrap(event, correlation_id=correlation_id, causation_id=causation_id)
    headers: dict[str, Any] = telemetry.inject_headers()
    await session.execute(sa.insert(_outbox).values(
        event_id=envelope.event_id,
        exchange=exchange_of(envelope.producer),
        routing_key=envelope.routing_key,
        body=orjson.loads(envelope.model_dump_json()),
        headers=headers,
    ))
    return envelope
