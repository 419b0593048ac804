"""verification-svc under test: the real app on its migrated database, an injected clock, tokens for the citizens,
companies and departments of govdata_shared.testing.PEOPLE, and catalog events applied through the service's own
consumer handlers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from govdata_shared.contracts.catalog import RESOURCE_PUBLISHED
from govdata_shared.events import Event, new_event
from govdata_shared.outbox import outbox_table
from govdata_shared.testing import COMPANY, OTHER_PERSON, PERSON, PILOT_COMPANY, MovableClock, ServiceUnderTest
from verification_svc.events import HANDLERS
from verification_svc.main import SPEC

# Thursday 2026-11-26, 10:00 in Shanghai.
THURSDAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)

RAW_IDS = (PERSON, OTHER_PERSON, COMPANY, PILOT_COMPANY)

POPULATION = "res-population"  # provided by YC-GA
MARRIAGE = "res-marriage"  # provided by YC-MZ
LICENCES = "res-licences"  # provided by YC-SCJ, about companies

RESOURCES = {
    POPULATION: (
        "YC-GA",
        "户籍人口基本信息",
        [("name", "姓名"), ("gender", "性别"), ("birth_date", "出生日期"), ("household_address", "户籍地址")],
    ),
    MARRIAGE: ("YC-MZ", "婚姻登记信息", [("marriage_status", "婚姻状况"), ("registered_on", "登记日期")]),
    LICENCES: ("YC-SCJ", "营业执照信息", [("org_name", "名称"), ("legal_rep", "法定代表人"), ("address", "住所")]),
}


def catalog_event(
    resource_id: str,
    *,
    event_type: str = RESOURCE_PUBLISHED,
    version: int = 2,
    status: str = "published",
    revision: int = 1,
    revision_status: str = "published",
    items: list[tuple[str, str]] | None = None,
    name: str | None = None,
) -> Event:
    """A catalog-svc resource event as it arrives on govdata.catalog.v1."""
    provider, default_name, default_items = RESOURCES[resource_id]
    data = {
        "resource_id": resource_id,
        "code": "101001/000001",
        "name": name or default_name,
        "provider_dept": provider,
        "status": status,
        "revision": revision,
        "revision_status": revision_status,
        "category": "base",
        "format": "api",
        "sharing_type": "unconditional",
        "sharing_method": "platform_api",
        "open_type": "closed",
        "security_level": "3",
        "update_cycle": "daily",
        "items": [{"code": c, "name": n, "type": "C"} for c, n in (items or default_items)],
        "interface": None,
    }
    return new_event(
        event_type, resource_id, data, version=version, actor="bureau", dept=provider, source="catalog-svc"
    )


class Verification(ServiceUnderTest):
    """The running app plus helpers that speak as citizens, companies and departments."""

    PERSON = PERSON
    OTHER_PERSON = OTHER_PERSON
    COMPANY = COMPANY
    PILOT_COMPANY = PILOT_COMPANY
    RAW_IDS = RAW_IDS
    POPULATION = POPULATION
    MARRIAGE = MARRIAGE
    LICENCES = LICENCES
    catalog_event = staticmethod(catalog_event)

    async def apply(self, event: Event) -> None:
        """Deliver a catalog event the way the consumer does: the handler inside one transaction."""
        async with self.app.state.db.session() as session:
            await HANDLERS[event.type](session, event)

    async def publish(self, *resource_ids: str) -> None:
        for resource_id in resource_ids or (POPULATION, MARRIAGE, LICENCES):
            await self.apply(catalog_event(resource_id))

    async def file(self, who: str = "citizen", expect: int | None = 201, **changes) -> dict:
        body = {
            "resource_id": POPULATION,
            "subject_type": "person",
            "subject_id": PERSON,
            "items": ["household_address"],
            "claimed_values": {"household_address": "伊川县城关镇人民路12号"},
            "description": "户籍地址已于2026年迁移，平台数据仍为旧地址。",
            **changes,
        }
        response = await self.client.post("/api/verification/corrections", json=body, headers=self.as_(who))
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json()

    async def raw_outbox(self) -> list[str]:
        async with self.app.state.db.session() as session:
            rows = await session.execute(sa.select(outbox_table.c.key, outbox_table.c.payload))
            return [f"{key}\n{payload}" for key, payload in rows.all()]


@pytest.fixture
async def verification(service_app, test_tokens):
    clock = MovableClock(THURSDAY)
    app, client = await service_app(SPEC, clock=clock)
    v = Verification("verification", client, app, test_tokens, clock)
    await v.publish()
    return v
