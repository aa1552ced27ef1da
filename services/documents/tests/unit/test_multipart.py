"""The streaming form reader on bodies cut at every possible place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from documents.adapters.multipart import FileData, FileEnd, FileStart, FormStream
from documents.domain.model import InvalidUpload, UnsupportedType
from documents_testkit import raw_form

CONTENT = bytes(range(256)) * 40


async def chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i:i + size]


async def read(form: FormStream, body: bytes, size: int) -> tuple[bytes, list[object]]:
    data, starts = b"", []
    async for event in form.events(chunks(body, size)):
        if isinstance(event, FileData):
            data += event.data
        elif isinstance(event, (FileStart, FileEnd)):
            starts.append(event)
    return data, starts


@pytest.mark.parametrize("size", [1, 3, 100, 4096, 1 << 20])
async def test_file_and_fields_survive_any_chunking(size):
    headers, body = raw_form("pièce.pdf".encode(), CONTENT, title="Licence de tir", document_type="LIC")
    form = FormStream(headers["content-type"])
    data, events = await read(form, body, size)
    assert data == CONTENT
    assert form.fields == {"title": "Licence de tir", "document_type": "LIC"}
    assert isinstance(events[0], FileStart) and events[0].filename == "pièce.pdf"
    assert isinstance(events[-1], FileEnd)


async def test_refusals():
    with pytest.raises(UnsupportedType):
        FormStream("application/json")
    with pytest.raises(UnsupportedType):
        FormStream("multipart/form-data")
    headers, body = raw_form(b"a.pdf", CONTENT, title="x" * 5000)
    with pytest.raises(InvalidUpload):
        await read(FormStream(headers["content-type"]), body, 1024)
    with pytest.raises(InvalidUpload, match="incomplet"):
        await read(FormStream(headers["content-type"]), body[:200], 64)
    headers, body = raw_form(b"a.pdf", CONTENT, title="ok")
    two = body.replace(b"--b0undary--", b'--b0undary\r\nContent-Disposition: form-data; name="file"; '
                                         b'filename="b.pdf"\r\n\r\nxx\r\n--b0undary--')
    with pytest.raises(InvalidUpload, match="Un seul fichier"):
        await read(FormStream(headers["content-type"]), two, 4096)
