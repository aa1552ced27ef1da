"""The document library's rules, in plain Python: what a file may be, what its name becomes,
who owns it, and which state it is in."""

from __future__ import annotations

import enum
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date


class DocumentStatus(enum.StrEnum):
    PENDING_SCAN = "pending_scan"  # « en cours d'analyse »: stored, never served until scanned
    AVAILABLE = "available"
    REJECTED = "rejected"


class Origin(enum.StrEnum):
    UPLOAD = "upload"  # sent by the applicant, scanned
    GENERATED = "generated"  # produced by the administration (authorisation PDF), not scanned


# --- errors (French messages: they reach people unchanged) ----------------------------


class DocumentError(Exception):
    """A rule refused the request. ``code`` says which kind; the API maps it to a status."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class TooLarge(DocumentError):
    code = "too_large"


class UnsupportedType(DocumentError):
    code = "unsupported_type"


class InvalidUpload(DocumentError):
    code = "invalid"


class NotFound(DocumentError):
    code = "not_found"


class Conflict(DocumentError):
    code = "conflict"


class IntegrityFailure(DocumentError):
    code = "integrity"


# --- content type from the bytes, never from the name ---------------------------------


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str
    magic: bytes
    aliases: tuple[str, ...] = ()

    @property
    def extensions(self) -> set[str]:
        return {self.extension.lstrip("."), *self.aliases}


ALLOWED_KINDS = (
    FileKind("application/pdf", ".pdf", b"%PDF-"),
    FileKind("image/png", ".png", b"\x89PNG\r\n\x1a\n"),
    FileKind("image/jpeg", ".jpg", b"\xff\xd8\xff", aliases=("jpeg",)),
)
# Bytes needed to recognise every allowed kind.
MAGIC_BYTES = max(len(k.magic) for k in ALLOWED_KINDS)


def detect_kind(head: bytes, allowed: tuple[FileKind, ...] = ALLOWED_KINDS) -> FileKind:
    for kind in allowed:
        if head.startswith(kind.magic):
            return kind
    names = ", ".join(k.extension.lstrip(".").upper() for k in allowed)
    raise UnsupportedType(
        f"Le contenu du fichier n'est pas d'un type accepté ({names}). "
        "Le type est déterminé d'après le contenu, pas d'après le nom du fichier."
    )


class EncryptionSniffer:
    """Finds an encryption dictionary reference in a PDF as its bytes stream past.

    An encrypted PDF names its ``/Encrypt`` dictionary in the trailer (or in the
    cross-reference stream's dictionary, which is never compressed), as ``/Encrypt n g R``
    or ``/Encrypt <<``. A tail is kept so a token split across two chunks is still seen."""

    _PATTERN = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
    _TAIL = 64

    def __init__(self) -> None:
        self._tail = b""
        self.found = False

    def feed(self, chunk: bytes) -> None:
        if self.found:
            return
        window = self._tail + chunk
        if self._PATTERN.search(window):
            self.found = True
            return
        self._tail = window[-self._TAIL:]


# --- names -----------------------------------------------------------------------------

MAX_FILENAME_LENGTH = 180
_UNSAFE = re.compile(r'[<>:"|?*]')
_SPACES = re.compile(r"\s+")


def sanitize_filename(raw: str | None, kind: FileKind) -> str:
    """A name safe to store and to send back in Content-Disposition: no path, no control
    characters, no reserved characters, bounded length, and the extension of the real type."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if ext.lower() not in kind.extensions:
        # The name lies about the type (or has none): the extension says what the bytes are.
        stem = name if not dot else stem
        ext = kind.extension.lstrip(".")
    stem = stem.strip(" .") or "document"
    stem = stem[: MAX_FILENAME_LENGTH - len(ext) - 1]
    return f"{stem}.{ext}"


# --- ownership -------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Whose library a document belongs to: the account, or the company (operator) for the
    OPPD members who act for it and share its library."""

    account_id: uuid.UUID
    operator_id: uuid.UUID | None = None

    @classmethod
    def of(cls, account_id: uuid.UUID, access_level: str | None, operator_id: uuid.UUID | None) -> Owner:
        if access_level == "OPPD" and operator_id is not None:
            return cls(account_id, operator_id)
        return cls(account_id, None)

    def owns(self, account_id: uuid.UUID, operator_id: uuid.UUID | None) -> bool:
        if self.operator_id is not None:
            return operator_id == self.operator_id
        return operator_id is None and account_id == self.account_id


# --- metadata --------------------------------------------------------------------------

DOCUMENT_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
MAX_TITLE_LENGTH = 200


def check_validity(valid_from: date | None, valid_until: date | None) -> None:
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidUpload("La date de fin de validité précède la date de début.", field="valid_until")
