"""A streaming reader of multipart/form-data bodies: the file's bytes are handed on as they
arrive (never held whole), the small text fields are collected with a bound."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from documents.domain.model import InvalidUpload, UnsupportedType


@dataclass
class FileStart:
    field: str
    filename: str | None
    declared_type: str | None


@dataclass
class FileData:
    data: bytes


@dataclass
class FileEnd:
    pass


FormEvent = FileStart | FileData | FileEnd


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    is_file: bool = False
    value: bytearray = field(default_factory=bytearray)


class FormStream:
    def __init__(self, content_type: str | None, *, file_fields: tuple[str, ...] = ("file",),
                 max_field_bytes: int = 4096, max_fields: int = 20) -> None:
        ctype, params = parse_options_header(content_type or "")
        boundary = params.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            raise UnsupportedType("Le corps de la requête doit être un formulaire multipart/form-data.")
        self.fields: dict[str, str] = {}
        self.file_seen = False
        self._file_fields = file_fields
        self._max_field_bytes = max_field_bytes
        self._max_fields = max_fields
        self._pending: list[FormEvent] = []
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._ended = False
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        })

    # parser callbacks (synchronous) ---------------------------------------------------
    def _on_part_begin(self) -> None:
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = bytes(self._header_field).decode("latin-1").strip().lower()
        # latin-1 keeps the raw bytes; the file name's UTF-8 is decoded once parsed.
        self._part.headers[name] = bytes(self._header_value).decode("latin-1").strip()
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        part = self._part
        _, params = parse_options_header(part.headers.get("content-disposition", ""))
        raw_name = params.get(b"name")
        raw_filename = params.get(b"filename")
        part.name = raw_name.decode("utf-8", "replace") if raw_name is not None else None
        part.filename = raw_filename.decode("utf-8", "replace") if raw_filename is not None else None
        if part.name in self._file_fields:
            if self.file_seen:
                raise InvalidUpload("Un seul fichier peut être envoyé à la fois.", field=part.name)
            self.file_seen = True
            part.is_file = True
            self._pending.append(FileStart(part.name, part.filename, part.headers.get("content-type")))
        elif len(self.fields) >= self._max_fields:
            raise InvalidUpload("Le formulaire contient trop de champs.")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.is_file:
            self._pending.append(FileData(bytes(data[start:end])))
            return
        self._part.value += data[start:end]
        if len(self._part.value) > self._max_field_bytes:
            raise InvalidUpload("Ce champ est trop long.", field=self._part.name)

    def _on_part_end(self) -> None:
        part = self._part
        if part.is_file:
            self._pending.append(FileEnd())
        elif part.name:
            try:
                self.fields[part.name] = bytes(part.value).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidUpload("Ce champ n'est pas un texte UTF-8 valide.", field=part.name) from None

    def _on_end(self) -> None:
        self._ended = True

    # the stream -----------------------------------------------------------------------
    async def events(self, body: AsyncIterable[bytes]) -> AsyncIterator[FormEvent]:
        async for chunk in body:
            if not chunk:
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError:
                raise InvalidUpload("Le formulaire multipart est mal formé.") from None
            pending, self._pending = self._pending, []
            for event in pending:
                yield event
        try:
            self._parser.finalize()
        except MultipartParseError:
            raise InvalidUpload("Le formulaire multipart est mal formé.") from None
        for event in self._pending:
            yield event
        self._pending = []
        if not self._ended:
            raise InvalidUpload("Le formulaire multipart est incomplet.")
