"""The navigation lists the pages a person's roles open, and only pages that exist."""

from __future__ import annotations

from govdata_portal import labels
from govdata_portal.main import PAGES
from govdata_portal.navigation import NAVIGATION, navigation_for, navigation_sections


def names(*roles: str) -> list[str]:
    return [item.label for item in navigation_for(roles)]


def test_a_citizen_has_the_catalog_and_their_own_corrections() -> None:
    assert names("citizen") == ["首页", "数据目录", "数据校核"]


def sections(*roles: str) -> list[tuple[str, list[str]]]:
    return [(section, [item.label for item in items]) for section, items in navigation_sections(navigation_for(roles))]


def test_each_role_sees_the_pages_of_its_work_under_their_sections() -> None:
    top = ("", ["首页", "站内信", "数据目录"])
    assert sections("dept_operator") == [
        top,
        ("目录", ["我的资源", "需求清单", "责任清单", "目录更新"]),
        ("共享", ["共享申请", "待我审核", "我的授权", "共享异议", "访问记录", "订阅推送"]),
        ("校核", ["校核"]),
        ("监督", ["考核评价", "年度工作报告"]),
        ("系统", ["接口文档"]),
    ]
    assert sections("dept_head") == [
        top,
        ("目录", ["责任清单", "目录更新"]),
        ("共享", ["我的授权", "共享异议", "访问记录"]),
        ("校核", ["校核"]),
        ("监督", ["考核评价", "年度工作报告"]),
        ("系统", ["接口文档"]),
    ]
    assert sections("bureau_admin") == [
        top,
        ("目录", ["需求清单", "责任清单", "目录更新", "目录审核", "重复采集"]),
        ("共享", ["平台审核/交付", "异议处理", "访问记录", "订阅推送"]),
        ("监督", ["逾期", "监督考核", "考核评价", "年度工作报告", "审计日志"]),
        ("系统", ["账号管理", "接口文档"]),
    ]
    assert sections("auditor") == [
        top,
        ("目录", ["重复采集"]),
        ("共享", ["访问记录"]),
        ("监督", ["监督考核", "考核评价", "年度工作报告", "审计日志"]),
        ("系统", ["接口文档"]),
    ]
    assert sections("citizen") == [("", ["首页", "数据目录"]), ("校核", ["数据校核"])]


def test_every_page_in_the_navigation_exists() -> None:
    paths = {route.path for module in PAGES for route in module.router.routes}
    missing = [item.href for item in NAVIGATION if item.href not in paths and not item.href.startswith("/api/")]
    assert missing == []


def test_labels_are_chinese_and_an_unknown_value_shows_as_it_came() -> None:
    assert labels.label(labels.SHARING_TYPE, "conditional") == "有条件共享"
    assert labels.label(labels.UPDATE_CYCLE, "quarterly") == "每季度"
    assert labels.label(labels.SHARING_TYPE, "something_new") == "something_new"
    assert labels.tone("rejected") == "danger" and labels.tone("published") == "success"


def test_every_event_type_of_the_platform_has_a_chinese_name_in_the_audit_filter() -> None:
    from govdata_shared.contracts import EVENT_CONTRACTS

    assert set(EVENT_CONTRACTS) <= set(labels.AUDIT_EVENT_TYPES)
    assert all(not name.isascii() for name in labels.AUDIT_EVENT_TYPES.values())
