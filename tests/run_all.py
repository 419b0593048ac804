"""`make test`: start the local broker, check Postgres, run every test, stop the broker.

Postgres (GOVDATA_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432) must be reachable: the tests
use it for real and never skip it. pytest's "no tests collected" (exit 5) is a failure here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
from govdata_shared.broker import LocalBroker
from govdata_shared.settings import REPO_ROOT
from govdata_shared.testing import POSTGRES


async def _check_postgres() -> str:
    conn = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=5)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    try:
        version = asyncio.run(_check_postgres())
    except Exception as exc:  # noqa: BLE001 - reported and fatal
        print(f"make test: Postgres at {POSTGRES} is unreachable: {exc}", file=sys.stderr)
        return 2
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO_ROOT)
    if lint.returncode != 0:
        print("make test: ruff check failed", file=sys.stderr)
        return lint.returncode
    with LocalBroker(log_file=REPO_ROOT / ".data" / "logs" / "test-broker.log") as broker:
        print(f"make test: Postgres {version} at {POSTGRES}; broker at {broker.bootstrap_servers}", flush=True)
        env = {**os.environ, "GOVDATA_TEST_KAFKA": broker.bootstrap_servers}
        result = subprocess.run([sys.executable, "-m", "pytest", *argv], cwd=REPO_ROOT, env=env)
    if result.returncode == 5:
        print("make test: pytest collected no tests — that is a failure", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
