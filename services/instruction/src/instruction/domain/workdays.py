"""Working days in France: Monday to Friday except public holidays (``holidays`` library)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year).keys())


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in _public_holidays(d.year)


def working_days_between(start: date, end: date) -> int:
    """Working days d with start < d <= end (0 when end <= start)."""
    count = 0
    d = start
    while d < end:
        d += timedelta(days=1)
        if is_working_day(d):
            count += 1
    return count


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` (``start`` itself when n <= 0)."""
    d = start
    while n > 0:
        d += timedelta(days=1)
        if is_working_day(d):
            n -= 1
    return d
