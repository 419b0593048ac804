"""The one app factory every service uses, so each starts, reports health and handles events the same way.

    app = create_service_app(ServiceSpec(name="catalog", package="catalog_svc", routers=[router], ...))

At start-up: logging, migrations (if `MIGRATE_ON_START`), database, Kafka topics, producer, outbox relay, the
idempotent consumer and the token verifier. `/healthz` says the process is alive; `/readyz` checks the
database and the broker; `/metrics` is Prometheus text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from govdata_shared.auth import make_verifier
from govdata_shared.consumer import BatchHandler, Handler, IdempotentConsumer
from govdata_shared.db import Database
from govdata_shared.errors import install_error_handlers
from govdata_shared.http import RequestContextMiddleware
from govdata_shared.kafka import broker_reachable, ensure_topics, make_producer
from govdata_shared.logs import configure_logging
from govdata_shared.migrations import upgrade_async
from govdata_shared.outbox import OutboxRelay
from govdata_shared.settings import Settings

log = logging.getLogger("govdata.service")


@dataclass
class ServiceSpec:
    """What makes one service different from the others."""

    name: str  # catalog | sharing | verification | audit
    package: str  # python package holding migrations/
    title: str  # shown in OpenAPI, Chinese
    routers: Sequence[APIRouter] = ()
    consume_topics: tuple[str, ...] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    default_handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    background: Sequence[Callable[[FastAPI], contextlib.AbstractAsyncContextManager]] = ()


def create_service_app(spec: ServiceSpec, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service_name=spec.name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(f"{spec.name}-svc", settings.log_level, settings.log_json)
        url = settings.effective_database_url()
        if settings.migrate_on_start:
            await upgrade_async(spec.package, url)
        db = Database(url)
        if settings.kafka_create_topics:
            await ensure_topics(settings)
        producer = make_producer(settings)
        await producer.start()
        relay = OutboxRelay(db, producer, sweep_interval=settings.outbox_sweep_interval_seconds)
        relay.start()
        consumer = None
        if spec.consume_topics:
            consumer = IdempotentConsumer(
                db,
                settings,
                name=f"{spec.name}-svc",
                topics=spec.consume_topics,
                handlers=spec.handlers,
                default_handler=spec.default_handler,
                batch_handler=spec.batch_handler,
            )
            await consumer.start()
        app.state.settings = settings
        app.state.db = db
        app.state.producer = producer
        app.state.relay = relay
        app.state.consumer = consumer
        app.state.token_verifier = make_verifier(settings)
        app.state.clock = utc_now  # tests replace it to move time
        async with contextlib.AsyncExitStack() as stack:
            for background in spec.background:
                await stack.enter_async_context(background(app))
            log.info("%s-svc started (database %s)", spec.name, "postgres" if db.is_postgres else "sqlite")
            try:
                yield
            finally:
                if consumer:
                    await consumer.stop()
                await relay.stop()
                await producer.stop()
                await db.dispose()

    app = FastAPI(
        title=spec.title,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"/api/{spec.name}/openapi.json",
        docs_url=f"/api/{spec.name}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=f"{spec.name}-svc")
    app.include_router(health_router())
    for router in spec.routers:
        app.include_router(router, prefix=f"/api/{spec.name}")
    return app


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        checks = {}
        try:
            await request.app.state.db.ping()
            checks["database"] = "ok"
        except Exception:  # noqa: BLE001 - reported in the body, not raised
            checks["database"] = "unavailable"
        checks["broker"] = "ok" if await broker_reachable(request.app.state.producer) else "unavailable"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _now(request: Request) -> datetime:
    return request.app.state.clock()


Now = Annotated[datetime, Depends(_now)]
"""The current time as the app sees it (an injectable clock, so deadlines can be tested)."""


def periodic(name: str, interval: float, job: Callable[[FastAPI], Awaitable[Any]]):
    """A background task for `ServiceSpec.background` that runs `job(app)` every `interval` seconds.

    A failing round is logged and retried next round; the task stops with the app.
    """

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    result = await job(app)
                    if result:
                        log.info("%s: %s", name, result)
                except Exception:
                    log.exception("%s failed; retrying next round", name)
                await asyncio.sleep(interval)

        task = asyncio.create_task(loop(), name=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return run
