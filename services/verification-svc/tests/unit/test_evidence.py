"""Evidence files (证明材料): the type comes from the content, the name loses any folder."""

from __future__ import annotations

import pytest
from verification_svc.domain import evidence_filename, sniff_evidence_type


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"MZ\x90\x00", None),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_evidence_type_comes_from_the_content(head, content_type):
    assert sniff_evidence_type(head) == content_type


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("户口簿.pdf", "户口簿.pdf"),
        ("C:\\Users\\张三\\scan.png", "scan.png"),
        ("../../etc/passwd", "passwd"),
        ("  ", "evidence"),
        (None, "evidence"),
        ("a" * 250 + ".pdf", "a" * 200),
    ],
)
def test_an_evidence_file_is_kept_under_its_bare_name(given, kept):
    assert evidence_filename(given) == kept
