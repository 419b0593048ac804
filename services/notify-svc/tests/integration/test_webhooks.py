"""Webhooks for departmental systems (issue 15): a department subscribes its systems to events about itself; each
event is posted signed to a real HTTP receiver on 127.0.0.1, retried with backoff at the movable clock, in order
per aggregate, logged, and sent again on request. A hanging receiver does not hold up another."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from govdata_shared.testing import Gate, check_authorization_first
from notify_svc.events import BATCH_HANDLER, HANDLERS
from notify_svc.sender import WebhookSender

SECRET = "ga-webhook-secret-0123456789"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A departmental system's endpoint: answers 500 to the first `fail_first` requests, then 200; with `hang`,
    never answers."""

    url: str = ""
    fail_first: int = 0
    hang: bool = False
    requests: list[Received] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = 500 if len(self.requests) < self.fail_first else 200
        self.requests.append(Received(dict(request.headers), body, status))
        if self.hang:
            await asyncio.Event().wait()
        return web.Response(status=status)

    def delivered(self) -> list[str]:
        """The event ids acknowledged with 2xx, in the order they came."""
        return [json.loads(r.body)["id"] for r in self.requests if r.status == 200]


@pytest.fixture
async def receivers() -> AsyncIterator:
    runners: list[web.AppRunner] = []

    async def start(**behaviour) -> Receiver:
        receiver = Receiver(**behaviour)
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        receiver.url = f"http://127.0.0.1:{port}/hook"
        return receiver

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def sender(notify) -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(notify.app, timeout=5.0)
    yield sender
    await sender.close()


async def consume(notify, *events) -> None:
    """The events as one fetched batch, the way the consumer applies it: handlers, then the batch handler."""
    async with notify.db.session() as session:
        for e in events:
            await HANDLERS[e.type](session, e)
        await BATCH_HANDLER(session, list(events))


async def round_(sender: WebhookSender) -> int:
    claimed = await sender.tick()
    await sender.drain()
    return claimed


async def subscribe(notify, who: str, url: str, events: list[str], secret: str = SECRET) -> dict:
    response = await notify.post("/subscriptions", who, {"url": url, "events": events, "secret": secret})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(notify, who: str, subscription_id: str) -> list[dict]:
    response = await notify.get(f"/subscriptions/{subscription_id}/deliveries", who)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def signed(received: Received, secret: str) -> bool:
    timestamp = received.headers["X-Govdata-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["X-Govdata-Signature"], f"sha256={expected}")


@pytest.mark.backends("postgres", "sqlite")
async def test_receiver_failing_three_times_gets_each_event_once_in_order_with_a_valid_signature(
    notify, receivers, sender
):
    ga_system, rs_system, bureau_system = await receivers(fail_first=3), await receivers(), await receivers()
    ga = await subscribe(notify, "ga", ga_system.url, ["sharing.request.*"])
    assert "secret" not in ga and SECRET not in str(ga)
    rs = await subscribe(notify, "rs", rs_system.url, ["sharing.*", "catalog.*"], secret="rs-secret-0123456789")
    await subscribe(notify, "bureau", bureau_system.url, ["catalog.*"], secret="zsj-secret-0123456789")

    request = notify.conditional_request()
    submitted = notify.submitted(request)
    approved = notify.provider_approved(request, notify.clock())
    published = notify.resource_event()  # 公安's resource: not 人社's business
    await consume(notify, published, submitted, approved)

    # Attempts at 0 s, 10 s, 30 s fail; the fourth, at 70 s, is delivered; the approval of the same request waits
    # for it, then follows.
    assert await round_(sender) == 2  # 公安's submission and the bureau's resource event; the approval waits
    assert await round_(sender) == 0
    for wait, expected in ((9, 0), (1, 1), (19, 0), (1, 1), (40, 1), (0, 1), (0, 0)):
        notify.clock.advance(seconds=wait)
        assert await round_(sender) == expected, wait

    assert ga_system.delivered() == [submitted.id, approved.id]
    assert [json.loads(r.body)["id"] for r in ga_system.requests] == [submitted.id] * 4 + [approved.id]
    assert all(signed(r, SECRET) for r in ga_system.requests)
    assert not signed(ga_system.requests[-1], "another-secret-0123456789")
    last = ga_system.requests[-1]
    assert last.headers["X-Govdata-Event"] == "sharing.request.approved"
    assert json.loads(last.body)["data"]["provider_dept"] == "YC-GA"  # the envelope as published

    log = await deliveries(notify, "ga", ga["id"])
    assert [(d["event_id"], d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
        (approved.id, "delivered", 1, 200),
        (submitted.id, "delivered", 4, 200),
    ]
    assert last.headers["X-Govdata-Delivery"] == str(log[0]["id"])

    # Another department's events are not sent to 人社; the bureau receives every department's.
    assert rs_system.requests == [] and await deliveries(notify, "rs", rs["id"]) == []
    assert bureau_system.delivered() == [published.id]


async def test_a_hanging_receiver_does_not_delay_another(notify, receivers):
    hanging, prompt = await receivers(hang=True), await receivers()
    stuck = await subscribe(notify, "ga", hanging.url, ["sharing.*"])
    await subscribe(notify, "mz", prompt.url, ["sharing.*"], secret="mz-secret-0123456789")
    first, second = notify.conditional_request("req-1"), notify.conditional_request("req-2")
    sender = WebhookSender(notify.app, timeout=0.5)
    try:
        await consume(notify, notify.submitted(first))
        assert await sender.tick() == 2
        await _until(lambda: len(prompt.delivered()) == 1)
        assert len(hanging.requests) == 1  # still waiting for its answer

        # A later event reaches the prompt receiver while the hanging one is still being waited for.
        await consume(notify, notify.submitted(second))
        assert await sender.tick() == 1
        await _until(lambda: len(prompt.delivered()) == 2)
        await sender.drain()
    finally:
        await sender.close()

    log = await deliveries(notify, "ga", stuck["id"])
    timed_out = next(d for d in log if d["aggregate"] == "req-1")
    assert (timed_out["status"], timed_out["attempts"]) == ("pending", 1)
    assert timed_out["last_error"] == "timeout after 0.5 s"
    assert datetime.fromisoformat(timed_out["next_attempt_at"]) == notify.clock() + timedelta(seconds=10)


async def _until(predicate, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "not within time"
        await asyncio.sleep(0.01)


async def test_redeliver_sends_again_and_disable_stops_sending(notify, receivers, sender):
    system = await receivers()
    subscription = await subscribe(notify, "ga", system.url, ["sharing.request.submitted"])
    request = notify.conditional_request()
    event = notify.submitted(request)
    await consume(notify, event)
    await round_(sender)
    (delivered,) = await deliveries(notify, "ga", subscription["id"])

    again = await notify.post(f"/deliveries/{delivered['id']}/redeliver", "ga")
    assert again.status_code == 200 and again.json()["status"] == "pending"
    pending = await notify.post(f"/deliveries/{delivered['id']}/redeliver", "ga")
    assert pending.status_code == 409 and pending.json()["code"] == "delivery_pending"
    assert await round_(sender) == 1
    assert system.delivered() == [event.id, event.id]
    assert all(r.headers["X-Govdata-Delivery"] == str(delivered["id"]) for r in system.requests)

    await consume(notify, notify.submitted(notify.conditional_request("req-2")))
    disabled = await notify.post(f"/subscriptions/{subscription['id']}/disable", "ga")
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert await round_(sender) == 0
    log = await deliveries(notify, "ga", subscription["id"])
    assert [d["status"] for d in log] == ["cancelled", "delivered"]
    refused = await notify.post(f"/deliveries/{delivered['id']}/redeliver", "ga")
    assert refused.status_code == 409 and refused.json()["code"] == "subscription_disabled"
    await consume(notify, notify.submitted(notify.conditional_request("req-3")))
    assert len(await deliveries(notify, "ga", subscription["id"])) == 2  # nothing queued once disabled


async def test_subscriptions_are_refused_outside_the_allow_list_to_others_and_for_unknown_events(notify, receivers):
    system = await receivers()
    body = {"url": system.url, "events": ["sharing.request.*"], "secret": SECRET}
    for url in ("http://10.20.30.40/hook", "http://169.254.169.254/latest", "ftp://127.0.0.1/hook"):
        refused = await notify.post("/subscriptions", "ga", body | {"url": url})
        assert refused.status_code == 422, url
        assert (refused.json()["code"], refused.json()["field"]) == ("upstream_not_allowed", "url")
    unknown = await notify.post("/subscriptions", "ga", body | {"events": ["sharing.request.*", "identity.user.*"]})
    assert unknown.status_code == 422
    assert (unknown.json()["field"], unknown.json()["rule"]) == ("events", "known_event_type")
    short = await notify.post("/subscriptions", "ga", body | {"secret": "short"})
    assert short.status_code == 422 and short.json()["field"] == "secret"

    for nobody in ("ga-head", "auditor", "citizen"):
        forbidden = await notify.post("/subscriptions", nobody, body)
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "webhook_role_required"
        assert (await notify.get("/subscriptions", nobody)).status_code == 403

    ga = await subscribe(notify, "ga", system.url, ["sharing.request.*"])
    await consume(notify, notify.submitted(notify.conditional_request()))
    (delivery,) = await deliveries(notify, "ga", ga["id"])
    assert (await notify.get("/subscriptions", "mz")).json()["items"] == []
    assert [s["id"] for s in (await notify.get("/subscriptions", "bureau")).json()["items"]] == [ga["id"]]
    assert (await notify.get(f"/subscriptions/{ga['id']}/deliveries", "mz")).status_code == 404
    for path, code in (
        (f"/subscriptions/{ga['id']}/disable", "subscription_not_found"),
        (f"/deliveries/{delivery['id']}/redeliver", "delivery_not_found"),
    ):
        response = await notify.post(path, "mz")
        assert response.status_code == 404 and response.json()["code"] == code

    gates = {
        "/api/notify/subscriptions": Gate("ga-head", "ga", "webhook_role_required", {"url": 1}, "url"),
        "/api/notify/subscriptions/{subscription_id}/disable": Gate("auditor", "ga", "webhook_role_required"),
        "/api/notify/deliveries/{delivery_id}/redeliver": Gate("citizen", "ga", "webhook_role_required"),
    }
    for path, gate in gates.items():
        await check_authorization_first(notify.client, notify.tokens, "POST", path, gate)
