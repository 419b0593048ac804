"""The navigation lists the pages a person's roles open, and only pages that exist."""

from __future__ import annotations

from govdata_portal import labels
from govdata_portal.main import PAGES
from govdata_portal.navigation import NAVIGATION, navigation_for


def names(*roles: str) -> list[str]:
    return [item.label for item in navigation_for(roles)]


def test_a_citizen_has_the_catalog_and_their_own_corrections() -> None:
    assert names("citizen") == ["首页", "数据目录", "数据校核"]


def test_each_role_sees_the_pages_of_its_work() -> None:
    assert names("dept_operator") == [
        "首页",
        "站内信",
        "数据目录",
        "我的资源",
        "共享申请",
        "待我审核",
        "我的授权",
        "共享异议",
        "校核",
        "需求清单",
        "责任清单",
        "目录更新",
        "考核评价",
        "年度工作报告",
        "访问记录",
        "订阅推送",
        "接口文档",
    ]
    assert names("dept_head") == [
        "首页",
        "站内信",
        "数据目录",
        "我的授权",
        "共享异议",
        "校核",
        "责任清单",
        "目录更新",
        "考核评价",
        "年度工作报告",
        "访问记录",
        "接口文档",
    ]
    assert names("bureau_admin") == [
        "首页",
        "站内信",
        "数据目录",
        "需求清单",
        "责任清单",
        "目录更新",
        "目录审核",
        "平台审核/交付",
        "异议处理",
        "逾期",
        "监督考核",
        "考核评价",
        "年度工作报告",
        "重复采集",
        "账号管理",
        "审计日志",
        "访问记录",
        "订阅推送",
        "接口文档",
    ]
    assert names("auditor") == [
        "首页",
        "站内信",
        "数据目录",
        "监督考核",
        "考核评价",
        "年度工作报告",
        "重复采集",
        "审计日志",
        "访问记录",
        "接口文档",
    ]


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
