from pathlib import Path

from eaps_kit.settings import PLACEHOLDER_SECRETS, ServiceSettings
from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

SERVICE_DIR = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DOCUMENTS_", extra="ignore")

    service_name: str = "documents"
    port: int = 8104
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_documents"
    migrations_dir: Path = SERVICE_DIR / "migrations"

    # Upload checks.
    max_upload_bytes: int = 20 * MIB
    # Room for the form's other fields and the multipart framing around the file.
    multipart_overhead_bytes: int = 64 * 1024

    # S3 storage (minio SDK). Buckets are created at start when missing.
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "eaps-local"
    s3_secret_key: str = "eaps-local-secret"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_connect_timeout_seconds: float = 3.0
    s3_read_timeout_seconds: float = 60.0
    s3_part_size: int = 5 * MIB
    s3_parallel_uploads: int = 2
    library_bucket: str = "eaps-documents"
    pinned_bucket: str = "eaps-documents-pinned"
    presigned_url_ttl_seconds: int = 60
    retry_after_seconds: int = 30

    # Antivirus (clamd INSTREAM over TCP).
    clamd_host: str = "127.0.0.1"
    clamd_port: int = 3310
    clamd_timeout_seconds: float = 60.0

    # Classification service: the document codes an upload or a change may use (its list
    # GET /api/v1/classification/document-types, cached in memory for the TTL).
    classification_url: str = "http://127.0.0.1:8102"
    classification_timeout_seconds: float = 2.0
    document_types_ttl_seconds: float = 300.0
    # After a failed refresh with a cached list, how long the (expired) list is used before trying again.
    document_types_retry_seconds: float = 30.0

    # Background work.
    rescan_interval_seconds: float = 5.0
    reconcile_interval_seconds: float = 900.0
    # Objects and rows younger than this are left alone: an upload may be between the two.
    reconcile_grace_seconds: float = 3600.0

    @model_validator(mode="after")
    def _refuse_placeholder_storage_secret(self) -> "Settings":
        if self.environment == "prod" and (
            self.s3_secret_key in PLACEHOLDER_SECRETS or self.s3_secret_key == "eaps-local-secret"
        ):
            raise ValueError("s3_secret_key must be set to a real secret in production")
        return self
