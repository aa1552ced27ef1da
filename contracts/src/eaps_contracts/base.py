"""Base classes of every contract model.

Producers forbid extra fields (a typo never leaves a service); consumers parse with
``context={"consumer": True}`` and ignore fields they do not know (a producer may add
optional fields without breaking them). A breaking change is a new version.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _ignore_unknown_when_consuming(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("consumer") and isinstance(value, dict):
            known = set(cls.model_fields)
            known |= {f.alias for f in cls.model_fields.values() if f.alias}
            return {k: v for k, v in value.items() if k in known}
        return value


class Event(ContractModel):
    """A versioned domain event. ``event_type`` is ``<producer>.<aggregate>.<event>``."""

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    description: ClassVar[str] = ""

    @classmethod
    def producer(cls) -> str:
        return cls.event_type.split(".", 1)[0]

    @classmethod
    def routing_key(cls) -> str:
        return routing_key_of(cls.event_type, cls.event_version)

    @classmethod
    def parse_consumed(cls, data: dict[str, Any]) -> Event:
        return cls.model_validate(data, context={"consumer": True})


def routing_key_of(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}"


PUBLIC_EXCHANGE = "public.decisions"


def exchange_of(producer: str) -> str:
    """Each producer owns one durable topic exchange; ``public`` events go to the exchange
    reserved for other administrations."""
    return PUBLIC_EXCHANGE if producer == "public" else f"{producer}.events"
