from pathlib import Path

from eaps_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSTRUCTION_", extra="ignore")

    service_name: str = "instruction"
    port: int = 8105
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_instruction"
    migrations_dir: Path = SERVICE_DIR / "migrations"
    # The documents service stores the authorisation PDFs (POST /internal/documents/generated).
    documents_url: str = "http://127.0.0.1:8104"
    documents_timeout_seconds: float = 10.0
    # Scheduled jobs (implicit rejection, authorisation statuses, pending PDFs): how often they run.
    jobs_interval_seconds: float = 300.0
    run_jobs: bool = True
    # The regulatory table (validity, deadlines, bounds) of each authorisation type.
    rules_file: Path = Path(__file__).resolve().parent / "data" / "authorisation_types.yaml"
