"""The composition root: the adapters a running service uses, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from documents.adapters.clamav import Clamd
from documents.adapters.classification import DocumentTypes
from documents.adapters.object_store import ObjectStore
from documents.config import Settings


@dataclass
class Deps:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    store: ObjectStore
    scanner: Clamd
    document_types: DocumentTypes


def make_store(settings: Settings) -> ObjectStore:
    return ObjectStore(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                       secret_key=settings.s3_secret_key, secure=settings.s3_secure, region=settings.s3_region,
                       connect_timeout=settings.s3_connect_timeout_seconds,
                       read_timeout=settings.s3_read_timeout_seconds, part_size=settings.s3_part_size,
                       parallel_uploads=settings.s3_parallel_uploads)


def make_scanner(settings: Settings) -> Clamd:
    return Clamd(settings.clamd_host, settings.clamd_port, timeout=settings.clamd_timeout_seconds)


def make_document_types(settings: Settings) -> DocumentTypes:
    return DocumentTypes(settings.classification_url, timeout=settings.classification_timeout_seconds,
                         ttl=settings.document_types_ttl_seconds,
                         retry_after_failure=settings.document_types_retry_seconds)
