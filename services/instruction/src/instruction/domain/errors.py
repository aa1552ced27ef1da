"""Domain errors carry the HTTP status the API answers and a French message for people."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The action is not possible in the current state (409)."""

    status = 409


class Invalid(DomainError):
    """The request is well-formed but breaks a rule (422)."""

    status = 422


class Forbidden(DomainError):
    status = 403
