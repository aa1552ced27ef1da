from pathlib import Path

from eaps_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

SERVICE_DIR = Path(__file__).resolve().parents[2]
PACKAGED_RULESETS = Path(__file__).resolve().parent / "rulesets"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CLASSIFICATION_", extra="ignore")

    service_name: str = "classification"
    port: int = 8102
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_classification"
    migrations_dir: Path = SERVICE_DIR / "migrations"
    # Directories whose sub-directories are ruleset versions (JSON list in the environment).
    rulesets_dirs: list[Path] = Field(default_factory=lambda: [PACKAGED_RULESETS])
