"""The side navigation: the pages a person's roles open, named as the regulation's users say them. Only pages
that exist are listed; each later page adds its line here with the roles it serves."""

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

NAVIGATION: tuple[NavItem, ...] = (
    NavItem("home", "首页", "/"),
    NavItem("catalog", "数据目录", "/catalog"),
    # Swagger UI of every service's OpenAPI, served by the gateway itself, for departmental developers.
    NavItem("api_docs", "接口文档", "/api/docs", STAFF),
)


def navigation_for(roles: Iterable[str]) -> list[NavItem]:
    roles = list(roles)
    return [item for item in NAVIGATION if item.shown_to(roles)]
