"""Delivery failures as the domain sees them: worth a retry, or not."""


class TransientDeliveryError(Exception):
    """The provider is unreachable or answered a temporary error: retry later."""


class PermanentDeliveryError(Exception):
    """The provider refused the message for good (bad address…): do not retry."""
