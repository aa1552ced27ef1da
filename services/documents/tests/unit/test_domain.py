"""The library's rules on plain values: type by content, names, encryption, ownership."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from documents.adapters.clamav import ScannerUnavailable, parse_reply
from documents.domain.model import (
    ALLOWED_KINDS,
    EncryptionSniffer,
    InvalidUpload,
    Owner,
    UnsupportedType,
    check_validity,
    detect_kind,
    sanitize_filename,
)
from documents_testkit import ELF, JPEG, PNG, encrypted_pdf, pdf

PDF_KIND, PNG_KIND, JPEG_KIND = ALLOWED_KINDS


@pytest.mark.parametrize(("head", "expected"), [(pdf(), "application/pdf"), (PNG, "image/png"),
                                                 (JPEG, "image/jpeg")])
def test_type_comes_from_the_bytes(head, expected):
    assert detect_kind(head[:8]).content_type == expected


@pytest.mark.parametrize("head", [ELF, b"MZ\x90\x00", b"PK\x03\x04", b"<html>", b"GIF89a", b"%PD"])
def test_other_types_are_refused_in_french(head):
    with pytest.raises(UnsupportedType) as err:
        detect_kind(head)
    assert "PDF, PNG, JPG" in err.value.message


@pytest.mark.parametrize(("raw", "kind", "expected"), [
    ("permis.pdf", PDF_KIND, "permis.pdf"),
    ("scan.pdf", PNG_KIND, "scan.png"),
    ("photo.JPEG", JPEG_KIND, "photo.JPEG"),
    ("../../etc/passwd", PDF_KIND, "passwd.pdf"),
    ("C:\\Users\\moi\\licence.pdf", PDF_KIND, "licence.pdf"),
    ("a\x00b\x1b\u202ec.pdf", PDF_KIND, "abc.pdf"),
    ('  "<x>|y?*.pdf  ', PDF_KIND, "__x__y__.pdf"),
    ("", PDF_KIND, "document.pdf"),
    (None, PNG_KIND, "document.png"),
    ("....pdf", PDF_KIND, "pdf.pdf"),
    ("..", PDF_KIND, "document.pdf"),
    ("x" * 500 + ".pdf", PDF_KIND, "x" * 176 + ".pdf"),
    ("e\u0301te\u0301.pdf", PDF_KIND, "\u00e9t\u00e9.pdf"),
])
def test_file_names_are_sanitised(raw, kind, expected):
    assert sanitize_filename(raw, kind) == expected


def test_encryption_is_seen_even_split_across_chunks():
    data = encrypted_pdf()
    for size in (1, 7, 64, 4096):
        sniffer = EncryptionSniffer()
        for i in range(0, len(data), size):
            sniffer.feed(data[i:i + size])
        assert sniffer.found, size


def test_plain_pdf_is_not_taken_for_encrypted():
    sniffer = EncryptionSniffer()
    sniffer.feed(pdf("Le mot /Encrypt dans un texte"))
    assert not sniffer.found


def test_owner_is_the_company_for_oppd_members():
    account, company = uuid.uuid4(), uuid.uuid4()
    assert Owner.of(account, "OPPD", company) == Owner(account, company)
    assert Owner.of(account, "AS", company) == Owner(account, None)
    assert Owner.of(account, "OPPD", None) == Owner(account, None)
    member = Owner(account, company)
    assert member.owns(uuid.uuid4(), company)
    assert not member.owns(account, None)
    alone = Owner(account)
    assert alone.owns(account, None)
    assert not alone.owns(account, company)


def test_validity_dates_must_be_in_order():
    check_validity(date(2024, 1, 1), date(2024, 1, 1))
    check_validity(None, date(2024, 1, 1))
    with pytest.raises(InvalidUpload) as err:
        check_validity(date(2024, 1, 2), date(2024, 1, 1))
    assert err.value.field == "valid_until"


def test_clamd_replies():
    assert not parse_reply(b"stream: OK\0").infected
    verdict = parse_reply(b"stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0")
    assert verdict.infected and verdict.signature == "Eicar-Test-Signature.UNOFFICIAL"
    with pytest.raises(ScannerUnavailable):
        parse_reply(b"INSTREAM size limit exceeded. ERROR\0")
