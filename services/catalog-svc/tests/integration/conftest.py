"""catalog-svc under test: the real app on its migrated database (Postgres, and SQLite where marked), an injected
clock, and tokens for the people of govdata_shared.testing.PEOPLE."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from catalog_svc.main import SPEC
from govdata_shared.testing import MovableClock, ServiceUnderTest

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
    "no_state_secrets": True,  # 第二条: declared, so that it may be submitted
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
    "no_state_secrets": True,
}


def body(template: dict, **changes) -> dict:
    result = copy.deepcopy(template)
    result.update(changes)
    return result


class Catalog(ServiceUnderTest):
    """The running app plus helpers that speak as the departments."""

    POPULATION = POPULATION
    MARRIAGE = MARRIAGE
    body = staticmethod(body)

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


@pytest.fixture
async def catalog(service_app, test_tokens):
    clock = MovableClock(THURSDAY)
    app, client = await service_app(SPEC, clock=clock)
    return Catalog("catalog", client, app, test_tokens, clock)
