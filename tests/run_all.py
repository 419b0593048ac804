"""`make test`: check Postgres (or start a private one), lint, run every test on pytest-xdist workers, stop.

Postgres is the server at GOVDATA_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432). When that is
unset and nothing answers, a private PostgreSQL 16 is started for the run (not in CI: there the machine's
server must answer). Each worker starts a local broker of its own (govdata_local.pytest_plugin says why).
GOVDATA_TEST_WORKERS sets the number of workers (default 3: one more than the machine's two cores, since the tests
wait on Postgres and the broker a third of the time — 5m01s against 5m33s for two; 0 runs in this one process);
`-n` in the arguments wins. pytest's "no tests collected" (exit 5) is a failure here.
"""

from __future__ import annotations

import os
import subprocess
import sys

from govdata_local.postgres import choose_server
from govdata_shared.settings import REPO_ROOT

WORKERS = os.environ.get("GOVDATA_TEST_WORKERS", "3")


def main(argv: list[str]) -> int:
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO_ROOT)
    if lint.returncode != 0:
        print("make test: ruff check failed", file=sys.stderr)
        return lint.returncode
    try:
        server, private, version = choose_server()
    except RuntimeError as exc:
        print(f"make test: {exc}", file=sys.stderr)
        return 2
    try:
        where = "a private server started for this run" if private else server
        print(f"make test: Postgres {version} ({where}); {WORKERS} workers, a broker each", flush=True)
        env = {**os.environ, "GOVDATA_TEST_POSTGRES": server}
        env.pop("GOVDATA_TEST_KAFKA", None)  # the workers start their own
        # loadfile: a file runs whole on one worker; the e2e and browser folders (a platform each) likewise.
        command = [sys.executable, "-m", "pytest", "-n", WORKERS, "--dist", "loadfile", *argv]
        result = subprocess.run(command, cwd=REPO_ROOT, env=env)
    finally:
        if private is not None:
            private.stop()
    if result.returncode == 5:
        print("make test: pytest collected no tests — that is a failure", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
