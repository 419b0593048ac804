"""The navigation lists the pages a person's roles open, and only pages that exist."""

from __future__ import annotations

from govdata_portal import labels
from govdata_portal.navigation import navigation_for


def names(*roles: str) -> list[str]:
    return [item.label for item in navigation_for(roles)]


def test_everyone_has_the_home_page_and_the_catalog() -> None:
    assert names("citizen") == ["首页", "数据目录"]


def test_staff_also_have_the_interface_documentation() -> None:
    for role in ("dept_operator", "dept_head", "bureau_admin", "auditor"):
        assert names(role) == ["首页", "数据目录", "接口文档"], role


def test_labels_are_chinese_and_an_unknown_value_shows_as_it_came() -> None:
    assert labels.label(labels.SHARING_TYPE, "conditional") == "有条件共享"
    assert labels.label(labels.UPDATE_CYCLE, "quarterly") == "每季度"
    assert labels.label(labels.SHARING_TYPE, "something_new") == "something_new"
    assert labels.tone("rejected") == "danger" and labels.tone("published") == "success"
