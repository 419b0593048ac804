"""The upstream allow-list at registration (API.md "Data plane"): a provider cannot register, edit or revise an
interface whose `base_url` points at link-local (cloud metadata), unspecified or multicast addresses, or at a host
outside `GOVDATA_UPSTREAM_ALLOWED_NETWORKS` — 422 `upstream_not_allowed` naming `interface.base_url`, and nothing
is stored. The default list is loopback (`make run`); a deployment names its e-government extranet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from catalog_svc.main import SPEC
from govdata_shared.testing import MovableClock, ServiceUnderTest

REFUSED_EVERYWHERE = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://0.0.0.0:8900/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
    "http://0/",  # WHATWG reads it as 0.0.0.0
    "http://224.0.0.1/",
]


def _problem(response, rule: str | None = None) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "upstream_not_allowed" and body["field"] == "interface.base_url", body
    assert [e["field"] for e in body["errors"]] == ["interface.base_url"]
    assert body["detail"] and not body["detail"].isascii()
    if rule is not None:
        assert body["rule"] == rule and body["errors"][0]["rule"] == rule, body
    return body


async def _drafts(catalog, who: str = "ga") -> list[dict]:
    response = await catalog.client.get("/api/catalog/resources", params={"status": "draft"}, headers=catalog.as_(who))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _with_url(catalog, url: str) -> dict:
    body = catalog.body(catalog.POPULATION)
    body["interface"]["base_url"] = url
    return body


@pytest.mark.parametrize("url", REFUSED_EVERYWHERE)
async def test_registration_of_an_always_refused_address_is_422_and_stores_nothing(catalog, url: str) -> None:
    response = await catalog.client.post(
        "/api/catalog/resources", json=_with_url(catalog, url), headers=catalog.as_("ga")
    )
    _problem(response, "address_always_refused")
    assert await _drafts(catalog) == []


async def test_a_host_outside_the_list_is_422_and_loopback_is_allowed_by_default(catalog) -> None:
    outside = await catalog.client.post(
        "/api/catalog/resources", json=_with_url(catalog, "http://10.1.2.3:8080/population"), headers=catalog.as_("ga")
    )
    assert "10.1.2.3" in _problem(outside, "outside_allowed_networks")["detail"]
    unresolvable = await catalog.client.post(
        "/api/catalog/resources", json=_with_url(catalog, "http://ga-population.invalid/"), headers=catalog.as_("ga")
    )
    _problem(unresolvable, "host_unresolvable")
    assert await _drafts(catalog) == []

    literal = await catalog.create("ga", catalog.POPULATION)  # http://127.0.0.1:8900/ga/population
    assert literal["interface"]["base_url"] == "http://127.0.0.1:8900/ga/population"
    named = await catalog.create("mz", catalog.MARRIAGE, interface={"base_url": "http://localhost:8900/mz/marriage"})
    assert named["interface"]["base_url"] == "http://localhost:8900/mz/marriage"


async def test_editing_a_draft_and_revising_a_published_resource_are_checked_too(catalog) -> None:
    draft = await catalog.create("mz", catalog.MARRIAGE)
    edited = await catalog.patch(
        f"/resources/{draft['id']}", "mz", {"interface": {"base_url": "http://169.254.169.254/"}}
    )
    _problem(edited, "address_always_refused")
    unrelated = await catalog.patch(f"/resources/{draft['id']}", "mz", {"summary": "婚姻登记记录（含补发）。"})
    assert unrelated.status_code == 200, unrelated.text

    published = await catalog.publish("ga", catalog.POPULATION)
    rid = published["id"]
    for url in ("http://[::]/", "http://10.9.9.9/", "http://0.0.0.0/"):
        revised = await catalog.post(f"/resources/{rid}/revisions", "ga", {"interface": {"base_url": url}})
        _problem(revised)
    current = (await catalog.get(f"/resources/{rid}", "ga")).json()
    assert current["pending_revision"] is None and current["version"] == 1
    moved = await catalog.post(
        f"/resources/{rid}/revisions", "ga", {"interface": {"base_url": "http://127.0.0.2:8901/ga/population"}}
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["interface"]["base_url"] == "http://127.0.0.2:8901/ga/population"
    refused_patch = await catalog.patch(f"/resources/{rid}", "ga", {"interface": {"base_url": "http://[fe80::1]/"}})
    _problem(refused_patch, "address_always_refused")


# A resource of the extranet deployment (conftest's POPULATION, which this module cannot import, in short).
VEHICLES = {
    "code": "101002/000001",
    "name": "机动车登记信息",
    "summary": "全县机动车登记、转移、注销信息。",
    "category": "base",
    "format": "api",
    "items": [{"code": "plate", "name": "号牌号码", "type": "C", "length": 10}],
    "sharing_type": "unconditional",
    "open_type": "closed",
    "security_level": "2",
    "update_cycle": "daily",
    "interface": {"base_url": "http://10.1.2.3/vehicles"},
    "no_state_secrets": True,
}


@pytest.fixture
async def extranet(service_app, test_tokens) -> ServiceUnderTest:
    """catalog-svc of a deployment that allows its e-government extranet only (an example's ranges)."""
    clock = MovableClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    app, client = await service_app(
        SPEC, clock=clock, govdata_upstream_allowed_networks="10.0.0.0/8,59.207.0.0/16,2001:db8::/32"
    )
    return ServiceUnderTest("catalog", client, app, test_tokens, clock)


async def test_a_deployment_allows_its_extranet_and_refuses_loopback_names_resolving_to_it(extranet) -> None:
    def body(url: str, n: int) -> dict:
        return {**VEHICLES, "code": f"101002/{n:06d}", "interface": {"base_url": url}}

    for n, url in enumerate(("http://10.20.30.40:8080/vehicles", "http://59.207.1.2/", "http://[2001:db8::15]/x")):
        created = await extranet.post("/resources", "ga", body(url, n + 1))
        assert created.status_code == 201, created.text
    for url, rule in (
        ("http://127.0.0.1:8900/ga/population", "outside_allowed_networks"),
        ("http://localhost:8900/", "outside_allowed_networks"),  # a name: judged by what it resolves to
        ("http://169.254.169.254/", "address_always_refused"),
        ("http://[::ffff:127.0.0.1]/", "outside_allowed_networks"),
    ):
        body_ = _problem(await extranet.post("/resources", "ga", body(url, 99)), rule)
        if "localhost" in url:
            assert "localhost" in body_["detail"]
