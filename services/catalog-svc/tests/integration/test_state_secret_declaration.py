"""第二条: data involving state secrets is managed under the secrecy laws, not shared through this platform — a
revision goes to the bureau's review only with its provider's declaration that it holds none (`no_state_secrets`)."""

from __future__ import annotations

import sqlalchemy as sa


def _undeclared(catalog, template: dict, **changes) -> dict:
    body = catalog.body(template, **changes)
    del body["no_state_secrets"]
    return body


def _refused_for_the_declaration(response) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "state_secret_declaration_required"
    assert problem["field"] == "no_state_secrets" and problem["rule"] == "state_secret_declaration_required"
    assert problem["errors"] == [
        {"field": "no_state_secrets", "rule": "state_secret_declaration_required", "detail": problem["detail"]}
    ]
    assert "国家秘密" in problem["detail"] and "第二条" in problem["detail"]


async def test_a_draft_without_the_declaration_is_not_submitted_until_its_provider_declares(catalog):
    created = await catalog.post("/resources", "ga", _undeclared(catalog, catalog.POPULATION))
    assert created.status_code == 201 and created.json()["no_state_secrets"] is False
    rid = created.json()["id"]

    # Submitting undeclared — nor by slipping the declaration into the submit call — changes nothing.
    _refused_for_the_declaration(await catalog.post(f"/resources/{rid}/submit", "ga"))
    _refused_for_the_declaration(await catalog.post(f"/resources/{rid}/submit", "ga", {"no_state_secrets": True}))
    held = (await catalog.get(f"/resources/{rid}", "ga")).json()
    assert held["status"] == "draft" and held["revision_status"] == "draft" and held["no_state_secrets"] is False
    assert held["submitted_at"] is None and held["review_deadline"] is None
    assert await catalog.events(rid) == []
    listed = (await catalog.get("/resources", "ga", status="submitted")).json()
    assert listed["total"] == 0

    # Only its provider may declare, and only with a yes or a no.
    assert (await catalog.patch(f"/resources/{rid}", "mz", {"no_state_secrets": True})).status_code == 403
    nothing = await catalog.patch(f"/resources/{rid}", "ga", {"no_state_secrets": None})
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "no_state_secrets"
    unnamed = await catalog.patch(f"/resources/{rid}", "ga", {"name": None})
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "name"
    assert (await catalog.get(f"/resources/{rid}", "ga")).json()["no_state_secrets"] is False

    declared = await catalog.patch(f"/resources/{rid}", "ga", {"no_state_secrets": True})
    assert declared.status_code == 200 and declared.json()["no_state_secrets"] is True
    submitted = await catalog.post(f"/resources/{rid}/submit", "ga")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert submitted.json()["no_state_secrets"] is True and submitted.json()["review_deadline"] == "2026-12-03"
    (event,) = await catalog.events(rid)
    assert event["type"] == "catalog.resource.submitted" and event["data"]["no_state_secrets"] is True

    published = await catalog.post(f"/resources/{rid}/review", "bureau", {"decision": "approve"})
    assert published.json()["status"] == "published" and published.json()["no_state_secrets"] is True
    assert (await catalog.get(f"/resources/{rid}", "rs")).json()["no_state_secrets"] is True
    (exported,) = (await catalog.get("/export", "city")).json()["resources"]
    assert exported["id"] == rid and exported["no_state_secrets"] is True
    (dataset,) = (await catalog.get("/export", "city", format="jsonld")).json()["@graph"]
    assert dataset["govdata:noStateSecrets"] is True

    # A new revision keeps the declaration; withdrawn, the revision cannot be submitted, and what is
    # published stays as it was.
    revision = await catalog.post(f"/resources/{rid}/revisions", "ga", {"summary": "增加迁入迁出信息。"})
    assert revision.status_code == 201 and revision.json()["no_state_secrets"] is True
    withdrawn = await catalog.patch(f"/resources/{rid}", "ga", {"no_state_secrets": False})
    assert withdrawn.json()["version"] == 2 and withdrawn.json()["no_state_secrets"] is False
    _refused_for_the_declaration(await catalog.post(f"/resources/{rid}/submit", "ga"))
    shown = (await catalog.get(f"/resources/{rid}", "ga")).json()
    assert shown["status"] == "published" and shown["version"] == 1 and shown["no_state_secrets"] is True
    assert shown["pending_revision"] == {"version": 2, "status": "draft", "review_deadline": None}
    assert [e["type"] for e in await catalog.events(rid)] == [
        "catalog.resource.submitted",
        "catalog.resource.published",
    ]


async def test_resources_published_before_the_declaration_existed_stay_published_until_revised(catalog):
    published = await catalog.publish("mz", catalog.MARRIAGE)
    rid = published["id"]
    # What migration 0004 leaves on the revisions written before it: no declaration.
    async with catalog.db.session() as session:
        default = await session.execute(
            sa.text(
                "SELECT column_default FROM information_schema.columns"
                " WHERE table_name = 'resource_revision' AND column_name = 'no_state_secrets'"
            )
        )
        assert default.scalar_one() == "false"
        await session.execute(sa.text("UPDATE resource_revision SET no_state_secrets = false"))

    shown = (await catalog.get(f"/resources/{rid}", "ga")).json()
    assert shown["status"] == "published" and shown["no_state_secrets"] is False
    (exported,) = (await catalog.get("/export", "bureau")).json()["resources"]
    assert exported["status"] == "published" and exported["no_state_secrets"] is False

    # Its next revision starts undeclared, and is declared before it goes to review.
    revision = await catalog.post(f"/resources/{rid}/revisions", "mz", {"sharing_conditions": "仅限社会救助审核"})
    assert revision.json()["no_state_secrets"] is False
    _refused_for_the_declaration(await catalog.post(f"/resources/{rid}/submit", "mz"))
    await catalog.patch(f"/resources/{rid}", "mz", {"no_state_secrets": True})
    submitted = await catalog.post(f"/resources/{rid}/submit", "mz")
    assert submitted.status_code == 200 and submitted.json()["revision_status"] == "submitted"
