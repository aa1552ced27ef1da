"""Access to ``labels.yaml``: French labels and code mappings."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from eaps_contracts.events.notifications_v1 import DecisionChange


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    with open(Path(__file__).with_name("labels.yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)  # type: ignore[no-any-return]


def _norm(code: str) -> str:
    plain = unicodedata.normalize("NFKD", code).encode("ascii", "ignore").decode()
    return plain.strip().lower().replace(" ", "_").replace("-", "_")


@dataclass(frozen=True)
class StatusInfo:
    label: str
    change: DecisionChange | None  # the public feed's name for it, from labels.yaml


def authorisation_status(code: str) -> StatusInfo:
    entry = _data()["authorisation_statuses"].get(_norm(code))
    if entry is None:
        return StatusInfo(label=code.lower(), change=None)
    return StatusInfo(label=entry["label"], change=entry["change"])


def outcome_label(outcome: str) -> str:
    return str(_data()["outcomes"].get(outcome, outcome))


def missing_kind_label(kind: str) -> str:
    return str(_data()["missing_kinds"].get(kind, kind))


def sms_alert_changes() -> frozenset[str]:
    return frozenset(_data()["sms_alert_changes"])


def webhook_event_types() -> list[str]:
    return list(_data()["webhook_event_types"])
