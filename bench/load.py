"""The load generator the benchmarks share: `wrk` when installed (apt-get install wrk), else a closed-loop
aiohttp client in a process of its own. Both keep `connections` requests in flight for `duration` seconds and
report req/s, p50/p99 latency and failures. Run on demand; never from the test suite.

    result = await run_load(url, token, connections=16, duration=10)   # {"rps", "p50_ms", "p99_ms", ...}
    result = await run_load(url, None, connections=1, duration=5, method="POST", form={"grant_type": "…"})
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

LUA = """
wrk.method = "{method}"
{setup}
done = function(summary, latency, requests)
  io.write(string.format(
    '{{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""


def tool_name(connections: int, duration: float, threads: int = 1, python: bool = False) -> str:
    if shutil.which("wrk") and not python:
        return f"wrk -t{threads} -c{connections} -d{max(1, round(duration))}s"
    return f"python load generator, {connections} connections, {duration:g} s"


async def run_load(
    url: str,
    token: str | None,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    cpu: int | None = None,
    python: bool = False,
    method: str = "GET",
    form: dict[str, str] | None = None,
) -> dict:
    """Load `url` (GET, or `method` with `form` as an urlencoded body; optional bearer token); pinned to `cpu`
    when given and taskset exists."""
    body = urlencode(form) if form is not None else None
    if shutil.which("wrk") and not python:
        return await _run_wrk(url, token, connections, duration, threads, cpu, method, body)
    return await _run_python_load(url, token, connections, duration, cpu, method, body)


def _pinned(args: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *args] if cpu is not None and shutil.which("taskset") else args


def _headers(token: str | None, body: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return headers


async def _run_wrk(
    url: str,
    token: str | None,
    connections: int,
    duration: float,
    threads: int,
    cpu: int | None,
    method: str,
    body: str | None,
):
    # JSON string literals of ASCII text (an urlencoded body, a token) are Lua string literals too.
    setup = [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in _headers(token, body).items()]
    if body is not None:
        setup.append(f"wrk.body = {json.dumps(body)}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA.format(method=method, setup="\n".join(setup)))
        script = f.name
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "5s"]
    proc = await asyncio.create_subprocess_exec(
        *_pinned([*args, "-s", script, url], cpu), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    os.unlink(script)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {err.decode()}{out.decode()}")
    raw = json.loads(lines[-1])
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "requests": raw["requests"],
        "non_2xx": raw["status"],
        "errors": raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
    }


def _python_load(
    url: str, token: str | None, connections: int, duration: float, out_file: str, method: str, body: str | None
) -> None:
    """The fallback load generator (run in its own process): `connections` keep-alive workers, closed loop."""
    import uvloop

    async def main() -> dict[str, float]:
        latencies: list[float] = []
        bad = 0
        headers = _headers(token, body)
        deadline = time.perf_counter() + duration
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

            async def worker() -> None:
                nonlocal bad
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    async with http.request(method, url, data=body) as resp:
                        await resp.read()
                        if resp.status >= 300:
                            bad += 1
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        return {
            "rps": len(latencies) / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "requests": len(latencies),
            "non_2xx": bad,
            "errors": 0,
        }

    Path(out_file).write_text(json.dumps(uvloop.run(main())))


async def _run_python_load(
    url: str, token: str | None, connections: int, duration: float, cpu: int | None, method: str, body: str | None
):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    args = [sys.executable, __file__, url, "--token", token or "", "--connections", str(connections)]
    args += ["--method", method, *(["--body", body] if body is not None else [])]
    proc = await asyncio.create_subprocess_exec(*_pinned([*args, "--duration", str(duration), "--out", out], cpu))
    await proc.wait()
    result = json.loads(await asyncio.to_thread(Path(out).read_text))
    os.unlink(out)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="closed-loop HTTP load (the fallback of run_load)")
    parser.add_argument("url")
    parser.add_argument("--token", default="")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", help="urlencoded form body")
    args = parser.parse_args()
    _python_load(args.url, args.token or None, args.connections, args.duration, args.out, args.method, args.body)
