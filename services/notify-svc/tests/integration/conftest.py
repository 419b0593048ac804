"""notify-svc under test: the real app on its migrated database, a movable clock, tokens for the people of
govdata_shared.testing.PEOPLE, and the other services' events — built with their own payload functions (a
share request's with sharing-svc's) — applied through notify-svc's consumer handlers. The deadline check runs when
a test calls `check()`, at the clock's time (without the broker the app runs no periodic work)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from govdata_shared.contracts import validated_data
from govdata_shared.contracts.catalog import RESOURCE_PUBLISHED
from govdata_shared.contracts.sharing import REQUEST_APPROVED, REQUEST_SUBMITTED
from govdata_shared.events import Event, new_event
from govdata_shared.testing import MovableClock, ServiceUnderTest
from govdata_shared.workdays import today_in_shanghai
from notify_svc.events import HANDLERS
from notify_svc.main import SPEC
from notify_svc.scheduled import check_deadlines
from sharing_svc import domain as sharing_domain
from sharing_svc import events as sharing_events
from sharing_svc.models import ShareRequest

# Monday 2026-11-30, 10:00 in Shanghai: a conditional request filed now is the provider's to decide by Monday
# 2026-12-07 (5 working days, 第二十九条).
MONDAY = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
POPULATION = "res-population"
POPULATION_NAME = "户籍人口基本信息"


def shanghai_morning(day: date) -> datetime:
    """10:00 in Shanghai on `day`."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def event(event_type: str, subject: str, data: dict[str, Any], *, version: int, at: datetime, dept: str) -> Event:
    """An event as the producing service stages it: checked against its contract, masked, in the envelope."""
    return new_event(
        event_type,
        subject,
        validated_data(event_type, data),
        version=version,
        actor="system",
        dept=dept,
        source=f"{event_type.split('.', 1)[0]}-svc",
        time=at,
    )


def resource_event(
    resource_id: str = POPULATION,
    *,
    event_type: str = RESOURCE_PUBLISHED,
    version: int = 2,
    revision: int = 1,
    name: str = POPULATION_NAME,
    provider: str = "YC-GA",
    at: datetime = MONDAY,
    review_deadline: date | None = None,
) -> Event:
    status = "published" if event_type == RESOURCE_PUBLISHED else "submitted"
    data = {
        "resource_id": resource_id,
        "code": "101001/000001",
        "name": name,
        "provider_dept": provider,
        "status": status,
        "revision": revision,
        "revision_status": status,
        "category": "base",
        "format": "api",
        "sharing_type": "conditional",
        "sharing_method": "platform_api",
        "open_type": "closed",
        "security_level": "3",
        "update_cycle": "daily",
        "items": [{"code": "name", "name": "姓名", "type": "C"}],
        "interface": None,
        "review_deadline": review_deadline,
    }
    return event(event_type, resource_id, data, version=version, at=at, dept=provider)


def conditional_request(request_id: str = "req-1", *, filed: datetime = MONDAY) -> ShareRequest:
    """A conditional request of 民政 for 公安's population data, as sharing-svc holds it after filing."""
    started = today_in_shanghai(filed)
    deadline = sharing_domain.stage_deadline(started, sharing_domain.RequestStatus.PROVIDER_REVIEW)
    return ShareRequest(
        id=request_id,
        requester_dept="YC-MZ",
        requester_system="mz-dibao",
        provider_dept="YC-GA",
        resource_id=POPULATION,
        items=["name"],
        purpose="低保审核",
        duty_basis="《社会救助暂行办法》",
        valid_from=started,
        valid_to=started + timedelta(days=180),
        path=sharing_domain.SharingType.CONDITIONAL,
        status=sharing_domain.RequestStatus.PROVIDER_REVIEW,
        stage_started_on=started,
        stage_deadline=deadline.due,
        stage_deadline_estimated=deadline.estimated,
        created_by="mz-system",
        created_at=filed,
        updated_at=filed,
        version=0,
    )


def submitted(request: ShareRequest) -> Event:
    """sharing.request.submitted, with sharing-svc's own payload and the version its publishing gives."""
    request.version += 1
    payload = sharing_events.request_submitted_payload(request)
    return event(REQUEST_SUBMITTED, request.id, payload, version=request.version, at=request.created_at, dept="YC-MZ")


def provider_approved(request: ShareRequest, at: datetime) -> Event:
    """The provider approves: the request moves to the platform's delivery (3 working days)."""
    decided_on = today_in_shanghai(at)
    deadline = sharing_domain.stage_deadline(decided_on, sharing_domain.RequestStatus.DELIVERY)
    payload = sharing_events.decision_payload(
        request,
        stage=sharing_domain.RequestStatus.PROVIDER_REVIEW,
        decided_by_dept=request.provider_dept,
        deadline=request.stage_deadline,
        on_time=sharing_domain.decided_on_time(request.stage_deadline, decided_on),
        next_status=sharing_domain.RequestStatus.DELIVERY,
        next_deadline=deadline.due,
        approved_items=list(request.items),
    )
    request.version += 1
    request.status, request.stage_deadline = sharing_domain.RequestStatus.DELIVERY, deadline.due
    return event(REQUEST_APPROVED, request.id, payload, version=request.version, at=at, dept="YC-MZ")


class Notify(ServiceUnderTest):
    """The running app plus helpers: build and deliver events, run the deadline check, read 待办 and 站内信."""

    resource_event = staticmethod(resource_event)
    conditional_request = staticmethod(conditional_request)
    submitted = staticmethod(submitted)
    provider_approved = staticmethod(provider_approved)
    event = staticmethod(event)
    morning = staticmethod(shanghai_morning)

    async def apply(self, *events: Event) -> None:
        """Each event the way the consumer applies it: its handler inside one transaction."""
        for e in events:
            async with self.db.session() as session:
                await HANDLERS[e.type](session, e)

    async def apply_batch(self, *events: Event) -> None:
        """The events as one fetched batch: every handler inside one transaction."""
        async with self.db.session() as session:
            for e in events:
                await HANDLERS[e.type](session, e)

    async def check(self, day: date | None = None) -> None:
        """Move the clock to 10:00 (Shanghai) on `day`, then run the deadline check as the periodic task does."""
        if day is not None:
            self.clock.set(shanghai_morning(day))
        await check_deadlines(self.app)

    async def todo(self, who: str) -> list[dict]:
        response = await self.get("/todo", who)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def messages(self, who: str, **params: Any) -> dict:
        response = await self.get("/messages", who, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def notices(self) -> list[dict]:
        """The notify.* events staged in the outbox."""
        return [e for e in await self.events() if e["type"].startswith("notify.")]


@pytest.fixture
def start_notify(service_app, test_tokens):
    """Factory: `notify = await start_notify(**settings)`, the clock at MONDAY."""

    async def start(**settings: Any) -> Notify:
        clock = MovableClock(MONDAY)
        app, client = await service_app(SPEC, clock=clock, **settings)
        return Notify("notify", client, app, test_tokens, clock)

    return start


@pytest.fixture
async def notify(start_notify) -> Notify:
    return await start_notify()
