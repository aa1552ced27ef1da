"""Retry schedules and the status vocabulary (data in labels.yaml)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notifications.domain import labels
from notifications.domain.retry import MESSAGE_DELAYS, WEBHOOK_DELAYS, next_delay, total_span


def test_webhooks_are_retried_for_more_than_24_hours_with_growing_delays() -> None:
    assert total_span(WEBHOOK_DELAYS) >= timedelta(hours=24)
    assert list(WEBHOOK_DELAYS) == sorted(WEBHOOK_DELAYS)
    assert next_delay(1, WEBHOOK_DELAYS) == timedelta(seconds=5)
    assert next_delay(len(WEBHOOK_DELAYS), WEBHOOK_DELAYS) == timedelta(hours=10)
    assert next_delay(len(WEBHOOK_DELAYS) + 1, WEBHOOK_DELAYS) is None


def test_messages_back_off_then_give_up() -> None:
    delays = [next_delay(n, MESSAGE_DELAYS) for n in range(1, len(MESSAGE_DELAYS) + 2)]
    assert delays[:-1] == sorted(d for d in delays if d is not None) and delays[-1] is None
    assert next_delay(0, MESSAGE_DELAYS) is None


@pytest.mark.parametrize(
    "code, label, change",
    [
        ("suspended", "suspendue", "suspended"),
        ("SUSPENDUE", "suspendue", "suspended"),
        ("Abrogée", "abrogée", "revoked"),
        ("expired", "expirée", "expired"),
        ("SOLDÉE", "soldée", "exhausted"),
        ("valid", "valide", "reinstated"),
        ("remplacee", "remplacée", None),
        ("inconnu_x", "inconnu_x", None),
    ],
)
def test_authorisation_status_codes_map_to_french_labels_and_public_changes(
    code: str, label: str, change: str | None
) -> None:
    info = labels.authorisation_status(code)
    assert (info.label, info.change) == (label, change)


def test_webhook_event_types_cover_every_public_change() -> None:
    from typing import get_args

    from eaps_contracts.events.notifications_v1 import PublicDecisionV1

    changes = get_args(PublicDecisionV1.model_fields["change"].annotation)
    assert sorted(labels.webhook_event_types()) == sorted(f"decision.{c}" for c in changes)


def test_outcomes_are_french() -> None:
    assert labels.outcome_label("granted") == "accordée" and labels.outcome_label("refused") == "refusée"


def test_production_requires_https_webhooks() -> None:
    from notifications.config import Settings

    assert Settings(environment="prod", internal_token="a-real-secret").webhook_require_https is True
    assert Settings(environment="dev").webhook_require_https is False
