"""Token issuance, and data calls while an attacker guesses client secrets (issue 11).

    .venv/bin/python bench/auth.py                                   # registry in SQLite, 3 rounds of 5 s
    .venv/bin/python bench/auth.py --postgres postgresql://postgres@127.0.0.1:5432 --seconds 5 --rounds 5

The platform is bench/gateway.py's (`running_platform`: local broker, snapshot server, minimal upstream, the real
gateway as `python -m govdata_gateway`, on one core; load, attacker and upstream on the other). Every client's
secret is stored as an argon2id hash (`client_secret_hash`). With `--postgres` the registry lives in a fresh
database `govdata_bench_auth` on that server (dropped afterwards); else in the gateway's SQLite file.

1. **Issuance** — `POST /auth/token` (scope `grant:…`, client_credentials) of one client: the first request of a
   client (uncached: one argon2id verification), then the sustained rate once its secret is cached, with 1 and
   16 connections.
2. **Data calls under attack** — `/data/…` with a grant token, 32 connections, without attack, then while an
   attacker (a process of its own) sends `--attack-rate` (50) wrong-secret token requests per second at a
   steady rate, open loop, in three forms:
   - **one** — the data client's own id from one address: locked there after AUTH_MAX_FAILURES failures;
   - **rotate** — 100 existing client ids, each request from another address, so no (client, address) pair
     ever reaches the lock. The attacker names its address in X-Forwarded-For, which the gateway believes
     because the bench sets AUTH_TRUSTED_PROXIES=127.0.0.1 (as behind the bureau's reverse proxy);
   - **unknown** — ids no client has: refused without hashing.
   Each run with an attack is paired with a run without just before it; the figure is the median over the
   rounds of their ratio (target ≥ 80 %). Meanwhile one client that never asked before asks for its first
   token: its answer shows what the attack costs a legitimate newcomer.
Secret verifications are read from the gateway's `govdata_gateway_secret_verifications_total`. The machine is
a shared VM: figures of one run swing by ±15 %; more `--rounds` narrow the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from load import run_load, tool_name
from yarl import URL

from gateway import DATA_CLIENT, GRANT_ID, Processes, cpu_seconds, data_url, grant_token, running_platform

SECRET = "bench-Secret#2026"  # every client's; stored as argon2id hashes
ATTACKED = [f"yc-system-{n:03d}" for n in range(100)]  # the rotate form's existing clients
NEWCOMERS = [f"yc-newcomer-{n:02d}" for n in range(100)]  # each asks for its first token once
NEWCOMERS_LEFT = iter(NEWCOMERS[20:])  # the first 20 are the issuance measure's
TRUSTED_PROXY = "127.0.0.1"
FORMS = {
    "one": "one existing id (the data client's), one address",
    "rotate": "100 existing ids, a new address each request",
    "unknown": "unknown ids, one address",
}
BENCH_DB = "govdata_bench_auth"
ADDRESS_OFFSET = secrets.randbelow(131_072)  # drawn anew by each attacker process


def token_form(client_id: str, secret: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": f"grant:{GRANT_ID}",
        "client_id": client_id,
        "client_secret": secret,
    }


# --------------------------------------------------------------------------------------------- attacker


def attack_request(form: str, n: int) -> tuple[dict[str, str], dict[str, str]]:
    """The `n`th wrong-secret token request of `form`: (form fields, headers)."""
    wrong = f"guess-{n}"
    if form == "one":
        return token_form(DATA_CLIENT["client_id"], wrong), {"X-Forwarded-For": "203.0.113.7"}
    if form == "rotate":
        # 198.18.0.0/15 (RFC 2544, benchmarking): 131,072 addresses, one per request, from a place of this run's
        # own so that the pairs of earlier runs do not come again.
        address = ipaddress.ip_address("198.18.0.0") + (ADDRESS_OFFSET + n) % 131_072
        return token_form(ATTACKED[n % len(ATTACKED)], wrong), {"X-Forwarded-For": str(address)}
    return token_form(f"nobody-{uuid.uuid4().hex[:12]}", wrong), {"X-Forwarded-For": "203.0.113.8"}


def run_attacker(gateway: str, form: str, rate: float, seconds: float, out_file: str) -> None:
    """Send `rate` requests/s for `seconds`, each on schedule whatever the earlier ones are doing (open loop),
    and write how they were answered. Plain HTTP/1.1 over keep-alive sockets: the attacker shares a core with the
    load generator and the upstream, so it must cost them as little as it can."""
    import uvloop

    url = URL(gateway)
    host, port = url.host, url.port

    async def main() -> dict[str, Any]:
        answers: Counter[str] = Counter()
        latencies: list[float] = []
        idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

        async def one(n: int) -> None:
            fields, headers = attack_request(form, n)
            body = urlencode(fields).encode()
            head = ["POST /auth/token HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
            head += ["Content-Type: application/x-www-form-urlencoded", *(f"{k}: {v}" for k, v in headers.items())]
            started = time.perf_counter()
            try:
                reader, writer = idle.pop() if idle else await asyncio.open_connection(host, port)
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                status = int((await reader.readline()).split()[1])
                length, keep = 0, True
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection":
                        keep = "close" not in value.lower()
                await reader.readexactly(length)
                if keep:
                    idle.append((reader, writer))
                else:
                    writer.close()
                answers[str(status)] += 1
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                answers["error"] += 1
            latencies.append(time.perf_counter() - started)

        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            tasks.append(asyncio.create_task(one(n)))
        sent = loop.time() - start
        await asyncio.gather(*tasks)
        latencies.sort()
        return {
            "sent": len(tasks),
            "rate": len(tasks) / sent if sent else 0.0,
            "answers": dict(answers),
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        }

    Path(out_file).write_text(json.dumps(uvloop.run(main())))


async def attacking(gateway: str, form: str, rate: float, seconds: float, cpu: int | None) -> asyncio.Task:
    """The attacker process, started; the task's result is its report."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    args = [sys.executable, __file__, "--attacker", form, "--gateway", gateway]
    args += ["--attack-rate", str(rate), "--seconds", str(seconds), "--out", out]
    if cpu is not None and shutil.which("taskset"):
        args = ["taskset", "-c", str(cpu), *args]
    proc = await asyncio.create_subprocess_exec(*args)

    async def report() -> dict[str, Any]:
        await proc.wait()
        result = json.loads(await asyncio.to_thread(Path(out).read_text))
        os.unlink(out)
        return result

    return asyncio.create_task(report())


# --------------------------------------------------------------------------------------------- measures


async def first_token_ms(http: aiohttp.ClientSession, gateway: str, client_id: str) -> tuple[int, float]:
    """(status, ms) of one token request."""
    started = time.perf_counter()
    async with http.post(f"{gateway}/auth/token", data=token_form(client_id, SECRET)) as resp:
        await resp.read()
        return resp.status, (time.perf_counter() - started) * 1000


async def hash_verifications(http: aiohttp.ClientSession, gateway: str) -> dict[str, float]:
    """The gateway's count of secret verifications by result, from /metrics."""
    async with http.get(f"{gateway}/metrics") as resp:
        text = await resp.text()
    pattern = r'^govdata_gateway_secret_verifications_total\{result="(\w+)"\} ([0-9.e+]+)$'
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text, re.M)}


async def measured(load, gateway: str, http: aiohttp.ClientSession, gw_pid: int) -> dict[str, Any]:
    """Run `load()` and add the gateway's CPU share and its secret verifications over that time."""
    before_cpu, before_hashes, started = cpu_seconds(gw_pid), await hash_verifications(http, gateway), time.time()
    result = await load()
    elapsed = time.time() - started
    after = await hash_verifications(http, gateway)
    result["gateway_cpu"] = (cpu_seconds(gw_pid) - before_cpu) / elapsed
    result["hashes"] = {k: v - before_hashes.get(k, 0) for k, v in after.items() if v - before_hashes.get(k, 0)}
    return result


async def issuance(args: argparse.Namespace, gateway: str, gw_pid: int, cpu: int | None) -> list[str]:
    rows = []
    async with aiohttp.ClientSession() as http:
        status, first = await first_token_ms(http, gateway, DATA_CLIENT["client_id"])
        assert status == 200, status
        firsts = [await first_token_ms(http, gateway, c) for c in NEWCOMERS[:20]]
        assert all(s == 200 for s, _ in firsts), firsts
        ms = sorted(m for _, m in firsts)
        rows.append(
            f"| first token of a client (uncached: one argon2id verification) | 1 | — | {first:.1f} "
            f"(20 other clients one after another, paced by the hashing budget: p50 {statistics.median(ms):.0f}, "
            f"max {ms[-1]:.0f}) | — | — |"
        )
        url, form = f"{gateway}/auth/token", token_form(DATA_CLIENT["client_id"], SECRET)
        for connections in (1, 16):

            async def load(duration: float, c: int = connections) -> dict[str, Any]:
                return await run_load(url, None, connections=c, duration=duration, cpu=cpu, method="POST", form=form)

            await load(args.warmup)
            r = await measured(lambda: load(args.seconds), gateway, http, gw_pid)
            rows.append(
                f"| cached token (secret verified before) | {connections} | {r['rps']:,.0f} | "
                f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f} | {r['gateway_cpu']:.0%} | "
                f"{r['non_2xx'] + r['errors']} non-2xx, {sum(r['hashes'].values()):.0f} hashes |"
            )
    return rows


async def data_run(
    args: argparse.Namespace, http: aiohttp.ClientSession, gateway: str, gw_pid: int, cpu: int | None, form: str | None
) -> dict[str, Any]:
    """One data-call run with a fresh grant token; with `form`, while the attacker sends it (from before the
    warm-up to after the run), and a newcomer asks for its first token a second into the run."""
    token = await grant_token(http, gateway, DATA_CLIENT["client_id"], SECRET)
    url = data_url(gateway)
    attacker = None
    if form is not None:
        attacker = await attacking(gateway, form, args.attack_rate, args.warmup + args.seconds + 1, cpu)
    await run_load(url, token, connections=args.connections, duration=args.warmup, cpu=cpu)

    async def run() -> dict[str, Any]:
        newcomer = asyncio.create_task(first_token_later(http, gateway)) if form is not None else None
        result = await run_load(url, token, connections=args.connections, duration=args.seconds, cpu=cpu)
        result["newcomer"] = await newcomer if newcomer is not None else ""
        return result

    result = await measured(run, gateway, http, gw_pid)
    if attacker is not None:
        result["attack"] = await attacker
    return result


async def under_attack(args: argparse.Namespace, gateway: str, gw_pid: int, cpu: int | None) -> tuple[list, bool]:
    rows: list[str] = []
    ok = True
    async with aiohttp.ClientSession() as http:
        for form in args.forms.split(","):
            runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
            for _ in range(args.rounds):
                runs["without"].append(await data_run(args, http, gateway, gw_pid, cpu, None))
                runs["with"].append(await data_run(args, http, gateway, gw_pid, cpu, form))
            without, with_ = _median(runs["without"]), _median(runs["with"])
            # Each run with the attack against the run just before it: the machine's drift over minutes (a
            # shared VM) cancels out of each ratio; the figure is their median.
            ratio = statistics.median(w["rps"] / wo["rps"] for wo, w in zip(runs["without"], runs["with"], strict=True))
            ok = ok and ratio >= 0.8
            answers: Counter[str] = Counter()
            hashes: Counter[str] = Counter()
            for run in runs["with"]:
                answers.update(run["attack"]["answers"])
                hashes.update(run["hashes"])
            rate = statistics.median(run["attack"]["rate"] for run in runs["with"])
            p99 = statistics.median(run["attack"]["p99_ms"] for run in runs["with"])
            rows.append(
                f"| {FORMS[form]} | {without['rps']:,.0f} ({without['p50_ms']:.1f} / {without['p99_ms']:.1f}) | "
                f"{with_['rps']:,.0f} ({with_['p50_ms']:.1f} / {with_['p99_ms']:.1f}) | **{ratio:.0%}** | "
                f"{rate:.0f}/s: {', '.join(f'{n}×{s}' for s, n in sorted(answers.items()))}; p99 {p99:.0f} ms | "
                f"{_hashes(hashes)} | {without['gateway_cpu']:.0%} → {with_['gateway_cpu']:.0%} | "
                f"{'; '.join(run['newcomer'] for run in runs['with'])} |"
            )
    return rows, ok


async def first_token_later(http: aiohttp.ClientSession, gateway: str) -> str:
    """The first token request of a client that has not asked before, a second into the attacked run."""
    await asyncio.sleep(1.0)
    status, ms = await first_token_ms(http, gateway, next(NEWCOMERS_LEFT))
    return f"{status} in {ms:.0f} ms"


def _median(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms", "gateway_cpu")}


def _hashes(counts: dict[str, float]) -> str:
    return ", ".join(f"{v:.0f} {k}" for k, v in sorted(counts.items())) or "0"


# --------------------------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace) -> int:
    from govdata_gateway import passwords
    from govdata_local.postgres import create_database, drop_database

    idle_load = os.getloadavg()[0]  # before anything of the bench runs: what else the machine is doing
    tmp = Path(tempfile.mkdtemp(prefix="govdata-bench-auth-"))
    procs = Processes()
    server_cpu, other_cpu = (None, None) if args.no_pin or (os.cpu_count() or 1) < 2 else (1, 0)
    stored = passwords.hash_secret(SECRET)  # one hash for all: seeding 160 clients must not cost 160 hashings
    # Every client is another instance of the data client's system, so that each may take the grant's tokens.
    ids = [DATA_CLIENT["client_id"], *ATTACKED, *NEWCOMERS]
    clients = [{**DATA_CLIENT, "client_id": c, "client_secret_hash": stored} for c in ids]
    env = {"AUTH_TRUSTED_PROXIES": TRUSTED_PROXY}
    if args.postgres:
        env["DATABASE_URL"] = await create_database(args.postgres, BENCH_DB)
    try:
        async with running_platform(
            tmp, procs, clients=clients, env=env, server_cpu=server_cpu, other_cpu=other_cpu
        ) as platform:
            gateway, gw_pid = platform.gateway, platform.gateway_proc.pid
            issued = await issuance(args, gateway, gw_pid, other_cpu)
            attacked, ok = await under_attack(args, gateway, gw_pid, other_cpu)
    finally:
        if args.postgres:
            await drop_database(args.postgres, BENCH_DB)
        shutil.rmtree(tmp, ignore_errors=True)

    registry = "Postgres" if args.postgres else "SQLite"
    pin = (
        "unpinned"
        if server_cpu is None
        else f"gateway on CPU {server_cpu}; load, attacker, upstream on CPU {other_cpu}"
    )
    print(
        f"\n### Token issuance — registry in {registry}, {pin}, {os.cpu_count()} CPUs, "
        f"load average {idle_load:.2f} before the bench\n"
    )
    print(f"{tool_name(16, args.seconds)} (POST, form body); figures per run of {args.seconds:g} s\n")
    print("| request | connections | req/s | p50 / p99 ms | gateway CPU | notes |")
    print("|---|---:|---:|---:|---:|---|")
    print("\n".join(issued))
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"\n### Data calls during a wrong-secret attack of {args.attack_rate:g} requests/s{rounds}\n")
    print(
        f"{tool_name(args.connections, args.seconds)} on /data with a grant token; the attacker's requests are "
        f"sent on schedule (open loop) from a process of its own; AUTH_TRUSTED_PROXIES={TRUSTED_PROXY}.\n"
    )
    print(
        "| attack | data req/s without (p50 / p99 ms) | with attack | with / without | attacker's answers | "
        "secret verifications during the run | gateway CPU | a newcomer's first token |"
    )
    print("|---|---:|---:|---:|---|---|---:|---|")
    print("\n".join(attacked))
    print(f"\n- target (every form ≥ 80 %): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a Postgres server URL: the registry in a fresh database there")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each run")
    parser.add_argument("--connections", type=int, default=32, help="connections of the data-call load")
    parser.add_argument("--attack-rate", type=float, default=50.0, help="wrong-secret requests per second")
    parser.add_argument("--forms", default=",".join(FORMS), help="attack forms to run: one,rotate,unknown")
    parser.add_argument("--rounds", type=int, default=3, help="measure each pair this many times; medians")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    # internal: the attacker process
    parser.add_argument("--attacker", choices=list(FORMS), help=argparse.SUPPRESS)
    parser.add_argument("--gateway", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.attacker:
        run_attacker(args.gateway, args.attacker, args.attack_rate, args.seconds, args.out)
        return 0
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
