"""Who a request is about: 公民身份号码 (GB 11643) and 统一社会信用代码 (GB 32100), validated into a 422 that names
the field `subject_id` and the rule broken."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_shared.errors import Problem
from verification_svc import domain

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("subject_type", "value", "rule"),
    [
        ("person", "340524198001010010", "check_digit"),  # last character should be X
        ("person", "340524198013010013", "birth_date"),  # month 13
        ("person", "3405241980010100", "length"),
        ("person", "990524198001010019", "region"),
        ("org", "9135010M0001TGQXM", "length"),
        ("org", "91350100M0001TGQXI", "charset"),
    ],
)
def test_invalid_identifiers_are_422_naming_the_field_and_rule(subject_type, value, rule):
    with pytest.raises(Problem) as refused:
        domain.validate_subject(subject_type, value, TODAY)
    assert refused.value.status == 422
    assert refused.value.field == "subject_id" and refused.value.rule == rule


def test_identifiers_are_kept_stripped_and_upper_case():
    assert domain.validate_subject(domain.SubjectType.PERSON, " 34052419800101001x ", TODAY).value == (
        "34052419800101001X"
    )
    assert domain.normalise_identifier(" 91350100m0001tgqxm") == "91350100M0001TGQXM"


def test_pilot_region_credit_code_passes_with_its_flag():
    validated = domain.validate_subject("org", "91350100m0001tgqxm", TODAY)
    assert validated.value == "91350100M0001TGQXM" and validated.check_failed is True
    assert domain.validate_subject("org", "91110000600037341L", TODAY).check_failed is False


def test_lookup_identifier_of_unknown_kind_is_read_by_its_shape():
    assert domain.validate_any_identifier("34052419800101001x", TODAY).kind == "resident_id"
    assert domain.validate_any_identifier("91350100M0001TGQXM", TODAY).kind == "credit_code"
    with pytest.raises(Problem) as refused:
        domain.validate_any_identifier("340524198001010010", TODAY)
    assert refused.value.rule == "check_digit"
