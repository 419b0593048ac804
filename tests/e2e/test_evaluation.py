"""第三十七、三十八条 through the real gateway: the bureau publishes a year's evaluation, and anyone reads the published
results without a token — the gateway passes `/api/audit/public/evaluation` on to audit-svc like any API path, and
that route alone asks for no token. The scores themselves are the integration tests' (a seeded year, a moved clock);
the year here is one long past, so nothing else of the shared platform depends on it."""

from __future__ import annotations

import httpx
from govdata_local.flows import Dept

YEAR = 2020


def test_the_published_evaluation_is_public_and_the_rest_is_not(platform):
    bureau, mz = Dept(platform, "bureau"), Dept(platform, "mz-system")
    anonymous = httpx.Client(base_url=platform.gateway, timeout=10)

    before = anonymous.get("/api/audit/public/evaluation", params={"year": YEAR})
    assert before.status_code == 404 and before.json()["code"] == "evaluation_not_published", before.text
    assert anonymous.get("/api/audit/evaluation", params={"year": YEAR}).status_code == 401
    assert mz.post(f"/api/audit/evaluation/{YEAR}/publish").status_code == 403

    published = bureau.post(f"/api/audit/evaluation/{YEAR}/publish")
    assert published.status_code == 201, published.text
    public = anonymous.get("/api/audit/public/evaluation", params={"year": YEAR})
    assert public.status_code == 200, public.text
    assert (public.json()["year"], public.json()["config_version"]) == (YEAR, published.json()["config"]["version"])
    page = anonymous.get("/api/audit/public/evaluation", params={"year": YEAR, "format": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "评价结果公告" in page.text
