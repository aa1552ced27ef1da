"""Messaging kit: transactional outbox, relay, idempotent consumers, retries and dead letters.

Handlers never import aio-pika: they receive a :class:`MessageContext` (an open database
session inside the handler's transaction, the envelope and the parsed event).
"""

from eaps_kit.messaging.broker import Broker
from eaps_kit.messaging.consumer import ConsumerRunner, MessageContext, PermanentError, Subscription
from eaps_kit.messaging.deadletters import DeadLetter, DeadLetters
from eaps_kit.messaging.outbox import add_event, current_envelope
from eaps_kit.messaging.relay import OutboxRelay
from eaps_kit.messaging.tables import create_messaging_tables, inbox_table, outbox_table

__all__ = [
    "Broker", "ConsumerRunner", "DeadLetter", "DeadLetters", "MessageContext", "OutboxRelay",
    "PermanentError", "Subscription", "add_event", "create_messaging_tables", "current_envelope",
    "inbox_table", "outbox_table",
]
