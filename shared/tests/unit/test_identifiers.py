"""身份证号 (GB 11643-1999) and 统一社会信用代码 (GB 32100-2015): validation and masking."""

import copy
import hashlib
import uuid
from collections import namedtuple
from datetime import date

import pytest
from govdata_shared.identifiers import (
    InvalidIdentifier,
    ValidatedId,
    mask_identifier,
    mask_identifiers_in_text,
    mask_in_obj,
    validate_credit_code,
    validate_resident_id,
    validate_subject_id,
)

TODAY = date(2026, 11, 26)

# --- independent reference implementations, written straight from the standards' text ---------------


def ref_resident_check(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = 0
    for i in range(17):
        total += int(first17[i]) * weights[i]
    return "10X98765432"[total % 11]


def ref_credit_check(first17: str) -> str:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = 0
    for i in range(17):
        total += charset.index(first17[i]) * weights[i]
    return charset[(31 - total % 31) % 31]


def test_reference_implementations_agree_with_known_vectors() -> None:
    assert ref_resident_check("34052419800101001") == "X"
    assert ref_credit_check("91110000600037341") == "L"
    assert ref_credit_check("91440300708461136") == "T"


# --- 身份证号 --------------------------------------------------------------------------------------

VALID_RESIDENT_IDS = [
    "34052419800101001X",
    "410329199001011235",  # 伊川县
    "410329200002290024",  # leap day
]


@pytest.mark.parametrize("value", VALID_RESIDENT_IDS)
def test_valid_resident_ids(value: str) -> None:
    assert ref_resident_check(value[:17]) == value[17]
    assert validate_resident_id(value, today=TODAY) == ValidatedId(value, "resident_id", False)


def test_resident_id_default_today() -> None:
    assert validate_resident_id("34052419800101001X").value == "34052419800101001X"


def test_resident_id_lower_case_x_and_whitespace_are_normalised() -> None:
    result = validate_resident_id(" \t34052419800101001x\n", today=TODAY)
    assert result.value == "34052419800101001X"
    assert result.kind == "resident_id"
    assert result.check_failed is False


def test_resident_id_wrong_check_digit() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_resident_id("340524198001010011", today=TODAY)
    assert exc.value.rule == "check_digit"
    assert exc.value.message == "身份证号校验位错误"
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    "value",
    ["", "34052419800101001", "34052419800101001X0", "340524800101001", "3405 2419800101001X"],
)
def test_resident_id_wrong_length(value: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_resident_id(value, today=TODAY)
    assert exc.value.rule == "length"


@pytest.mark.parametrize(
    "value",
    [
        "34052419800101001Y",
        "3405241980010100X1",
        "3405 419800101001X",
        "３４0524198001010010",  # full-width digits are not ASCII digits
        "34052419800101001-",
    ],
)
def test_resident_id_charset(value: str) -> None:
    assert len(value) == 18
    with pytest.raises(InvalidIdentifier) as exc:
        validate_resident_id(value, today=TODAY)
    assert exc.value.rule == "charset"


def _with_check(first17: str) -> str:
    return first17 + ref_resident_check(first17)


@pytest.mark.parametrize(
    "first17",
    [
        "41032919900230123",  # 30 February
        "41032919901301123",  # month 13
        "41032919900100123",  # day 0
        "41032920010229123",  # 2001 is not a leap year
        "41032918991231123",  # before 1900
        "41032920261127123",  # tomorrow
        "41032920990101123",  # far future
    ],
)
def test_resident_id_bad_birth_date(first17: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_resident_id(_with_check(first17), today=TODAY)
    assert exc.value.rule == "birth_date"


def test_resident_id_born_today_is_valid() -> None:
    value = _with_check("41032920261126123")
    assert validate_resident_id(value, today=TODAY).value == value


@pytest.mark.parametrize("first17", ["00032919900101123", "99032919900101123", "19032919900101123"])
def test_resident_id_bad_region(first17: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_resident_id(_with_check(first17), today=TODAY)
    assert exc.value.rule == "region"


@pytest.mark.parametrize("first17", ["81000019900101123", "82000019900101123", "83000019900101123"])
def test_residence_permit_numbers_of_hk_macao_taiwan_residents(first17: str) -> None:
    value = _with_check(first17)
    assert validate_resident_id(value, today=TODAY).value == value


def test_resident_id_not_a_string() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_resident_id(410329199001011235, today=TODAY)  # type: ignore[arg-type]
    assert exc.value.rule == "type"


# --- 统一社会信用代码 ------------------------------------------------------------------------------

VALID_CREDIT_CODES = [
    "91110000600037341L",
    "91440300708461136T",
    "91410329MA4000000" + ref_credit_check("91410329MA4000000"),
    "52410329MJ0000000" + ref_credit_check("52410329MJ0000000"),
]


@pytest.mark.parametrize("value", VALID_CREDIT_CODES)
def test_valid_credit_codes(value: str) -> None:
    assert validate_credit_code(value) == ValidatedId(value, "credit_code", False)


def test_credit_code_lower_case_and_whitespace_are_normalised() -> None:
    assert validate_credit_code("  91110000600037341l ").value == "91110000600037341L"


def test_pilot_region_code_is_accepted_with_flag() -> None:
    assert ref_credit_check("91350100M0001TGQX") != "M"
    result = validate_credit_code("91350100M0001TGQXM")
    assert result == ValidatedId("91350100M0001TGQXM", "credit_code", True)


def test_credit_code_with_wrong_check_character_is_flagged_not_rejected() -> None:
    assert validate_credit_code("91110000600037341A").check_failed is True


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_credit_code_forbidden_letters(letter: str) -> None:
    for value in ("9111000060003734" + letter + "L", "91110000600037341" + letter):
        with pytest.raises(InvalidIdentifier) as exc:
            validate_credit_code(value)
        assert exc.value.rule == "charset"


@pytest.mark.parametrize("value", ["", "9111000060003734L", "91110000600037341L0", "600037341"])
def test_credit_code_wrong_length(value: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_credit_code(value)
    assert exc.value.rule == "length"


@pytest.mark.parametrize("value", ["9111000060003734-L", "91110000 60003734L", "9111000060003734éL"])
def test_credit_code_charset(value: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_credit_code(value)
    assert exc.value.rule == "charset"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("01110000600037341L", "registration_dept"),
        ("B1110000600037341L", "registration_dept"),
        ("90110000600037341L", "org_category"),
        ("9A110000600037341L", "org_category"),
        ("9111A000600037341L", "region"),
        ("911100M0600037341L", "region"),
    ],
)
def test_credit_code_structure(value: str, rule: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_credit_code(value)
    assert exc.value.rule == rule


def test_validate_subject_id() -> None:
    assert validate_subject_id("person", "34052419800101001x").kind == "resident_id"
    assert validate_subject_id("org", "91110000600037341L").kind == "credit_code"
    # A 身份证号 is structurally a possible credit code; only the check character tells them apart, and a
    # failed check is a flag, not a refusal (pilot-region codes).
    assert validate_subject_id("org", "34052419800101001X").check_failed is True
    with pytest.raises(InvalidIdentifier) as exc:
        validate_subject_id("person", "91110000600037341L")
    assert exc.value.rule == "charset"
    with pytest.raises(InvalidIdentifier) as exc:
        validate_subject_id("dept", "91110000600037341L")  # type: ignore[arg-type]
    assert exc.value.rule == "subject_type"


# --- masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("410329199001011235", "4103**********1235"),
        ("34052419800101001X", "3405**********001X"),
        ("91110000600037341L", "9111**********341L"),
        ("123456789", "1234*6789"),
        ("12345678", "*******8"),
        ("ab", "*b"),
        ("a", "*"),
        ("", ""),
    ],
)
def test_mask_identifier(value: str, masked: str) -> None:
    assert mask_identifier(value) == masked


def test_mask_identifiers_in_chinese_text() -> None:
    text = "申请人身份证号410329199001011235，代理企业91110000600037341L（统一社会信用代码）已受理。"
    assert mask_identifiers_in_text(text) == (
        "申请人身份证号4103**********1235，代理企业9111**********341L（统一社会信用代码）已受理。"
    )


def test_mask_identifiers_in_text_variants() -> None:
    assert mask_identifiers_in_text("id=34052419800101001x;") == "id=3405**********001x;"
    assert mask_identifiers_in_text("pilot 91350100M0001TGQXM") == "pilot 9135**********GQXM"
    assert mask_identifiers_in_text("lower 91110000600037341l") == "lower 9111**********341l"
    assert mask_identifiers_in_text("a_410329199001011235_b") == "a_4103**********1235_b"


def test_mask_identifiers_in_text_leaves_uuids_and_hashes_alone() -> None:
    u = uuid.UUID("123e4567-e89b-12d3-a456-426614174000")
    sha = hashlib.sha256(b"410329199001011235").hexdigest()
    # A digest that happens to contain an ID-shaped run of digits is still one token, not an identifier.
    crafted = "ab" + "410329199001011235" + "cd" * 22
    assert len(crafted) == 64
    for token in (str(u), u.hex, sha, crafted, "a" * 18, "ABCDEFGHJKLMNPQRTU"):
        text = f"event {token} recorded"
        assert mask_identifiers_in_text(text) == text


def test_mask_identifiers_in_text_leaves_other_numbers_alone() -> None:
    text = "phone 13800138000, 19-digit 4103291990010112350, 17-digit 41032919900101123"
    assert mask_identifiers_in_text(text) == text


def test_mask_in_obj_nested() -> None:
    Pair = namedtuple("Pair", "kind value")
    payload = {
        "type": "verification.request.created",
        "data": {
            "subject": {"kind": "person", "id": "410329199001011235"},
            "history": [
                {"note": "原值身份证号34052419800101001X有误"},
                ("org", "91110000600037341L"),
                Pair("org", "91350100M0001TGQXM"),
            ],
            "tags": {"410329199001011235"},
            "count": 3,
            "ok": True,
            "missing": None,
        },
        "410329199001011235": "keyed by id",
    }
    original = copy.deepcopy(payload)
    masked = mask_in_obj(payload)
    assert payload == original  # input untouched
    assert masked == {
        "type": "verification.request.created",
        "data": {
            "subject": {"kind": "person", "id": "4103**********1235"},
            "history": [
                {"note": "原值身份证号3405**********001X有误"},
                ("org", "9111**********341L"),
                Pair("org", "9135**********GQXM"),
            ],
            "tags": {"4103**********1235"},
            "count": 3,
            "ok": True,
            "missing": None,
        },
        "4103**********1235": "keyed by id",
    }
    assert isinstance(masked["data"]["history"][2], Pair)


def test_mask_in_obj_scalars() -> None:
    assert mask_in_obj("410329199001011235") == "4103**********1235"
    assert mask_in_obj(42) == 42
    assert mask_in_obj(None) is None
