"""Events published by the classification service."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from eaps_contracts.base import Event


class RulesetPublishedV1(Event):
    event_type: ClassVar[str] = "classification.ruleset.published"
    description: ClassVar[str] = "A regulatory ruleset version was loaded; it takes effect on its effective date."
    version: str
    effective_date: date
    sha256: str
    item_count: int
