"""Every event class of every producer, by (type, version)."""

from __future__ import annotations

from eaps_contracts.base import Event
from eaps_contracts.events import (
    classification_v1,
    documents_v1,
    dossier_v1,
    identity_v1,
    instruction_v1,
    notifications_v1,
)

_MODULES = [identity_v1, classification_v1, documents_v1, dossier_v1, instruction_v1, notifications_v1]


def _collect() -> dict[tuple[str, int], type[Event]]:
    found: dict[tuple[str, int], type[Event]] = {}
    for module in _MODULES:
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Event) and obj is not Event
                    and obj.__module__ == module.__name__):
                key = (obj.event_type, obj.event_version)
                if key in found:
                    raise RuntimeError(f"duplicate event {key}")
                found[key] = obj
    return found


REGISTRY: dict[tuple[str, int], type[Event]] = _collect()


def event_class(event_type: str, version: int) -> type[Event]:
    return REGISTRY[(event_type, version)]
