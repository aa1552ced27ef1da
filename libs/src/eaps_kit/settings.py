"""Typed settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "dev", ""}


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``model_config`` with ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="EAPS_", extra="ignore")

    service_name: str = "service"
    environment: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = 8100
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_service"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefix of every exchange and queue name; tests isolate themselves with it.
    bus_prefix: str = ""
    jwks_url: str = "http://127.0.0.1:8101/.well-known/jwks.json"
    token_issuer: str = "https://identity.eaps.local"
    token_audiences: list[str] = Field(default_factory=lambda: ["eaps-public", "eaps-internal"])
    otlp_endpoint: str | None = None
    log_level: str = "INFO"
    log_json: bool = True
    outbox_poll_seconds: float = 2.0
    # Whether this process runs the outbox relay and consumers (an API-only replica may not).
    run_workers: bool = True
    internal_token: str = "dev-internal-token"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "ServiceSettings":
        if self.environment == "prod" and self.internal_token.startswith("dev-"):
            raise ValueError("internal_token must be set to a real secret in production")
        return self
