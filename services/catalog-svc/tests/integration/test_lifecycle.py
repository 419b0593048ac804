"""The lifecycle draft → submitted → published/rejected, revisions, retirement, and who may do each step."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

# Each change rewrites the resource's search entry (FTS5 on SQLite, a GIN-indexed row on Postgres) and lists
# read resources with their revisions in one joined query: those run on both backends.
both_backends = pytest.mark.backends("postgres", "sqlite")


async def _post(catalog, path: str, who: str, json=None):
    return await catalog.client.post(f"/api/catalog{path}", json=json, headers=catalog.as_(who))


@both_backends
async def test_draft_submit_approve_publishes_with_a_review_deadline(catalog):
    draft = await catalog.create("ga", catalog.POPULATION)
    assert draft["status"] == "draft" and draft["version"] == 1 and draft["published_version"] is None
    assert "credential_ref" not in str(draft) and draft["interface"]["has_credential"] is True

    submitted = await _post(catalog, f"/resources/{draft['id']}/submit", "ga")
    assert submitted.status_code == 200
    # 第十四条: 5 working days from Thursday 2026-11-26 → Thursday 2026-12-03.
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["review_deadline"] == "2026-12-03"
    assert submitted.json()["review_deadline_estimated"] is False

    published = await _post(catalog, f"/resources/{draft['id']}/review", "bureau", {"decision": "approve"})
    assert published.status_code == 200
    assert published.json()["status"] == "published" and published.json()["published_version"] == 1

    seen_by_other = await catalog.client.get(f"/api/catalog/resources/{draft['id']}", headers=catalog.as_("rs"))
    assert seen_by_other.status_code == 200 and seen_by_other.json()["name"] == "户籍人口基本信息"


async def test_rejection_needs_a_reason_and_the_provider_can_fix_and_resubmit(catalog):
    draft = await catalog.create("mz", catalog.MARRIAGE)
    await _post(catalog, f"/resources/{draft['id']}/submit", "mz")
    no_reason = await _post(catalog, f"/resources/{draft['id']}/review", "bureau", {"decision": "reject"})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0] == {
        "field": "reason",
        "rule": "required_on_reject",
        "detail": "退回时必须说明理由",
    }
    rejected = await _post(
        catalog,
        f"/resources/{draft['id']}/review",
        "bureau",
        {"decision": "reject", "reason": "共享条件过宽，请明确适用业务"},
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["review_reason"] == "共享条件过宽，请明确适用业务"

    fixed = await catalog.client.patch(
        f"/api/catalog/resources/{draft['id']}",
        json={"sharing_conditions": "仅限社会救助审核"},
        headers=catalog.as_("mz"),
    )
    assert fixed.status_code == 200 and fixed.json()["status"] == "draft"
    resubmitted = await _post(catalog, f"/resources/{draft['id']}/submit", "mz")
    assert resubmitted.json()["status"] == "submitted"


@both_backends
async def test_published_resource_changes_through_a_revision_that_supersedes_it(catalog):
    published = await catalog.publish("ga", catalog.POPULATION)
    rid = published["id"]
    direct = await catalog.client.patch(
        f"/api/catalog/resources/{rid}", json={"name": "改名"}, headers=catalog.as_("ga")
    )
    assert direct.status_code == 409 and direct.json()["code"] == "revision_required"

    revision = await _post(catalog, f"/resources/{rid}/revisions", "ga", {"summary": "增加迁入迁出信息。"})
    assert revision.status_code == 201
    assert revision.json()["version"] == 2 and revision.json()["revision_status"] == "draft"
    again = await _post(catalog, f"/resources/{rid}/revisions", "ga")
    assert again.status_code == 409 and again.json()["code"] == "revision_pending"

    # Others still see version 1 while version 2 is pending.
    other = await catalog.client.get(f"/api/catalog/resources/{rid}", headers=catalog.as_("rs"))
    assert other.json()["version"] == 1 and other.json()["pending_revision"] is None
    owner = await catalog.client.get(f"/api/catalog/resources/{rid}", headers=catalog.as_("ga"))
    assert owner.json()["pending_revision"] == {"version": 2, "status": "draft", "review_deadline": None}

    await _post(catalog, f"/resources/{rid}/submit", "ga")
    approved = await _post(catalog, f"/resources/{rid}/review", "bureau", {"decision": "approve"})
    assert approved.json()["version"] == 2 and approved.json()["published_version"] == 2

    history = await catalog.client.get(f"/api/catalog/resources/{rid}/revisions", headers=catalog.as_("ga"))
    assert [(h["version"], h["status"]) for h in history.json()] == [(2, "published"), (1, "superseded")]
    assert history.json()[0]["published_at"] is not None and history.json()[1]["superseded_at"] is not None
    old = await catalog.client.get(f"/api/catalog/resources/{rid}?version=1", headers=catalog.as_("ga"))
    assert old.json()["revision_status"] == "superseded"

    # A third revision in draft: the provider sees it in the history; others only what was published.
    await _post(catalog, f"/resources/{rid}/revisions", "ga", {"name": "户籍人口信息（第三版）"})
    owner_history = await catalog.client.get(f"/api/catalog/resources/{rid}/revisions", headers=catalog.as_("ga"))
    assert [(h["version"], h["status"]) for h in owner_history.json()] == [
        (3, "draft"),
        (2, "published"),
        (1, "superseded"),
    ]
    public = await catalog.client.get(f"/api/catalog/resources/{rid}/revisions", headers=catalog.as_("rs"))
    assert [(h["version"], h["status"]) for h in public.json()] == [(2, "published"), (1, "superseded")]
    assert set(public.json()[0]) == {
        "version",
        "status",
        "name",
        "submitted_at",
        "reviewed_at",
        "review_reason",
        "published_at",
        "superseded_at",
    }
    # Others may not ask for a version that is not the published one; nobody for one that does not exist.
    for who, version in (("rs", 1), ("rs", 3), ("ga", 9)):
        refused = await catalog.client.get(f"/api/catalog/resources/{rid}?version={version}", headers=catalog.as_(who))
        assert refused.status_code == 404 and refused.json()["code"] == "revision_not_found", (who, version)
        assert refused.json()["detail"] == f"资源 {rid} 没有第 {version} 版"
    assert (await catalog.client.get(f"/api/catalog/resources/{rid}?version=2", headers=catalog.as_("rs"))).json()[
        "version"
    ] == 2


@both_backends
async def test_retired_resource_ends_and_cannot_be_revised(catalog):
    published = await catalog.publish("ga", catalog.POPULATION)
    rid = published["id"]
    retired = await _post(catalog, f"/resources/{rid}/retire", "ga", {"reason": "系统迁移"})
    assert retired.json()["status"] == "retired"
    assert (await _post(catalog, f"/resources/{rid}/revisions", "ga")).status_code == 409
    assert (await _post(catalog, f"/resources/{rid}/retire", "ga")).status_code == 409
    listing = await catalog.client.get("/api/catalog/resources", headers=catalog.as_("rs"))
    assert rid not in [r["id"] for r in listing.json()["items"]]


async def test_invalid_transitions_are_409(catalog):
    draft = await catalog.create("ga", catalog.POPULATION)
    review_draft = await _post(catalog, f"/resources/{draft['id']}/review", "bureau", {"decision": "approve"})
    assert review_draft.status_code == 409 and review_draft.json()["code"] == "invalid_transition"
    await _post(catalog, f"/resources/{draft['id']}/submit", "ga")
    twice = await _post(catalog, f"/resources/{draft['id']}/submit", "ga")
    assert twice.status_code == 409
    edit_submitted = await catalog.client.patch(
        f"/api/catalog/resources/{draft['id']}", json={"name": "x名"}, headers=catalog.as_("ga")
    )
    assert edit_submitted.status_code == 409


class TestOwnership:
    """Only the provider department edits its own resources; only the bureau reviews."""

    async def test_another_departments_operator_gets_403_on_every_change(self, catalog):
        draft = await catalog.create("ga", catalog.POPULATION)
        rid = draft["id"]
        for method, path, json in [
            ("PATCH", f"/resources/{rid}", {"name": "篡改"}),
            ("POST", f"/resources/{rid}/submit", None),
            ("POST", f"/resources/{rid}/retire", None),
        ]:
            response = await catalog.client.request(method, f"/api/catalog{path}", json=json, headers=catalog.as_("mz"))
            assert response.status_code == 403, (path, response.text)
            assert response.json()["code"] == "not_provider"
        await _post(catalog, f"/resources/{rid}/submit", "ga")
        await _post(catalog, f"/resources/{rid}/review", "bureau", {"decision": "approve"})
        revision = await _post(catalog, f"/resources/{rid}/revisions", "mz")
        assert revision.status_code == 403

    async def test_only_the_bureau_reviews(self, catalog):
        draft = await catalog.create("ga", catalog.POPULATION)
        await _post(catalog, f"/resources/{draft['id']}/submit", "ga")
        for who in ("ga", "ga-head", "mz", "auditor"):
            response = await _post(catalog, f"/resources/{draft['id']}/review", who, {"decision": "approve"})
            assert response.status_code == 403, who

    async def test_citizens_and_auditors_cannot_register_resources(self, catalog):
        for who in ("citizen", "auditor", "bureau"):
            response = await _post(catalog, "/resources", who, catalog.POPULATION)
            assert response.status_code == 403, who

    async def test_unpublished_resources_are_invisible_to_other_departments(self, catalog):
        draft = await catalog.create("ga", catalog.POPULATION)
        hidden = await catalog.client.get(f"/api/catalog/resources/{draft['id']}", headers=catalog.as_("mz"))
        assert hidden.status_code == 404 and hidden.json()["code"] == "resource_not_found"
        history = await catalog.client.get(f"/api/catalog/resources/{draft['id']}/revisions", headers=catalog.as_("mz"))
        assert history.status_code == 404 and history.json()["code"] == "resource_not_found"
        assert (
            await catalog.client.get(f"/api/catalog/resources/{draft['id']}", headers=catalog.as_("auditor"))
        ).status_code == 200
        assert (
            await catalog.client.get(f"/api/catalog/resources/{draft['id']}", headers=catalog.as_("bureau"))
        ).status_code == 200
        drafts = await catalog.client.get(
            "/api/catalog/resources?status=draft&provider_dept=YC-GA", headers=catalog.as_("mz")
        )
        assert drafts.status_code == 403

    async def test_no_token_is_401(self, catalog):
        response = await catalog.client.get("/api/catalog/resources")
        assert response.status_code == 401


async def test_gateway_snapshot_carries_interfaces_and_versions_for_the_gateway_only(catalog):
    published = await catalog.publish("ga", catalog.POPULATION)
    await catalog.create("mz", catalog.MARRIAGE)  # a draft: not in the snapshot
    refused = await catalog.client.get("/api/catalog/internal/interfaces", headers=catalog.as_("bureau"))
    assert refused.status_code == 403
    gateway = catalog.tokens.headers("gateway", None, ["gateway"])
    snapshot = (await catalog.client.get("/api/catalog/internal/interfaces", headers=gateway)).json()
    assert [s["resource_id"] for s in snapshot] == [published["id"]]
    entry = snapshot[0]
    assert entry["version"] == 2 and entry["status"] == "published"  # submitted, published
    assert entry["interface"]["credential_ref"] == "vault:ga/population"
    assert entry["interface"]["rate_limit"] == 20 and entry["interface"]["path_prefixes"] == ["/records"]


class TestListPages:
    """A page of the catalog shows each resource exactly as its own page does, in the search's order, read with
    the same number of queries whatever the page holds."""

    async def _three_resources(self, catalog) -> tuple[dict, dict, dict]:
        population = await catalog.publish("ga", catalog.POPULATION)
        catalog.clock.advance(minutes=1)
        await _post(catalog, f"/resources/{population['id']}/revisions", "ga", {"summary": "增加迁入迁出信息。"})
        catalog.clock.advance(minutes=1)
        marriage = await catalog.publish("mz", catalog.MARRIAGE)
        catalog.clock.advance(minutes=1)
        draft = await catalog.create("ga", catalog.POPULATION, code="101001/000002", name="居民身份证信息")
        return population, marriage, draft

    @both_backends
    async def test_each_item_of_a_page_is_the_resource_as_the_caller_sees_it(self, catalog):
        population, marriage, draft = await self._three_resources(catalog)
        for who in ("ga", "rs", "bureau"):
            page = (await catalog.client.get("/api/catalog/resources", headers=catalog.as_(who))).json()
            # Newest change first: the revision of the population resource changed it after publication.
            assert [r["id"] for r in page["items"]] == [marriage["id"], population["id"]], who
            assert page["total"] == 2 and page["page"] == 1 and page["size"] == 20
            for item in page["items"]:
                alone = await catalog.client.get(f"/api/catalog/resources/{item['id']}", headers=catalog.as_(who))
                assert item == alone.json(), who
        owner = (await catalog.client.get("/api/catalog/resources", headers=catalog.as_("ga"))).json()["items"]
        assert owner[1]["version"] == 1 and owner[1]["pending_revision"] == {
            "version": 2,
            "status": "draft",
            "review_deadline": None,
        }
        other = (await catalog.client.get("/api/catalog/resources", headers=catalog.as_("rs"))).json()["items"]
        assert other[1]["pending_revision"] is None and other[0]["pending_revision"] is None
        drafts = (await catalog.client.get("/api/catalog/resources?status=draft", headers=catalog.as_("ga"))).json()
        assert [r["id"] for r in drafts["items"]] == [draft["id"]]
        assert (
            drafts["items"][0]
            == (await catalog.client.get(f"/api/catalog/resources/{draft['id']}", headers=catalog.as_("ga"))).json()
        )
        searched = (await catalog.client.get("/api/catalog/resources?q=婚姻", headers=catalog.as_("rs"))).json()
        assert [r["id"] for r in searched["items"]] == [marriage["id"]]

    async def test_a_page_takes_the_same_number_of_queries_whatever_its_size(self, catalog):
        async def statements_for_a_page() -> int:
            seen: list[str] = []

            def count(_conn, _cursor, statement, *_args) -> None:
                seen.append(statement)

            engine = catalog.db.engine.sync_engine
            sa.event.listen(engine, "before_cursor_execute", count)
            try:
                response = await catalog.client.get("/api/catalog/resources", headers=catalog.as_("ga"))
            finally:
                sa.event.remove(engine, "before_cursor_execute", count)
            assert response.status_code == 200
            return len(seen), len(response.json()["items"])

        await self._three_resources(catalog)
        small = await statements_for_a_page()
        for n in range(3, 9):
            await catalog.publish("ga", catalog.POPULATION, code=f"101001/00001{n}", name=f"人口资源{n}")
        large = await statements_for_a_page()
        assert (small[1], large[1]) == (2, 8)
        assert small[0] == large[0]
