from pathlib import Path
from typing import Literal

from eaps_kit.settings import ServiceSettings
from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

SERVICE_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = Path(__file__).resolve().parent / "data"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    port: int = 8101
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_identity"
    migrations_dir: Path = SERVICE_DIR / "migrations"
    data_dir: Path = DATA_DIR

    # Links in emails point to the public portal.
    portal_base_url: str = "http://localhost:8000"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "eaps:identity:"

    # Signing keys are stored encrypted with a key derived from this secret (Fernet).
    key_encryption_key: str = "dev-key-encryption-key"
    # RS256 by default: verification, done on every request by the edges and services, costs
    # several times less than Ed25519's with the same libraries (docs/benchmarks/identity.md).
    signing_alg: Literal["RS256", "Ed25519"] = "RS256"
    access_token_ttl: int = 600
    internal_access_token_ttl: int = 300
    machine_token_ttl: int = 900
    refresh_token_ttl: int = 8 * 3600
    internal_refresh_token_ttl: int = 4 * 3600
    # How long the previous signing key stays signing-cached on other replicas.
    key_cache_seconds: float = 30.0

    # Argon2id parameters (RFC 9106 second recommended option by default).
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4

    email_token_ttl: int = 24 * 3600
    reset_token_ttl: int = 3600
    sms_code_ttl: int = 600
    sms_code_max_attempts: int = 5
    invitation_ttl: int = 14 * 24 * 3600

    # Brute force: per identifier (the email, whether an account exists or not) and per client IP.
    login_delay_after: int = 3
    login_delay_base_seconds: float = 1.0
    login_delay_max_seconds: float = 60.0
    login_lock_after: int = 10
    login_lock_seconds: int = 900
    login_failure_window_seconds: int = 3600
    ip_max_failures: int = 30
    ip_window_seconds: int = 900
    # Proxies (the edges) whose X-Forwarded-For is believed.
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]

    machine_secret_grace_seconds: int = 24 * 3600

    @model_validator(mode="after")
    def _refuse_dev_key_in_prod(self) -> "Settings":
        if self.environment == "prod" and self.key_encryption_key.startswith("dev-"):
            raise ValueError("key_encryption_key must be set to a real secret in production")
        return self
