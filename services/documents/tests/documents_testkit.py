"""Test data and helpers of the documents service's tests (importable from test modules)."""

from __future__ import annotations

import io
import os
from typing import Any

TEST_LIMIT = 1024 * 1024  # the upload limit in tests: 1 MiB
PROBLEM = "application/problem+json"


def eicar() -> bytes:
    """The EICAR antivirus test string, assembled so that no file of the repository holds it."""
    return b"".join([b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$", b"EICAR-STANDARD-ANTIVIRUS-", b"TEST-FILE!$H+H*"])


def eicar_png() -> bytes:
    """EICAR behind a PNG signature: accepted by type, so only the antivirus can stop it."""
    return b"\x89PNG\r\n\x1a\n" + eicar()


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + os.urandom(2000)
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 500


def pdf(text: str = "Permis de chasser") -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": text})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt(user_password="secret", owner_password="owner")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def objects_in(s3: Any, bucket: str) -> list[str]:
    return [o.object_name for o in s3.client().list_objects(bucket, recursive=True)]



def raw_form(filename: bytes, content: bytes, boundary: bytes = b"b0undary",
             **fields: str) -> tuple[dict[str, str], bytes]:
    """A multipart body written by hand (clients escape odd file names; attackers do not)."""
    parts = [b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + k.encode() + b'"\r\n\r\n'
             + v.encode() + b"\r\n" for k, v in fields.items()]
    parts.append(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + filename
                 + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + content + b"\r\n")
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    return {"content-type": f"multipart/form-data; boundary={boundary.decode()}"}, body
