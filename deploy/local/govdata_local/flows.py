"""What departmental systems do through the gateway in the end-to-end tests (tests/e2e): sign in as a demo client,
publish a demo resource, apply for it for the client's 应用系统, call the data, read the access records.

Test support, like `pytest_plugin`: it lives in this package so that test modules (imported by path) can share it.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import yaml
from govdata_shared.settings import REPO_ROOT

from govdata_local.platform import DEMO_CLIENTS

FIXTURE = json.loads((REPO_ROOT / "deploy" / "demo" / "catalog.json").read_text(encoding="utf-8"))
# The 应用系统 each demo client is bound to (clients.yaml); the gateway seeds it, sharing-svc learns it by event.
SYSTEM_OF = {c["client_id"]: c.get("system") for c in yaml.safe_load(DEMO_CLIENTS.read_text("utf-8"))["clients"]}


def demo_resource(name: str) -> dict:
    """A demo resource's body, declared free of state secrets (第二条) as the demo loader declares it."""
    return {**copy.deepcopy(next(r for r in FIXTURE["resources"] if r["name"] == name)), "no_state_secrets": True}


class Dept:
    """One department's system talking to the gateway."""

    def __init__(self, platform, client_id: str, secret: str | None = None, system: str | None = None) -> None:
        self.platform = platform
        self.client_id = client_id
        self.secret = secret or f"demo-{client_id}"
        self.system = system or SYSTEM_OF.get(client_id)
        token = platform.token(client_id, self.secret)
        self.http = httpx.Client(base_url=platform.gateway, timeout=10, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, json=None) -> httpx.Response:
        return self.http.post(path, json=json)

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(path, params=params)

    def grant_token(self, grant_id: str) -> httpx.Response:
        return httpx.post(
            f"{self.platform.gateway}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.secret,
                "scope": f"grant:{grant_id}",
            },
        )


def publish(platform, owner: Dept, bureau: Dept, name: str, code: str, **interface) -> dict:
    body = demo_resource(name)
    dept_path = body["interface"]["base_url"].split("127.0.0.1:8900", 1)[1]
    body["interface"] = {**body["interface"], "base_url": platform.provider + dept_path, **interface}
    body["code"] = code
    body.pop("provider_dept")
    created = owner.post("/api/catalog/resources", body)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert owner.post(f"/api/catalog/resources/{rid}/submit").status_code == 200
    published = bureau.post(f"/api/catalog/resources/{rid}/review", {"decision": "approve"})
    assert published.json()["status"] == "published"
    return published.json()


def request_body(resource_id: str, items: list[str], system: str) -> dict:
    return {
        "resource_id": resource_id,
        "items": items,
        "purpose": "低保审核身份核验",
        "duty_basis": "《社会救助暂行办法》第十一条",
        "system": system,
        "valid_from": date.today().isoformat(),
        "valid_to": (date.today() + timedelta(days=300)).isoformat(),
    }


def apply(requester: Dept, resource_id: str, items: list[str]) -> httpx.Response:
    """A request for the 应用系统 the requester's client is bound to."""
    body = request_body(resource_id, items, requester.system)
    deadline = time.monotonic() + 15
    while True:  # sharing-svc learns of the resource and the system from the catalog's and identity events
        response = requester.post("/api/sharing/requests", body)
        not_yet = response.status_code == 404 or response.json().get("code") == "unknown_system"
        if not not_yet or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def eventually(predicate, timeout: float = 5.0, what: str = "") -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def data_call(platform, token: str, resource_id: str, path: str, method: str = "GET") -> httpx.Response:
    return httpx.request(
        method, f"{platform.gateway}/data/{resource_id}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def grant_token_of(holder: Dept, grant_id: str) -> str:
    """A grant token for `holder`'s client, once the gateway has learnt of the grant from the sharing events."""
    deadline = time.monotonic() + 5
    while True:
        response = holder.grant_token(grant_id)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.json()["access_token"]
        time.sleep(0.05)


def access_records(reader: Dept, since: str, **params) -> list[dict]:
    """Every access record the reader may see from `since` on, over all pages."""
    items, page = [], 1
    while True:
        response = reader.get("/api/audit/access", **{"from": since, "size": 500, "page": page, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items
        page += 1


def wait_access(reader: Dept, since: str, count: int, timeout: float = 60.0, **params) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        items = access_records(reader, since, **params)
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.3)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
