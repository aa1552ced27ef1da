"""Bodies cross the edge as streams: the service sees an upload begin before the client has finished
sending it, and the client sees a download begin before the service has finished producing it."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from eaps_kit.testing import TestKeys, bearer

CHUNK = bytes(range(256)) * 256  # 64 KiB
# Bound on waiting for the other side; a buffering edge would wait for the whole body and never get there.
WAIT = 20


async def test_upload_is_streamed_to_the_service(public_url: str, stubs: dict, keys: TestKeys) -> None:
    key = uuid.uuid4().hex
    received_first = stubs["documents"].signal(key)
    total_chunks = 256  # 16 MiB
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        digest.update(CHUNK)
        yield CHUNK
        # The rest is sent only once the service has received the beginning through the edge.
        await asyncio.wait_for(received_first.wait(), timeout=WAIT)
        for _ in range(total_chunks - 1):
            digest.update(CHUNK)
            yield CHUNK

    async with httpx.AsyncClient(base_url=public_url, timeout=60) as client:
        resp = await client.post("/api/v1/documents", content=body(),
                                 headers={**bearer(keys.applicant()), "X-Test-Signal": key,
                                          "Content-Type": "application/octet-stream"})
    assert resp.status_code == 200
    assert resp.json()["body_size"] == total_chunks * len(CHUNK)
    assert resp.json()["body_sha256"] == digest.hexdigest()


async def test_upload_with_content_length_keeps_it(public_url: str, keys: TestKeys) -> None:
    payload = CHUNK * 64  # 4 MiB
    async with httpx.AsyncClient(base_url=public_url, timeout=60) as client:
        resp = await client.post("/api/v1/documents", content=payload, headers=bearer(keys.applicant()))
    body = resp.json()
    assert body["body_size"] == len(payload)
    assert body["body_sha256"] == hashlib.sha256(payload).hexdigest()
    assert [v for k, v in body["headers"] if k == "content-length"] == [str(len(payload))]


async def test_download_is_streamed_to_the_client(public_url: str, stubs: dict, keys: TestKeys) -> None:
    key = uuid.uuid4().hex
    size = 32 * 1024 * 1024
    async with httpx.AsyncClient(base_url=public_url, timeout=60) as client:
        async with client.stream("GET", "/api/v1/dossiers/_test/download",
                                 params={"size": size, "key": key}, headers=bearer(keys.applicant())) as resp:
            assert resp.status_code == 200
            chunks = resp.aiter_raw()
            # The service holds back everything after its first chunk until the client has seen it.
            first = await asyncio.wait_for(chunks.__anext__(), timeout=WAIT)
            stubs["dossier"].gate(key).set()
            received = len(first)
            async for chunk in chunks:
                received += len(chunk)
    assert received == size


async def test_a_body_cut_by_the_service_is_cut_for_the_client_too(public_url: str, keys: TestKeys) -> None:
    # The status line has gone out already: the client must see a broken body, not a short complete one.
    async with httpx.AsyncClient(base_url=public_url, timeout=60) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream("GET", "/api/v1/dossiers/_test/broken", headers=bearer(keys.applicant())) as r:
                assert r.status_code == 200
                async for _ in r.aiter_raw():
                    pass
        # The edge keeps serving.
        assert (await client.get("/api/v1/classification/items/1")).status_code == 200


async def test_head_request_gets_headers_without_body(public_url: str, keys: TestKeys) -> None:
    async with httpx.AsyncClient(base_url=public_url) as client:
        resp = await client.head("/api/v1/dossiers/abc", headers=bearer(keys.applicant()))
    assert resp.status_code == 200
    assert int(resp.headers["content-length"]) > 0
    assert resp.content == b""


async def _raw_post(url: str, token: str, *, chunked_mib: int | None = None, declared: int | None = None) -> bytes:
    """Send an upload over a raw socket (so that the client keeps sending while the edge answers)
    and return the status line the edge writes."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    framing = "Transfer-Encoding: chunked" if chunked_mib is not None else f"Content-Length: {declared}"
    writer.write((f"POST /api/v1/documents HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n").encode())

    sent = 0

    async def send() -> None:
        nonlocal sent
        try:
            for _ in range(chunked_mib or 0):
                for _ in range(16):
                    writer.write(f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n")
                await writer.drain()
                sent += 16 * len(CHUNK)
        except (ConnectionError, OSError):
            pass  # the edge closed the connection after answering: what we want

    sender = asyncio.create_task(send())
    try:
        return await asyncio.wait_for(reader.readline(), timeout=WAIT)
    except ConnectionResetError:
        # The edge answered and closed with bytes still unread: the kernel's reset may destroy the
        # answer before we read it. Then it must at least have stopped well before the end.
        assert chunked_mib is not None and sent < chunked_mib * 1024 * 1024, sent
        return b"HTTP/1.1 413 (answer lost to the connection reset)"
    finally:
        sender.cancel()
        writer.close()


async def test_a_chunked_body_over_the_limit_is_cut_off_with_413(public_small_limit: str, keys: TestKeys) -> None:
    status = await _raw_post(public_small_limit, keys.applicant(), chunked_mib=64)  # limit is 2 MiB
    assert b" 413 " in status, status


async def test_a_declared_length_over_the_limit_is_refused_at_once(public_small_limit: str, keys: TestKeys) -> None:
    # Nothing of the body is sent: the answer cannot depend on reading it.
    status = await _raw_post(public_small_limit, keys.applicant(), declared=50 * 1024 * 1024)
    assert b" 413 " in status, status


async def test_a_body_under_the_limit_still_passes(public_small_limit: str, keys: TestKeys) -> None:
    async with httpx.AsyncClient(base_url=public_small_limit, timeout=60) as client:
        resp = await client.post("/api/v1/documents", content=CHUNK * 16, headers=bearer(keys.applicant()))
    assert resp.status_code == 200 and resp.json()["body_size"] == len(CHUNK) * 16
