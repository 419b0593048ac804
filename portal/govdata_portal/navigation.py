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
    section: str = ""  # the heading it is listed under; "" for the pages above every section

    def shown_to(self, roles: Iterable[str]) -> bool:
        return self.roles is None or bool(self.roles & set(roles))


STAFF = frozenset({"dept_operator", "dept_head", "bureau_admin", "auditor"})
DEPARTMENT = frozenset({"dept_operator", "dept_head"})
OPERATOR = frozenset({"dept_operator"})
BUREAU = frozenset({"bureau_admin"})
OVERSIGHT = frozenset({"bureau_admin", "auditor"})
CITIZEN = frozenset({"citizen"})

# Sections of the navigation, in order: the work of the catalog (第二章), of sharing (第四章), of 校核 (第十九条),
# of supervision (第六章), and the platform's own. A section shows when one of its pages does.
CATALOG_WORK, SHARING_WORK, VERIFICATION_WORK, SUPERVISION_WORK, PLATFORM = "目录", "共享", "校核", "监督", "系统"

NAVIGATION: tuple[NavItem, ...] = (
    NavItem("home", "首页", "/"),
    # reminders and 逾期通报 of notify-svc (no unread count here: it would cost an API call on every page)
    NavItem("messages", "站内信", "/messages", STAFF),
    NavItem("catalog", "数据目录", "/catalog"),
    # 第十二–十四、十六条: a department's catalog, demands and responsibilities; the bureau's reviews
    NavItem("resources", "我的资源", "/resources", OPERATOR, CATALOG_WORK),
    NavItem("demands", "需求清单", "/demands", OPERATOR | BUREAU, CATALOG_WORK),
    NavItem("responsibilities", "责任清单", "/responsibilities", DEPARTMENT | BUREAU, CATALOG_WORK),
    # 第十四条: a law or duties changed, so the catalog must be updated (the bureau records it, the department acts)
    NavItem("triggers", "目录更新", "/triggers", DEPARTMENT | BUREAU, CATALOG_WORK),
    NavItem("catalog_review", "目录审核", "/review/catalog", BUREAU, CATALOG_WORK),
    # 第十六条 一数一源, 第四十一条(三): items several departments collect without the bureau's leave
    NavItem("overlaps", "重复采集", "/overlaps", OVERSIGHT, CATALOG_WORK),
    # 第二十七–二十九、三十二条: requests, decisions, grants, disputes, every data call
    NavItem("requests", "共享申请", "/requests", OPERATOR, SHARING_WORK),
    NavItem("reviews", "待我审核", "/reviews", OPERATOR, SHARING_WORK),
    NavItem("grants", "我的授权", "/grants", DEPARTMENT, SHARING_WORK),
    NavItem("my_disputes", "共享异议", "/my/disputes", DEPARTMENT, SHARING_WORK),
    NavItem("platform_review", "平台审核/交付", "/review/requests", BUREAU, SHARING_WORK),
    NavItem("disputes", "异议处理", "/disputes", BUREAU, SHARING_WORK),
    # every data call, served or refused (第三十二条): a department its own, oversight all
    NavItem("access", "访问记录", "/access", DEPARTMENT | OVERSIGHT, SHARING_WORK),
    # webhooks of notify-svc: a department's systems are sent the events about it, the bureau's every event
    NavItem("subscriptions", "订阅推送", "/subscriptions", OPERATOR | BUREAU, SHARING_WORK),
    NavItem("corrections", "校核", "/corrections", DEPARTMENT, VERIFICATION_WORK),
    # a citizen's or enterprise's own 校核 requests
    NavItem("my_corrections", "数据校核", "/my/corrections", CITIZEN, VERIFICATION_WORK),
    # 第三十七–四十一条
    NavItem("overdue", "逾期", "/overdue", BUREAU, SUPERVISION_WORK),
    NavItem("supervision", "监督考核", "/supervision", OVERSIGHT, SUPERVISION_WORK),
    # 第三十七、三十八条: the yearly evaluation; a department sees its own row
    NavItem("evaluation", "考核评价", "/evaluation", DEPARTMENT | OVERSIGHT, SUPERVISION_WORK),
    # 第三十九条: each department reports on the year before by the end of January; oversight sees who did
    NavItem("work_reports", "年度工作报告", "/work-reports", DEPARTMENT | OVERSIGHT, SUPERVISION_WORK),
    NavItem("audit", "审计日志", "/audit", OVERSIGHT, SUPERVISION_WORK),
    NavItem("accounts", "账号管理", "/accounts", BUREAU, PLATFORM),
    # Swagger UI of every service's OpenAPI, served by the gateway itself, for departmental developers.
    NavItem("api_docs", "接口文档", "/api/docs", STAFF, PLATFORM),
)


def navigation_for(roles: Iterable[str]) -> list[NavItem]:
    roles = list(roles)
    return [item for item in NAVIGATION if item.shown_to(roles)]


def navigation_sections(items: Iterable[NavItem]) -> list[tuple[str, list[NavItem]]]:
    """The person's pages under their sections, in the navigation's order."""
    sections: list[tuple[str, list[NavItem]]] = []
    for item in items:
        if not sections or sections[-1][0] != item.section:
            sections.append((item.section, []))
        sections[-1][1].append(item)
    return sections
