"""The gateway's grant, resource and identity projections: bootstrap (end offsets → snapshots and the registry →
events from those offsets), retry while the services are not up, apply by aggregate version, every replica sees
every event, and disabled clients refused at the data plane."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta

from govdata_gateway.clients import ClientsFile
from govdata_gateway.projection import Projection
from govdata_gateway.registry.models import ClientRecord, Department
from govdata_gateway.registry.seed import seed_registry
from govdata_shared.contracts import validated_data
from govdata_shared.contracts.access import ACCESS_RECORDS
from govdata_shared.contracts.catalog import (
    RESOURCE_PUBLISHED,
    RESOURCE_REFRESHED,
    RESOURCE_RETIRED,
    RESOURCE_SUBMITTED,
    RESOURCE_SUPERSEDED,
)
from govdata_shared.contracts.identity import DEPARTMENT_DISABLED, SYSTEM_DISABLED, SYSTEM_UPDATED
from govdata_shared.contracts.sharing import GRANT_CREATED, GRANT_RESUMED, GRANT_SUSPENDED
from govdata_shared.db import Database
from govdata_shared.events import new_event
from govdata_shared.testing import read_topic

# --------------------------------------------------------------------------------------------- bootstrap


async def test_not_ready_until_bootstrapped_and_retries_while_services_are_down(platform) -> None:
    rid, gid, _ = await platform.setup()
    platform.snapshots.fail_next = 3  # catalog-svc and sharing-svc still starting
    gw = await platform.start_gateway(wait_ready=False)
    async with platform.http.get(f"{gw.url}/readyz") as resp:
        assert resp.status == 503
        assert (await resp.json(content_type=None))["code"] == "not_ready"
    token_resp = await gw.token("mz-system", f"grant:{gid}")
    if token_resp.status != 200:  # unless the retry already won the race
        await platform.expect_problem(token_resp, 503, "projection_not_ready")
    await platform.until(lambda: platform.ready(gw), timeout=15)
    assert len(platform.snapshots.calls) >= 4
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/population/persons/p1") == 200


async def test_data_calls_wait_for_the_projection(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    gw.plane.feed.ready.clear()  # as before the first bootstrap
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 503, "projection_not_ready")
        assert resp.headers["Retry-After"] == "1"
    gw.plane.feed.ready.set()
    assert await gw.status(token, rid, "/population/persons/p1") == 200


async def test_event_during_the_snapshot_is_applied_after_it(platform) -> None:
    """The grant is suspended after the gateway read the end offsets but before sharing-svc's snapshot saw it:
    the snapshot still says active (v1), the event (v2) is read from the recorded offsets."""
    _rid, gid, data = await platform.setup()
    sent = []

    async def suspend_meanwhile() -> None:
        if not sent:
            sent.append(await platform.events.grant(GRANT_SUSPENDED, {**data, "status": "suspended"}, 2))

    platform.snapshots.before_grants = suspend_meanwhile
    gw = await platform.start_gateway()
    await gw.caught_up(sent[0])
    assert gw.plane.projection.grants[gid].status == "suspended"
    await platform.expect_problem(await gw.token("mz-system", f"grant:{gid}"), 403, "grant_not_active")


async def test_older_event_read_after_a_newer_snapshot_changes_nothing(platform) -> None:
    """The other way round: the snapshot already holds v2 (suspended); the v1 event read after it is stale."""
    _rid, gid, data = await platform.setup()
    platform.snapshots.grants[-1].update(status="suspended", version=2)
    sent = []

    async def late_event() -> None:
        if not sent:
            sent.append(await platform.events.grant(GRANT_CREATED, data, 1))

    platform.snapshots.before_grants = late_event
    gw = await platform.start_gateway()
    await gw.caught_up(sent[0])
    grant = gw.plane.projection.grants[gid]
    assert (grant.status, grant.version) == ("suspended", 2)


async def test_events_after_bootstrap_apply_and_unknown_grants_appear(platform) -> None:
    rid, _gid, _data = await platform.setup()
    gw = await platform.start_gateway()
    _, new_gid = platform.new_ids()
    created = platform.grant_data(new_gid, rid)
    meta = await platform.events.grant(GRANT_CREATED, created, 1)
    await gw.caught_up(meta)
    token = await gw.grant_token(new_gid)
    assert await gw.status(token, rid, "/population/persons/p1") == 200
    # A resource published after the gateway started.
    new_rid, _ = platform.new_ids()
    meta = await platform.events.resource(
        RESOURCE_PUBLISHED, platform.resource_event_data(new_rid, platform.interface()), 1
    )
    await gw.caught_up(meta)
    assert new_rid in gw.plane.projection.resources


async def test_a_published_event_catalog_svc_does_not_confirm_never_holds_the_feed_back(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    ghost, _ = platform.new_ids()
    # Sent without catalog-svc knowing the resource (retired since, or not its event): its entry is a 404.
    meta = await platform.events.send(
        RESOURCE_PUBLISHED, ghost, platform.resource_event_data(ghost, platform.interface()), 1
    )
    await gw.caught_up(meta)  # the feed's position moves past it: later events on its partition are not held
    assert ghost not in gw.plane.projection.resources
    assert await gw.status(await gw.grant_token(gid), rid, "/population/persons/p1") == 200


async def test_stale_and_duplicate_events_do_not_change_the_projection(platform) -> None:
    rid, gid, data = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    suspended = {**data, "status": "suspended", "reason": "风险排查"}
    await platform.events.grant(GRANT_SUSPENDED, suspended, 3)
    # Lower version saying active, the same version again saying active, and an exact duplicate.
    await platform.events.grant(GRANT_RESUMED, {**data, "status": "active"}, 2)
    await platform.events.grant(GRANT_RESUMED, {**data, "status": "active"}, 3)
    meta = await platform.events.grant(GRANT_SUSPENDED, suspended, 3)
    await gw.caught_up(meta)
    grant = gw.plane.projection.grants[gid]
    assert (grant.status, grant.version) == ("suspended", 3)
    assert await gw.status(token, rid, "/population/persons/p1") == 403


async def test_retired_resource_in_the_snapshot_stays_retired(platform) -> None:
    rid, gid, _ = await platform.setup()
    platform.snapshots.resources[-1].update(status="retired", version=9)
    gw = await platform.start_gateway()
    assert rid not in gw.plane.projection.resources
    assert gw.plane.projection.resource_version(rid) == 9
    # An old `published` arriving late does not bring it back.
    meta = await platform.events.resource(
        RESOURCE_PUBLISHED, platform.resource_event_data(rid, platform.interface()), 8
    )
    await gw.caught_up(meta)
    assert rid not in gw.plane.projection.resources
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/population/persons/p1") == 403


async def test_every_replica_sees_every_event(platform) -> None:
    rid, gid, data = await platform.setup()
    first = await platform.start_gateway()
    second = await platform.start_gateway()
    tokens = [await first.grant_token(gid), await second.grant_token(gid)]
    meta = await platform.events.grant(GRANT_SUSPENDED, {**data, "status": "suspended"}, 2)
    for gw, token in zip((first, second), tokens, strict=True):
        await gw.caught_up(meta)
        assert await gw.status(token, rid, "/population/persons/p1") == 403


# --------------------------------------------------------------------------------------------- apply by version


def _resource_events(rid: str, provider_url: str, platform) -> dict[str, object]:
    def event(event_type: str, version: int, revision: int, status: str = "published", prefixes=("/v1",)):
        data = platform.resource_event_data(
            rid, platform.interface(path_prefixes=list(prefixes)), status=status, revision=revision
        )
        return new_event(
            event_type, rid, validated_data(event_type, data), version=version, actor="t", dept="YC-GA", source="c"
        )

    refreshed = new_event(
        RESOURCE_REFRESHED,
        rid,
        validated_data(
            RESOURCE_REFRESHED,
            {"resource_id": rid, "provider_dept": "YC-GA", "refreshed_at": "2026-01-01T00:00:00Z", "late": False},
        ),
        version=4,
        actor="t",
        dept="YC-GA",
        source="c",
    )
    return {
        "published1": event(RESOURCE_PUBLISHED, 2, 1, prefixes=("/v1",)),
        "submitted2": event(RESOURCE_SUBMITTED, 3, 2, prefixes=("/v2",)),
        "refreshed": refreshed,
        "superseded1": event(RESOURCE_SUPERSEDED, 5, 1, prefixes=("/v1",)),
        "published2": event(RESOURCE_PUBLISHED, 6, 2, prefixes=("/v2",)),
    }


def _entry(platform, rid: str, version: int, revision: int, prefixes: tuple[str, ...], status: str = "published"):
    """catalog-svc's entry of `rid` at `version`, as GET /api/catalog/internal/interfaces/{id} answers."""
    entry = platform.snapshot_resource(rid, platform.interface(path_prefixes=list(prefixes)), version, status=status)
    return {**entry, "revision": revision}


def _give(projection: Projection, item) -> str:
    """An event (a `published` one only announces: the feed then fetches its entry) or a fetched entry."""
    return projection.apply_entry(item) if isinstance(item, dict) else projection.apply(item)


def test_resource_projection_ends_the_same_in_any_order(platform) -> None:
    """Every order of a revision's publication events and the entries fetched for them, with duplicates, ends at
    the newest published revision."""
    rid = "res-order"
    events = _resource_events(rid, "http://x", platform)
    items = [
        events["published1"],
        events["refreshed"],
        events["superseded1"],
        events["published2"],
        _entry(platform, rid, 2, 1, ("/v1",)),
        _entry(platform, rid, 6, 2, ("/v2",)),
    ]
    for order in itertools.permutations(items):
        projection = Projection()
        for item in (*order, *order):  # and everything delivered twice
            _give(projection, item)
        entry = projection.resources[rid]
        assert (entry.version, entry.revision, entry.interface.path_prefixes) == (6, 2, ("/v2",)), order


def test_superseded_and_other_catalog_events_never_change_the_entry(platform) -> None:
    rid = "res-super"
    events = _resource_events(rid, "http://x", platform)
    projection = Projection()
    assert projection.apply(events["published1"]) == "fetch"  # the event carries no address
    assert rid not in projection.resources
    assert projection.apply_entry(_entry(platform, rid, 2, 1, ("/v1",))) == "applied"
    for name in ("submitted2", "refreshed", "superseded1"):
        assert projection.apply(events[name]) == "ignored", name
    assert projection.resources[rid].interface.path_prefixes == ("/v1",)
    assert projection.resources[rid].interface.base_url == platform.provider.url
    assert projection.apply(events["published2"]) == "fetch"
    assert projection.resources[rid].interface.path_prefixes == ("/v1",)  # until the entry is fetched
    assert projection.apply_entry(_entry(platform, rid, 6, 2, ("/v2",))) == "applied"
    assert projection.apply(events["published1"]) == "stale"
    assert projection.apply_entry(_entry(platform, rid, 2, 1, ("/v1",))) == "stale"
    retired_data = platform.resource_event_data(rid, platform.interface(), status="retired", revision=2)
    retired = new_event(
        RESOURCE_RETIRED,
        rid,
        validated_data(RESOURCE_RETIRED, retired_data),
        version=7,
        actor="t",
        dept="x",
        source="c",
    )
    assert projection.apply(retired) == "applied" and rid not in projection.resources
    assert projection.apply(events["published2"]) == "stale" and rid not in projection.resources
    assert projection.apply_entry(_entry(platform, rid, 6, 2, ("/v2",))) == "stale" and rid not in projection.resources


def test_grant_projection_ends_the_same_in_any_order(platform) -> None:
    data = platform.grant_data("grt-order", "res-x")
    versions = [
        (GRANT_CREATED, {**data, "status": "active"}, 1),
        (GRANT_SUSPENDED, {**data, "status": "suspended"}, 2),
        (GRANT_RESUMED, {**data, "status": "active"}, 3),
        (GRANT_SUSPENDED, {**data, "status": "suspended", "valid_to": str(platform.today() + timedelta(9))}, 4),
    ]
    events = [
        new_event(t, "grt-order", validated_data(t, d), version=v, actor="t", dept="x", source="s")
        for t, d, v in versions
    ]
    for order in itertools.permutations(events):
        projection = Projection()
        for event in (*order, *reversed(order)):
            projection.apply(event)
        grant = projection.grants["grt-order"]
        assert (grant.version, grant.status, grant.valid_to) == (4, "suspended", platform.today() + timedelta(9))


# --------------------------------------------------------------------------------------------- who is disabled


def _grant_token_of(platform, client_id: str, rid: str, gid: str) -> str:
    """A valid grant token, as the gateway issued it before the client was disabled."""
    now = int(time.time())
    return platform.key.sign(
        {
            "iss": platform.ISSUER,
            "aud": "govdata-data",
            "sub": client_id,
            "client_id": client_id,
            "roles": ["dept_operator"],
            "dept": platform.HOLDER,
            "system": platform.HOLDER_SYSTEM,
            "scope": f"grant:{gid}",
            "grant_id": gid,
            "resource_id": rid,
            "items": platform.GRANTED,
            "holder_dept": platform.HOLDER,
            "holder_system": platform.HOLDER_SYSTEM,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
    )


async def _identity_event(platform, event_type: str, kind: str, ident: str, data: dict, version: int):
    return await platform.events.send(event_type, f"{kind}:{ident}", data, version)


async def test_disabled_entries_of_the_registry_are_refused_from_the_bootstrap_without_any_event(platform) -> None:
    """The registry says mz-system is disabled (changed in its database, no event): the gateway knows it from
    its own database at bootstrap, and the seeding's older `created` events read afterwards do not undo it."""
    rid, gid, _ = await platform.setup()
    db = Database(platform.database_url)
    try:
        async with db.session() as session:
            await seed_registry(session, ClientsFile.from_file(platform.tmp / "clients.yaml"), datetime.now(UTC))
        async with db.session() as session:
            (await session.get(ClientRecord, "mz-system")).disabled = True
            (await session.get(Department, platform.OTHER)).disabled = True
    finally:
        await db.dispose()
    gw = await platform.start_gateway()
    identity = gw.plane.projection.identity
    assert {"mz-system", "rs-system"} <= identity.disabled_clients
    assert "mz-yanglao" not in identity.disabled_clients
    async with gw.call(_grant_token_of(platform, "mz-system", rid, gid), rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 403, "client_disabled")
    await platform.expect_problem(await gw.token("mz-system", f"grant:{gid}"), 401, "invalid_client")
    await asyncio.sleep(0.5)  # the seeding's events (v1, enabled) reach the feed meanwhile: stale
    assert "mz-system" in gw.plane.projection.identity.disabled_clients
    assert not platform.provider.seen


async def test_identity_events_disable_and_enable_by_version_through_department_and_system(platform) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    assert await gw.status(token, rid, "/population/persons/p1") == 200
    system = {"system_id": platform.HOLDER_SYSTEM, "dept": platform.HOLDER, "name": "民政低保审批系统"}
    dept = {"code": platform.HOLDER, "name": "伊川县民政局"}

    # A client of a disabled system counts as disabled.
    await _identity_event(platform, SYSTEM_DISABLED, "system", platform.HOLDER_SYSTEM, {**system, "disabled": True}, 5)
    took = await platform.until(lambda: _status_is(gw, token, rid, 403), timeout=1.0, interval=0.005)
    assert took < 1.0
    async with gw.call(token, rid, "/population/persons/p1") as resp:
        await platform.expect_problem(resp, 403, "client_disabled")
    # An older event saying "enabled" changes nothing; a newer one enables again.
    meta = await _identity_event(
        platform, SYSTEM_UPDATED, "system", platform.HOLDER_SYSTEM, {**system, "disabled": False}, 4
    )
    await gw.caught_up(meta)
    assert await gw.status(token, rid, "/population/persons/p1") == 403
    await _identity_event(platform, SYSTEM_UPDATED, "system", platform.HOLDER_SYSTEM, {**system, "disabled": False}, 6)
    await platform.until(lambda: _status_is(gw, token, rid, 200), timeout=1.0, interval=0.005)

    # So does a client of a disabled department.
    await _identity_event(platform, DEPARTMENT_DISABLED, "department", platform.HOLDER, {**dept, "disabled": True}, 7)
    await platform.until(lambda: _status_is(gw, token, rid, 403), timeout=1.0, interval=0.005)

    async def denial_recorded() -> bool:
        events = await read_topic(platform.broker, "govdata.access.v1")
        return any(
            r["outcome"] == "client_disabled"
            and (r["resource_id"], r["client_id"], r["grant_id"], r["status"]) == (rid, "mz-system", gid, 403)
            for e in events
            if e.type == ACCESS_RECORDS
            for r in e.data["records"]
        )

    await platform.until(denial_recorded, timeout=10, interval=0.2)


async def _status_is(gw, token: str, rid: str, status: int) -> bool:
    return await gw.status(token, rid, "/population/persons/p1") == status
