"""Domain errors: each carries the HTTP-like status the edge answers and a French message."""

from __future__ import annotations

from typing import Any


class DossierError(Exception):
    status = 400

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class NotFound(DossierError):
    status = 404


class Conflict(DossierError):
    status = 409


class Invalid(DossierError):
    status = 422


class PreconditionFailed(DossierError):
    status = 412


class PreconditionRequired(DossierError):
    status = 428


class Unavailable(DossierError):
    status = 503
