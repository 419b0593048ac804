"""Catalog search benchmark: latency at N resources and recall@10 of the fixture queries (issue 3).

    .venv/bin/python bench/catalog_search.py --postgres postgresql://postgres@127.0.0.1:5432 --n 100000
    .venv/bin/python bench/catalog_search.py --postgres ... --n 100000 --sqlite /tmp/bench_catalog.db
    PYTHONPATH=<dir with jieba> .venv/bin/python bench/catalog_search.py --postgres ... --n 100000 --compare

Postgres: drops and creates database `govdata_bench_catalog`, applies catalog-svc's migrations, indexes the
fixture (deploy/demo/catalog.json) through `search.index_resource`, measures recall@10 on it alone, then bulk
loads N - len(fixture) resources synthesised from the fixture (deterministic seed) straight into the search
table, runs ANALYZE, measures recall@10 again with the fixture embedded among N, and times a realistic query
mix (fixture queries, multi-word queries, filters, later pages, plain listing) through `search.search()`, one
session per query: first the engine alone (writing sessions keep no ranked windows), then the same queries as a
request runs them (reading sessions: `search.WINDOWS` keeps each query's ranked window while the catalog's data
version stands; none kept at the start). Prints markdown tables.

`--compare` also builds, in the same database, the two alternatives considered for catalog_svc/search.py and
runs the same queries against them: (b) jieba `cut_for_search` tokens in a weighted, positional tsvector
ranked by ts_rank (jieba must be importable), and (c) pg_trgm (`LIKE '%word%'` on a gin_trgm_ops index)
with the same ranking as (a).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from catalog_svc import search
from catalog_svc.search import SearchDocument
from govdata_shared.db import Database
from govdata_shared.migrations import upgrade_async

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "deploy" / "demo" / "catalog.json"
BENCH_DB = "govdata_bench_catalog"
SEED = 20260302
BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

TOWNS = [
    "城关镇",
    "鸣皋镇",
    "白沙镇",
    "彭婆镇",
    "江左镇",
    "高山镇",
    "吕店镇",
    "半坡镇",
    "葛寨镇",
    "水寨镇",
    "白元镇",
    "鸦岭镇",
    "平等乡",
    "酒后乡",
    "河滨街道",
    "城关街道",
]
GENERIC = [
    "办公用品采购台账",
    "公文收发登记",
    "固定资产清单",
    "干部培训记录",
    "政务公开目录",
    "信访件办理情况",
    "财政预算执行情况",
    "公务用车使用记录",
    "值班记录",
    "会议纪要索引",
    "人员编制情况",
    "项目资金拨付明细",
    "档案借阅登记",
    "专项检查台账",
    "安全生产检查记录",
    "网站信息发布记录",
]
SUFFIXES = ["统计台账", "汇总报表", "变更记录", "核查名册", "年度报表", "月度明细", "备案台账", "归档目录"]
FORMATS = ["file", "spreadsheet", "database", "image", "stream", "self_describing", "api"]
OTHER_STATUSES = ["retired", "draft", "submitted"]


# --- the fixture and the synthetic catalog ---------------------------------------------------------------


def resource_id(code: str) -> str:
    return "res-" + code.replace("/", "-")


def load_fixture(path: Path = CATALOG) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def department_names(catalog: dict[str, Any]) -> dict[str, str]:
    depts = catalog.get("departments", {})
    if isinstance(depts, dict):
        return {code: (v if isinstance(v, str) else v.get("name", code)) for code, v in depts.items()}
    return {d["code"]: d.get("name", d["code"]) for d in depts}


def fixture_documents(catalog: dict[str, Any]) -> list[SearchDocument]:
    return [
        SearchDocument(
            resource_id=resource_id(r["code"]),
            code=r["code"],
            name=r["name"],
            summary=r["summary"],
            item_names=[i["name"] for i in r["items"]],
            item_codes=[i["code"] for i in r["items"]],
            provider_dept=r["provider_dept"],
            category=r["category"],
            sharing_type=r["sharing_type"],
            security_level=str(r["security_level"]),
            format=r["format"],
            status="published",
            updated_at=BASE_TIME + timedelta(minutes=n),
        )
        for n, r in enumerate(catalog["resources"])
    ]


def synthesize(fixture: list[SearchDocument], depts: dict[str, str], count: int) -> list[SearchDocument]:
    """`count` resources recombined from the fixture, the way a large catalog grows around a county's core:

    - 35 % a town's copy of a resource (城关镇户籍人口基本信息), 15 % a period's (2019年户籍人口基本信息),
      15 % a derived table (户籍人口基本台账, …变更记录);
    - 35 % a department's internal register (伊川县公安局值班记录, 公文收发登记 …) whose items and summary are
      mixed from fixture resources, so query words appear there in items and summaries only;
    - items sampled from two resources, facets perturbed, 15 % not published, updated over seven years.

    Names are whole fixture names with qualifiers, never halves of words: a synthetic name is never more
    specific than its source, which is what "the expected resources still rank in the top 10" can test.
    """
    rng = random.Random(SEED)
    dept_codes = sorted(depts) or sorted({d.provider_dept for d in fixture})
    docs = []
    for n in range(count):
        base, other = rng.choice(fixture), rng.choice(fixture)
        town, year = rng.choice(TOWNS), rng.randint(2015, 2026)
        dept = base.provider_dept if rng.random() < 0.8 else rng.choice(dept_codes)
        roll = rng.random()
        if roll < 0.35:
            name, summary = f"{town}{base.name}", f"{town}{base.summary}"
        elif roll < 0.50:
            name, summary = f"{year}年{base.name}", f"{year}年度{base.summary}"
        elif roll < 0.65:
            name = base.name.removesuffix("信息") + rng.choice(SUFFIXES)
            summary = base.summary
        else:
            name = f"{depts.get(dept, '')}{rng.choice(GENERIC)}"
            summary = rng.choice([other.summary, f"{town}{other.summary}", f"{base.summary}{other.summary}"])
        pool = list(dict.fromkeys(base.item_names + other.item_names))
        items = rng.sample(pool, k=min(len(pool), rng.randint(3, 12)))
        docs.append(
            replace(
                base,
                resource_id=f"syn-{n:06d}",
                code=f"{base.code.split('/')[0]}/{500000 + n:06d}",
                name=name[:200],
                summary=summary,
                item_names=items,
                item_codes=[f"f{k:03d}" for k in range(len(items))],
                provider_dept=dept,
                sharing_type=base.sharing_type if rng.random() < 0.8 else rng.choice(["conditional", "unconditional"]),
                security_level=rng.choice("1222333334"),
                format=rng.choice(FORMATS) if rng.random() < 0.3 else base.format,
                status="published" if rng.random() < 0.85 else rng.choice(OTHER_STATUSES),
                updated_at=BASE_TIME - timedelta(minutes=rng.randint(-60 * 24 * 90, 60 * 24 * 2500)),
            )
        )
    return docs


# --- backends --------------------------------------------------------------------------------------------


class Backend:
    name: str
    db: Database

    async def bulk_load(self, docs: list[SearchDocument]) -> None:
        raise NotImplementedError

    async def analyze(self) -> None:
        raise NotImplementedError

    async def index(self, docs: list[SearchDocument]) -> None:
        async with self.db.session() as session:
            for doc in docs:
                await search.index_resource(session, self.db.is_postgres, doc)

    async def run(self, kwargs: dict[str, Any]) -> search.SearchPage:
        """The search engine alone: a writing session keeps no ranked windows."""
        async with self.db.session() as session:
            return await search.search(session, self.db.is_postgres, **kwargs)

    async def run_kept(self, kwargs: dict[str, Any]) -> search.SearchPage:
        """As a request reads it: a reading session, whose ranked windows are kept while the catalog is unchanged."""
        async with self.db.reading() as session:
            return await search.search(session, self.db.is_postgres, **kwargs)


class PostgresBackend(Backend):
    name = "Postgres"

    def __init__(self, server: str) -> None:
        self.server = server.rstrip("/")

    async def create(self) -> None:
        conn = await asyncpg.connect(f"{self.server}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            await conn.execute(f"CREATE DATABASE \"{BENCH_DB}\" ENCODING 'UTF8' TEMPLATE template0")
        finally:
            await conn.close()
        url = self.server.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{BENCH_DB}"
        await upgrade_async("catalog_svc", url)
        self.db = Database(url)

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(f"{self.server}/{BENCH_DB}")

    async def bulk_load(self, docs: list[SearchDocument]) -> None:
        """COPY the rows in; the GIN index (its tokens computed in the database) is rebuilt once after."""
        conn = await self.connect()
        try:
            columns = list(search.index_row(docs[0]))
            await conn.execute("SET maintenance_work_mem = '512MB'")
            gin = await conn.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_resource_search_tokens'")
            async with conn.transaction():
                await conn.execute("DROP INDEX ix_resource_search_tokens")
                records = [tuple(search.index_row(d).values()) for d in docs]
                await conn.copy_records_to_table("resource_search", records=records, columns=columns)
                # The copy's deferred data-version triggers (govdata_shared.pages) run now: an index cannot be
                # built on a table with trigger events pending.
                await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                await conn.execute(gin)
        finally:
            await conn.close()

    async def analyze(self) -> None:
        conn = await self.connect()
        try:
            await conn.execute("VACUUM ANALYZE resource_search")
        finally:
            await conn.close()


class SqliteBackend(Backend):
    name = "SQLite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    async def create(self) -> None:
        await asyncio.to_thread(self.remove_files)
        url = f"sqlite+aiosqlite:///{self.path}"
        await upgrade_async("catalog_svc", url)
        self.db = Database(url)

    async def bulk_load(self, docs: list[SearchDocument]) -> None:
        def load() -> None:
            conn = sqlite3.connect(self.path)
            try:
                start = conn.execute("SELECT coalesce(max(rid), 0) FROM resource_search").fetchone()[0] + 1
                rows, fts = [], []
                for rid, doc in enumerate(docs, start):
                    row = search.index_row(doc)
                    row["updated_at"] = row["updated_at"].strftime("%Y-%m-%d %H:%M:%S.%f")
                    rows.append({**row, "rid": rid})
                    fts.append((rid, " ".join(search.document_tokens(doc))))
                names = list(rows[0])
                conn.executemany(
                    f"INSERT INTO resource_search ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})",
                    rows,
                )
                conn.executemany("INSERT INTO resource_search_fts (rowid, tokens) VALUES (?, ?)", fts)
                conn.commit()
            finally:
                conn.close()

        await asyncio.to_thread(load)

    async def analyze(self) -> None:
        def run() -> None:
            conn = sqlite3.connect(self.path)
            try:
                conn.execute("INSERT INTO resource_search_fts (resource_search_fts) VALUES ('optimize')")
                conn.execute("ANALYZE")
                conn.commit()
            finally:
                conn.close()

        await asyncio.to_thread(run)


# --- the alternatives considered (--compare) ------------------------------------------------------------


class JiebaIndex:
    """(b) jieba: cut_for_search tokens of each field in one positional tsvector weighted A name, B item names,
    C summary, D codes, GIN-indexed; a query word is the AND of its jieba tokens (synonym alternatives ORed).
    Ranked exactly as (a) — per word the best field (weight-restricted tsquery), then shorter name, newest —
    so the comparison isolates the tokenization."""

    def __init__(self, backend: PostgresBackend) -> None:
        import jieba  # not a dependency of the project: only this comparison needs it

        jieba.setLogLevel(60)
        self.jieba = jieba
        self.backend = backend
        self.cache: dict[str, list[str]] = {}

    def tokens(self, text: str) -> list[str]:
        if text not in self.cache:
            self.cache[text] = [
                t for run in search.text_runs(text) for t in self.jieba.cut_for_search(run) if search.text_runs(t)
            ]
        return self.cache[text]

    def tsvector(self, doc: SearchDocument) -> str:
        positions: dict[str, list[str]] = {}
        pos = 1
        fields = [([doc.name], "A"), (doc.item_names, "B"), ([doc.summary], "C"), ([doc.code, *doc.item_codes], "D")]
        for texts, weight in fields:
            for text in texts:
                for token in self.tokens(text):
                    positions.setdefault(token, []).append(f"{min(pos, 16383)}{weight}")
                    pos += 1
                pos += 1
        return " ".join(f"'{t}':{','.join(p)}" for t, p in positions.items())

    async def load(self, docs: list[SearchDocument]) -> float:
        t0 = time.perf_counter()
        records = [
            (
                d.resource_id,
                len(d.name),
                d.provider_dept,
                d.category,
                d.sharing_type,
                str(d.security_level),
                d.format,
                d.status,
                d.updated_at,
                self.tsvector(d),
            )
            for d in docs
        ]
        conn = await self.backend.connect()
        try:
            await conn.execute(
                "DROP TABLE IF EXISTS jieba_search;"
                "CREATE TABLE jieba_search (resource_id text PRIMARY KEY, name_len int, provider_dept text,"
                " category text, sharing_type text, security_level text, format text, status text,"
                " updated_at timestamptz, tsv tsvector);"
                "CREATE TEMP TABLE jieba_staging (LIKE jieba_search); ALTER TABLE jieba_staging ALTER tsv TYPE text"
            )
            await conn.copy_records_to_table("jieba_staging", records=records)
            await conn.execute(
                "INSERT INTO jieba_search SELECT resource_id, name_len, provider_dept, category, sharing_type,"
                " security_level, format, status, updated_at, tsv::tsvector FROM jieba_staging;"
                "CREATE INDEX ON jieba_search USING gin (tsv);"
                "CREATE INDEX ON jieba_search (status, updated_at DESC)"
            )
            await conn.execute("VACUUM ANALYZE jieba_search")
        finally:
            await conn.close()
        return time.perf_counter() - t0

    def word_query(self, word: search.QueryWord, weight: str = "") -> str | None:
        alternatives = []
        for alt in word.alternatives:
            tokens = [t for t in dict.fromkeys(self.jieba.lcut(alt)) if search.text_runs(t)]
            if tokens:
                alternatives.append("(" + " & ".join(f"'{t}'{weight}" for t in tokens) + ")")
        return "(" + " | ".join(alternatives) + ")" if alternatives else None

    async def run(self, kwargs: dict[str, Any]) -> search.SearchPage:
        kwargs = dict(kwargs)
        q, page, size = kwargs.pop("q", None), kwargs.pop("page", 1), kwargs.pop("size", 20)
        filters = {"status": "published", **kwargs}
        words = [w for w in search.parse_query(q).words if self.word_query(w)]
        if not words:
            return await self.backend.run({"q": None, "page": page, "size": size, **kwargs})
        async with self.backend.db.session() as session:
            for any_word in (False, True):
                sql = search._Sql(True)
                tsquery = (" | " if any_word else " & ").join(self.word_query(w) or "" for w in words)
                where = [f"s.tsv @@ CAST({sql.bind(tsquery)} AS tsquery)", *sql.filters(filters)]
                weights = []
                for w in words:
                    branches = " ".join(
                        f"WHEN s.tsv @@ CAST({sql.bind(self.word_query(w, ':' + label))} AS tsquery) THEN {value}"
                        for label, value in (("A", 8), ("B", 4), ("C", 2), ("D", 1))
                    )
                    weights.append(f"(CASE {branches} ELSE 0 END)")
                score = " + ".join(f"(CASE WHEN {w} > 0 THEN 100 ELSE 0 END) + {w}" if any_word else w for w in weights)
                rows = (
                    await session.execute(
                        search.sa.text(
                            f"SELECT s.resource_id, count(*) OVER () FROM jieba_search s WHERE {' AND '.join(where)} "
                            f"ORDER BY {score} DESC, s.name_len, s.updated_at DESC, s.resource_id "
                            f"LIMIT {size} OFFSET {(page - 1) * size}"
                        ),
                        sql.params,
                    )
                ).all()
                if rows or len(words) < 2:
                    return search.SearchPage([r[0] for r in rows], int(rows[0][1]) if rows else 0)
        return search.SearchPage([], 0)


class TrigramIndex:
    """(c) pg_trgm: `LIKE '%word%'` over the normalised fields with a gin_trgm_ops index, ranked as (a)."""

    def __init__(self, backend: PostgresBackend) -> None:
        self.backend = backend

    async def load(self) -> float:
        t0 = time.perf_counter()
        conn = await self.backend.connect()
        try:
            await conn.execute(
                "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
                "SET maintenance_work_mem = '512MB';"
                "ALTER TABLE resource_search ADD COLUMN body text;"
                "UPDATE resource_search SET body = name_norm || items_norm || summary_norm || codes_norm;"
                "CREATE INDEX ix_resource_search_trgm ON resource_search USING gin (body gin_trgm_ops)"
            )
            await conn.execute("VACUUM ANALYZE resource_search")
        finally:
            await conn.close()
        return time.perf_counter() - t0

    async def run(self, kwargs: dict[str, Any]) -> search.SearchPage:
        kwargs = dict(kwargs)
        q, page, size = kwargs.pop("q", None), kwargs.pop("page", 1), kwargs.pop("size", 20)
        parsed = search.parse_query(q)
        filters = {"status": "published", **kwargs}
        if not parsed.words:
            return await self.backend.run({"q": None, "page": page, "size": size, **kwargs})
        async with self.backend.db.session() as session:
            for any_word in (False, True):
                sql = search._Sql(True)
                likes = [
                    "("
                    + " OR ".join(f"s.body LIKE {sql.bind('%' + search._needle(a) + '%')}" for a in w.alternatives)
                    + ")"
                    for w in parsed.words
                ]
                weights = [sql.word_weight(w) for w in parsed.words]
                where = " AND ".join([(" OR " if any_word else " AND ").join(likes), *sql.filters(filters)])
                names = [f"w{i}" for i in range(len(weights))]
                cols = ", ".join(f"{w} AS w{i}" for i, w in enumerate(weights))
                score = " + ".join(f"(CASE WHEN {n} > 0 THEN 100 ELSE 0 END) + {n}" for n in names)
                rows = (
                    await session.execute(
                        search.sa.text(
                            f"SELECT resource_id, count(*) OVER () FROM (SELECT s.resource_id, s.name_len,"
                            f" s.updated_at, {cols} FROM resource_search s WHERE {where}) m "
                            f"ORDER BY {score} DESC, name_len, updated_at DESC, resource_id "
                            f"LIMIT {size} OFFSET {(page - 1) * size}"
                        ),
                        sql.params,
                    )
                ).all()
                if rows or len(parsed.words) < 2:
                    return search.SearchPage([r[0] for r in rows], int(rows[0][1]) if rows else 0)
        return search.SearchPage([], 0)


async def compare_techniques(
    backend: PostgresBackend,
    fixture: list[SearchDocument],
    synthetic: list[SearchDocument],
    queries: list[dict[str, Any]],
    mix: list[tuple[str, dict]],
    warmup: int,
    columns: dict[str, dict[str, float]],
) -> str:
    total = len(fixture) + len(synthetic)
    # The techniques differ in keyword search only; pg_trgm scans for two-character words, so fewer queries.
    mix = [entry for entry in mix if entry[1].get("q")][: warmup + 600]
    lines = [
        f"### Techniques compared on Postgres at {total:,} resources ({len(mix) - warmup} timed keyword queries)",
        "",
        "| technique | build s | recall@10 fixture | recall@10 at N | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ours = list(columns)
    overall, _ = await time_queries(backend.run, mix, warmup)
    lines.append(
        f"| (a) bigrams + tsvector/GIN (chosen) | – | {statistics.mean(columns[ours[0]].values()):.3f} "
        f"| {statistics.mean(columns[ours[1]].values()):.3f} | {overall.pct(50):.1f} | {overall.pct(95):.1f} "
        f"| {overall.pct(99):.1f} |"
    )
    try:
        jieba_index = JiebaIndex(backend)
    except ImportError:
        lines.append("| (b) jieba | jieba is not importable: set PYTHONPATH to a directory holding jieba 0.42.1 |")
    else:
        build = await jieba_index.load(fixture)
        fixture_recall = await recall(queries, jieba_index.run)
        build += await jieba_index.load(fixture + synthetic)
        at_n = await recall(queries, jieba_index.run)
        columns["jieba fixture"], columns["jieba at N"] = fixture_recall, at_n
        overall, _ = await time_queries(jieba_index.run, mix, warmup)
        lines.append(
            f"| (b) jieba cut_for_search, weighted tsvector/GIN, same ranking | {build:.0f} "
            f"| {statistics.mean(fixture_recall.values()):.3f} | {statistics.mean(at_n.values()):.3f} "
            f"| {overall.pct(50):.1f} | {overall.pct(95):.1f} | {overall.pct(99):.1f} |"
        )
    trigram = TrigramIndex(backend)
    build = await trigram.load()
    at_n = await recall(queries, trigram.run)
    overall, _ = await time_queries(trigram.run, mix, warmup)
    lines.append(
        f"| (c) pg_trgm LIKE, same ranking as (a) | {build:.0f} | – | {statistics.mean(at_n.values()):.3f} "
        f"| {overall.pct(50):.1f} | {overall.pct(95):.1f} | {overall.pct(99):.1f} |"
    )
    return "\n".join(lines)


# --- measurements ----------------------------------------------------------------------------------------


def recall_at_10(found: list[str], expected: list[str]) -> float:
    wanted = {resource_id(code) for code in expected}
    return len(wanted & set(found[:10])) / min(len(wanted), 10)


async def recall(
    queries: list[dict[str, Any]], run: Callable[[dict[str, Any]], Awaitable[search.SearchPage]]
) -> dict[str, float]:
    return {
        entry["q"]: recall_at_10((await run({"q": entry["q"], "size": 10})).ids, entry["expected"]) for entry in queries
    }


def query_mix(catalog: dict[str, Any], fixture: list[SearchDocument], count: int) -> list[tuple[str, dict]]:
    """(kind, search kwargs): what people type, with the filters and paging the portal offers."""
    rng = random.Random(SEED + 1)
    by_id = {d.resource_id: d for d in fixture}
    queries = catalog["queries"]
    words = [e["q"] for e in queries if " " not in e["q"]]
    mix: list[tuple[str, dict]] = []
    for _ in range(count):
        entry = rng.choice(queries)
        hit = by_id.get(resource_id(rng.choice(entry["expected"]))) if entry["expected"] else None
        roll = rng.random()
        if roll < 0.45:
            mix.append(("q", {"q": entry["q"]}))
        elif roll < 0.55:
            mix.append(("q, two words", {"q": f"{rng.choice(words)} {rng.choice(words)}"}))
        elif roll < 0.75 and hit is not None:
            facet = rng.choice(["provider_dept", "category", "sharing_type", "security_level", "format"])
            mix.append(("q + filter", {"q": entry["q"], facet: getattr(hit, facet)}))
        elif roll < 0.85:
            mix.append(("q, page 2-5", {"q": entry["q"], "page": rng.randint(2, 5)}))
        elif hit is not None:
            facet = rng.choice(["provider_dept", "category", "format"])
            mix.append(("list + filter", {"q": None, facet: getattr(hit, facet), "page": rng.randint(1, 3)}))
        else:
            mix.append(("list", {"q": None, "page": rng.randint(1, 5)}))
    return mix


@dataclass
class Latency:
    count: int
    seconds: float
    samples: list[float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


async def time_queries(
    run: Callable[[dict[str, Any]], Awaitable[Any]], mix: list[tuple[str, dict]], warmup: int
) -> tuple[Latency, dict[str, Latency]]:
    for _, kwargs in mix[:warmup]:
        await run(kwargs)
    samples: list[float] = []
    kinds: dict[str, list[float]] = {}
    started = time.perf_counter()
    for kind, kwargs in mix[warmup:]:
        t0 = time.perf_counter()
        await run(kwargs)
        elapsed = time.perf_counter() - t0
        samples.append(elapsed)
        kinds.setdefault(kind, []).append(elapsed)
    total = time.perf_counter() - started
    return Latency(len(samples), total, samples), {k: Latency(len(v), sum(v), v) for k, v in sorted(kinds.items())}


def latency_table(title: str, overall: Latency, kinds: dict[str, Latency]) -> str:
    lines = [
        f"### {title}",
        "",
        "| queries | count | p50 ms | p95 ms | p99 ms | queries/s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| **all** | {overall.count} | {overall.pct(50):.1f} | {overall.pct(95):.1f} | {overall.pct(99):.1f} "
        f"| {overall.count / overall.seconds:.0f} |",
    ]
    for kind, lat in kinds.items():
        lines.append(
            f"| {kind} | {lat.count} | {lat.pct(50):.1f} | {lat.pct(95):.1f} | {lat.pct(99):.1f} "
            f"| {lat.count / lat.seconds:.0f} |"
        )
    return "\n".join(lines)


def recall_table(queries: list[dict[str, Any]], columns: dict[str, dict[str, float]]) -> str:
    names = list(columns)
    lines = [
        "| query | expected | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for entry in queries:
        values = " | ".join(f"{columns[n][entry['q']]:.2f}" for n in names)
        lines.append(f"| {entry['q']} | {len(entry['expected'])} | {values} |")
    means = " | ".join(f"**{statistics.mean(columns[n].values()):.3f}**" for n in names)
    lines.append(f"| **mean recall@10** | | {means} |")
    return "\n".join(lines)


async def bench_backend(
    backend: Backend, catalog: dict[str, Any], n: int, timed: int, warmup: int, compare: bool
) -> tuple[dict[str, dict[str, float]], str]:
    fixture = fixture_documents(catalog)
    depts = department_names(catalog)
    queries = catalog["queries"]
    await backend.create()
    await backend.index(fixture)
    columns = {f"{backend.name} fixture ({len(fixture)})": await recall(queries, backend.run)}
    synthetic = synthesize(fixture, depts, max(0, n - len(fixture)))
    t0 = time.perf_counter()
    await backend.bulk_load(synthetic)
    await backend.analyze()
    load_s = time.perf_counter() - t0
    total = len(fixture) + len(synthetic)
    columns[f"{backend.name} at {total:,}"] = await recall(queries, backend.run)
    mix = query_mix(catalog, fixture, warmup + timed)
    overall, kinds = await time_queries(backend.run, mix, warmup)
    report = [
        latency_table(
            f"{backend.name}: search latency at {total:,} resources (loaded in {load_s:.0f} s; "
            f"{timed} timed queries after {warmup} warm-up, one session each)",
            overall,
            kinds,
        )
    ]
    search.WINDOWS.clear()
    overall, kinds = await time_queries(backend.run_kept, mix[warmup:], 0)
    report.append(
        latency_table(
            f"{backend.name}: the same {timed} queries as a request runs them (reading sessions, ranked windows kept "
            "per data version; none kept at the start, no warm-up)",
            overall,
            kinds,
        )
    )
    if compare and isinstance(backend, PostgresBackend):
        report.append(await compare_techniques(backend, fixture, synthetic, queries, mix, warmup, columns))
    await backend.db.dispose()
    return columns, "\n\n".join(report)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="server URL, e.g. postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--sqlite", type=Path, help="also run on this SQLite file (recreated)")
    parser.add_argument("--n", type=int, default=100_000, help="resources in the index (fixture included)")
    parser.add_argument("--queries", type=int, default=2000, help="timed queries per backend")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--catalog", type=Path, default=CATALOG, help="fixture (default deploy/demo/catalog.json)")
    parser.add_argument("--compare", action="store_true", help="also measure jieba and pg_trgm (Postgres)")
    args = parser.parse_args(argv)
    if not args.postgres and not args.sqlite:
        parser.error("give --postgres and/or --sqlite")
    catalog = load_fixture(args.catalog)
    print(
        f"# Catalog search benchmark\n\nfixture: {len(catalog['resources'])} resources, "
        f"{len(catalog['queries'])} queries; N = {args.n:,}; seed {SEED}\n"
    )
    backends: list[Backend] = []
    if args.postgres:
        backends.append(PostgresBackend(args.postgres))
    if args.sqlite:
        backends.append(SqliteBackend(args.sqlite))
    columns: dict[str, dict[str, float]] = {}
    for backend in backends:
        cols, report = await bench_backend(backend, catalog, args.n, args.queries, args.warmup, args.compare)
        columns.update(cols)
        print(report + "\n", flush=True)
    print("### Relevance: recall@10 per fixture query\n")
    print(recall_table(catalog["queries"], columns))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
