"""The catalog's list keeps its pages while the catalog is unchanged (govdata_shared.pages): a kept page goes only
to callers of the same view, and every change, drafts included, shows at the very next request."""

from __future__ import annotations

import pytest
from govdata_shared.pages import PAGES_SERVED

pytestmark = pytest.mark.backends("sqlite", "postgres")


def kept_count() -> float:
    return PAGES_SERVED.labels("catalog.resources", "true")._value.get()


async def listed(catalog, who: str, **params) -> list[dict]:
    response = await catalog.get("/resources", who, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_kept_page_goes_only_to_callers_of_the_same_view(catalog) -> None:
    await catalog.publish("ga", catalog.POPULATION)
    for _ in range(2):  # rendered, then kept: the provider's own staff see where its system is
        (mine,) = await listed(catalog, "ga")
        assert mine["interface"]["base_url"] == "http://127.0.0.1:8900/ga/population"
    before = kept_count()
    (theirs,) = await listed(catalog, "rs")  # another department: its own page, without the address
    assert "base_url" not in theirs["interface"]
    (again,) = await listed(catalog, "rs")
    assert "base_url" not in again["interface"]
    assert kept_count() == before + 1, "the other department's second read was its own kept page"
    (mine,) = await listed(catalog, "ga")
    assert mine["interface"]["base_url"] == "http://127.0.0.1:8900/ga/population"


async def test_every_change_shows_at_the_next_request(catalog) -> None:
    resource = await catalog.publish("ga", catalog.POPULATION)
    assert [r["status"] for r in await listed(catalog, "rs")] == ["published"]
    assert [r["status"] for r in await listed(catalog, "rs")] == ["published"]  # kept
    retired = await catalog.post(f"/resources/{resource['id']}/retire", "ga", {"reason": "系统下线"})
    assert retired.status_code == 200, retired.text
    assert await listed(catalog, "rs") == []
    assert [r["id"] for r in await listed(catalog, "rs", status="retired")] == [resource["id"]]
    # A draft: only its department lists it, from the moment it is written.
    assert await listed(catalog, "mz", status="draft") == []
    draft = await catalog.create("mz", catalog.MARRIAGE)
    assert [r["id"] for r in await listed(catalog, "mz", status="draft")] == [draft["id"]]
    refused = await catalog.get("/resources", "rs", status="draft", provider_dept="YC-MZ")
    assert refused.status_code == 403, refused.text
