"""The documented receiver check: authentic deliveries pass; forged, altered, replayed (old
timestamp) or incomplete ones are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from notifications.webhook_signature import (
    WebhookVerificationError,
    generate_secret,
    is_valid_secret,
    sign,
    signature_headers,
    verify,
)

SECRET = generate_secret()
BODY = json.dumps({"type": "decision.granted", "data": {"registration_number": "EAPS-1"}}).encode()
NOW = 1_790_000_000


def test_an_authentic_delivery_verifies_and_returns_the_payload() -> None:
    headers = signature_headers([SECRET], "msg_1", NOW, BODY)
    assert verify(SECRET, headers, BODY, now=NOW + 10)["data"]["registration_number"] == "EAPS-1"


def test_the_signature_is_the_standard_webhooks_hmac() -> None:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1.%d." % NOW + BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, "msg_1", NOW, BODY) == f"v1,{expected}"


@pytest.mark.parametrize("tamper", ["secret", "body", "id", "timestamp", "signature"])
def test_a_forged_or_altered_delivery_is_refused(tamper: str) -> None:
    headers = signature_headers([SECRET], "msg_1", NOW, BODY)
    body, secret = BODY, SECRET
    if tamper == "secret":
        secret = generate_secret()
    elif tamper == "body":
        body = BODY.replace(b"EAPS-1", b"EAPS-2")
    elif tamper == "id":
        headers["webhook-id"] = "msg_2"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(NOW + 1)
    else:
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(secret, headers, body, now=NOW)


def test_a_replayed_delivery_with_an_old_timestamp_is_refused() -> None:
    headers = signature_headers([SECRET], "msg_1", NOW, BODY)
    verify(SECRET, headers, BODY, now=NOW + 299)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(SECRET, headers, BODY, now=NOW + 301)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify(SECRET, headers, BODY, now=NOW - 301)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing: str) -> None:
    headers = signature_headers([SECRET], "msg_1", NOW, BODY)
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(SECRET, headers, BODY, now=NOW)


def test_a_non_numeric_timestamp_is_refused() -> None:
    headers = signature_headers([SECRET], "msg_1", NOW, BODY)
    headers["webhook-timestamp"] = "hier"
    with pytest.raises(WebhookVerificationError, match="invalid"):
        verify(SECRET, headers, BODY, now=NOW)


def test_during_a_rotation_either_secret_verifies() -> None:
    new = generate_secret()
    headers = signature_headers([new, SECRET], "msg_1", NOW, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(new, headers, BODY, now=NOW) and verify(SECRET, headers, BODY, now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify(generate_secret(), headers, BODY, now=NOW)


def test_header_names_are_case_insensitive() -> None:
    headers = {k.title(): v for k, v in signature_headers([SECRET], "msg_1", NOW, BODY).items()}
    assert verify(SECRET, headers, BODY, now=NOW)


def test_secrets_are_whsec_base64_of_at_least_16_bytes() -> None:
    assert is_valid_secret(generate_secret())
    assert not is_valid_secret("whsec_" + base64.b64encode(b"short").decode())
    assert not is_valid_secret("whsec_pas du base64!")
