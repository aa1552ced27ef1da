"""Service-to-service calls on ``/internal/...`` routes, never exposed by the edges."""

from __future__ import annotations

import hmac

from fastapi import Request

from eaps_kit.problems import ProblemError

INTERNAL_HEADER = "X-Internal-Token"


def require_internal(request: Request) -> None:
    expected = getattr(request.app.state.settings, "internal_token", None)
    given = request.headers.get(INTERNAL_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ProblemError(403, "Cette route est réservée aux services internes.")
