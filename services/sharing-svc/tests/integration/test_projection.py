"""What sharing-svc keeps of the catalog (published and retired resources, by aggregate version) and the grant
snapshot the gateway's projection starts from."""

from __future__ import annotations


async def test_retired_resource_cannot_be_requested_and_stale_events_change_nothing(sharing):
    retired = sharing.resource_event(
        "res-pop",
        provider="YC-GA",
        sharing_type="unconditional",
        version=5,
        event_type="catalog.resource.retired",
        status="retired",
    )
    await sharing.catalog(retired)
    # A late, older "published" event of the same resource must not bring it back.
    await sharing.catalog(sharing.resource_event("res-pop", provider="YC-GA", sharing_type="unconditional", version=4))
    response = await sharing.post("/requests", "mz", sharing.request_body("res-pop", items=["name"]))
    assert response.status_code == 409 and response.json()["code"] == "resource_retired"


async def test_a_newer_publication_changes_the_resource_requests_are_checked_against(sharing):
    await sharing.catalog(
        sharing.resource_event(
            "res-pop", provider="YC-GA", sharing_type="conditional", version=3, items=("id_number", "name", "address")
        )
    )
    request = await sharing.request("mz", "res-pop", items=["address"])
    assert request["status"] == "provider_review" and request["path"] == "conditional"


async def test_snapshot_is_for_the_gateway_only_and_carries_versions(sharing):
    grant = await sharing.granted()
    await sharing.post(f"/grants/{grant['id']}/suspend", "ga", {"reason": "风险"})
    refused = await sharing.get("/internal/grants", "bureau")
    assert refused.status_code == 403 and refused.json()["code"] == "gateway_only"
    assert refused.json()["detail"] == "仅供平台网关使用"
    snapshot = (await sharing.get("/internal/grants", "gateway")).json()
    assert [(g["grant_id"], g["status"], g["version"]) for g in snapshot] == [(grant["id"], "suspended", 2)]
    assert snapshot[0]["items"] == ["id_number", "name"] and snapshot[0]["holder_dept"] == "YC-MZ"
    assert snapshot[0]["holder_system"] == "mz-dibao"
    assert snapshot[0]["valid_to"] == "2027-11-30" and snapshot[0]["reason"] is None
