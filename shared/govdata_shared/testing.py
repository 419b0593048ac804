"""Helpers the platform's tests share: the people tests speak as, tokens for them, an injectable clock, and a
running service app to talk to in-process. Plain code, no pytest here: the fixtures that start the broker and
the databases live in the development package (deploy/local, `govdata_local.pytest_plugin`).
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import httpx
import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from govdata_shared.auth import Caller, StaticKeySet, TokenVerifier
from govdata_shared.events import Event
from govdata_shared.outbox import outbox_table

ISSUER = "urn:yichuan:govdata:gateway"
API_AUDIENCE = "govdata-api"

PERSON = "34052419800101001X"  # a citizen's 身份证号 (valid check digit)
OTHER_PERSON = "11010519491231002X"
COMPANY = "91110000600037341L"  # a company's 统一社会信用代码
PILOT_COMPANY = "91350100M0001TGQXM"  # an early pilot-region code: fails the check character, still legal


class Person(NamedTuple):
    sub: str
    dept: str | None
    roles: tuple[str, ...]
    subject_id: str | None = None


# Who the tests speak as: departments of the demo (公安 GA, 民政 MZ, 人社 RS, 市场监管 SCJ), the bureau (ZSJ),
# the city platform, the gateway itself, citizens and companies.
PEOPLE: dict[str, Person] = {
    "ga": Person("ga-system", "YC-GA", ("dept_operator",)),
    "ga-head": Person("ga-head", "YC-GA", ("dept_head",)),
    "mz": Person("mz-system", "YC-MZ", ("dept_operator",)),
    "mz-head": Person("mz-head", "YC-MZ", ("dept_head",)),
    "rs": Person("rs-system", "YC-RS", ("dept_operator",)),
    "rs-head": Person("rs-head", "YC-RS", ("dept_head",)),
    "scj": Person("scj-system", "YC-SCJ", ("dept_operator",)),
    "bureau": Person("bureau", "YC-ZSJ", ("bureau_admin",)),
    "auditor": Person("auditor", "YC-ZSJ", ("auditor",)),
    "city": Person("city-platform", "LY-DSJ", ("city_platform",)),
    "gateway": Person("gateway", None, ("gateway",)),
    "citizen": Person("citizen-1", None, ("citizen",), PERSON),
    "other-citizen": Person("citizen-2", None, ("citizen",), OTHER_PERSON),
    "company": Person("company-1", None, ("citizen",), COMPANY),
    "pilot-company": Person("company-2", None, ("citizen",), PILOT_COMPANY),
}


def caller_of(who: str) -> Caller:
    """`who` of PEOPLE as a verified caller, for unit tests of access rules (no token, no app)."""
    person = PEOPLE[who]
    return Caller(
        sub=person.sub,
        dept=person.dept,
        roles=frozenset(person.roles),
        subject_id=person.subject_id,
        client_id=person.sub,
        scope="api",
        token_id=None,
        claims={},
    )


class TestTokens:
    """Signs platform tokens for service tests with a key of its own, and gives the matching verifier.

    Services verify against the gateway's JWKS in production; in a service's own tests the app's verifier is
    replaced by `tokens.verifier()` so tests need no gateway.
    """

    __test__ = False  # not a test class, despite the name

    def __init__(self, issuer: str = ISSUER, audience: str = API_AUDIENCE) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jose import jwk

        self.issuer = issuer
        self.audience = audience
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._key = jwk.construct(self._private, algorithm="RS256")
        public = self._key.public_key().to_dict()
        self.kid = "test-key"
        self.jwks = {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(StaticKeySet(self.jwks), issuer=self.issuer, audience=self.audience)

    def token(
        self,
        sub: str,
        dept: str | None = None,
        roles: tuple[str, ...] | list[str] = (),
        subject_id: str | None = None,
        ttl: int = 600,
        **claims: Any,
    ) -> str:
        from jose import jws

        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "client_id": sub,
            "roles": list(roles),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "scope": "api",
            **claims,
        }
        if dept is not None:
            payload["dept"] = dept
        if subject_id is not None:
            payload["subject_id"] = subject_id
        return jws.sign(payload, self._key, headers={"kid": self.kid}, algorithm="RS256")

    def headers(self, sub: str, dept: str | None = None, roles: tuple[str, ...] | list[str] = (), **kw: Any) -> dict:
        return {"Authorization": f"Bearer {self.token(sub, dept, roles, **kw)}"}

    def as_(self, who: str, **claims: Any) -> dict:
        """Headers of a request made by `who` of PEOPLE."""
        person = PEOPLE[who]
        return self.headers(person.sub, person.dept, person.roles, subject_id=person.subject_id, **claims)


class MovableClock:
    """An injectable clock for deadline tests: `clock.set(datetime(...))`, `clock.advance(days=3)`."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextlib.asynccontextmanager
async def running_app(app: FastAPI, *, verifier=None, clock=None) -> AsyncIterator[httpx.AsyncClient]:
    """Run a service app's lifespan and talk to it in-process.

    `verifier` (e.g. `TestTokens.verifier()`) and `clock` replace the app's after start-up.
    """
    async with app.router.lifespan_context(app):
        if verifier is not None:
            app.state.token_verifier = verifier
        if clock is not None:
            app.state.clock = clock
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


async def outbox_events(app: FastAPI, subject: str | None = None) -> list[dict]:
    """The events a running service app has staged in its outbox, oldest first (what its relay publishes)."""
    query = sa.select(outbox_table.c.payload).order_by(outbox_table.c.seq)
    if subject is not None:
        query = query.where(outbox_table.c.key == subject)
    async with app.state.db.session() as session:
        return [orjson.loads(p) for p in (await session.execute(query)).scalars()]


async def read_topic(bootstrap_servers: str, topic: str) -> list[Event]:
    """Every event the topic holds now, duplicates included, read from the beginning without a group."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await reader.start()
    events: list[Event] = []
    try:
        cluster = await reader._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        end = await reader.end_offsets(partitions)
        while [tp for tp, offset in end.items() if await reader.position(tp) < offset]:
            for records in (await reader.getmany(timeout_ms=500)).values():
                events.extend(Event.from_json(record.value) for record in records)
    finally:
        await reader.stop()
    return events


class ServiceUnderTest:
    """A running service app, spoken to in-process as the people of PEOPLE: `await svc.post("/x", "ga", {...})`.

    Each service's tests subclass it with the helpers of their domain.
    """

    def __init__(self, name: str, client: httpx.AsyncClient, app: FastAPI, tokens: TestTokens, clock: MovableClock):
        self.name = name
        self.client = client
        self.app = app
        self.tokens = tokens
        self.clock = clock

    @property
    def db(self):
        return self.app.state.db

    def as_(self, who: str) -> dict:
        return self.tokens.as_(who)

    def url(self, path: str) -> str:
        return f"/api/{self.name}{path}"

    async def get(self, path: str, who: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.url(path), params=params, headers=self.as_(who))

    async def post(self, path: str, who: str, json: Any = None) -> httpx.Response:
        return await self.client.post(self.url(path), json=json, headers=self.as_(who))

    async def patch(self, path: str, who: str, json: Any = None) -> httpx.Response:
        return await self.client.patch(self.url(path), json=json, headers=self.as_(who))

    async def events(self, subject: str | None = None) -> list[dict]:
        """Events staged in the outbox, oldest first (what the relay publishes)."""
        return await outbox_events(self.app, subject)


# --------------------------------------------------------------------------------------------- authorization first

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_JSON = b'{"name": "\xe5\xbc\xa0'  # cut off inside a string: not JSON at all


def write_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route of `app` that changes something, as its OpenAPI document lists them."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method.upper() in WRITE_METHODS
    }


@dataclass(frozen=True)
class Gate:
    """Who may use one write route, for `check_authorization_first`: `wrong` is someone of PEOPLE whose role may not
    use it (403 `code`), `right` someone whose role may; `body` a malformed body and `field` the field its 422 names
    (no `field`: the route reads no body); `multipart`: the route takes a file upload."""

    wrong: str
    right: str
    code: str
    body: Any = None
    field: str | None = None
    multipart: bool = False


def _filled(path: str) -> str:
    """The path template with each `{name}` replaced by an id that exists nowhere: the role decides, not a record."""
    return re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1).replace('_', '-')}-none", path)


async def check_authorization_first(
    client: httpx.AsyncClient, tokens: TestTokens, method: str, path: str, gate: Gate
) -> None:
    """A caller of the wrong role gets 403 `gate.code` whatever the body — malformed, not JSON at all, or none —
    and learns nothing of the schema; without a token it is 401; a caller of the right role sending the same
    malformed body gets the 422 naming the field (issue 13: authorization before validation)."""
    url = _filled(path)
    malformed: dict[str, Any]
    if gate.multipart:
        malformed = {"data": {"note": "no file"}}  # a form without the file part
        garbage = {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}
    else:
        malformed = {"json": gate.body if gate.field else {"unexpected": 1}}
        garbage = {"content": NOT_JSON, "headers": {"Content-Type": "application/json"}}
    for name, variant in (("malformed", malformed), ("not JSON", garbage), ("empty", {})):
        headers = {**variant.get("headers", {}), **tokens.as_(gate.wrong)}
        sent = {k: v for k, v in variant.items() if k != "headers"}
        refused = await client.request(method, url, headers=headers, **sent)
        assert refused.status_code == 403, (method, path, gate.wrong, name, refused.text)
        problem = refused.json()
        assert problem["code"] == gate.code, (method, path, name, problem)
        assert "errors" not in problem and "field" not in problem, (method, path, name, problem)
    anonymous = await client.request(method, url, content=garbage["content"], headers=garbage["headers"])
    assert anonymous.status_code == 401, (method, path, "no token", anonymous.text)
    if gate.field is None:
        return
    invalid = await client.request(method, url, headers=tokens.as_(gate.right), **malformed)
    assert invalid.status_code == 422, (method, path, gate.right, invalid.text)
    fields = {error["field"] for error in invalid.json()["errors"]}
    assert gate.field in fields, (method, path, fields)
    if not gate.multipart:
        broken = await client.request(
            method, url, headers={**garbage["headers"], **tokens.as_(gate.right)}, content=NOT_JSON
        )
        assert broken.status_code == 422, (method, path, gate.right, "not JSON", broken.text)
