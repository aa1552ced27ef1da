"""Signing and verifying e-APS webhook deliveries (Standard Webhooks style).

This module depends only on the Python standard library: a receiving administration may copy
it as is. Every delivery is an HTTP POST whose body is JSON and which carries three headers:

- ``webhook-id``: the delivery's unique id (``msg_...``); the same id is sent again on a retry
  or a replay, so a receiver that stores the ids it has handled processes each delivery once;
- ``webhook-timestamp``: seconds since the Unix epoch when this attempt was signed;
- ``webhook-signature``: space-separated ``v1,<base64 signature>`` entries, where each
  signature is ``base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>"))``
  and ``key`` is the secret without its ``whsec_`` prefix, base64-decoded. During a secret
  rotation two signatures are sent (new and previous secret): one valid entry suffices.

A receiver MUST, before trusting the body:

1. compute the expected signature over the raw body bytes (not re-serialised JSON);
2. compare it in constant time with each ``v1,`` entry of ``webhook-signature``;
3. refuse a ``webhook-timestamp`` more than ``tolerance`` seconds (5 minutes) from its own
   clock: an intercepted delivery replayed later is then refused;
4. (recommended) refuse a ``webhook-id`` it has already processed.

Example (any web framework)::

    from notifications.webhook_signature import verify, WebhookVerificationError
    try:
        payload = verify(SECRET, request.headers, raw_body)
    except WebhookVerificationError:
        return 400
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """The delivery is not authentic, or too old / too far in the future."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("webhook secret must be whsec_ followed by base64") from exc


def is_valid_secret(secret: str) -> bool:
    try:
        return len(_key(secret)) >= 16
    except ValueError:
        return False


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery attempt."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers of one attempt, signed with every currently valid secret."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """Check one delivery; return the parsed JSON body, or raise :class:`WebhookVerificationError`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    ts_raw = lowered.get("webhook-timestamp")
    sig_header = lowered.get("webhook-signature")
    if not msg_id or not ts_raw or not sig_header:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(ts_raw)
    except ValueError:
        raise WebhookVerificationError("invalid webhook-timestamp") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("timestamp too old: possible replay")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("timestamp too far in the future")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in sig_header.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return json.loads(body)
    raise WebhookVerificationError("no matching signature")
