"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from notifications.domain.labels import webhook_event_types
from notifications.webhook_signature import is_valid_secret


class NotificationRead(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    dossier_id: uuid.UUID | None
    registration_number: str | None
    authorisation_id: uuid.UUID | None
    authorisation_number: str | None
    link: str | None
    created_at: datetime
    read_at: datetime | None
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    total: int
    unread: int
    limit: int
    offset: int


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Une adresse URL en http ou https est attendue.")
    if parts.username or parts.password:
        raise ValueError("L'adresse ne doit pas contenir d'identifiants.")
    return value


def _check_event_types(value: list[str]) -> list[str]:
    allowed = webhook_event_types()
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ValueError(f"Type d'événement inconnu : {', '.join(unknown)} ; types possibles : {', '.join(allowed)}.")
    return sorted(set(value))


def _check_secret(value: str) -> str:
    if not is_valid_secret(value):
        raise ValueError("Le secret doit être « whsec_ » suivi d'au moins 16 octets encodés en base64.")
    return value


WebhookUrl = Annotated[str, Field(min_length=8, max_length=2000), AfterValidator(_check_url)]
EventTypes = Annotated[list[str], Field(min_length=1, max_length=20), AfterValidator(_check_event_types)]
Secret = Annotated[str, Field(max_length=200), AfterValidator(_check_secret)]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl
    event_types: EventTypes
    description: str | None = Field(default=None, max_length=500)
    secret: Secret | None = None


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class SecretRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # How long the previous secret stays valid beside the new one.
    overlap_hours: float = Field(default=24.0, ge=0, le=168)
    secret: Secret | None = None


class EndpointRead(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointRead):
    secret: str


class SecretRotated(BaseModel):
    endpoint_id: uuid.UUID
    secret: str
    previous_secret_expires_at: datetime


DeliveryStatus = Literal["pending", "delivered", "dead", "cancelled"]


class AttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: str
    endpoint_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None


class DeliveryDetail(DeliveryRead):
    payload: dict[str, Any]
    attempt_log: list[AttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int
    limit: int
    offset: int


class DeliveryCounts(BaseModel):
    pending: int = 0
    delivered: int = 0
    dead: int = 0
    cancelled: int = 0


class SupervisedEndpointRead(BaseModel):
    """A machine client's endpoint as supervisors see it: never its secrets."""

    id: uuid.UUID
    client_id: str
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    deliveries: DeliveryCounts


class EventTypeRead(BaseModel):
    type: str
    schema_: str = Field(serialization_alias="schema")
