"""Receiving one file from a streamed form: size, type by content, encryption, checksum,
while the bytes flow on to S3 and to clamd at the same time (nothing is held whole)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterable
from dataclasses import dataclass, field

from documents.adapters.clamav import Clamd, ScannerUnavailable, ScanSession, Verdict
from documents.adapters.multipart import FileData, FileEnd, FileStart, FormEvent
from documents.adapters.object_store import ObjectStore, Upload
from documents.domain.model import (
    ALLOWED_KINDS,
    MAGIC_BYTES,
    EncryptionSniffer,
    FileKind,
    InvalidUpload,
    TooLarge,
    detect_kind,
    sanitize_filename,
)

log = logging.getLogger("documents.upload")


def too_large(limit: int) -> TooLarge:
    mb = limit / (1024 * 1024)
    shown = f"{mb:.0f} Mo" if mb >= 1 else f"{limit} octets"
    return TooLarge(f"Le fichier dépasse la taille maximale autorisée ({shown}).", field="file")


@dataclass
class ReceivedFile:
    """A file read to its end and still open on both sides: the object is not committed
    and the scan has not answered until :meth:`finalize`."""

    kind: FileKind
    filename: str
    size: int
    sha256: str
    upload: Upload
    scan: ScanSession | None
    scanner_was_down: bool
    verdict: Verdict | None = field(default=None)

    async def finalize(self) -> Verdict | None:
        """Get the antivirus' verdict, then commit the object (or abort it if infected).
        Returns ``None`` when clamd could not answer: the document waits for a re-scan."""
        verdict: Verdict | None = None
        if self.scan is not None:
            try:
                verdict = await self.scan.finish()
            except ScannerUnavailable as exc:
                log.warning("antivirus unavailable, document left pending: %s", exc)
            self.scan = None
        self.verdict = verdict
        if verdict is not None and verdict.infected:
            await self.upload.abort()
        else:
            await self.upload.complete()
        return verdict

    async def discard(self) -> None:
        with contextlib.suppress(Exception):
            await self.upload.abort()
        if self.scan is not None:
            await self.scan.close()
            self.scan = None


async def receive_file(events: AsyncIterable[FormEvent], *, max_bytes: int, store: ObjectStore, bucket: str,
                       key: str, scanner: Clamd | None, allowed: tuple[FileKind, ...] = ALLOWED_KINDS
                       ) -> ReceivedFile:
    """Consume the form's events; on any refusal the partial object is aborted and the
    error raised. ``scanner=None`` skips the antivirus (documents made by the administration)."""
    raw_name: str | None = None
    head = bytearray()
    kind: FileKind | None = None
    size = 0
    digest = hashlib.sha256()
    sniffer = EncryptionSniffer()
    upload: Upload | None = None
    scan: ScanSession | None = None
    scanner_down = False
    ended = False

    async def start(first: bytes) -> None:
        nonlocal kind, upload, scan, scanner_down
        kind = detect_kind(first, allowed)
        upload = store.start_upload(bucket, key, kind.content_type)
        if scanner is not None:
            try:
                scan = await scanner.start()
            except ScannerUnavailable as exc:
                log.warning("antivirus unreachable at upload: %s", exc)
                scanner_down = True
        await forward(first)

    async def forward(data: bytes) -> None:
        nonlocal scan, scanner_down
        assert upload is not None and kind is not None
        if kind.content_type == "application/pdf":
            sniffer.feed(data)
        await upload.feed(data)
        if scan is not None:
            try:
                await scan.send(data)
            except ScannerUnavailable as exc:
                log.warning("antivirus lost during upload: %s", exc)
                scan, scanner_down = None, True

    try:
        async for event in events:
            if isinstance(event, FileStart):
                raw_name = event.filename
            elif isinstance(event, FileData):
                size += len(event.data)
                if size > max_bytes:
                    raise too_large(max_bytes)
                digest.update(event.data)
                if kind is None:
                    head += event.data
                    if len(head) >= MAGIC_BYTES:
                        await start(bytes(head))
                        head.clear()
                else:
                    await forward(event.data)
            elif isinstance(event, FileEnd):
                ended = True
                if kind is None and head:
                    await start(bytes(head))
                    head.clear()
        if not ended and size == 0:
            raise InvalidUpload("Le fichier est obligatoire.", field="file")
        if size == 0 or kind is None or upload is None:
            raise InvalidUpload("Le fichier est vide.", field="file")
        if sniffer.found:
            raise InvalidUpload("Les PDF protégés par un mot de passe ou chiffrés ne sont pas acceptés : "
                                "enregistrez le document sans protection puis envoyez-le à nouveau.", field="file")
    except BaseException:
        if upload is not None:
            with contextlib.suppress(Exception):
                await upload.abort()
        if scan is not None:
            await scan.close()
        raise
    return ReceivedFile(kind=kind, filename=sanitize_filename(raw_name, kind), size=size,
                        sha256=digest.hexdigest(), upload=upload, scan=scan, scanner_was_down=scanner_down)
