"""Settings of the web portals (env prefix ``GATEWAY_``, like the edges)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

# gateway/src/gateway/portal/common/settings.py -> the repository root (local development layout).
_ROOT = Path(__file__).resolve().parents[5]


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    # The State's design system, installed from npm by `make run` / `make test` (never a CDN).
    dsfr_dir: Path = _ROOT / "deploy" / "local" / "node_modules" / "@gouvfr" / "dsfr" / "dist"
    # Server-side sessions in Redis: key prefix and lifetime without activity.
    portal_session_prefix: str = "eaps:portal:session:"
    portal_session_idle_seconds: int = 8 * 3600
    # Cookie "Secure" flag; None = on everywhere except in dev and test (plain http on loopback).
    portal_cookie_secure: bool | None = None
    # The edge API the portal calls with the user's token: None = the edge it is mounted on,
    # in process (the request still goes through the edge's rules, token check and rate limits).
    portal_api_url: str | None = None
    # Seconds before its expiry at which an access token is refreshed ahead of a call.
    portal_refresh_margin_seconds: int = 20

    @property
    def cookie_secure(self) -> bool:
        if self.portal_cookie_secure is not None:
            return self.portal_cookie_secure
        return self.environment == "prod"
