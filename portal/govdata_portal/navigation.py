"""The side navigation: the pages a person's roles open, named as the regulation's users say them. Only pages
that exist are listed, each with the roles it serves; the API still decides what each person may see and do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    roles: frozenset[str] | None = None  # None: everyone signed in

    def shown_to(self, roles: Iterable[str]) -> bool:
        return self.roles is None or bool(self.roles & set(roles))


STAFF = frozenset({"dept_operator", "dept_head", "bureau_admin", "auditor"})
DEPARTMENT = frozenset({"dept_operator", "dept_head"})
OPERATOR = frozenset({"dept_operator"})
BUREAU = frozenset({"bureau_admin"})
OVERSIGHT = frozenset({"bureau_admin", "auditor"})
CITIZEN = frozenset({"citizen"})

NAVIGATION: tuple[NavItem, ...] = (
    NavItem("home", "首页", "/"),
    # reminders and 逾期通报 of notify-svc (no unread count here: it would cost an API call on every page)
    NavItem("messages", "站内信", "/messages", STAFF),
    NavItem("catalog", "数据目录", "/catalog"),
    # a department's own work (第十二–十四条 catalog, 第二十七–二十九条 sharing, 第十九条 校核)
    NavItem("resources", "我的资源", "/resources", OPERATOR),
    NavItem("requests", "共享申请", "/requests", OPERATOR),
    NavItem("reviews", "待我审核", "/reviews", OPERATOR),
    NavItem("grants", "我的授权", "/grants", DEPARTMENT),
    NavItem("my_disputes", "共享异议", "/my/disputes", DEPARTMENT),
    NavItem("corrections", "校核", "/corrections", DEPARTMENT),
    NavItem("demands", "需求清单", "/demands", OPERATOR | BUREAU),
    NavItem("responsibilities", "责任清单", "/responsibilities", DEPARTMENT | BUREAU),
    # 第十四条: a law or duties changed, so the catalog must be updated (the bureau records it, the department acts)
    NavItem("triggers", "目录更新", "/triggers", DEPARTMENT | BUREAU),
    # the bureau's (第十四条, 第二十九条, 第三十七–三十九条)
    NavItem("catalog_review", "目录审核", "/review/catalog", BUREAU),
    NavItem("platform_review", "平台审核/交付", "/review/requests", BUREAU),
    NavItem("disputes", "异议处理", "/disputes", BUREAU),
    NavItem("overdue", "逾期", "/overdue", BUREAU),
    NavItem("supervision", "监督考核", "/supervision", OVERSIGHT),
    # 第三十七、三十八条: the yearly evaluation; a department sees its own row
    NavItem("evaluation", "考核评价", "/evaluation", DEPARTMENT | OVERSIGHT),
    # 第三十九条: each department reports on the year before by the end of January; oversight sees who did
    NavItem("work_reports", "年度工作报告", "/work-reports", DEPARTMENT | OVERSIGHT),
    # 第十六条 一数一源, 第四十一条(三): items several departments collect without the bureau's leave
    NavItem("overlaps", "重复采集", "/overlaps", OVERSIGHT),
    NavItem("accounts", "账号管理", "/accounts", BUREAU),
    NavItem("audit", "审计日志", "/audit", OVERSIGHT),
    # every data call, served or refused (第三十二条): a department its own, oversight all
    NavItem("access", "访问记录", "/access", DEPARTMENT | OVERSIGHT),
    # a citizen's or enterprise's own 校核 requests
    NavItem("my_corrections", "数据校核", "/my/corrections", CITIZEN),
    # webhooks of notify-svc: a department's systems are sent the events about it, the bureau's every event
    NavItem("subscriptions", "订阅推送", "/subscriptions", OPERATOR | BUREAU),
    # Swagger UI of every service's OpenAPI, served by the gateway itself, for departmental developers.
    NavItem("api_docs", "接口文档", "/api/docs", STAFF),
)


def navigation_for(roles: Iterable[str]) -> list[NavItem]:
    roles = list(roles)
    return [item for item in NAVIGATION if item.shown_to(roles)]
