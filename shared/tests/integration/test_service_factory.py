"""Every service starts the same way: migrations, database, broker, relay, consumer, health, metrics.

Checked for each of the four services on the embedded default (SQLite) and on Postgres.
"""

from __future__ import annotations

import importlib
import uuid

import pytest
import sqlalchemy as sa
from govdata_shared.events import new_event, topic_for
from govdata_shared.outbox import add_event
from govdata_shared.testing import read_topic, running_app

SERVICES = ("catalog", "sharing", "verification", "audit")


def _create_app(service: str):
    return importlib.import_module(f"{service}_svc.main").create_app


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("service", SERVICES)
async def test_service_starts_migrates_reports_ready_and_relays_its_outbox(
    service, backend, settings_for, postgres_database
):
    settings = settings_for(service_name=service)
    if backend == "postgres":
        settings = settings_for(service_name=service, database_url=await postgres_database(f"factory_{service}"))
    app = _create_app(service)(settings)
    async with running_app(app) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        metrics = await client.get("/metrics")
        assert "govdata_http_requests_total" in metrics.text

        db = app.state.db
        assert db.is_postgres == (backend == "postgres")
        async with db.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        assert {"outbox", "processed_event", "failed_event", "alembic_version"} <= tables

        # A domain change and its event commit together; the relay publishes right after the commit.
        marker = uuid.uuid4().hex
        async with db.session() as session:
            await add_event(
                session,
                new_event(
                    f"access.factory_test_{service}",
                    marker,
                    {"marker": marker},
                    version=1,
                    actor="test",
                    dept=None,
                    source=f"{service}-svc",
                ),
            )
        for _ in range(100):
            events = await read_topic(settings.kafka_bootstrap_servers, topic_for("access.x"))
            if any(e.subject == marker for e in events):
                break
        else:
            raise AssertionError("the event never reached the broker")
        openapi = await client.get(f"/api/{service}/openapi.json")
        assert openapi.status_code == 200
