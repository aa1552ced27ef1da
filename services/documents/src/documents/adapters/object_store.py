"""Objects in S3 storage, reached only through the minio SDK.

The SDK is blocking: every call runs in a worker thread. An upload is fed chunk by chunk
from the request body through a bounded pipe to a dedicated thread running ``put_object``
with an unknown length (multipart upload in ``part_size`` parts), so memory stays flat
whatever the size; an upload that is abandoned before its end never becomes an object
(the SDK aborts the multipart upload)."""

from __future__ import annotations

import asyncio
import io
import logging
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO, cast

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import MinioException, S3Error

log = logging.getLogger("documents.storage")

CHUNK = 256 * 1024


class StorageUnavailable(Exception):
    """The S3 server did not answer (or answered with a server error)."""


class ObjectMissing(Exception):
    """The object does not exist."""


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, S3Error) and exc.code in ("NoSuchKey", "NoSuchObject"):
        return ObjectMissing(str(exc))
    return StorageUnavailable(f"{exc.__class__.__name__}: {exc}")


_STORAGE_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime | None


class _EndOfStream:
    pass


class _Abort(Exception):
    pass


_EOF = _EndOfStream()


class _Pipe(io.RawIOBase):
    """The reading end, used by the SDK's thread; the writing end is :class:`Upload`."""

    def __init__(self, maxsize: int) -> None:
        self.chunks: queue.Queue[bytes | _EndOfStream | BaseException] = queue.Queue(maxsize)
        self._buffer = bytearray()
        self._eof = False
        self.on_get: Any = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = -1 if size is None else size
        # Answer whole reads: the SDK concatenates what read() returns, so short reads cost.
        while not self._eof and (want < 0 or len(self._buffer) < want):
            item = self.chunks.get()
            if self.on_get is not None:
                self.on_get()
            if isinstance(item, _EndOfStream):
                self._eof = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self._buffer += item
        n = len(self._buffer) if want < 0 else min(want, len(self._buffer))
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out


class Upload:
    """One object being written from an async producer. ``feed`` chunks, then ``complete``
    or ``abort``. A storage failure surfaces as :class:`StorageUnavailable` from either."""

    def __init__(self, store: ObjectStore, bucket: str, key: str, content_type: str) -> None:
        self.bucket, self.key = bucket, key
        self._loop = asyncio.get_running_loop()
        self._pipe = _Pipe(maxsize=8)
        self._space = asyncio.Event()
        self._pipe.on_get = lambda: self._loop.call_soon_threadsafe(self._space.set)
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._error: BaseException | None = None
        self._finished = False

        def run() -> None:
            try:
                store.client.put_object(bucket, key, cast(BinaryIO, self._pipe), length=-1, content_type=content_type,
                                        part_size=store.part_size, num_parallel_uploads=store.parallel_uploads)
                result: BaseException | None = None
            except _Abort:
                result = _Abort()
            except BaseException as exc:  # noqa: BLE001 - reported to the async side
                result = exc
            self._loop.call_soon_threadsafe(self._settle, result)

        self._thread = threading.Thread(target=run, name=f"s3-upload-{key}", daemon=True)
        self._thread.start()

    def _settle(self, error: BaseException | None) -> None:
        self._error = error
        self._space.set()
        if not self._done.done():
            self._done.set_result(None)

    def _raise_if_failed(self) -> None:
        if self._done.done() and self._error is not None and not isinstance(self._error, _Abort):
            raise StorageUnavailable(str(self._error)) from self._error

    async def feed(self, chunk: bytes) -> None:
        while True:
            self._raise_if_failed()
            if self._done.done():
                raise StorageUnavailable("upload ended before its data")
            try:
                self._pipe.chunks.put_nowait(chunk)
                return
            except queue.Full:
                self._space.clear()
                if not self._pipe.chunks.full():
                    continue
                await self._space.wait()

    async def _put(self, item: _EndOfStream | BaseException) -> None:
        while not self._done.done():
            try:
                self._pipe.chunks.put_nowait(item)
                return
            except queue.Full:
                self._space.clear()
                if not self._pipe.chunks.full():
                    continue
                await self._space.wait()

    async def complete(self) -> None:
        self._finished = True
        await self._put(_EOF)
        await asyncio.shield(self._done)
        if self._error is not None:
            raise StorageUnavailable(str(self._error)) from self._error

    async def abort(self) -> None:
        """Give up: the SDK aborts the multipart upload, no object is left."""
        if self._finished and self._done.done() and self._error is None:
            return
        self._finished = True
        await self._put(_Abort())
        await asyncio.shield(self._done)


class ObjectStore:
    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, secure: bool = False,
                 region: str = "us-east-1", connect_timeout: float = 3.0, read_timeout: float = 60.0,
                 part_size: int = 5 * 1024 * 1024, parallel_uploads: int = 2) -> None:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            # One quick retry: a down server must answer 503 promptly, not after a long backoff.
            retries=urllib3.Retry(total=1, connect=1, read=0, backoff_factor=0.1,
                                  status_forcelist=[502, 503, 504], allowed_methods=None),
        )
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                            region=region, http_client=http)
        self.part_size = part_size
        self.parallel_uploads = parallel_uploads

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except _STORAGE_ERRORS as exc:
            raise _translate(exc) from exc

    async def ensure_buckets(self, *buckets: str) -> None:
        for bucket in buckets:
            if not await self._call(self.client.bucket_exists, bucket):
                try:
                    await self._call(self.client.make_bucket, bucket)
                except StorageUnavailable:
                    if not await self._call(self.client.bucket_exists, bucket):
                        raise

    async def ping(self, bucket: str) -> bool:
        try:
            return bool(await self._call(self.client.bucket_exists, bucket))
        except (StorageUnavailable, ObjectMissing):
            return False

    def start_upload(self, bucket: str, key: str, content_type: str) -> Upload:
        return Upload(self, bucket, key, content_type)

    async def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        await self._call(self.client.put_object, bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    async def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        await self._call(self.client.copy_object, dst_bucket, dst_key, CopySource(src_bucket, src_key))

    async def remove(self, bucket: str, key: str) -> None:
        await self._call(self.client.remove_object, bucket, key)

    async def exists(self, bucket: str, key: str) -> bool:
        try:
            await self._call(self.client.stat_object, bucket, key)
            return True
        except ObjectMissing:
            return False

    async def list_objects(self, bucket: str) -> list[StoredObject]:
        def collect() -> list[StoredObject]:
            return [StoredObject(o.object_name or "", o.size or 0, o.last_modified)
                    for o in self.client.list_objects(bucket, recursive=True)]

        result: list[StoredObject] = await self._call(collect)
        return result

    async def open(self, bucket: str, key: str) -> AsyncIterator[bytes]:
        """Open the object now (so a missing object or a down server is known before any
        byte is sent) and return an iterator over its chunks."""
        response = await self._call(self.client.get_object, bucket, key)
        return self._chunks(response)

    async def _chunks(self, response: Any) -> AsyncIterator[bytes]:
        iterator: Iterator[bytes] = response.stream(CHUNK)
        try:
            while True:
                chunk = await self._call(next, iterator, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            response.close()
            response.release_conn()

    def presigned_get(self, bucket: str, key: str, *, ttl_seconds: int, filename_header: str,
                      content_type: str) -> str:
        # Signing is local (the region is configured): no call to the server.
        url: str = self.client.presigned_get_object(
            bucket, key, expires=timedelta(seconds=ttl_seconds),
            response_headers={"response-content-disposition": filename_header,
                              "response-content-type": content_type})
        return url
