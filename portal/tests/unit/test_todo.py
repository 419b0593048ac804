"""待办 by role: which lists each role is asked, what of them waits for the person, and the order — oldest deadline
first, overdue on top, nothing without a deadline before anything with one."""

from __future__ import annotations

from datetime import date
from typing import Any

from govdata_portal import todo
from govdata_portal.gateway import ApiProblem, GatewayUnavailable
from govdata_portal.session import Session

TODAY = date(2026, 11, 26)


def session(*roles: str, dept: str | None = "YC-MZ") -> Session:
    return Session("someone", "某人", dept, roles, "token", "refresh", 0.0, "csrf")


def asked(s: Session) -> list[tuple[str, dict[str, Any]]]:
    return [(source.path, source.params) for source in todo.sources_for(s)]


def test_each_role_is_asked_for_the_lists_that_wait_for_it() -> None:
    assert asked(session("bureau_admin", dept="YC-ZSJ")) == [
        ("/api/catalog/resources", {"status": "submitted", "size": 100}),
        ("/api/sharing/requests", {"role": "platform", "status": "platform_review"}),
        ("/api/sharing/requests", {"role": "platform", "status": "delivery"}),
    ]
    assert asked(session("dept_operator")) == [
        ("/api/sharing/requests", {"role": "provider", "status": "provider_review"}),
        ("/api/verification/corrections", {"status": ["open", "extended"], "size": 100}),
    ]
    assert asked(session("dept_head")) == [("/api/verification/corrections", {"status": ["open"], "size": 100})]
    assert asked(session("citizen", dept=None)) == [
        ("/api/verification/corrections", {"status": ["open", "extended"], "size": 100})
    ]
    assert asked(session("auditor", dept="YC-ZSJ")) == []


def correction(id_: str, provider: str, deadline: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "resource_id": "res-population",
        "resource_name": "户籍人口基本信息",
        "provider_dept": provider,
        "status": "open",
        "deadline": deadline,
        "deadline_estimated": False,
        "extension_days": None,
        "applicant_kind": "citizen",
        **extra,
    }


class Answers:
    """The API's answers by path and status asked, as PersonApi.get gives them."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers

    async def get(self, path: str, **params: Any) -> Any:
        status = params.get("status")
        answer = self.answers[(path, ",".join(status) if isinstance(status, list) else str(status))]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_an_operator_sees_requests_to_decide_and_corrections_of_the_departments_data_oldest_first() -> None:
    api = Answers(
        {
            ("/api/sharing/requests", "provider_review"): [
                {
                    "id": "req-1",
                    "status": "provider_review",
                    "resource_id": "res-marriage",
                    "resource_name": "婚姻登记信息",
                    "requester_dept": "YC-GA",
                    "deadline": "2026-12-03",
                    "deadline_estimated": False,
                }
            ],
            ("/api/verification/corrections", "open,extended"): {
                "items": [
                    correction("cor-late", "YC-MZ", "2026-11-20"),
                    correction("cor-filed-by-us", "YC-GA", "2026-11-21", applicant_kind="department"),
                    correction("cor-soon", "YC-MZ", "2026-11-27", status="extended", extension_days=5),
                ],
                "total": 3,
            },
        }
    )
    waiting = await todo.collect(api, session("dept_operator"), TODAY)
    assert [(i.kind, i.ref) for i in waiting.items] == [
        ("数据校核", "cor-late"),
        ("数据校核", "cor-soon"),
        ("提供方审批", "req-1"),
    ]
    late, soon, request = waiting.items
    assert late.badge.overdue and late.badge.text == "已逾期 4 个工作日（截止 2026-11-20）"
    assert soon.badge.text == "截止 2026-11-27（还剩 1 个工作日）" and soon.status_label == "已延期"
    assert request.party == "YC-GA 申请" and request.link == "/requests/req-1"
    assert late.link == "/corrections/cor-late"
    assert not waiting.unavailable and not waiting.truncated


async def test_a_head_sees_only_corrections_not_yet_extended() -> None:
    api = Answers(
        {
            ("/api/verification/corrections", "open"): {
                "items": [
                    correction("cor-1", "YC-MZ", "2026-12-01"),
                    correction("cor-2", "YC-MZ", "2026-11-30", extension_days=3),
                ],
                "total": 2,
            }
        }
    )
    waiting = await todo.collect(api, session("dept_head"), TODAY)
    assert [(i.kind, i.ref) for i in waiting.items] == [("校核延期", "cor-1")]


async def test_a_list_that_cannot_be_read_is_named_and_the_others_still_shown() -> None:
    api = Answers(
        {
            ("/api/catalog/resources", "submitted"): {
                "items": [
                    {
                        "id": "res-1",
                        "name": "户籍人口基本信息",
                        "provider_dept": "YC-GA",
                        "status": "submitted",
                        "review_deadline": "2026-12-03",
                        "review_deadline_estimated": False,
                    }
                ],
                "total": 140,
            },
            ("/api/sharing/requests", "platform_review"): GatewayUnavailable("/api/sharing/requests"),
            ("/api/sharing/requests", "delivery"): ApiProblem(403, {"code": "bureau_role_required"}),
        }
    )
    waiting = await todo.collect(api, session("bureau_admin", dept="YC-ZSJ"), TODAY)
    found = [(i.kind, i.title, i.link) for i in waiting.items]
    assert found == [("目录审核", "户籍人口基本信息", "/review/catalog/res-1")]
    assert waiting.unavailable == ["共享申请（平台审核）", "共享申请（平台交付）"]
    assert waiting.truncated  # 140 submitted, 1 on this page


def test_items_without_a_deadline_come_last_and_duplicates_once() -> None:
    item = todo.TodoItem("数据校核", "c1", "甲", "", "open", "待校核", date(2026, 12, 1))
    undated = todo.TodoItem("目录审核", "r1", "乙", "", "submitted", "待审核", None)
    ordered = todo.ordered([undated, item, item], TODAY)
    assert [i.ref for i in ordered] == ["c1", "r1"] and ordered[1].badge is None
