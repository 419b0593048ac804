"""What verification-svc says in its events and what it listens to, without a database or broker: every
request event is built by one payload builder that masks the subject's identifier and carries no free text."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_shared.contracts import EVENT_CONTRACTS, validated_data
from govdata_shared.contracts.catalog import (
    RESOURCE_PUBLISHED,
    RESOURCE_REJECTED,
    RESOURCE_RETIRED,
    RESOURCE_SUBMITTED,
    RESOURCE_SUPERSEDED,
)
from govdata_shared.testing import PERSON
from pydantic import ValidationError
from verification_svc.domain import CorrectionStatus, SubjectType
from verification_svc.events import (
    CONSUMED_TOPICS,
    HANDLERS,
    REQUEST_EXTENDED,
    REQUEST_OVERDUE,
    REQUEST_RESOLVED,
    REQUEST_SUBMITTED,
    RequestOverdueData,
    RequestSubmittedData,
    request_payload,
)
from verification_svc.models import CorrectionRequest

SUBMITTED_PAYLOAD = {
    "request_id": "cor-1",
    "resource_id": "res-population",
    "provider_dept": "YC-GA",
    "subject_type": "person",
    "subject_id": "3405**********001X",
    "subject_id_check_failed": False,
    "applicant_kind": "citizen",
    "applicant_dept": None,
    "items": ["household_address"],
    "status": "open",
    "received_on": "2026-11-26",
    "deadline": "2026-12-10",
    "deadline_estimated": False,
}


def a_request() -> CorrectionRequest:
    return CorrectionRequest(
        id="cor-1",
        resource_id="res-population",
        provider_dept="YC-GA",
        subject_type=SubjectType.PERSON,
        subject_id=PERSON,
        subject_id_check_failed=False,
        items=["household_address"],
        claimed_values={"household_address": "伊川县城关镇人民路12号"},
        description=f"身份证号 {PERSON}，地址有误",
        applicant_kind="citizen",
        applicant_sub="citizen-1",
        status=CorrectionStatus.OPEN,
        received_on=date(2026, 11, 26),
        deadline=date(2026, 12, 10),
        deadline_estimated=False,
        original_deadline=date(2026, 12, 10),
    )


def test_the_submitted_payload_masks_the_subject_and_leaves_free_text_out():
    data = validated_data(REQUEST_SUBMITTED, request_payload(a_request()))
    assert data == SUBMITTED_PAYLOAD
    assert PERSON not in str(data) and "人民路" not in str(data)


def test_each_event_adds_its_own_fields_to_the_common_payload():
    data = validated_data(REQUEST_OVERDUE, request_payload(a_request(), detected_on=date(2026, 12, 11), extended=False))
    assert data == {**SUBMITTED_PAYLOAD, "detected_on": "2026-12-11", "extended": False}


def test_the_contracts_refuse_an_unmasked_identifier():
    RequestSubmittedData.model_validate(SUBMITTED_PAYLOAD)
    with pytest.raises(ValidationError):
        RequestSubmittedData.model_validate({**SUBMITTED_PAYLOAD, "subject_id": PERSON})
    with pytest.raises(ValidationError):
        RequestOverdueData.model_validate(SUBMITTED_PAYLOAD)  # detected_on and extended are required
    assert {REQUEST_SUBMITTED, REQUEST_EXTENDED, REQUEST_RESOLVED, REQUEST_OVERDUE} <= EVENT_CONTRACTS.keys()


def test_a_handler_is_registered_for_every_resource_transition():
    assert CONSUMED_TOPICS == ("govdata.catalog.v1",)
    assert set(HANDLERS) == {
        RESOURCE_SUBMITTED,
        RESOURCE_PUBLISHED,
        RESOURCE_REJECTED,
        RESOURCE_SUPERSEDED,
        RESOURCE_RETIRED,
    }
