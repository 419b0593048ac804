"""The gateway's projections of resources (catalog events), grants (sharing events) and disabled clients and
people (identity events), fed from Kafka.

Every gateway replica keeps the whole picture itself: the feed is a plain consumer with no group
(`group_id=None`) assigned every partition of `govdata.catalog.v1`, `govdata.sharing.v1` and
`govdata.identity.v1`, so every replica sees every event. It starts like this (and again after any failure, with
exponential backoff):

1. read the end offsets of every partition;
2. fetch both snapshots over HTTP with a token the gateway mints for itself (role `gateway`):
   catalog-svc `GET /api/catalog/internal/interfaces` and sharing-svc `GET /api/sharing/internal/grants`; and
   read the identity registry's entries from the gateway's own database;
3. consume from the offsets of step 1.

Events between step 1 and the snapshots are therefore read again. That is harmless because everything is
applied by aggregate version (the envelope's `version`): an event whose version is not above the one held is
ignored, so order and duplicates do not matter.

Resources: `catalog.resource.published` makes the resource's published revision the active entry,
`catalog.resource.retired` removes it (a versioned tombstone stays so a late `published` cannot revive it).
`superseded` describes the *old* revision and always travels with the `published` of the new one, so it never
changes the entry; other catalog events (submitted, rejected, refreshed, …) do not change what the data plane
serves and are not compared by version either, so a late `published` is never shadowed by them.
Catalog events do not carry the interface's address or credential reference (only its provider department, the
bureau and the gateway may know where a provider's system is, API.md "Catalog"; every service and the audit
trail read the bus). So a `published` newer than the entry held is not applied from the event: the feed fetches
that one resource's snapshot entry, `GET /api/catalog/internal/interfaces/{id}`, and applies it by its version
like the snapshot's (`Projection.apply_entry`) — retrying with backoff until it is at least the event's version,
in a task of its own so that grant and identity events keep flowing meanwhile. Until then the previous entry
keeps serving (a retirement is applied from its event at once), and `ProjectionFeed.position` does not pass the
event, so "the feed has read past this event" still means "the event is applied".
Grants: every `sharing.grant.*` event carries the whole grant after the change.

Who is disabled (`IdentityProjection`): the feed also reads `govdata.identity.v1`, whose events carry each
registry entry after its change. It starts not from a service's snapshot but from the registry database the
gateway owns (read at step 2, after the end offsets, like the snapshots), and keeps the set of disabled client
ids and usernames — a client of a disabled department or system, and a person of a disabled department, count as
disabled. The data plane and the API routing refuse their still-valid tokens as soon as the event is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from govdata_shared.contracts import catalog as catalog_contract
from govdata_shared.contracts import identity as identity_contract
from govdata_shared.contracts import parse_data
from govdata_shared.contracts.catalog import ResourceEventData
from govdata_shared.contracts.sharing import GRANT_EVENTS, GrantData
from govdata_shared.errors import Problem
from govdata_shared.events import TOPICS, Event
from govdata_shared.kafka import client_options, ensure_topics
from govdata_shared.workdays import SHANGHAI
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.projection")

PROJECTION_TOPICS = (TOPICS["catalog"], TOPICS["sharing"], TOPICS["identity"])
CREATED_TOPICS = (*PROJECTION_TOPICS, TOPICS["access"])  # created when missing (the gateway produces access.*)
CATALOG_SNAPSHOT_PATH = "/api/catalog/internal/interfaces"
SHARING_SNAPSHOT_PATH = "/api/sharing/internal/grants"
_GRANT_EVENTS = frozenset(GRANT_EVENTS)
_RESOURCE_EVENTS = frozenset({catalog_contract.RESOURCE_PUBLISHED, catalog_contract.RESOURCE_RETIRED})
_IDENTITY_KINDS: dict[str, str] = {
    **dict.fromkeys(identity_contract.DEPARTMENT_EVENTS, "departments"),
    **dict.fromkeys(identity_contract.SYSTEM_EVENTS, "systems"),
    **dict.fromkeys(identity_contract.CLIENT_EVENTS, "clients"),
    **dict.fromkeys(identity_contract.USER_EVENTS, "users"),
}

PROJECTION_ENTRIES = Gauge("govdata_gateway_projection_entries", "Entries in the projections", ["kind"])
PROJECTION_READY = Gauge("govdata_gateway_projection_ready", "1 once the projections are bootstrapped")
PROJECTION_EVENTS = Counter(
    "govdata_gateway_projection_events_total", "Events read by the projection feed", ["outcome"]
)  # applied | stale | ignored | invalid
PROJECTION_LAG_MESSAGES = Gauge(
    "govdata_gateway_projection_lag_messages", "Events on the broker not yet read by the projection feed", ["topic"]
)
PROJECTION_EVENT_AGE = Histogram(
    "govdata_gateway_projection_event_age_seconds",
    "Time from an event's creation to the gateway applying it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60),
)
PROJECTION_BOOTSTRAPS = Counter(
    "govdata_gateway_projection_bootstraps_total", "Projection bootstrap attempts", ["outcome"]
)
_APPLIED = PROJECTION_EVENTS.labels("applied")
_STALE = PROJECTION_EVENTS.labels("stale")
_IGNORED = PROJECTION_EVENTS.labels("ignored")
_INVALID = PROJECTION_EVENTS.labels("invalid")


# --------------------------------------------------------------------------------------------- entries


def _normal_prefix(prefix: str) -> str:
    prefix = "/" + prefix.strip().lstrip("/")
    return prefix.rstrip("/") or "/"


@dataclass(frozen=True, slots=True)
class Interface:
    """What a resource offers through the data plane (API.md "Data plane")."""

    base_url: str
    methods: frozenset[str]
    path_prefixes: tuple[str, ...]
    rate_limit: int
    credential_ref: str | None

    @classmethod
    def from_data(cls, raw: Mapping[str, Any]) -> Interface:
        return cls(
            base_url=str(raw["base_url"]).rstrip("/"),
            methods=frozenset(str(m).upper() for m in raw.get("methods") or ("GET",)),
            path_prefixes=tuple(_normal_prefix(str(p)) for p in raw.get("path_prefixes") or ("/",)),
            rate_limit=max(1, int(raw.get("rate_limit") or 20)),
            credential_ref=raw.get("credential_ref") or None,
        )

    def allows_path(self, path: str) -> bool:
        """`path` (decoded, starting with '/') equals a prefix or continues one after a '/'."""
        for prefix in self.path_prefixes:  # noqa: SIM110 - a loop is cheaper than any() on the hot path
            if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
                return True
        return False


@dataclass(frozen=True, slots=True)
class ResourceEntry:
    resource_id: str
    provider_dept: str
    status: str
    version: int
    revision: int | None
    items: frozenset[str]
    interface: Interface | None


def _day_start(day: date) -> float:
    return datetime.combine(day, dtime(0), SHANGHAI).timestamp()


@dataclass(frozen=True, slots=True)
class GrantEntry:
    grant_id: str
    holder_dept: str
    holder_system: str
    provider_dept: str
    resource_id: str
    items: frozenset[str]
    item_list: tuple[str, ...]
    valid_from: date
    valid_to: date
    status: str
    version: int
    starts_at: float  # valid_from 00:00 Asia/Shanghai, epoch seconds
    ends_at: float  # the day after valid_to 00:00 Asia/Shanghai: the window is [starts_at, ends_at)

    @classmethod
    def from_data(cls, data: GrantData, version: int) -> GrantEntry:
        return cls(
            grant_id=data.grant_id,
            holder_dept=data.holder_dept,
            holder_system=data.holder_system,
            provider_dept=data.provider_dept,
            resource_id=data.resource_id,
            items=frozenset(data.items),
            item_list=tuple(data.items),
            valid_from=data.valid_from,
            valid_to=data.valid_to,
            status=data.status,
            version=version,
            starts_at=_day_start(data.valid_from),
            ends_at=_day_start(data.valid_to + timedelta(days=1)),
        )

    @property
    def active(self) -> bool:
        return self.status == "active"

    def in_window(self, now: float | None = None) -> bool:
        """Today (Asia/Shanghai) is within [valid_from, valid_to]."""
        now = time.time() if now is None else now
        return self.starts_at <= now < self.ends_at


# --------------------------------------------------------------------------------------------- identity


@dataclass(frozen=True, slots=True)
class Member:
    """A registry entry as the refusal rule needs it: where it belongs and whether it is disabled itself."""

    version: int
    disabled: bool
    dept: str | None = None
    system: str | None = None


_SNAPSHOT_KEYS = {"departments": "code", "systems": "id", "clients": "client_id", "users": "username"}
_EVENT_KEYS = {"departments": "code", "systems": "system_id", "clients": "client_id", "users": "username"}
REFUSALS = {
    "client_disabled": "该客户端已被停用，其访问令牌不再有效",
    "user_disabled": "该用户已被停用，其访问令牌不再有效",
}


def refusal_problem(code: str) -> Problem:
    """The 403 for a token of a disabled client (`client_disabled`) or person (`user_disabled`)."""
    return Problem(403, code, REFUSALS[code])


class IdentityProjection:
    """The disabled clients and people, from the registry and its identity.* events, applied by version."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Member]] = {kind: {} for kind in _SNAPSHOT_KEYS}
        self.disabled_clients: frozenset[str] = frozenset()
        self.disabled_users: frozenset[str] = frozenset()

    def load(self, snapshot: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """Replace everything with the registry's entries (registry.admin.identity_snapshot)."""
        entries: dict[str, dict[str, Member]] = {kind: {} for kind in _SNAPSHOT_KEYS}
        for kind, key in _SNAPSHOT_KEYS.items():
            for raw in snapshot.get(kind, ()):
                entries[kind][str(raw[key])] = Member(
                    int(raw["version"]), bool(raw["disabled"]), raw.get("dept"), raw.get("system")
                )
        self.entries = entries
        self._derive()

    def apply(self, event: Event) -> str:
        """'applied', 'stale' or 'ignored' (not an identity event)."""
        kind = _IDENTITY_KINDS.get(event.type)
        if kind is None:
            return "ignored"
        data = parse_data(event)
        ident = getattr(data, _EVENT_KEYS[kind])
        held = self.entries[kind].get(ident)
        if held is not None and event.version <= held.version:
            return "stale"
        self.entries[kind][ident] = Member(
            event.version, data.disabled, getattr(data, "dept", None), getattr(data, "system", None)
        )
        self._derive()
        return "applied"

    def _derive(self) -> None:
        # Recomputed on every change (identity events are rare), so the hot path is one set lookup.
        depts_off = {code for code, m in self.entries["departments"].items() if m.disabled}
        systems_off = {i for i, m in self.entries["systems"].items() if m.disabled or m.dept in depts_off}
        self.disabled_clients = frozenset(
            i
            for i, m in self.entries["clients"].items()
            if m.disabled or m.dept in depts_off or m.system in systems_off
        )
        self.disabled_users = frozenset(
            i for i, m in self.entries["users"].items() if m.disabled or m.dept in depts_off
        )
        PROJECTION_ENTRIES.labels("disabled_clients").set(len(self.disabled_clients))
        PROJECTION_ENTRIES.labels("disabled_users").set(len(self.disabled_users))

    @property
    def any_disabled(self) -> bool:
        return bool(self.disabled_clients or self.disabled_users)

    def refusal(self, claims: Mapping[str, Any]) -> str | None:
        """`client_disabled` when the token's client is disabled, `user_disabled` when its person (`sub`) is;
        else None. A client's token names it in `client_id` (and `sub`); a person's names the person in `sub`."""
        if not (self.disabled_clients or self.disabled_users):
            return None
        client_id = claims.get("client_id") or claims.get("sub")
        if isinstance(client_id, str) and client_id in self.disabled_clients:
            return "client_disabled"
        sub = claims.get("sub")
        if isinstance(sub, str) and sub in self.disabled_users:
            return "user_disabled"
        return None


IDENTITY_PROJECTION: web.AppKey[IdentityProjection] = web.AppKey("govdata_identity_projection", IdentityProjection)


# --------------------------------------------------------------------------------------------- projection


class Projection:
    """Resources and grants as the data plane needs them, applied by aggregate version."""

    def __init__(self) -> None:
        self.resources: dict[str, ResourceEntry] = {}  # published resources only
        self.grants: dict[str, GrantEntry] = {}
        self._resource_versions: dict[str, int] = {}  # incl. tombstones of retired resources
        self.identity = IdentityProjection()
        self.last_applied_at: float | None = None

    # ---- snapshots

    def load_snapshots(self, resources: Iterable[Mapping[str, Any]], grants: Iterable[Mapping[str, Any]]) -> None:
        """Replace everything with the snapshots (documented shapes; see the module doc)."""
        new_resources: dict[str, ResourceEntry] = {}
        versions: dict[str, int] = {}
        for raw in resources:
            try:
                rid, version = str(raw["resource_id"]), int(raw["version"])
                entry = _resource_entry(raw, version)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("catalog snapshot: skipping a malformed entry: %r", exc)
                continue
            versions[rid] = version
            if entry is not None:
                new_resources[rid] = entry
        new_grants: dict[str, GrantEntry] = {}
        for raw in grants:
            try:
                data = GrantData.model_validate(raw)
                version = int(raw["version"])
            except (KeyError, TypeError, ValueError, ValidationError) as exc:
                log.warning("sharing snapshot: skipping a malformed grant: %s", str(exc)[:300])
                continue
            new_grants[data.grant_id] = GrantEntry.from_data(data, version)
        self.resources, self.grants, self._resource_versions = new_resources, new_grants, versions
        self._update_gauges()

    # ---- events

    def apply(self, event: Event) -> str:
        """Apply one event: 'applied', 'stale' (version not newer), 'ignored' (not for this projection) or
        'fetch' (a newer `published`: its entry is to be fetched from catalog-svc and given to `apply_entry`)."""
        if event.type in _GRANT_EVENTS:
            data = parse_data(event)
            assert isinstance(data, GrantData)
            held = self.grants.get(data.grant_id)
            if held is not None and event.version <= held.version:
                return "stale"
            self.grants[data.grant_id] = GrantEntry.from_data(data, event.version)
        elif event.type in _RESOURCE_EVENTS:
            data = parse_data(event)
            assert isinstance(data, ResourceEventData)
            rid = data.resource_id
            if event.version <= self._resource_versions.get(rid, -1):
                return "stale"
            if event.type != catalog_contract.RESOURCE_RETIRED:
                return "fetch"  # the event has no address: the feed fetches the entry (module doc)
            self._resource_versions[rid] = event.version
            self.resources.pop(rid, None)
        else:
            outcome = self.identity.apply(event)
            if outcome != "applied":
                return outcome
        self.last_applied_at = time.time()
        self._update_gauges()
        return "applied"

    def apply_entry(self, raw: Mapping[str, Any]) -> str:
        """One resource's entry of catalog-svc's interface snapshot (the documented shape), applied by its
        version: 'applied' or 'stale'."""
        rid, version = str(raw["resource_id"]), int(raw["version"])
        if version <= self._resource_versions.get(rid, -1):
            return "stale"
        entry = _resource_entry(raw, version)
        self._resource_versions[rid] = version
        if entry is None:
            self.resources.pop(rid, None)
        else:
            self.resources[rid] = entry
        self.last_applied_at = time.time()
        self._update_gauges()
        return "applied"

    def drop_resource(self, rid: str, version: int) -> None:
        """`rid` is not served from `version` on (catalog-svc has no published entry of it)."""
        if version > self._resource_versions.get(rid, -1):
            self._resource_versions[rid] = version
            self.resources.pop(rid, None)
            self._update_gauges()

    def resource_version(self, resource_id: str) -> int | None:
        return self._resource_versions.get(resource_id)

    def _update_gauges(self) -> None:
        PROJECTION_ENTRIES.labels("resources").set(len(self.resources))
        PROJECTION_ENTRIES.labels("grants").set(len(self.grants))


def _resource_entry(raw: Mapping[str, Any], version: int) -> ResourceEntry | None:
    """The active entry of a published resource; None for any other status."""
    if raw.get("status") != "published":
        return None
    interface = raw.get("interface")
    return ResourceEntry(
        resource_id=str(raw["resource_id"]),
        provider_dept=str(raw["provider_dept"]),
        status="published",
        version=version,
        revision=raw.get("revision"),
        items=frozenset(str(i["code"]) for i in raw.get("items") or ()),
        interface=Interface.from_data(interface) if interface else None,
    )


# --------------------------------------------------------------------------------------------- the feed


async def cancel_task(task: asyncio.Task[None], what: str, timeout: float = 10.0) -> None:
    """Cancel `task` and wait for it, but never forever (a swallowed cancellation must not hang shutdown)."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.error("%s did not stop within %.0fs after being cancelled", what, timeout)
    elif not task.cancelled() and task.exception() is not None:
        log.error("%s had failed: %r", what, task.exception())


class SnapshotError(RuntimeError):
    pass


@dataclass(slots=True)
class _Fetch:
    """A resource whose `published` event (the first at `offset` of `tp`) waits for its entry from catalog-svc."""

    version: int  # the newest version an event announced; the fetched entry must be at least this
    tp: TopicPartition
    offset: int
    event_time: float


class ProjectionFeed:
    """Bootstraps the projection and keeps it current from Kafka; see the module doc."""

    def __init__(
        self,
        settings: GatewaySettings,
        projection: Projection,
        snapshot_token: Callable[[], str],
        *,
        identity_snapshot: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
        topics: tuple[str, ...] = PROJECTION_TOPICS,
    ) -> None:
        self.settings = settings
        self.projection = projection
        self.snapshot_token = snapshot_token
        self.identity_snapshot = identity_snapshot  # the registry's entries, read from its database
        self.topics = topics
        self.ready = asyncio.Event()
        self.consumer: AIOKafkaConsumer | None = None
        self.partitions: list[TopicPartition] = []
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._fetches: dict[str, _Fetch] = {}  # by resource id
        self._fetchers: dict[str, asyncio.Task[None]] = {}
        self._http: aiohttp.ClientSession | None = None

    # ---- lifecycle

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-projection-feed")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_task(self._task, "projection feed")
            self._task = None
        await self._drop_fetches()
        await self._close_consumer()
        if self._http is not None:
            await self._http.close()
            self._http = None
        PROJECTION_READY.set(0)

    async def position(self, tp: TopicPartition) -> int | None:
        """Next offset on `tp` the feed has not applied yet (tests wait on it), None before assignment: the offset
        the consumer reads next, held back at a `published` event whose entry is still being fetched."""
        if self.consumer is None or tp not in self.partitions:
            return None
        read = await self.consumer.position(tp)
        waiting = [f.offset for f in self._fetches.values() if f.tp == tp]
        return min(read, *waiting) if waiting else read

    async def _run(self) -> None:
        if self.identity_snapshot is not None:
            # Who is disabled does not wait for the broker: the registry answers even while Kafka is down (the
            # bootstrap below reads it again, in order with the end offsets).
            try:
                self.projection.identity.load(await self.identity_snapshot())
            except Exception as exc:  # noqa: BLE001 - the bootstrap retries it
                log.warning("identity projection: registry not readable yet: %r", exc)
        delay = 0.2
        while True:
            try:
                await self._bootstrap()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: retry with backoff
                PROJECTION_BOOTSTRAPS.labels("failed").inc()
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("projection bootstrap failed (retry in %.1fs): %s", delay, self.last_error)
                await self._close_consumer()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.gateway_bootstrap_retry_max_seconds)
                continue
            PROJECTION_BOOTSTRAPS.labels("ok").inc()
            delay = 0.2
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # re-bootstrap; the last projection keeps serving meanwhile
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.exception("projection feed failed; bootstrapping again")
                await self._close_consumer()
                await asyncio.sleep(delay)

    async def _close_consumer(self) -> None:
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    # ---- bootstrap

    async def _bootstrap(self) -> None:
        started = time.monotonic()
        self.consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            group_id=None,  # every replica reads everything: no shared group
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.gateway_projection_fetch_max_wait_ms,
            client_id=f"{self.settings.service_name}-projection",
        )
        await self.consumer.start()
        partitions = await self._partitions()
        self.consumer.assign(partitions)
        self.partitions = partitions
        end = await self.consumer.end_offsets(partitions)  # 1. before the snapshots
        await self._drop_fetches()  # the snapshot is newer than any event read before
        (resources, grants), identity = await asyncio.gather(self._snapshots(), self._identity())  # 2.
        self.projection.load_snapshots(resources, grants)
        if identity is not None:
            self.projection.identity.load(identity)
        for tp in partitions:  # 3. events from the recorded offsets on
            self.consumer.seek(tp, end[tp])
        self.last_error = None
        self.ready.set()
        PROJECTION_READY.set(1)
        log.info(
            "projections bootstrapped in %.0f ms: %d resources, %d grants, %d disabled clients, %d disabled users;"
            " reading %d partitions",
            (time.monotonic() - started) * 1000,
            len(self.projection.resources),
            len(self.projection.grants),
            len(self.projection.identity.disabled_clients),
            len(self.projection.identity.disabled_users),
            len(partitions),
        )

    async def _identity(self) -> Mapping[str, Any] | None:
        return await self.identity_snapshot() if self.identity_snapshot is not None else None

    async def _partitions(self) -> list[TopicPartition]:
        assert self.consumer is not None
        cluster = await self.consumer._client.fetch_all_metadata()
        wanted = tuple(dict.fromkeys((*self.topics, *CREATED_TOPICS)))
        if self.settings.kafka_create_topics and any(not cluster.partitions_for_topic(t) for t in wanted):
            await ensure_topics(self.settings, wanted)
            cluster = await self.consumer._client.fetch_all_metadata()
        missing = [t for t in self.topics if not cluster.partitions_for_topic(t)]
        if missing:
            raise RuntimeError(f"topics {missing} do not exist yet")
        return [TopicPartition(t, p) for t in self.topics for p in sorted(cluster.partitions_for_topic(t))]

    async def _snapshots(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        headers = {"Authorization": f"Bearer {self.snapshot_token()}", "Accept": "application/json"}
        timeout = aiohttp.ClientTimeout(
            total=self.settings.upstream_timeout_seconds, sock_connect=self.settings.upstream_connect_timeout_seconds
        )
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:
            return await asyncio.gather(
                _fetch_list(http, self.settings.catalog_url.rstrip("/") + CATALOG_SNAPSHOT_PATH),
                _fetch_list(http, self.settings.sharing_url.rstrip("/") + SHARING_SNAPSHOT_PATH),
            )

    # ---- events

    async def _consume(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            for tp, records in batches.items():
                for record in records:
                    self._apply_record(record.value, tp, record.offset)
            for tp in self.partitions:
                highwater = consumer.highwater(tp)
                if highwater is not None:
                    lag = max(0, highwater - await consumer.position(tp))
                    PROJECTION_LAG_MESSAGES.labels(tp.topic).set(lag)

    def _apply_record(self, raw: bytes | None, tp: TopicPartition, offset: int) -> None:
        try:
            event = Event.from_json(raw or b"")
            outcome = self.projection.apply(event)
        except (ValueError, ValidationError, KeyError) as exc:
            _INVALID.inc()
            log.warning("projection: skipping an unreadable event: %s", str(exc)[:300])
            return
        if outcome == "fetch":
            self._want(str(event.data["resource_id"]), event.version, tp, offset, event.time.timestamp())
        elif outcome == "applied":
            _APPLIED.inc()
            PROJECTION_EVENT_AGE.observe(max(0.0, time.time() - event.time.timestamp()))
            log.info(
                "projection applied %s %s v%d",
                event.type,
                event.subject,
                event.version,
                extra={"event_type": event.type, "event_id": event.id},
            )
        elif outcome == "stale":
            _STALE.inc()
        else:
            _IGNORED.inc()

    # ---- resource entries fetched on `published` (module doc)

    def _want(self, rid: str, version: int, tp: TopicPartition, offset: int, event_time: float) -> None:
        held = self._fetches.get(rid)
        if held is None:
            self._fetches[rid] = _Fetch(version, tp, offset, event_time)
        else:
            held.version = max(held.version, version)
        if rid not in self._fetchers:
            self._fetchers[rid] = asyncio.create_task(self._fetch_entry(rid), name=f"gateway-projection-fetch-{rid}")

    async def _drop_fetches(self) -> None:
        tasks = list(self._fetchers.values())
        self._fetchers.clear()
        self._fetches.clear()
        for task in tasks:
            await cancel_task(task, "resource entry fetch", timeout=2.0)

    async def _fetch_entry(self, rid: str) -> None:
        """Fetch `rid`'s entry until the projection holds at least the version an event announced."""
        delay, attempts = 0.05, 0
        try:
            while True:
                wanted = self._fetches.get(rid)
                held = self.projection.resource_version(rid)
                if wanted is None or (held is not None and held >= wanted.version):
                    return
                if attempts:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.settings.gateway_bootstrap_retry_max_seconds)
                attempts += 1
                try:
                    raw = await self._get_entry(rid)
                    if raw is None:
                        # Published entries are committed before their event is relayed: none now means the
                        # resource was retired since (its event follows) or is not catalog-svc's. Waiting
                        # would hold the feed's position back for ever.
                        self.projection.drop_resource(rid, wanted.version)
                        log.warning("projection: catalog-svc has no published entry of %s; not served", rid)
                        return
                    outcome = self.projection.apply_entry(raw)
                except Exception as exc:  # noqa: BLE001 - catalog-svc down, a bad answer …: retry with backoff
                    log.warning("projection: entry of %s not fetched (attempt %d): %r", rid, attempts, exc)
                    continue
                if outcome == "applied":
                    _APPLIED.inc()
                    PROJECTION_EVENT_AGE.observe(max(0.0, time.time() - wanted.event_time))
                    log.info("projection applied the entry of %s v%s fetched from catalog-svc", rid, raw["version"])
        finally:
            if self._fetchers.get(rid) is asyncio.current_task():
                del self._fetchers[rid]
                self._fetches.pop(rid, None)

    async def _get_entry(self, rid: str) -> dict[str, Any] | None:
        """catalog-svc's entry of `rid` now; None when it has none (not published)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self.settings.upstream_timeout_seconds,
                    sock_connect=self.settings.upstream_connect_timeout_seconds,
                )
            )
        url = f"{self.settings.catalog_url.rstrip('/')}{CATALOG_SNAPSHOT_PATH}/{quote(rid, safe='')}"
        headers = {"Authorization": f"Bearer {self.snapshot_token()}", "Accept": "application/json"}
        async with self._http.get(url, headers=headers) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                raise SnapshotError(f"GET {url} → {response.status}")
            body = await response.json(content_type=None)
        if not isinstance(body, dict) or str(body.get("resource_id")) != rid:
            raise SnapshotError(f"GET {url}: expected the entry of {rid}")
        return body


async def _fetch_list(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    async with http.get(url) as response:
        if response.status != 200:
            raise SnapshotError(f"GET {url} → {response.status}")
        body = await response.json(content_type=None)
    if not isinstance(body, list):
        raise SnapshotError(f"GET {url}: expected a JSON list")
    return body
