"""What every page shares, once: reading the API's lists (gathered whole, several at once, resources and departments
named by code), a page of a whole list with its pager, a deadline as the API writes it, the errors a form shows, who
acts for a department, and the name a passed-through file goes by."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from govdata_portal.auth import SigninRequired
from govdata_portal.deadlines import due_badge, parse_date
from govdata_portal.downloads import content_disposition
from govdata_portal.forms import error_context, refusal
from govdata_portal.gateway import ApiProblem, GatewayUnavailable
from govdata_portal.lists import catalog_resources, department_names, gather_all, item_names, read_each
from govdata_portal.pages import paged
from govdata_portal.session import Session

THURSDAY = date(2026, 11, 26)


def session(*roles: str, dept: str | None = "YC-MZ") -> Session:
    return Session("someone", "某人", dept, roles, "token", "refresh", 0.0, "csrf")


class FakeApi:
    """The person's API as the lists read it: answers (or exceptions) by path; every call is noted."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def get(self, path: str, **params: Any) -> Any:
        self.asked.append((path, params))
        answer = self.answers[path]
        if callable(answer):
            answer = answer(**params)
        if isinstance(answer, BaseException):
            raise answer
        return answer


async def test_a_paged_list_is_gathered_whole_up_to_its_last_page() -> None:
    def page(page: int, size: int, **_: Any) -> dict[str, Any]:
        numbers = range((page - 1) * size, min(page * size, 250))
        return {"items": [{"n": n} for n in numbers], "total": 250, "page": page, "size": size}

    api = FakeApi({"/api/catalog/resources": page})
    items, more = await gather_all(api, "/api/catalog/resources", status="published")
    assert [i["n"] for i in items] == list(range(250)) and not more
    assert [p["page"] for _, p in api.asked] == [1, 2, 3]
    assert all(p["status"] == "published" and p["size"] == 100 for _, p in api.asked)


async def test_lists_read_at_once_give_none_for_one_that_cannot_be_read_and_propagate_the_way_to_signin() -> None:
    api = FakeApi(
        {
            "/a": {"items": []},
            "/refused": ApiProblem(403, {"code": "forbidden"}),
            "/down": GatewayUnavailable("/down"),
            "/empty": [],
        }
    )
    bodies = await read_each(api, [("/a", {}), ("/refused", {}), ("/down", {}), ("/empty", {"x": 1})])
    assert bodies == [{"items": []}, None, None, []]
    assert ("/empty", {"x": 1}) in api.asked
    signin = FakeApi({"/a": SigninRequired("/overdue")})
    with pytest.raises(SigninRequired):
        await read_each(signin, [("/a", {})])


async def test_resources_named_by_id_are_read_once_each_and_those_not_there_left_out() -> None:
    api = FakeApi(
        {
            "/api/catalog/resources/res-1": {"id": "res-1", "name": "人口", "items": [{"code": "a", "name": ""}]},
            "/api/catalog/resources/res%2F2": ApiProblem(404, {"code": "not_found"}),
        }
    )
    found = await catalog_resources(api, ["res-1", "", "res/2", "res-1"])
    assert list(found) == ["res-1"] and len(api.asked) == 2
    assert item_names(found["res-1"]) == {"a": "a"}  # an item without a name goes by its code
    assert item_names(None) == {}


async def test_department_names_for_staff_and_none_when_the_registry_does_not_answer() -> None:
    departments = {"items": [{"code": "YC-MZ", "name": "伊川县民政局"}, {"code": "YC-GA"}, {"name": "无代码"}]}
    bureau = session("bureau_admin", dept="YC-ZSJ")
    assert await department_names(FakeApi({"/api/identity/departments": departments}), bureau) == {
        "YC-MZ": "伊川县民政局",
        "YC-GA": "YC-GA",
    }
    down = FakeApi({"/api/identity/departments": GatewayUnavailable("/api/identity/departments")})
    assert await department_names(down, bureau) == {}
    operator = FakeApi({"/api/identity/departments": departments})
    assert (await department_names(operator, session("dept_operator", dept="YC-GA")))["YC-MZ"] == "伊川县民政局"
    citizen = FakeApi({})
    assert await department_names(citizen, session("citizen")) == {} and citizen.asked == []


def test_one_page_of_a_whole_list_with_its_pager() -> None:
    shown, pages = paged(list(range(45)), "3", "/requests", {"status": "granted"}, 20)
    assert shown == list(range(40, 45)) and (pages.total, pages.page, pages.pages) == (45, 3, 3)
    assert pages.previous == "/requests?status=granted&page=2" and pages.next is None
    shown, pages = paged(list(range(45)), "x", "/requests", {}, 20)  # not a number: the first page
    assert shown == list(range(20)) and pages.page == 1
    shown, pages = paged([], None, "/reviews", {}, 20)
    assert shown == [] and (pages.total, pages.pages) == (0, 1)


def test_a_deadline_as_the_api_writes_it() -> None:
    assert parse_date("2026-12-01") == date(2026, 12, 1)
    assert parse_date("2026-13-01") is None and parse_date(None) is None and parse_date(20261201) is None
    badge = due_badge("2026-12-01", THURSDAY, "true")
    assert badge is not None and badge.estimated and badge.text.startswith("截止 2026-12-01（还剩 3 个工作日）")
    assert due_badge(None, THURSDAY) is None and due_badge("", THURSDAY, True) is None


def test_a_refusal_is_the_forms_to_show_or_raised_again() -> None:
    conflict = ApiProblem(409, {"code": "conflict", "field": "code", "detail": "已存在"})
    assert refusal(conflict) is conflict
    with pytest.raises(ApiProblem):
        refusal(conflict, (400, 422))
    with pytest.raises(ApiProblem):
        refusal(ApiProblem(403, {"code": "forbidden"}))
    errors = [{"field": "code", "anchor": "code", "detail": "已存在"}, {"field": None, "anchor": None, "detail": "x"}]
    assert error_context(errors) == {"errors": errors, "field_error": {"code": "已存在"}}
    assert error_context(None) == {"errors": [], "field_error": {}}


def test_department_staff_are_an_operator_or_head_with_a_department() -> None:
    assert session("dept_operator").is_department_staff() and session("dept_head").is_department_staff()
    assert not session("dept_operator", dept=None).is_department_staff()
    assert not session("bureau_admin").is_department_staff() and not session("citizen").is_department_staff()


def test_a_passed_through_file_keeps_its_name() -> None:
    assert content_disposition("audit-annual-2025.json") == 'attachment; filename="audit-annual-2025.json"'
    assert content_disposition("需求单.pdf") == "attachment; filename*=UTF-8''%E9%9C%80%E6%B1%82%E5%8D%95.pdf"
    assert content_disposition('a"b.pdf') == "attachment; filename*=UTF-8''a%22b.pdf"
    assert content_disposition(None) == "attachment"
