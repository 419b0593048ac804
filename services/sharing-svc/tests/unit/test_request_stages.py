"""The two paths of a share request (第二十九条): who decides each stage and within how many working days, and
the 需求单 a requester may attach."""

from __future__ import annotations

from datetime import date

import pytest
from govdata_shared.workdays import WorkdayCalendar
from sharing_svc.domain import (
    BUREAU_DEPT,
    FIRST_STAGE,
    MAX_ATTACHMENT_BYTES,
    NEXT_STAGE,
    STAGE_DECIDER,
    STAGE_WORKING_DAYS,
    Decider,
    RequestStatus,
    SharingType,
    approved_items,
    attachment_type,
    decided_on_time,
    is_open,
    item_choice_violations,
    responsible_dept,
    stage_deadline,
)

THURSDAY = date(2026, 11, 26)


def path(sharing_type: str) -> list[tuple[str, str, int]]:
    """The stages a request on `sharing_type` passes until granted: (stage, decider, working days)."""
    stages, stage = [], FIRST_STAGE[sharing_type]
    while stage != RequestStatus.GRANTED:
        stages.append((str(stage), str(STAGE_DECIDER[stage]), STAGE_WORKING_DAYS[stage]))
        stage = NEXT_STAGE[stage]
    return stages


def test_an_unconditional_request_is_reviewed_by_the_platform_in_three_working_days():
    assert path("unconditional") == [("platform_review", "bureau", 3)]


def test_a_conditional_request_is_decided_by_the_provider_in_five_then_delivered_by_the_platform_in_three():
    assert path("conditional") == [("provider_review", "provider", 5), ("delivery", "bureau", 3)]


def test_a_none_shared_resource_has_no_path():
    assert SharingType.NONE not in FIRST_STAGE


def test_only_the_stages_have_deciders_and_deadlines_and_only_they_are_open():
    stages = {RequestStatus.PLATFORM_REVIEW, RequestStatus.PROVIDER_REVIEW, RequestStatus.DELIVERY}
    assert set(STAGE_DECIDER) == set(STAGE_WORKING_DAYS) == set(NEXT_STAGE) == stages
    assert {s for s in RequestStatus if is_open(s)} == stages
    assert not is_open("granted") and not is_open("rejected")


@pytest.mark.parametrize(
    ("start", "stage", "due"),
    [
        (THURSDAY, "platform_review", date(2026, 12, 1)),  # Thursday + 3 working days → Tuesday
        (THURSDAY, "provider_review", date(2026, 12, 3)),  # + 5 → Thursday
        (date(2026, 11, 27), "delivery", date(2026, 12, 2)),  # Friday + 3 → Wednesday
    ],
)
def test_a_stage_is_due_its_working_days_after_the_day_it_starts(start, stage, due):
    deadline = stage_deadline(start, stage)
    assert deadline.due == due and deadline.estimated is False


def test_a_stage_deadline_counts_the_working_days_of_the_given_calendar():
    # A calendar on which Monday 2026-11-30 is a holiday pushes the platform review to Wednesday.
    calendar = WorkdayCalendar({date(2026, 11, 30): False})
    assert stage_deadline(THURSDAY, "platform_review", calendar).due == date(2026, 12, 2)


def test_the_bureau_answers_for_its_stages_and_the_provider_for_its_own():
    assert responsible_dept("platform_review", "YC-GA") == BUREAU_DEPT
    assert responsible_dept("delivery", "YC-GA") == BUREAU_DEPT
    assert responsible_dept("provider_review", "YC-GA") == "YC-GA"
    assert STAGE_DECIDER[RequestStatus.PROVIDER_REVIEW] is Decider.PROVIDER


def test_a_decision_on_the_last_day_is_on_time_and_the_day_after_is_late():
    assert decided_on_time(date(2026, 12, 1), date(2026, 12, 1))
    assert not decided_on_time(date(2026, 12, 1), date(2026, 12, 2))
    assert decided_on_time(None, date(2026, 12, 2))


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"MZ\x90\x00", None),
        (b"", None),
        (b"PDF%", None),
    ],
)
def test_the_requirement_form_is_recognised_as_pdf_jpeg_or_png_by_its_first_bytes(content, media_type):
    assert attachment_type(content) == media_type


def test_the_requirement_form_may_be_up_to_ten_mebibytes():
    assert MAX_ATTACHMENT_BYTES == 10 * 1024 * 1024


def test_the_provider_agrees_to_a_non_empty_subset_of_the_requested_items():
    requested = ["id_number", "name", "marriage_status"]
    assert item_choice_violations(requested, ["marriage_status", "id_number"]) == []
    assert item_choice_violations(requested, requested) == []
    assert [e["rule"] for e in item_choice_violations(requested, [])] == ["at_least_one_item"]
    assert [e["rule"] for e in item_choice_violations(requested, ["salary", "salary", "name"])] == [
        "requested_item",
        "unique_items",
    ]
    assert {e["field"] for e in item_choice_violations(requested, ["salary", "salary"])} == {"items"}


def test_approved_items_keep_the_requested_order_and_default_to_all():
    requested = ["id_number", "name", "marriage_status"]
    assert approved_items(requested, None) == requested
    assert approved_items(requested, ["marriage_status", "id_number"]) == ["id_number", "marriage_status"]
