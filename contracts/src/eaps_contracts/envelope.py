"""The envelope around every event on the bus. ``event_id`` is also the AMQP message id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from eaps_contracts.base import Event, routing_key_of


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    data: dict[str, Any]

    @property
    def routing_key(self) -> str:
        return routing_key_of(self.type, self.version)

    @classmethod
    def wrap(cls, event: Event, *, correlation_id: uuid.UUID | None = None,
             causation_id: uuid.UUID | None = None, event_id: uuid.UUID | None = None,
             occurred_at: datetime | None = None) -> Envelope:
        eid = event_id or uuid.uuid4()
        return cls(
            event_id=eid,
            type=event.event_type,
            version=event.event_version,
            occurred_at=occurred_at or datetime.now(UTC),
            producer=event.producer(),
            correlation_id=correlation_id or eid,
            causation_id=causation_id,
            data=event.model_dump(mode="json"),
        )
