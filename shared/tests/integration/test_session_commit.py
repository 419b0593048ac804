"""A route's unit of work (`SessionDep`) is committed before its response is sent: a client told 201 finds its row
in its very next request, and a commit that fails is never reported as a success. Over real HTTP (uvicorn in a
thread of its own): an in-process transport waits for the whole request cycle and would hide the order."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from govdata_shared.db import Database
from govdata_shared.service import SessionDep

metadata = sa.MetaData()
things = sa.Table("thing", metadata, sa.Column("id", sa.Integer, primary_key=True))
COMMIT_SECONDS = 0.5  # how long each commit takes here: longer than the client needs for its next step


def app_on(path: Path) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(f"sqlite+aiosqlite:///{path}")
        async with app.state.db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        sa.event.listen(app.state.db.engine.sync_engine, "commit", lambda _conn: time.sleep(COMMIT_SECONDS))
        yield
        await app.state.db.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/things", status_code=201)
    async def create(session: SessionDep) -> dict:
        await session.execute(things.insert().values(id=1))
        return {"id": 1}

    return app


def test_a_write_is_committed_before_its_201_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "things.db"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app_on(path), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        created = httpx.post(f"http://127.0.0.1:{port}/things", timeout=10)
        assert created.status_code == 201, created.text
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT count(*) FROM thing").fetchone()[0] == 1, "201 sent before the commit"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
