"""Typed settings of both edges (env prefix ``GATEWAY_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Edge = Literal["public", "internal"]

SERVICES = ("identity", "classification", "dossier", "documents", "instruction", "notifications")


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    public_port: int = 8000
    internal_port: int = 8001

    # Upstream base URLs (docs/development.md, "Ports").
    identity_url: str = "http://127.0.0.1:8101"
    classification_url: str = "http://127.0.0.1:8102"
    dossier_url: str = "http://127.0.0.1:8103"
    documents_url: str = "http://127.0.0.1:8104"
    instruction_url: str = "http://127.0.0.1:8105"
    notifications_url: str = "http://127.0.0.1:8106"

    # Access tokens: identity's JWKS, the issuer, how often an unknown kid may refetch the JWKS.
    jwks_url: str = "http://127.0.0.1:8101/.well-known/jwks.json"
    token_issuer: str = "https://identity.eaps.local"
    jwks_refresh_seconds: float = 30.0
    # Verified tokens kept in memory (0 turns it off) and for at most this long (and never past exp).
    token_cache_size: int = 10_000
    token_cache_seconds: float = 60.0

    # Rate limits: requests per client (token subject, else IP) per window, per bucket.
    redis_url: str = "redis://127.0.0.1:6379/0"
    rate_limit_prefix: str = "eaps:gateway:rl:"
    rate_limit_window_seconds: int = 60
    rate_limit_default: int = 600
    rate_limit_sign_in: int = 10
    rate_limit_enabled: bool = True
    # Peers whose X-Forwarded-For is believed (a load balancer in front of the edge).
    trusted_proxies: list[str] = Field(default_factory=list)

    # Timeouts towards the services (seconds).
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    # Largest request body the edge forwards (the documents service's own limit is 20 MB plus
    # the multipart framing); beyond it the edge answers 413 and stops reading.
    max_body_bytes: int = 25 * 1024 * 1024
    write_timeout: float = 30.0
    pool_timeout: float = 5.0
    max_connections: int = 200
    health_timeout: float = 2.0
    openapi_cache_seconds: float = 60.0

    otlp_endpoint: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    def upstream_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    def port_for(self, edge: Edge) -> int:
        return self.public_port if edge == "public" else self.internal_port
