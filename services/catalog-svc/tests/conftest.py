"""catalog-svc under test: the real app on a fresh Postgres database and the real broker, an injected clock,
and tokens for the departments of the demo."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from catalog_svc.main import create_app
from govdata_shared.testing import MovableClock, outbox_events, running_app

# Thursday 2026-11-26, 10:00 in Shanghai.
THURSDAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)

POPULATION = {
    "code": "101001/000001",
    "name": "户籍人口基本信息",
    "summary": "伊川县户籍人口的姓名、性别、出生日期、户籍地址等基本信息，供各部门办理业务核验身份使用。",
    "category": "base",
    "format": "api",
    "items": [
        {"code": "id_number", "name": "公民身份号码", "type": "C", "length": 18, "authoritative": True},
        {"code": "name", "name": "姓名", "type": "C", "length": 50, "authoritative": True},
        {"code": "gender", "name": "性别", "type": "C", "length": 1},
        {"code": "birth_date", "name": "出生日期", "type": "D"},
        {"code": "household_address", "name": "户籍地址", "type": "C", "length": 200},
    ],
    "sharing_type": "unconditional",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {
        "base_url": "http://127.0.0.1:8900/ga/population",
        "path_prefixes": ["/records"],
        "credential_ref": "vault:ga/population",
    },
}

MARRIAGE = {
    "code": "301002/000007",
    "name": "婚姻登记信息",
    "summary": "全县婚姻登记、离婚登记记录，含登记日期和登记机关。",
    "category": "department",
    "format": "database",
    "items": [
        {"code": "id_number", "name": "公民身份号码", "type": "C", "length": 18},
        {"code": "marriage_status", "name": "婚姻状况", "type": "C", "authoritative": True},
        {"code": "registered_on", "name": "登记日期", "type": "D"},
    ],
    "sharing_type": "conditional",
    "sharing_conditions": "仅限办理社会救助、不动产登记等业务核验使用",
    "legal_basis": "《婚姻登记条例》第十七条",
    "open_type": "closed",
    "security_level": "3",
    "update_cycle": "daily",
    "interface": {"base_url": "http://127.0.0.1:8900/mz/marriage"},
}


def body(template: dict, **changes) -> dict:
    result = copy.deepcopy(template)
    result.update(changes)
    return result


class Catalog:
    """The running app plus helpers that speak as the departments."""

    POPULATION = POPULATION
    MARRIAGE = MARRIAGE
    body = staticmethod(body)

    def __init__(self, client, app, tokens, clock: MovableClock) -> None:
        self.client = client
        self.app = app
        self.tokens = tokens
        self.clock = clock

    def as_(self, who: str) -> dict:
        people = {
            "ga": ("ga-system", "YC-GA", ["dept_operator"]),
            "ga-head": ("ga-head", "YC-GA", ["dept_head"]),
            "mz": ("mz-system", "YC-MZ", ["dept_operator"]),
            "rs": ("rs-system", "YC-RS", ["dept_operator"]),
            "bureau": ("bureau", "YC-ZSJ", ["bureau_admin"]),
            "auditor": ("auditor", "YC-ZSJ", ["auditor"]),
            "city": ("city-platform", "LY-DSJ", ["city_platform"]),
            "citizen": ("citizen-1", None, ["citizen"]),
        }
        sub, dept, roles = people[who]
        return self.tokens.headers(sub, dept, roles, subject_id="34052419800101001X" if who == "citizen" else None)

    async def create(self, who: str, template: dict, **changes) -> dict:
        response = await self.client.post(
            "/api/catalog/resources", json=body(template, **changes), headers=self.as_(who)
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def publish(self, who: str, template: dict, **changes) -> dict:
        resource = await self.create(who, template, **changes)
        submitted = await self.client.post(f"/api/catalog/resources/{resource['id']}/submit", headers=self.as_(who))
        assert submitted.status_code == 200, submitted.text
        reviewed = await self.client.post(
            f"/api/catalog/resources/{resource['id']}/review", json={"decision": "approve"}, headers=self.as_("bureau")
        )
        assert reviewed.status_code == 200, reviewed.text
        return reviewed.json()

    async def events(self, subject: str | None = None) -> list[dict]:
        """Events staged in the outbox, oldest first (what the relay publishes)."""
        return await outbox_events(self.app, subject)


@pytest.fixture(params=["postgres", "sqlite"])
async def catalog(request, settings_for, postgres_database, test_tokens, tmp_path):
    """The same tests run on Postgres (production) and SQLite (the embedded default of `make run`)."""
    if request.param == "postgres":
        url = await postgres_database("catalog")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"
    settings = settings_for(service_name="catalog", database_url=url)
    app = create_app(settings)
    clock = MovableClock(THURSDAY)
    async with running_app(app, verifier=test_tokens.verifier(), clock=clock) as client:
        yield Catalog(client, app, test_tokens, clock)
