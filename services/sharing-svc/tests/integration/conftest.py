"""sharing-svc under test: the real app on its migrated database, an injected clock, tokens for the people of
govdata_shared.testing.PEOPLE, catalog resources fed to its projection as the catalog's events and application
systems as the gateway's identity.system.* events."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from govdata_shared.contracts import identity, validated_data
from govdata_shared.events import new_event
from govdata_shared.testing import MovableClock, ServiceUnderTest
from sharing_svc.events import apply_catalog_event, apply_system_event
from sharing_svc.main import SPEC

THURSDAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
# A minimal PDF standing for the sealed 需求单 a conditional request's provider approves on (第二十九条(二)).
SEALED_FORM = b"%PDF-1.4\n" + "% 伊川县政务数据共享需求单\n".encode() + b"%%EOF\n"

# The 应用系统 each department of PEOPLE files its requests for: (system id, department, name).
SYSTEMS = {
    "ga": ("ga-zonghe", "YC-GA", "公安综合业务系统"),
    "mz": ("mz-dibao", "YC-MZ", "民政低保审批系统"),
    "rs": ("rs-shebao", "YC-RS", "社会保险经办系统"),
    "scj": ("scj-dengji", "YC-SCJ", "市场主体登记注册系统"),
}
SYSTEM_OF = {who: system_id for who, (system_id, _, _) in SYSTEMS.items()}


def system_event(
    system_id: str, *, dept: str, name: str, version: int = 1, disabled: bool = False, event_type: str | None = None
):
    """An identity.system.* event as the gateway's registry publishes it: the whole entry after the change."""
    if event_type is None:
        changed = identity.SYSTEM_DISABLED if disabled else identity.SYSTEM_UPDATED
        event_type = identity.SYSTEM_CREATED if version == 1 else changed
    data = {"system_id": system_id, "dept": dept, "name": name, "disabled": disabled}
    return new_event(
        event_type,
        f"system:{system_id}",
        validated_data(event_type, data),
        version=version,
        actor="bureau",
        dept=dept,
        source="gateway",
    )


def resource_event(
    resource_id: str,
    *,
    provider: str,
    sharing_type: str,
    version: int = 2,
    event_type: str = "catalog.resource.published",
    status: str = "published",
    items: tuple[str, ...] = ("id_number", "name", "gender", "birth_date"),
    item_types: dict[str, str] | None = None,  # an item's own sharing type (第二十四条)
):
    data = {
        "resource_id": resource_id,
        "code": "101001/000001",
        "name": f"资源{resource_id}",
        "provider_dept": provider,
        "status": status,
        "revision": 1,
        "revision_status": "published",
        "category": "base",
        "format": "api",
        "sharing_type": sharing_type,
        "sharing_method": "platform_api",
        "open_type": "closed",
        "security_level": "3",
        "update_cycle": "daily",
        "items": [
            {"code": code, "name": code, "type": "C", "sharing_type": (item_types or {}).get(code)} for code in items
        ],
        "interface": {
            "base_url": "http://127.0.0.1:8900/x",
            "methods": ["GET"],
            "path_prefixes": ["/records"],
            "rate_limit": 20,
        },
    }
    return new_event(
        event_type,
        resource_id,
        validated_data(event_type, data),
        version=version,
        actor="bureau",
        dept=provider,
        source="catalog-svc",
    )


class Sharing(ServiceUnderTest):
    resource_event = staticmethod(resource_event)
    system_event = staticmethod(system_event)
    SYSTEM_OF = SYSTEM_OF

    async def catalog(self, event) -> None:
        async with self.app.state.db.session() as session:
            await apply_catalog_event(session, event)

    async def identity(self, event) -> None:
        async with self.app.state.db.session() as session:
            await apply_system_event(session, event)

    @contextlib.contextmanager
    def statements(self) -> Iterator[list[str]]:
        """The SQL statements the app runs inside the block."""
        seen: list[str] = []
        engine = self.db.engine.sync_engine

        def record(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)

    @staticmethod
    def request_body(resource_id: str = "res-pop", who: str = "mz", **changes) -> dict:
        """A request `who` files for its department's system (people without one: 民政's, they are refused
        before it matters)."""
        return {
            "resource_id": resource_id,
            "items": ["id_number", "name"],
            "purpose": "低保对象身份核验",
            "duty_basis": "《社会救助暂行办法》第十一条",
            "system": SYSTEM_OF.get(who, SYSTEM_OF["mz"]),
            "valid_from": "2026-12-01",
            "valid_to": "2027-11-30",
            **changes,
        }

    async def request(self, who: str = "mz", resource_id: str = "res-pop", **changes) -> dict:
        response = await self.post("/requests", who, self.request_body(resource_id, who, **changes))
        assert response.status_code == 201, response.text
        return response.json()

    async def attach(self, request_id: str, who: str) -> dict:
        """`who` (the requester) uploads the sealed 需求单; the request as answered."""
        response = await self.client.put(
            self.url(f"/requests/{request_id}/attachment"),
            files={"file": ("需求单.pdf", SEALED_FORM, "application/pdf")},
            headers=self.as_(who),
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def granted(self, who: str = "mz", resource_id: str = "res-pop", **changes) -> dict:
        """A request on the unconditional path, approved by the bureau: returns the grant."""
        request = await self.request(who, resource_id, **changes)
        approved = await self.post(f"/requests/{request['id']}/approve", "bureau")
        assert approved.status_code == 200, approved.text
        return (await self.get(f"/grants/{approved.json()['grant_id']}", who)).json()


@pytest.fixture
async def sharing(service_app, test_tokens):
    clock = MovableClock(THURSDAY)
    app, client = await service_app(SPEC, clock=clock)
    harness = Sharing("sharing", client, app, test_tokens, clock)
    for system_id, dept, name in SYSTEMS.values():
        await harness.identity(system_event(system_id, dept=dept, name=name))
    await harness.catalog(resource_event("res-pop", provider="YC-GA", sharing_type="unconditional"))
    await harness.catalog(
        resource_event(
            "res-marriage",
            provider="YC-MZ",
            sharing_type="conditional",
            items=("id_number", "marriage_status", "registered_on"),
        )
    )
    await harness.catalog(resource_event("res-secret", provider="YC-GA", sharing_type="none"))
    return harness
