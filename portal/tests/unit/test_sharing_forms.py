"""The sharing pages' own rules, with no IO: the apply form as the API's body, the API's item errors beside the
items' fieldset, the stages of each 第二十九条 path, who decides the current stage, and the two sides of 我的授权."""

from __future__ import annotations

from govdata_portal.gateway import ApiProblem
from govdata_portal.session import Session
from govdata_portal.sharing import application_of, by_deadline, decider_of, grants_of_side, sharing_errors, stages_of
from starlette.datastructures import FormData


def session(*roles: str, dept: str | None = "YC-MZ") -> Session:
    return Session("someone", "某人", dept, roles, "token", "refresh", 0.0, "csrf")


def test_the_apply_form_becomes_the_body_of_a_request_as_typed() -> None:
    form = FormData(
        [
            ("csrf", "x"),
            ("resource_id", "res-1"),
            ("items", "name"),
            ("items", " id_number "),
            ("purpose", " 低保核验 "),
            ("duty_basis", "第十一条"),
            ("system", "mz-dibao"),
            ("valid_from", "2026-12-01"),
            ("valid_to", ""),
        ]
    )
    assert application_of(form) == {
        "resource_id": "res-1",
        "items": ["name", "id_number"],
        "purpose": "低保核验",
        "duty_basis": "第十一条",
        "system": "mz-dibao",
        "valid_from": "2026-12-01",
        "valid_to": None,  # left empty: the API names it as missing
        "seasonal": False,
    }
    assert application_of(FormData([("seasonal", "yes")]))["seasonal"] is True


def test_an_error_of_one_requested_item_is_shown_beside_the_items_fieldset() -> None:
    problem = ApiProblem(
        422,
        {
            "code": "validation_failed",
            "detail": "…",
            "errors": [
                {"field": "items[1]", "rule": "item_of_resource", "detail": "x 不是资源“婚姻登记信息”的信息项"},
                {"field": "valid_to", "rule": "after_valid_from", "detail": "授权截止日期不能早于开始日期"},
            ],
        },
    )
    first, second = sharing_errors(problem)
    assert (first["anchor"], first["label"], first["rule"]) == ("items", "申请信息项", "item_of_resource")
    assert (second["anchor"], second["label"]) == ("valid_to", "有效期截止")


def test_each_path_shows_its_stages_with_the_current_one_marked() -> None:
    states = lambda stages: [(s.label, s.state) for s in stages]  # noqa: E731
    assert states(stages_of("conditional", "provider_review")) == [
        ("提供方审批", "current"),
        ("平台交付", "todo"),
        ("已授权", "todo"),
    ]
    assert states(stages_of("conditional", "rejected", "delivery")) == [
        ("提供方审批", "done"),
        ("平台交付", "rejected"),
        ("已授权", "todo"),
    ]
    assert states(stages_of("unconditional", "granted")) == [("平台审核", "done"), ("已授权", "done")]


def test_the_current_stage_is_decided_by_the_provider_department_or_the_bureau() -> None:
    waiting = {"status": "provider_review", "provider_dept": "YC-MZ", "requester_dept": "YC-RS"}
    assert decider_of(session("dept_operator"), waiting) == "provider"
    assert decider_of(session("dept_operator", dept="YC-RS"), waiting) is None  # the requester does not decide
    assert decider_of(session("bureau_admin", dept="YC-ZSJ"), waiting) is None
    delivery = {**waiting, "status": "delivery"}
    assert decider_of(session("bureau_admin", dept="YC-ZSJ"), delivery) == "bureau"
    assert decider_of(session("dept_operator"), delivery) is None
    assert decider_of(session("bureau_admin", dept="YC-ZSJ"), {**waiting, "status": "granted"}) is None


def test_grants_split_into_those_held_and_those_provided() -> None:
    grants = [
        {"id": "g1", "holder_dept": "YC-MZ", "provider_dept": "YC-GA"},
        {"id": "g2", "holder_dept": "YC-RS", "provider_dept": "YC-MZ"},
    ]
    assert [g["id"] for g in grants_of_side(grants, "YC-MZ", "held")] == ["g1"]
    assert [g["id"] for g in grants_of_side(grants, "YC-MZ", "provided")] == ["g2"]
    assert grants_of_side(grants, None, "held") == []


def test_a_queue_of_requests_reads_oldest_deadline_first() -> None:
    queue = [
        {"id": "a", "deadline": "2026-12-03"},
        {"id": "b", "deadline": None},
        {"id": "c", "deadline": "2026-12-01"},
    ]
    assert [r["id"] for r in by_deadline(queue)] == ["c", "a", "b"]
