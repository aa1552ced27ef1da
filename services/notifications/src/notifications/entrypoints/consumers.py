"""One queue per producer: identity, documents, dossier and instruction events."""

from collections.abc import Sequence

from eaps_kit.messaging import Subscription

from notifications.service_layer.handlers import Notifier


def make_subscriptions(notifier: Notifier) -> Sequence[Subscription]:
    return [
        Subscription(purpose=f"{producer}-events", events=notifier.events_of(producer), handler=notifier.handle)
        for producer in ("identity", "documents", "dossier", "instruction")
    ]
