from pathlib import Path

from pydantic_settings import SettingsConfigDict

from eaps_kit.settings import ServiceSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CLASSIFICATION_", extra="ignore")

    service_name: str = "classification"
    port: int = 8102
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_classification"
    migrations_dir: Path = SERVICE_DIR / "migrations"
