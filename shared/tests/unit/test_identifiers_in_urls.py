"""Identifiers in a data call's path or query (issue 13): masked however the URL writes them — plainly, with a
lower-case x, percent-encoded (either hex case), or right after an encoded separator."""

from __future__ import annotations

import hashlib
import re
import uuid
from urllib.parse import quote

import pytest
from govdata_shared.identifiers import mask_identifiers_in_text

PERSON = "110101199003074578"
PERSON_X = "34052419800101001X"
COMPANY = "91110000600037341L"


def encoded(value: str, *, lower_hex: bool = False) -> str:
    """Every character percent-encoded, as a client may write it."""
    text = "".join(f"%{ord(c):02X}" for c in value)
    return text.lower() if lower_hex else text


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (f"/data/res-1/persons/{PERSON}", "/data/res-1/persons/1101**********4578"),
        (f"/data/res-1/persons/{PERSON}?x=1", "/data/res-1/persons/1101**********4578?x=1"),
        (f"/data/res-1/persons?sfzh={PERSON}&page=2", "/data/res-1/persons?sfzh=1101**********4578&page=2"),
        (f"/data/res-1/persons/{PERSON_X.lower()}", "/data/res-1/persons/3405**********001x"),
        (f"/data/res-1/orgs/{COMPANY}/licences", "/data/res-1/orgs/9111**********341L/licences"),
        (f"/data/res-1/orgs?q={COMPANY.lower()}", "/data/res-1/orgs?q=9111**********341l"),
        # percent-encoded, whole or in part, upper- or lower-case hex
        (f"/data/res-1/persons/{encoded(PERSON)}", "/data/res-1/persons/1101**********4578"),
        (f"/data/res-1/persons/{encoded(PERSON, lower_hex=True)}", "/data/res-1/persons/1101**********4578"),
        (f"/p?id={PERSON[:9]}{encoded(PERSON[9:])}&a=b", "/p?id=1101**********4578&a=b"),
        (f"/p?id={PERSON_X[:17]}%78", "/p?id=3405**********001x"),
        (f"/o?q={encoded(COMPANY)}", "/o?q=9111**********341L"),
        (f"/o?q={encoded(COMPANY.lower(), lower_hex=True)}", "/o?q=9111**********341l"),
        # after an encoded separator (%2F, %3D, %20) and before another
        (f"/p/a%2F{PERSON}%2Fb", "/p/a%2F1101**********4578%2Fb"),
        (f"/p?filter=sfzh%3D{PERSON}%20and", "/p?filter=sfzh%3D1101**********4578%20and"),
        (f"/p?q={quote('身份证号' + PERSON)}", f"/p?q={quote('身份证号')}1101**********4578"),
    ],
)
def test_identifiers_in_urls_are_masked(url: str, masked: str) -> None:
    assert mask_identifiers_in_text(url) == masked
    assert PERSON not in mask_identifiers_in_text(url)


def test_every_identifier_of_a_url_is_masked() -> None:
    url = f"/data/r/persons/{PERSON}/orgs/{encoded(COMPANY)}?also={PERSON_X}"
    assert mask_identifiers_in_text(url) == (
        "/data/r/persons/1101**********4578/orgs/9111**********341L?also=3405**********001X"
    )


def test_urls_without_identifiers_are_unchanged() -> None:
    digest = hashlib.sha256(PERSON.encode()).hexdigest()
    for url in (
        "/data/res-1/persons?page=2&size=20",
        f"/data/res-1/persons/{uuid.uuid4()}",
        f"/data/res-1/files/{digest}",
        "/data/res-1/search?q=%E5%BC%A0%E4%BC%9F&rate=50%25",  # 张伟, an escaped percent sign
        "/data/res-1/phones/13800138000",
        f"/data/res-1/longer/{PERSON}0",  # 19 digits: not an identifier
        f"/data/res-1/longer/{encoded(PERSON)}%30",
        f"/data/res-1/longer/%31{PERSON}",  # an escaped digit continues the run
        f"/data/res-1/longer/{PERSON}%41",
    ):
        assert mask_identifiers_in_text(url) == url, url


def test_text_without_percent_signs_masks_as_before() -> None:
    """Existing callers (logs, the audit trail) see the behaviour they had: the plain pattern, unchanged."""
    plain = re.compile(
        r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[1-9ANYany][1-9][0-9]{6}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10})"
        r"(?![0-9A-Za-z])"
    )
    for text in (
        f"申请人身份证号{PERSON}，企业{COMPANY}",
        f"a_{PERSON}_b",
        f"x{PERSON}",
        f"{PERSON}y",
        "phone 13800138000",
        f"pilot 91350100M0001TGQXM and {PERSON_X.lower()}",
    ):
        expected = plain.sub(lambda m: m.group(0)[:4] + "*" * 10 + m.group(0)[-4:], text)
        assert mask_identifiers_in_text(text) == expected, text
