from pathlib import Path

from eaps_kit.settings import ServiceSettings
from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from notifications.domain.retry import MESSAGE_DELAYS, WEBHOOK_DELAYS

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    port: int = 8106
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_notifications"
    migrations_dir: Path = SERVICE_DIR / "migrations"

    # Links put in emails point to the portals.
    public_portal_url: str = "http://127.0.0.1:8000"
    officer_portal_url: str = "http://127.0.0.1:8001/officer"

    # Email over SMTP (the local sink by default).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "e-APS (douane) <ne-pas-repondre@e-aps.douane.gouv.fr>"

    # SMS: the provider adapter and its endpoint (the local sink speaks the "http-sink" API).
    sms_provider: str = "http-sink"
    sms_url: str = "http://127.0.0.1:1026"
    sms_sender: str = "DOUANE"

    # Delivery: dispatcher batch, poll fallback, retry schedules, webhook HTTP timeout.
    dispatch_batch_size: int = 100
    dispatch_poll_seconds: float = 1.0
    dispatch_lease_seconds: float = 120.0
    message_retry_delays: list[float] = Field(default_factory=lambda: list(MESSAGE_DELAYS))
    webhook_retry_delays: list[float] = Field(default_factory=lambda: list(WEBHOOK_DELAYS))
    webhook_timeout_seconds: float = 10.0
    webhook_default_overlap_hours: float = 24.0
    # Production requires https webhook URLs; dev and tests use loopback http receivers.
    webhook_require_https: bool = False

    @model_validator(mode="after")
    def _https_webhooks_in_production(self) -> "Settings":
        if self.environment == "prod":
            self.webhook_require_https = True
        return self
