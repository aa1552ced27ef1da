"""The storage and antivirus adapters against the real servers."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest
from documents.adapters.clamav import Clamd, ScannerUnavailable
from documents.adapters.object_store import ObjectMissing, ObjectStore, StorageUnavailable
from documents_testkit import eicar, objects_in
from eaps_kit.testing import free_port, unique_suffix

MIB = 1024 * 1024


@pytest.fixture
async def store(s3) -> tuple[ObjectStore, str]:
    st = ObjectStore(endpoint=f"127.0.0.1:{s3.port}", access_key="test", secret_key="test", part_size=5 * MIB)
    bucket = f"adapters-{unique_suffix()}"
    await st.ensure_buckets(bucket)
    await st.ensure_buckets(bucket)  # idempotent
    return st, bucket


async def test_streamed_upload_in_several_parts_round_trips(store, s3):
    st, bucket = store
    data = os.urandom(11 * MIB + 123)
    upload = st.start_upload(bucket, "big", "application/pdf")
    for i in range(0, len(data), 64 * 1024):
        await upload.feed(data[i:i + 64 * 1024])
    await upload.complete()
    got = b"".join([chunk async for chunk in await st.open(bucket, "big")])
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert s3.client().stat_object(bucket, "big").content_type == "application/pdf"


async def test_an_aborted_upload_leaves_no_object(store, s3):
    st, bucket = store
    upload = st.start_upload(bucket, "abandoned", "image/png")
    for _ in range(7 * 16):  # 7 MiB: past the first part, so a multipart upload exists
        await upload.feed(b"\0" * (64 * 1024))
    await upload.abort()
    assert "abandoned" not in objects_in(s3, bucket)
    with pytest.raises(ObjectMissing):
        await st.open(bucket, "abandoned")


async def test_unreachable_storage_is_reported():
    st = ObjectStore(endpoint=f"127.0.0.1:{free_port()}", access_key="x", secret_key="y", connect_timeout=1)
    with pytest.raises(StorageUnavailable):
        await st.ensure_buckets("nowhere")
    upload = st.start_upload("nowhere", "k", "image/png")
    await upload.feed(b"\x89PNG")
    with pytest.raises(StorageUnavailable):
        await upload.complete()
    assert not await st.ping("nowhere")


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def test_clamd_instream_finds_eicar_across_chunks(clamd):
    scanner = Clamd("127.0.0.1", clamd.port)
    assert await scanner.ping()
    verdict = await scanner.scan(chunked(b"%PDF-1.4\n" + eicar() + b"\n%%EOF", 7))
    assert verdict.infected
    assert verdict.signature.startswith("Eicar-Test-Signature")
    clean = await scanner.scan(chunked(os.urandom(3 * MIB), 256 * 1024))
    assert not clean.infected


async def test_clamd_unreachable():
    scanner = Clamd("127.0.0.1", free_port(), connect_timeout=1)
    assert not await scanner.ping()
    with pytest.raises(ScannerUnavailable):
        await scanner.scan(chunked(b"abc", 1))
