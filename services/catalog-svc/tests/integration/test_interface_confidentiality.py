"""Where a provider's system is (`interface.base_url`) is for its own department, the bureau and the gateway
(API.md "Catalog"): everyone else — other departments, citizens, auditors, the city platform — reads what may be
called (methods, path prefixes, rate limit) through every way the catalog is read, and no event carries it."""

from __future__ import annotations

import pytest

ADDRESS = "127.0.0.1:8900"  # where POPULATION's provider system is
CREDENTIAL = "vault:ga/population"


def _leaks(payload) -> list[str]:
    text = str(payload)
    return [
        secret for secret in (ADDRESS, CREDENTIAL, "base_url", "credential_ref", "has_credential") if secret in text
    ]


@pytest.fixture
async def published(catalog) -> dict:
    resource = await catalog.publish("ga", catalog.POPULATION)
    # A pending revision moving the system elsewhere: its provider and the bureau see it, nobody else.
    revised = await catalog.post(
        f"/resources/{resource['id']}/revisions", "ga", {"interface": {"base_url": "http://127.0.0.5:8901/ga/v2"}}
    )
    assert revised.status_code == 201, revised.text
    return resource


@pytest.mark.parametrize("who", ["citizen", "company", "auditor", "rs", "mz-head", "city"])
async def test_others_read_what_may_be_called_not_where(catalog, published, who: str) -> None:
    rid = published["id"]
    reads = {
        "detail": await catalog.get(f"/resources/{rid}", who),
        "version": await catalog.get(f"/resources/{rid}", who, version=1),
        "list": await catalog.get("/resources", who),
        "search": await catalog.get("/resources", who, q="户籍人口"),
        "facets": await catalog.get("/resources", who, provider_dept="YC-GA", category="base"),
        "revisions": await catalog.get(f"/resources/{rid}/revisions", who),
    }
    for name, response in reads.items():
        assert response.status_code == 200, (name, response.text)
        assert _leaks(response.json()) == [], (who, name, response.text)
    detail = reads["detail"].json()
    assert detail["interface"] == {"methods": ["GET"], "path_prefixes": ["/records"], "rate_limit": 20}
    listed = [r for r in reads["search"].json()["items"] if r["id"] == rid]
    assert listed and listed[0]["interface"] == detail["interface"]
    assert detail.get("pending_revision") is None or who == "auditor"  # auditors oversee pending work, not addresses
    if who == "auditor":  # an auditor may read the pending revision: still without its address
        pending = await catalog.get(f"/resources/{rid}", who, version=2)
        assert pending.status_code == 200 and _leaks(pending.json()) == []


@pytest.mark.parametrize("who", ["auditor", "city", "bureau"])
async def test_the_export_carries_no_interface_address(catalog, published, who: str) -> None:
    for params in ({}, {"format": "jsonld"}, {"since": "2020-01-01T00:00:00Z"}):
        response = await catalog.get("/export", who, **params)
        assert response.status_code == 200, response.text
        assert published["id"] in response.text
        assert _leaks(response.json()) == [], (who, params)


@pytest.mark.parametrize("who", ["ga", "ga-head", "bureau", "gateway"])
async def test_the_provider_department_the_bureau_and_the_gateway_see_the_address(catalog, published, who) -> None:
    rid = published["id"]
    detail = (await catalog.get(f"/resources/{rid}", who)).json()
    assert detail["interface"]["base_url"] == f"http://{ADDRESS}/ga/population"
    assert detail["interface"]["has_credential"] is True
    assert CREDENTIAL not in str(detail)  # the reference stays write-only, even for them
    if who != "gateway":
        listed = (await catalog.get("/resources", who, q="户籍人口")).json()["items"]
        assert [r["interface"]["base_url"] for r in listed if r["id"] == rid] == [f"http://{ADDRESS}/ga/population"]
        pending = (await catalog.get(f"/resources/{rid}", who, version=2)).json()
        assert pending["interface"]["base_url"] == "http://127.0.0.5:8901/ga/v2"


async def test_no_catalog_event_carries_the_address(catalog, published) -> None:
    rid = published["id"]
    submitted = await catalog.post(f"/resources/{rid}/submit", "ga")
    assert submitted.status_code == 200, submitted.text
    reviewed = await catalog.post(f"/resources/{rid}/review", "bureau", {"decision": "approve"})
    assert reviewed.status_code == 200, reviewed.text
    assert (await catalog.post(f"/resources/{rid}/retire", "ga", {"reason": "系统下线"})).status_code == 200
    events = await catalog.events(rid)
    assert {e["type"] for e in events} >= {
        "catalog.resource.submitted",
        "catalog.resource.published",
        "catalog.resource.superseded",
        "catalog.resource.retired",
    }
    for event in events:
        assert _leaks(event) == [] and "127.0.0.5" not in str(event), event
        if event["data"].get("interface") is not None:
            assert set(event["data"]["interface"]) == {"methods", "path_prefixes", "rate_limit"}


async def test_the_gateway_reads_one_resource_s_entry_with_its_address(catalog, published) -> None:
    rid = published["id"]
    entry = await catalog.get(f"/internal/interfaces/{rid}", "gateway")
    assert entry.status_code == 200, entry.text
    body = entry.json()
    assert body["interface"]["base_url"] == f"http://{ADDRESS}/ga/population"
    assert body["interface"]["credential_ref"] == CREDENTIAL  # a reference the gateway resolves, never a secret
    assert body["status"] == "published" and body["revision"] == 1
    snapshot = (await catalog.get("/internal/interfaces", "gateway")).json()
    assert [e for e in snapshot if e["resource_id"] == rid] == [body]  # the same entry as in the snapshot

    for who in ("bureau", "ga", "auditor", "citizen"):
        refused = await catalog.get(f"/internal/interfaces/{rid}", who)
        assert refused.status_code == 403 and refused.json()["code"] == "gateway_only", who
    draft = await catalog.create("mz", catalog.MARRIAGE)  # never published: not served
    missing = await catalog.get(f"/internal/interfaces/{draft['id']}", "gateway")
    assert missing.status_code == 404
    assert (await catalog.get("/internal/interfaces/res-nothing", "gateway")).status_code == 404
