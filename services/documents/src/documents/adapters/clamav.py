"""clamd over TCP with the INSTREAM protocol (``zINSTREAM``, 4-byte big-endian chunk
lengths, a zero-length chunk to finish; the answer ends with a NUL byte)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterable
from dataclasses import dataclass

# clamd refuses INSTREAM chunks above its StreamMaxLength; keep each one modest.
MAX_CHUNK = 256 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached or could not finish the scan; try again later."""


@dataclass(frozen=True)
class Verdict:
    infected: bool
    signature: str | None = None


CLEAN = Verdict(False)


def parse_reply(reply: bytes) -> Verdict:
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    # "stream: OK", "stream: <signature> FOUND", "<message> ERROR"
    _, _, result = text.partition(": ")
    if result == "OK":
        return CLEAN
    if result.endswith(" FOUND"):
        return Verdict(True, result[: -len(" FOUND")])
    raise ScannerUnavailable(f"clamd answered {text!r}")


class ScanSession:
    """One INSTREAM scan fed chunk by chunk as the bytes arrive."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._reader, self._writer, self._timeout = reader, writer, timeout

    async def send(self, data: bytes) -> None:
        try:
            for start in range(0, len(data), MAX_CHUNK):
                part = data[start:start + MAX_CHUNK]
                self._writer.write(struct.pack(">I", len(part)))
                self._writer.write(part)
                await asyncio.wait_for(self._writer.drain(), self._timeout)
        except (TimeoutError, OSError) as exc:
            await self.close()
            raise ScannerUnavailable(f"clamd connection lost: {exc!r}") from exc

    async def finish(self) -> Verdict:
        try:
            self._writer.write(struct.pack(">I", 0))
            await asyncio.wait_for(self._writer.drain(), self._timeout)
            reply = await asyncio.wait_for(self._reader.readuntil(b"\0"), self._timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise ScannerUnavailable(f"clamd did not answer: {exc!r}") from exc
        finally:
            await self.close()
        return parse_reply(reply)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class Clamd:
    def __init__(self, host: str, port: int, timeout: float = 60.0, connect_timeout: float = 3.0) -> None:
        self.host, self.port, self.timeout, self.connect_timeout = host, port, timeout, connect_timeout

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.connect_timeout)
        except (TimeoutError, OSError) as exc:
            raise ScannerUnavailable(f"clamd unreachable at {self.host}:{self.port}: {exc!r}") from exc

    async def start(self) -> ScanSession:
        reader, writer = await self._connect()
        session = ScanSession(reader, writer, self.timeout)
        try:
            writer.write(b"zINSTREAM\0")
            await asyncio.wait_for(writer.drain(), self.timeout)
        except (TimeoutError, OSError) as exc:
            await session.close()
            raise ScannerUnavailable(f"clamd connection lost: {exc!r}") from exc
        return session

    async def scan(self, chunks: AsyncIterable[bytes]) -> Verdict:
        session = await self.start()
        try:
            async for chunk in chunks:
                await session.send(chunk)
        except BaseException:
            await session.close()
            raise
        return await session.finish()

    async def ping(self) -> bool:
        try:
            reader, writer = await self._connect()
        except ScannerUnavailable:
            return False
        try:
            writer.write(b"zPING\0")
            await writer.drain()
            reply = await asyncio.wait_for(reader.readuntil(b"\0"), self.connect_timeout)
            return reply.rstrip(b"\0") == b"PONG"
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            return False
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
