"""Typed settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "dev", ""}


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``model_config`` with ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="EAPS_", extra="ignore")

    # Name in logs, traces and queue names.
    service_name: str = "service"
    # dev, test or prod; placeholder secrets are refused in prod.
    environment: Literal["dev", "test", "prod"] = "dev"
    # Interface and port the HTTP server listens on.
    host: str = "127.0.0.1"
    port: int = 8100
    # The service's own PostgreSQL database (created when missing, migrated at start).
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_service"
    # RabbitMQ.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefix of every exchange and queue name; tests isolate themselves with it.
    bus_prefix: str = ""
    # Identity's public keys, to verify access tokens.
    jwks_url: str = "http://127.0.0.1:8101/.well-known/jwks.json"
    # Expected issuer (iss) and audiences (aud) of access tokens.
    token_issuer: str = "https://identity.eaps.local"
    token_audiences: list[str] = Field(default_factory=lambda: ["eaps-public", "eaps-internal"])
    # OTLP/HTTP traces endpoint of a collector; unset: no export.
    otlp_endpoint: str | None = None
    # Log level, and JSON lines (with trace id and request id) or plain text.
    log_level: str = "INFO"
    log_json: bool = True
    # Fallback poll of the outbox relay (it wakes on LISTEN/NOTIFY first).
    outbox_poll_seconds: float = 2.0
    # Whether this process runs the outbox relay and consumers (an API-only replica may not).
    run_workers: bool = True
    # Shared secret of the /internal/ service-to-service routes.
    internal_token: str = "dev-internal-token"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "prod" and self.internal_token.startswith("dev-"):
            raise ValueError("internal_token must be set to a real secret in production")
        return self
