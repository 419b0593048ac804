"""The read APIs the portal calls on every page, through the gateway, under many users at once.

    make run &                                    # the embedded default with the demo data (328 resources)
    .venv/bin/python bench/read_apis.py           # 16 connections, 10 s per target, against :8000
    .venv/bin/python bench/read_apis.py --gateway http://127.0.0.1:8000 --connections 16 --duration 10 \\
        --targets catalog-list-20,catalog-search

For Postgres, start `make run` with CATALOG_DATABASE_URL … AUDIT_DATABASE_URL pointing at four empty databases.

Each target is a GET through the gateway with a demo client's token (deploy/demo/clients.yaml). The lists keep
their pages while the data is unchanged (govdata_shared.pages), so under load nearly every request is answered
with a kept page, as a portal's repeated views are. Besides the throughput table one user, one request at a
time, reads every page of 20 of the catalog twice: the first time each page is rendered (first view), the second
time it is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import urllib.parse

import aiohttp
from load import run_load, tool_name

# name → (client, path)
TARGETS: dict[str, tuple[str, str]] = {
    "catalog-list-20": ("mz-system", "/api/catalog/resources?size=20"),
    "catalog-list-100": ("mz-system", "/api/catalog/resources?size=100"),
    "catalog-search": ("mz-system", "/api/catalog/resources?" + urllib.parse.urlencode({"q": "人口", "size": 20})),
    "sharing-requests": ("bureau", "/api/sharing/requests"),
    "sharing-grants": ("bureau", "/api/sharing/grants"),
    "verification-corrections": ("bureau", "/api/verification/corrections"),
    "audit-events": ("auditor", "/api/audit/events?size=50"),
}
PAGE_PATH = "/api/catalog/resources?size=20"


async def token(http: aiohttp.ClientSession, gateway: str, client_id: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": f"demo-{client_id}"}
    async with http.post(f"{gateway}/auth/token", data=form) as resp:
        body = await resp.json()
        if resp.status != 200:
            raise SystemExit(f"no token for {client_id}: {body}")
        return body["access_token"]


async def sequential_ms(http: aiohttp.ClientSession, urls: list[str], bearer: str) -> list[float]:
    timings = []
    for url in urls:
        started = time.perf_counter()
        async with http.get(url, headers={"Authorization": f"Bearer {bearer}"}) as resp:
            await resp.read()
            if resp.status != 200:
                raise SystemExit(f"{url} answered {resp.status}")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def settled_catalog(http: aiohttp.ClientSession, gateway: str, bearer: str, quiet_s: float = 3.0) -> int:
    """The number of published resources once it has held for `quiet_s`: `make run` answers /readyz while it is
    still loading the demo catalog, and every write while loading makes the kept pages anew (a run measured then
    showed a fifth fewer calls and ten times the p99)."""
    last, since = -1, time.monotonic()
    while True:
        async with http.get(f"{gateway}/api/catalog/resources?size=1", headers=auth(bearer)) as resp:
            total = (await resp.json())["total"]
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return total
        await asyncio.sleep(0.5)


async def main(args: argparse.Namespace) -> int:
    chosen = args.targets.split(",") if args.targets else list(TARGETS)
    unknown = [t for t in chosen if t not in TARGETS]
    if unknown:
        raise SystemExit(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    async with aiohttp.ClientSession() as http:
        tokens = {client: await token(http, args.gateway, client) for client in {TARGETS[t][0] for t in chosen}}
        tokens.setdefault("mz-system", await token(http, args.gateway, "mz-system"))
        total = await settled_catalog(http, args.gateway, tokens["mz-system"])
        rows = []
        for name in chosen:
            client, path = TARGETS[name]
            url = args.gateway + path
            await run_load(url, tokens[client], connections=args.connections, duration=args.warmup)
            result = await run_load(url, tokens[client], connections=args.connections, duration=args.duration)
            rows.append((name, path, result))
        # Pages of 20 in an order no target asked for (newest first, by a category facet each): not kept yet.
        pages = [
            f"{args.gateway}{PAGE_PATH}&page={n}&category={category}"
            for category in ("base", "theme", "department")
            for n in range(1, 6)
        ]
        first = await sequential_ms(http, pages, tokens["mz-system"])
        kept = await sequential_ms(http, pages, tokens["mz-system"])

    print(f"\n### Read APIs through the gateway — {tool_name(args.connections, args.duration)}")
    print(f"catalog: {total} published resources\n")
    print("| target | path | req/s | p50 ms | p99 ms | requests | non-2xx | socket errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, path, r in rows:
        print(
            f"| {name} | `{path}` | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['requests']} "
            f"| {r['non_2xx']} | {r['errors']} |"
        )
    print(
        f"\nOne user, one request at a time, {len(pages)} catalog pages of 20 (median): first view "
        f"{statistics.median(first):.1f} ms, kept {statistics.median(kept):.1f} ms"
    )
    return 0


def auth(bearer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per target")
    parser.add_argument("--targets", help=f"comma-separated subset of {', '.join(TARGETS)}")
    sys.exit(asyncio.run(main(parser.parse_args())))
