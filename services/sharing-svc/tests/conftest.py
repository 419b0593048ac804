"""sharing-svc under test: the real app on Postgres and SQLite with the real broker, an injected clock, tokens
for the demo departments, and catalog resources fed to its projection as the catalog's events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from govdata_shared.contracts import validated_data
from govdata_shared.events import new_event
from govdata_shared.testing import MovableClock, outbox_events, running_app
from sharing_svc.main import create_app
from sharing_svc.service import apply_catalog_event

THURSDAY = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

PEOPLE = {
    "ga": ("ga-system", "YC-GA", ["dept_operator"]),
    "ga-head": ("ga-head", "YC-GA", ["dept_head"]),
    "mz": ("mz-system", "YC-MZ", ["dept_operator"]),
    "rs": ("rs-system", "YC-RS", ["dept_operator"]),
    "bureau": ("bureau", "YC-ZSJ", ["bureau_admin"]),
    "auditor": ("auditor", "YC-ZSJ", ["auditor"]),
    "gateway": ("gateway", None, ["gateway"]),
}


def resource_event(
    resource_id: str,
    *,
    provider: str,
    sharing_type: str,
    version: int = 2,
    event_type: str = "catalog.resource.published",
    status: str = "published",
    items: tuple[str, ...] = ("id_number", "name", "gender", "birth_date"),
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
        "items": [{"code": code, "name": code, "type": "C"} for code in items],
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


class Sharing:
    resource_event = staticmethod(resource_event)

    def __init__(self, client, app, tokens, clock: MovableClock) -> None:
        self.client = client
        self.app = app
        self.tokens = tokens
        self.clock = clock

    def as_(self, who: str) -> dict:
        sub, dept, roles = PEOPLE[who]
        return self.tokens.headers(sub, dept, roles)

    async def catalog(self, event) -> None:
        async with self.app.state.db.session() as session:
            await apply_catalog_event(session, event)

    async def post(self, path: str, who: str, json=None):
        return await self.client.post(f"/api/sharing{path}", json=json, headers=self.as_(who))

    async def get(self, path: str, who: str, **params):
        return await self.client.get(f"/api/sharing{path}", params=params, headers=self.as_(who))

    async def request(self, who: str = "mz", resource_id: str = "res-pop", **changes) -> dict:
        body = {
            "resource_id": resource_id,
            "items": ["id_number", "name"],
            "purpose": "低保对象身份核验",
            "duty_basis": "《社会救助暂行办法》第十一条",
            "system": "社会救助信息系统",
            "valid_from": "2026-12-01",
            "valid_to": "2027-11-30",
            **changes,
        }
        response = await self.post("/requests", who, body)
        assert response.status_code == 201, response.text
        return response.json()

    async def granted(self, who: str = "mz", resource_id: str = "res-pop", **changes) -> dict:
        """A request on the unconditional path, approved by the bureau: returns the grant."""
        request = await self.request(who, resource_id, **changes)
        approved = await self.post(f"/requests/{request['id']}/approve", "bureau")
        assert approved.status_code == 200, approved.text
        return (await self.get(f"/grants/{approved.json()['grant_id']}", who)).json()

    async def events(self, subject: str | None = None) -> list[dict]:
        """Events staged in the outbox, oldest first (what the relay publishes)."""
        return await outbox_events(self.app, subject)


@pytest.fixture(params=["postgres", "sqlite"])
async def sharing(request, settings_for, postgres_database, test_tokens, tmp_path):
    if request.param == "postgres":
        url = await postgres_database("sharing")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'sharing.db'}"
    app = create_app(settings_for(service_name="sharing", database_url=url))
    clock = MovableClock(THURSDAY)
    async with running_app(app, verifier=test_tokens.verifier(), clock=clock) as client:
        harness = Sharing(client, app, test_tokens, clock)
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
        yield harness
