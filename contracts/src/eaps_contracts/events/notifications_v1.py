"""Events published by the notifications service, including the public decisions feed."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from eaps_contracts.base import PUBLIC_EXCHANGE, Event
from eaps_contracts.events.common import AuthorisationLine, Flow

# The durable topic exchange reserved to other administrations' consumers (``exchange_of("public")``);
# the notifications service publishes there through its outbox.
PUBLIC_DECISIONS_EXCHANGE = PUBLIC_EXCHANGE
# What happened to an authorisation, as the public feed names it.
DecisionChange = Literal["granted", "refused", "implicit_rejection", "suspended", "reinstated", "revoked", "expired",
                         "exhausted"]


class NotificationDeliveredV1(Event):
    event_type: ClassVar[str] = "notifications.notification.delivered"
    description: ClassVar[str] = "A notification (email, SMS or webhook) was delivered."
    notification_id: uuid.UUID
    channel: Literal["email", "sms", "webhook", "in_app"]
    template: str
    recipient_account_id: uuid.UUID | None = None
    cause_event_id: uuid.UUID | None = None
    delivered_at: datetime


class NotificationFailedV1(Event):
    event_type: ClassVar[str] = "notifications.notification.failed"
    description: ClassVar[str] = "A notification could not be delivered after its retries."
    notification_id: uuid.UUID
    channel: Literal["email", "sms", "webhook", "in_app"]
    template: str
    recipient_account_id: uuid.UUID | None = None
    cause_event_id: uuid.UUID | None = None
    error: str
    failed_at: datetime


class PublicDecisionV1(Event):
    """Published on the exchange reserved to other administrations (``public.decisions``).

    The same body is the ``data`` of the signed webhook deliveries (type ``decision.<change>``).
    Bind a queue to ``public.decisions`` with the routing key ``public.decision.changed.v1``.
    """

    exchange: ClassVar[str] = PUBLIC_DECISIONS_EXCHANGE
    event_type: ClassVar[str] = "public.decision.changed"
    description: ClassVar[str] = (
        "Public feed for other administrations: an authorisation was granted, refused, suspended, reinstated, "
        "revoked or expired.")
    authorisation_number: str | None = None
    registration_number: str
    authorisation_type: str
    change: DecisionChange
    holder_name: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    occurred_at: datetime
    # Optional since the first draft; absent when the producer did not know them.
    authorisation_id: uuid.UUID | None = None
    dossier_id: uuid.UUID | None = None
    flow: Flow | None = None
    origin_country: str | None = None
    destination_country: str | None = None
    reason: str | None = None
    lines: list[AuthorisationLine] = []
