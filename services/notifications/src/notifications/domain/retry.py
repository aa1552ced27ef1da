"""Retry schedules: the delay before attempt n+1 after attempt n failed, or None when it is over."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

# Webhooks: the Standard Webhooks schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h):
# eight attempts spread over 27 h 35 min, then the delivery is dead.
WEBHOOK_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
# Email and SMS: transient failures (server unreachable, 4xx) are retried for about 3 hours.
MESSAGE_DELAYS: tuple[float, ...] = (10, 60, 300, 1800, 7200)


def next_delay(attempts_done: int, delays: Sequence[float]) -> timedelta | None:
    """``attempts_done`` attempts failed; how long until the next one (None: give up)."""
    if attempts_done < 1 or attempts_done > len(delays):
        return None
    return timedelta(seconds=delays[attempts_done - 1])


def total_span(delays: Sequence[float]) -> timedelta:
    return timedelta(seconds=sum(delays))
