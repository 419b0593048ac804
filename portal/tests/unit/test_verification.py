"""校核 and 逾期 helpers: what lists show of a request (never the identifier in full), how the API's refusals are
named on the forms, which evidence files are turned back before filing, and who each overdue item waits for."""

from __future__ import annotations

from datetime import date

from govdata_portal import verification
from govdata_portal.gateway import ApiProblem
from govdata_portal.session import Session
from govdata_shared.testing import COMPANY, PERSON, TestTokens

TODAY = date(2026, 12, 14)  # a Monday


def correction(**changes) -> dict:
    return {
        "id": "cor-1",
        "status": "open",
        "resource_id": "res-1",
        "resource_name": "户籍人口基本信息",
        "provider_dept": "YC-GA",
        "subject_id": PERSON,
        "items": ["name"],
        "applicant_kind": "citizen",
        "applicant_dept": None,
        "received_on": "2026-11-26",
        "deadline": "2026-12-10",
        "deadline_estimated": False,
        "original_deadline": "2026-12-10",
        "overdue": True,
        "extension_days": None,
        "outcome": None,
        **changes,
    }


def test_a_list_row_masks_the_subject_and_marks_an_overdue_request() -> None:
    row = verification.correction_row(correction(), TODAY)
    assert row["subject"] == "3405**********001X" and PERSON not in str(row)
    assert row["overdue"] and row["badge"].overdue and row["badge"].text.startswith("已逾期 2 个工作日")
    resolved = verification.correction_row(correction(status="resolved", overdue=False, outcome="corrected"), TODAY)
    assert resolved["badge"] is None and resolved["outcome"] == "已更正"


def test_refusals_point_at_the_inputs_of_the_form() -> None:
    problem = ApiProblem(
        422,
        {
            "code": "validation_failed",
            "errors": [
                {"field": "items[0]", "rule": "unknown_item", "detail": "资源中没有信息项 x"},
                {"field": "claimed_values.name", "rule": "not_in_items", "detail": "不在申请校核的信息项中"},
                {"field": "subject_id", "rule": "check_digit", "detail": "身份证号校验位错误"},
            ],
        },
    )
    errors = verification.form_errors(problem, {"name": "姓名"})
    assert [(e["anchor"], e["label"]) for e in errors] == [
        ("items", "有疑义的信息项"),
        ("claimed_values-name", "姓名的正确值"),
        ("subject_id", "证件号码"),
    ]
    once = ApiProblem(
        409, {"code": "invalid_transition", "detail": "校核期限只能延长一次（第十九条）", "rule": "extend_once"}
    )
    (error,) = verification.form_errors(once)
    assert error["anchor"] is None and error["rule"] == "extend_once"
    assert verification.is_form_refusal(once)
    assert not verification.is_form_refusal(ApiProblem(403, {"code": "provider_head_required"}))
    assert verification.is_form_refusal(ApiProblem(403, {"code": "not_own_subject", "field": "subject_id"}))


def test_evidence_is_a_pdf_jpeg_or_png_of_at_most_8_mib() -> None:
    assert verification.evidence_refusal(b"%PDF-1.7 ...") is None
    assert verification.evidence_refusal(b"\x89PNG\r\n\x1a\n....") is None
    assert verification.evidence_refusal(b"GIF89a")["rule"] == "pdf_jpeg_png_only"
    too_big = b"%PDF-" + b"0" * verification.EVIDENCE_MAX_BYTES
    assert verification.evidence_refusal(too_big)["rule"] == "max_size"
    assert verification.evidence_type(b"\xff\xd8\xff\xe0") == "image/jpeg"


def test_the_form_is_prefilled_with_the_persons_own_identifier() -> None:
    token = TestTokens().token("citizen-1", None, ("citizen",), subject_id=PERSON)
    session = Session("citizen-1", "王建国", None, ("citizen",), token, "refresh", 0.0, "csrf")
    assert verification.own_subject_id(session) == PERSON
    assert verification.own_subject_id(Session("x", "x", None, (), "not-a-jwt", "r", 0.0, "c")) == ""
    assert verification.subject_type_of(PERSON) == "person" and verification.subject_type_of(COMPANY) == "org"


def test_overdue_items_are_grouped_by_the_department_that_has_to_act() -> None:
    corrections = {"items": [correction(extension_days=5, deadline="2026-12-08")], "total": 1}
    sharing = [
        {
            "request_id": "req-1",
            "stage": "platform_review",
            "responsible_dept": "YC-ZSJ",
            "requester_dept": "YC-MZ",
            "provider_dept": "YC-GA",
            "resource_id": "res-1",
            "deadline": "2026-12-01",
            "estimated": False,
            "days_overdue": 9,
        },
        {
            "request_id": "req-2",
            "stage": "provider_review",
            "responsible_dept": "YC-GA",
            "requester_dept": "YC-MZ",
            "provider_dept": "YC-GA",
            "resource_id": "res-2",
            "deadline": "2026-12-11",
            "estimated": False,
            "days_overdue": 1,
        },
    ]
    catalog = [
        {
            "kind": "resource_review",
            "dept": "YC-RS",
            "resource_id": "res-3",
            "deadline": "2026-12-03",
            "estimated": False,
        },
        {
            "kind": "update_submission",
            "dept": "YC-RS",
            "resource_id": None,
            "deadline": "2026-12-09",
            "estimated": False,
        },
    ]
    names = {"res-1": "户籍人口基本信息", "res-3": "社保参保信息"}
    entries = (
        verification.correction_entries(corrections, TODAY)
        + verification.sharing_entries(sharing, names, TODAY)
        + verification.catalog_entries(catalog, names, "YC-ZSJ", TODAY)
    )
    groups = verification.group_by_department(entries, {"YC-ZSJ": "伊川县政务服务和大数据管理局"})
    assert [(g.dept, len(g.entries)) for g in groups] == [("YC-GA", 2), ("YC-ZSJ", 2), ("YC-RS", 1)]
    ga, bureau, rs = groups
    assert [e.kind for e in ga.entries] == ["数据校核（已延期）", "共享申请（提供方审批）"]
    assert ga.count("数据校核") == 1 and ga.count("共享申请") == 1 and ga.count("目录") == 0
    assert ga.entries[1].title == "res-2" and ga.entries[1].link == "/requests/req-2"
    assert bureau.name == "伊川县政务服务和大数据管理局"
    assert [e.kind for e in bureau.entries] == ["共享申请（平台审核）", "目录审核"]
    assert bureau.entries[1].party == "提供部门 YC-RS" and bureau.entries[1].link == "/review/catalog/res-3"
    assert rs.entries[0].kind == "目录更新申请" and rs.entries[0].link is None
    assert all(e.badge.overdue for e in entries)
