"""e-APS event contracts. Services import events from here, never copy them."""

from eaps_contracts.base import ContractModel, Event, routing_key_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.registry import REGISTRY, event_class

__all__ = ["ContractModel", "Envelope", "Event", "REGISTRY", "event_class", "routing_key_of"]
