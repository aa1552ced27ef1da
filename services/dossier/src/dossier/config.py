from pathlib import Path

from eaps_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DOSSIER_", extra="ignore")

    service_name: str = "dossier"
    port: int = 8103
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_dossier"
    migrations_dir: Path = SERVICE_DIR / "migrations"
    classification_url: str = "http://127.0.0.1:8102"
    documents_url: str = "http://127.0.0.1:8104"
    # Timeouts of the calls to other services (seconds): past them the applicant gets a 503.
    classification_timeout: float = 5.0
    documents_timeout: float = 10.0
