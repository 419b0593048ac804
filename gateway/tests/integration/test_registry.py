"""The identity registry on its real database: seeded from the clients file idempotently (the file wins over a
change made by hand only when the file changed), secrets kept only as hashes, every change an identity.* event,
and disabled entries refused."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from govdata_gateway import passwords
from govdata_gateway.clients import ClientsFile
from govdata_gateway.registry.models import AppSystem, ClientRecord, Department, Person
from govdata_gateway.registry.seed import seed_registry
from govdata_gateway.registry.store import Registry
from govdata_shared.db import Database
from govdata_shared.outbox import outbox_table

pytestmark = pytest.mark.backends("postgres", "sqlite")

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
FILE: dict[str, Any] = {
    "departments": [
        {"code": "YC-MZ", "name": "伊川县民政局"},
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
    ],
    "systems": [{"id": "mz-dibao", "dept": "YC-MZ", "name": "民政低保审批系统"}],
    "clients": [
        {
            "client_id": "mz-system",
            "client_secret": "demo-mz-system",
            "dept": "YC-MZ",
            "roles": ["dept_operator"],
            "system": "mz-dibao",
        },
        {"client_id": "bureau", "client_secret": "demo-bureau", "dept": "YC-ZSJ", "roles": ["bureau_admin"]},
        {
            "client_id": "citizen-1",
            "client_secret": "demo-citizen-1",
            "roles": ["citizen"],
            "subject_id": "34052419800101001X",
        },
    ],
    "users": [
        {
            "username": "zhangmin",
            "password": "Yichuan-2026",
            "name": "张敏",
            "dept": "YC-MZ",
            "roles": ["dept_operator"],
        }
    ],
}


@pytest.fixture
async def db(migrated, backend, tmp_path):
    database = Database(await migrated.fresh("govdata_gateway", backend, tmp_path))
    yield database
    await database.dispose()


async def seed(db: Database, data: dict[str, Any]):
    async with db.session() as session:
        return await seed_registry(session, ClientsFile.from_data(data), NOW)


async def events(db: Database) -> list[dict]:
    async with db.session() as session:
        rows = await session.execute(sa.select(outbox_table.c.payload).order_by(outbox_table.c.seq))
        return [orjson.loads(p) for p in rows.scalars()]


async def row(db: Database, model, ident):
    async with db.session() as session:
        return await session.get(model, ident)


async def test_the_first_start_creates_every_entry_with_hashes_and_one_event_each(db):
    report = await seed(db, FILE)
    assert sorted(report.created) == sorted(
        [
            "department:YC-MZ",
            "department:YC-ZSJ",
            "system:mz-dibao",
            "client:mz-system",
            "client:bureau",
            "client:citizen-1",
            "user:zhangmin",
        ]
    )
    client = await row(db, ClientRecord, "mz-system")
    assert (client.dept, client.system, client.roles, client.version) == ("YC-MZ", "mz-dibao", ["dept_operator"], 1)
    assert client.secret_hash.startswith("$argon2id$") and passwords.verify_secret("demo-mz-system", client.secret_hash)
    person = await row(db, Person, "zhangmin")
    assert passwords.verify_secret("Yichuan-2026", person.password_hash) and not person.must_change_password

    published = await events(db)
    assert [e["type"] for e in published] == [
        "identity.department.created",
        "identity.department.created",
        "identity.system.created",
        "identity.client.created",
        "identity.client.created",
        "identity.client.created",
        "identity.user.created",
    ]
    assert published[2]["subject"] == "system:mz-dibao" and published[2]["data"]["dept"] == "YC-MZ"
    text = orjson.dumps(published).decode()
    for secret in ("demo-mz-system", "demo-bureau", "Yichuan-2026", "$argon2id$", "34052419800101001X"):
        assert secret not in text  # no secret, no hash, and the citizen's identifier masked
    assert "3405**********001X" in text


async def test_a_second_start_with_the_same_file_changes_nothing(db):
    await seed(db, FILE)
    before = await events(db)
    report = await seed(db, FILE)
    assert (report.created, report.updated, report.unchanged) == ([], [], 7)
    assert await events(db) == before


async def test_a_change_made_by_hand_stays_until_the_file_entry_itself_changes(db):
    await seed(db, FILE)
    async with db.session() as session:  # as /api/identity would: rename and disable the client
        client = await session.get(ClientRecord, "mz-system")
        client.name, client.disabled = "民政低保系统（停用）", True
    assert (await seed(db, FILE)).updated == []
    assert (await row(db, ClientRecord, "mz-system")).disabled is True

    edited = copy.deepcopy(FILE)
    edited["clients"][0]["name"] = "民政局业务系统"
    report = await seed(db, edited)
    assert report.updated == ["client:mz-system"]
    client = await row(db, ClientRecord, "mz-system")
    assert (client.name, client.disabled, client.version) == ("民政局业务系统", False, 2)
    assert (await events(db))[-1]["type"] == "identity.client.updated"


async def test_a_changed_secret_in_the_file_replaces_the_stored_one(db):
    await seed(db, FILE)
    edited = copy.deepcopy(FILE)
    edited["clients"][1]["client_secret"] = "rotated-by-the-operator"
    assert (await seed(db, edited)).updated == ["client:bureau"]
    stored = (await row(db, ClientRecord, "bureau")).secret_hash
    assert passwords.verify_secret("rotated-by-the-operator", stored)
    assert not passwords.verify_secret("demo-bureau", stored)


async def test_entries_left_out_of_the_file_are_not_deleted(db):
    await seed(db, FILE)
    smaller = copy.deepcopy(FILE)
    smaller["clients"] = smaller["clients"][:1]
    await seed(db, smaller)
    assert await row(db, ClientRecord, "bureau") is not None


@pytest.mark.backends("postgres")  # the advisory lock; SQLite takes one writer at a time by itself
async def test_replicas_starting_together_seed_once(db):
    reports = await asyncio.gather(*(seed(db, FILE) for _ in range(3)))
    assert sorted(len(r.created) for r in reports) == [0, 0, 7]
    assert len(await events(db)) == 7


# --------------------------------------------------------------------------------------------- authentication


async def test_a_client_authenticates_with_its_secret_and_carries_its_system(db):
    await seed(db, FILE)
    registry = Registry(db)
    client = await registry.authenticate("mz-system", "demo-mz-system", NOW)
    assert (client.client_id, client.dept, client.system, client.roles) == (
        "mz-system",
        "YC-MZ",
        "mz-dibao",
        frozenset({"dept_operator"}),
    )
    assert await registry.authenticate("mz-system", "wrong", NOW) is None


async def test_an_unknown_client_costs_no_hashing(db):
    await seed(db, FILE)
    registry = Registry(db)
    assert await registry.authenticate("nobody", "demo-mz-system", NOW) is None
    assert await registry.authenticate("bad id with spaces", "x", NOW) is None
    assert registry.hash_verifications == 0


@pytest.mark.parametrize("disable", ["client", "department", "system"])
async def test_a_disabled_client_department_or_system_is_refused_like_an_unknown_client(db, disable):
    await seed(db, FILE)
    registry = Registry(db)
    assert await registry.authenticate("mz-system", "demo-mz-system", NOW) is not None
    model, ident = {
        "client": (ClientRecord, "mz-system"),
        "department": (Department, "YC-MZ"),
        "system": (AppSystem, "mz-dibao"),
    }[disable]
    async with db.session() as session:
        (await session.get(model, ident)).disabled = True
    assert await registry.authenticate("mz-system", "demo-mz-system", NOW) is None
    assert await registry.authenticate("bureau", "demo-bureau", NOW) is not None


async def test_the_previous_secret_works_only_until_its_grace_period_ends(db):
    await seed(db, FILE)
    async with db.session() as session:  # a rotation: new secret, the old one kept for a while
        client = await session.get(ClientRecord, "bureau")
        client.previous_secret_hash = client.secret_hash
        client.previous_secret_until = NOW + timedelta(hours=1)
        client.secret_hash = passwords.hash_secret("new-bureau-secret")
    registry = Registry(db)
    assert await registry.authenticate("bureau", "new-bureau-secret", NOW) is not None
    assert await registry.authenticate("bureau", "demo-bureau", NOW) is not None
    assert await registry.authenticate("bureau", "demo-bureau", NOW + timedelta(hours=2)) is None
