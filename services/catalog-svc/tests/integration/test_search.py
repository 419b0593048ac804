"""Chinese keyword search of the catalog (catalog_svc/search.py) on SQLite and on real Postgres.

The realistic catalog of deploy/demo/catalog.json is indexed as published resources; its `queries` carry the
resources a person expects to find, and recall@10 over them must stay at or above 0.9 on both backends.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from catalog_svc import search
from catalog_svc.search import SearchDocument
from govdata_shared.db import Database
from govdata_shared.migrations import upgrade_async

pytestmark = pytest.mark.backends("postgres", "sqlite")  # the two search implementations

CATALOG = Path(__file__).resolve().parents[4] / "deploy" / "demo" / "catalog.json"
BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def resource_id(code: str) -> str:
    return "res-" + code.replace("/", "-")


def fixture_catalog() -> dict[str, Any]:
    return json.loads(CATALOG.read_text(encoding="utf-8"))


def fixture_documents(catalog: dict[str, Any]) -> list[SearchDocument]:
    """Every fixture resource as a published search document; a later position is a newer update."""
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


def document(resource_id: str, name: str, summary: str = "", items: tuple[str, ...] = (), **facets) -> SearchDocument:
    values: dict[str, Any] = {
        "provider_dept": "ycx_gaj",
        "category": "department",
        "sharing_type": "conditional",
        "security_level": "2",
        "format": "database",
        "status": "published",
        "updated_at": BASE_TIME,
    }
    values.update(facets)
    code = values.pop("code", f"999001/{zlib.crc32(resource_id.encode()) % 1_000_000:06d}")
    return SearchDocument(
        resource_id=resource_id,
        code=code,
        name=name,
        summary=summary,
        item_names=list(items),
        item_codes=[f"f{n}" for n in range(len(items))],
        **values,
    )


class Index:
    """A migrated catalog database and shortcuts to write and query its search index."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, *docs: SearchDocument) -> None:
        async with self.db.session() as session:
            for doc in docs:
                await search.index_resource(session, self.db.is_postgres, doc)
        if self.db.is_postgres and len(docs) > 50:
            # As autovacuum would soon after a load: without statistics the planner ranks ~25x slower.
            async with self.db.engine.connect() as connection:
                await connection.execute(sa.text("ANALYZE"))
                await connection.commit()  # statistics gathered in a rolled-back transaction are lost

    async def remove(self, resource_id: str) -> None:
        async with self.db.session() as session:
            await search.remove_resource(session, self.db.is_postgres, resource_id)

    async def find(self, q: str | None, **kwargs) -> search.SearchPage:
        async with self.db.session() as session:
            return await search.search(session, self.db.is_postgres, q=q, **kwargs)

    async def ids(self, q: str | None, **kwargs) -> list[str]:
        return (await self.find(q, **kwargs)).ids

    async def read(self, q: str | None, **kwargs) -> search.SearchPage:
        """As a request searches: in a reading session, whose ranked windows are kept (search.WINDOWS)."""
        async with self.db.reading() as session:
            return await search.search(session, self.db.is_postgres, q=q, **kwargs)


@pytest.fixture
async def index(backend, migrated, tmp_path) -> AsyncIterator[Index]:
    db = Database(await migrated.fresh("catalog_svc", backend, tmp_path))
    try:
        yield Index(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
async def indexed_catalogs(migrated, tmp_path_factory) -> AsyncIterator[dict[str, tuple[Index, dict[str, Any]]]]:
    """The fixture catalog indexed once per backend for the module: indexing it takes seconds, and the relevance
    tests only read it."""
    indexed: dict[str, tuple[Index, dict[str, Any]]] = {}
    yield indexed
    for index, _ in indexed.values():
        await index.db.dispose()


@pytest.fixture
async def catalog(backend, migrated, tmp_path_factory, indexed_catalogs) -> tuple[Index, dict[str, Any]]:
    """The fixture catalog, indexed (shared by the tests of a backend: never change it)."""
    if backend not in indexed_catalogs:
        db = Database(await migrated.fresh("catalog_svc", backend, tmp_path_factory.mktemp("catalog")))
        data = fixture_catalog()
        await Index(db).put(*fixture_documents(data))
        indexed_catalogs[backend] = (Index(db), data)
    return indexed_catalogs[backend]


def recall_at_10(found: list[str], expected: list[str]) -> float:
    wanted = {resource_id(code) for code in expected}
    return len(wanted & set(found[:10])) / min(len(wanted), 10)


# --- relevance on the realistic catalog ------------------------------------------------------------------


@pytest.mark.parametrize("word", ["人口", "社保", "婚姻", "车辆"])
async def test_two_character_word_finds_the_expected_resources_in_the_top_10(
    catalog: tuple[Index, dict[str, Any]], word: str
) -> None:
    index, catalog = catalog
    queries = [entry for entry in catalog["queries"] if entry["q"] == word]
    assert queries, f"the fixture has no query {word!r}"
    found = await index.ids(word, size=10)
    for entry in queries:
        missing = {resource_id(c) for c in entry["expected"][:10]} - set(found)
        assert not missing, f"{word}: {missing} not in the top 10 {found}"


async def test_recall_at_10_over_all_fixture_queries_is_at_least_0_9(catalog: tuple[Index, dict[str, Any]]) -> None:
    index, catalog = catalog
    per_query = {}
    for entry in catalog["queries"]:
        per_query[entry["q"]] = recall_at_10(await index.ids(entry["q"], size=10), entry["expected"])
    mean = sum(per_query.values()) / len(per_query)
    weak = {q: round(r, 2) for q, r in per_query.items() if r < 1}
    assert len(per_query) >= 30
    assert mean >= 0.9, f"recall@10 {mean:.3f}; below 1: {weak}"


async def test_every_fixture_resource_is_found_by_its_own_code_first(catalog: tuple[Index, dict[str, Any]]) -> None:
    index, catalog = catalog
    for r in catalog["resources"][::17]:
        found = await index.find(r["code"])
        assert found.ids[0] == resource_id(r["code"])


# --- ranking and query semantics -------------------------------------------------------------------------


async def test_name_match_outranks_item_match_outranks_summary_match(index: Index) -> None:
    await index.put(
        document("by-summary", "居民信息登记", summary="记录辖区内的婚姻状况变更"),
        document("by-name", "婚姻登记信息", summary="县民政局办理的登记"),
        document("by-item", "家庭成员信息", items=("成员姓名", "婚姻状况")),
        document("unrelated", "企业登记信息", summary="市场主体登记"),
    )
    assert await index.ids("婚姻") == ["by-name", "by-item", "by-summary"]


async def test_shorter_more_specific_name_ranks_first_among_name_matches(index: Index) -> None:
    await index.put(
        document("long", "城关镇流动人口居住登记台账汇总", updated_at=BASE_TIME + timedelta(days=1)),
        document("short", "人口基础信息"),
    )
    assert await index.ids("人口") == ["short", "long"]


async def test_every_word_of_a_multi_word_query_must_match(index: Index) -> None:
    await index.put(
        document("both", "不动产登记信息", summary="房屋抵押登记"),
        document("first-only", "不动产权籍调查"),
        document("second-only", "抵押贷款贴息"),
    )
    page = await index.find("不动产 抵押")
    assert (page.ids, page.total, page.any_word) == (["both"], 1, False)


async def test_when_no_resource_has_every_word_those_with_most_words_come_first(index: Index) -> None:
    await index.put(
        document("two", "车辆违章信息", summary="驾驶人记分"),
        document("one", "车辆登记信息"),
        document("none", "企业登记信息"),
    )
    page = await index.find("车辆 驾驶人 渔船")
    assert page.any_word
    assert page.ids == ["two", "one"]


async def test_longer_word_matches_as_an_exact_substring_not_as_scattered_characters(index: Index) -> None:
    await index.put(
        document("exact", "不动产登记簿"),
        document("scattered", "动产抵押与不动的登记", summary="产登记"),
    )
    assert await index.ids("不动产登记") == ["exact"]


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("社保", "社会保险参保信息"),
        ("医保", "城乡居民医疗保险缴费信息"),
        ("低保", "最低生活保障对象信息"),
        ("户口", "户籍人口信息"),
        ("身份证", "公民身份号码核验"),
        ("营业执照", "企业登记信息"),
        ("公积金", "住房公积金缴存信息"),
        ("社会保险", "社保卡发放信息"),
        ("社保缴费", "社会保险缴费记录"),
    ],
)
async def test_common_abbreviations_find_the_full_terms(index: Index, query: str, wanted: str) -> None:
    await index.put(document("wanted", wanted), document("other", "道路运输经营许可信息"))
    assert await index.ids(query) == ["wanted"]


async def test_ascii_words_match_whole_tokens_and_ignore_case(index: Index) -> None:
    await index.put(
        document("gis", "GIS地理信息数据", items=("图斑编号",)),
        document("gisx", "GISX平台日志"),
    )
    assert await index.ids("ｇｉｓ") == ["gis"]
    assert await index.ids("地理 gis") == ["gis"]


async def test_a_single_character_finds_it_anywhere_in_a_word(index: Index) -> None:
    await index.put(
        document("a", "驾驶证信息"), document("b", "证照目录", summary="电子证照"), document("c", "企业信息")
    )
    assert await index.ids("证") == ["b", "a"]


async def test_exact_code_returns_that_resource_first(index: Index) -> None:
    await index.put(
        document("a", "人口基础信息", code="101001/000001"),
        document("b", "人口信息汇总", code="101001/000002"),
        document("c", "法人基础信息", code="102001/000001"),
    )
    assert (await index.ids("101001/000002"))[0] == "b"
    assert (await index.ids(" 102001/000001 "))[0] == "c"


async def test_item_codes_are_searchable(index: Index) -> None:
    await index.put(document("a", "人口基础信息", items=("公民身份号码",)), document("b", "法人信息"))
    assert await index.ids("f0") == ["a"]


# --- filters and pagination ------------------------------------------------------------------------------


async def test_no_query_lists_newest_first(index: Index) -> None:
    docs = [document(f"r{n}", f"资源{n}", updated_at=BASE_TIME + timedelta(hours=n)) for n in range(5)]
    await index.put(*docs)
    for q in (None, "", "   ", "，。！？", "&|!*:()"):
        page = await index.find(q)
        assert (page.ids, page.total) == (["r4", "r3", "r2", "r1", "r0"], 5), q


@pytest.mark.parametrize(
    ("facet", "value"),
    [
        ("provider_dept", "ycx_mzj"),
        ("category", "base"),
        ("sharing_type", "unconditional"),
        ("security_level", "3"),
        ("format", "api"),
        ("status", "retired"),
    ],
)
async def test_each_filter_narrows_with_and_without_a_query(index: Index, facet: str, value: str) -> None:
    await index.put(
        document("plain", "婚姻登记信息"),
        document("faceted", "婚姻状况核验", **{facet: value}),
        document("faceted-other", "道路运输许可", **{facet: value}),
    )
    status = value if facet == "status" else "published"
    with_q = await index.find("婚姻", **{facet: value, "status": status})
    assert (with_q.ids, with_q.total) == (["faceted"], 1)
    without_q = await index.find(None, **{facet: value, "status": status})
    assert sorted(without_q.ids) == ["faceted", "faceted-other"]


async def test_status_none_searches_every_status_and_default_is_published_only(index: Index) -> None:
    await index.put(document("pub", "人口信息"), document("draft", "人口草稿", status="draft"))
    assert await index.ids("人口") == ["pub"]
    assert sorted(await index.ids("人口", status=None)) == ["draft", "pub"]


async def test_pages_are_disjoint_and_total_counts_every_match(index: Index) -> None:
    await index.put(*(document(f"r{n:02d}", f"人口统计表{n:02d}") for n in range(25)))
    await index.put(document("x", "企业登记信息"))
    first = await index.find("人口", page=1, size=10)
    second = await index.find("人口", page=2, size=10)
    third = await index.find("人口", page=3, size=10)
    beyond = await index.find("人口", page=9, size=10)
    assert (first.total, second.total, third.total, beyond.total) == (25, 25, 25, 25)
    assert (len(first.ids), len(second.ids), len(third.ids), beyond.ids) == (10, 10, 5, [])
    assert len(set(first.ids + second.ids + third.ids)) == 25
    browse = [await index.find(None, page=p, size=10) for p in (1, 2, 3)]
    assert [len(p.ids) for p in browse] == [10, 10, 6]
    assert len({i for p in browse for i in p.ids}) == 26


async def test_a_resources_copies_and_registers_follow_the_distinct_resources(index: Index, monkeypatch) -> None:
    """A common word's first page shows different resources, not one resource's town copies and registers
    (which rank alike: same word, same name length); every match is still on exactly one page."""
    await index.put(
        document("poor", "脱贫人口信息"),
        document("poor-ledger", "脱贫人口统计台账"),
        document("poor-archive", "脱贫人口归档目录"),
        document("poor-town", "城关镇脱贫人口信息"),
        document("poor-aid", "脱贫人口参保资助信息", updated_at=BASE_TIME + timedelta(days=1)),
        document("floating", "流动人口居住登记信息"),
    )
    first, second = await index.find("人口", size=3), await index.find("人口", page=2, size=3)
    assert first.ids == ["poor", "poor-aid", "floating"] and first.total == 6
    assert second.ids == ["poor-archive", "poor-ledger", "poor-town"]
    # Grouping reaches as far as the window (here the four shortest names, all of one stem); later pages follow
    # the ranking as it is, and each match is still on exactly one page.
    monkeypatch.setattr(search, "GROUP_WINDOW", 4)
    pages = [(await index.find("人口", page=page, size=2)).ids for page in (1, 2, 3)]
    assert pages == [["poor", "poor-archive"], ["poor-ledger", "poor-town"], ["poor-aid", "floating"]]


# --- ranked windows kept while the catalog is unchanged ----------------------------------------------------


class Statements:
    """Counts the statements the database's engines run (the data version's read goes around them)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        for engine in {db.engine.sync_engine, db._read_engine.sync_engine}:
            sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


async def test_a_repeated_search_and_its_later_pages_run_no_ranking_until_the_catalog_changes(index: Index) -> None:
    search.WINDOWS.clear()
    await index.put(*(document(f"r{n:02d}", f"人口统计表{n:02d}") for n in range(12)), document("x", "企业登记信息"))
    statements = Statements(index.db)
    first = await index.read("人口", size=5)
    ranked = statements.count
    assert ranked > 0 and first.total == 12
    pages = [await index.read("人口", page=page, size=5) for page in (1, 2, 3)]
    assert statements.count == ranked  # every page of the window, none ranked again
    assert [p.ids for p in pages] == [(await index.find("人口", page=page, size=5)).ids for page in (1, 2, 3)]
    assert pages[0] == first and [len(p.ids) for p in pages] == [5, 5, 2]
    assert len({i for p in pages for i in p.ids}) == 12
    # Another query, other facets and a page past the window are searches of their own.
    for q, kwargs in (("人口", {"category": "base"}), ("企业", {}), ("人口", {"page": 50, "size": 5})):
        before = statements.count
        await index.read(q, **kwargs)
        assert statements.count > before, (q, kwargs)

    # A change (any writer's: here the index's own) is seen at the next search, on both backends.
    await index.put(document("r-new", "人口信息"))
    changed = await index.read("人口", size=5)
    assert changed.total == 13 and changed.ids[0] == "r-new"
    await index.remove("r00")
    assert "r00" not in (await index.read("人口", size=20)).ids
    assert (await index.read("人口", size=20)).total == 12


async def test_a_writing_session_keeps_no_ranked_window(index: Index) -> None:
    search.WINDOWS.clear()
    await index.put(document("a", "人口基础信息"))
    statements = Statements(index.db)
    await index.find("人口")
    once = statements.count
    await index.find("人口")
    assert statements.count == 2 * once > 0


async def test_bad_paging_and_overlong_query_are_value_errors(index: Index) -> None:
    with pytest.raises(ValueError):
        await index.find("人" * 101)
    await index.find("人" * 100)
    with pytest.raises(ValueError):
        await index.find("人口", page=0)
    with pytest.raises(ValueError):
        await index.find("人口", size=0)


# --- safety against query syntax -------------------------------------------------------------------------


ATTACKS = [
    "人口 & !",
    '"',
    '人口"',
    "*",
    "人口*",
    "NEAR(",
    "NEAR(人口 婚姻)",
    "'",
    "人口'",
    ":*",
    "人口:*",
    "OR",
    "人口 OR",
    "人口 | 婚姻",
    "人口 AND NOT 婚姻",
    "!人口",
    "(人口",
    "人口 <-> 登记",
    "\\",
    "人口; DROP TABLE resource_search",
    "^人口",
    "-人口",
    "人口 NOT",
    "{人口}",
    "人口 + 婚姻",
    "col:人口",
    "人口\x00",
]


async def test_query_syntax_in_user_input_is_inert(index: Index) -> None:
    await index.put(
        document("people", "人口基础信息"),
        document("marriage", "婚姻登记信息"),
        document("cars", "机动车辆登记信息"),
    )
    for attack in ATTACKS:
        words = [run for run in search.text_runs(attack) if "\u4e00" <= run[0] <= "\u9fff"]
        bound: set[str] = set()
        for word in words:
            bound |= set(await index.ids(word))
        found = await index.find(attack)
        if words:
            assert set(found.ids) <= bound, f"{attack!r} widened to {found.ids}"
        else:
            assert set(found.ids) <= {"people", "marriage", "cars"}
    for value in ("' OR '1'='1", 'x" OR 1=1 --', "%"):
        assert await index.ids(None, provider_dept=value) == []
        assert await index.ids("人口", category=value) == []
    assert len(await index.ids(None)) == 3  # the table is still there


# --- maintaining the index -------------------------------------------------------------------------------


async def test_reindexing_a_resource_replaces_its_entry(index: Index) -> None:
    original = document("r", "婚姻登记信息", items=("男方姓名",), security_level="2")
    await index.put(original)
    await index.put(replace(original, name="收养登记信息", item_names=["收养人姓名"], security_level="3"))
    assert await index.ids("婚姻") == []
    assert await index.ids("收养") == ["r"]
    assert await index.ids("收养", security_level="2") == []
    assert (await index.find(None)).total == 1


async def test_removing_a_resource_drops_it_and_is_idempotent(index: Index) -> None:
    await index.put(document("a", "人口基础信息"), document("b", "人口统计信息"))
    await index.remove("a")
    await index.remove("a")
    await index.remove("never-indexed")
    assert await index.ids("人口") == ["b"]
    assert (await index.find(None)).total == 1


async def test_postgres_index_computes_the_same_tokens_as_search_tokens(postgres_database) -> None:
    url = await postgres_database("catalog_tokens")
    await upgrade_async("catalog_svc", url)
    db = Database(url)
    texts = ["户籍人口基本信息", "GIS 地理 数据2024年", "所属乡镇(街道)", "ＡＢＣ１２３ 身份证", "a", "〇", "", "，。"]
    try:
        async with db.session() as session:
            for text in [*texts, *(r["summary"] for r in fixture_catalog()["resources"][::40])]:
                body = search._norm_field(text)
                result = await session.execute(sa.text("SELECT catalog_search_tsvector(:body)::text"), {"body": body})
                lexemes = {t.strip("'") for t in result.scalar_one().split()}
                assert lexemes == set(search.search_tokens(text)), text
    finally:
        await db.dispose()


async def test_postgres_name_match_shortcut_gives_the_same_pages_as_full_ranking(postgres_database) -> None:
    url = await postgres_database("catalog_shortcut")
    await upgrade_async("catalog_svc", url)
    db = Database(url)
    index = Index(db)
    data = fixture_catalog()
    await index.put(*fixture_documents(data))
    filters = dict.fromkeys(["provider_dept", "category", "sharing_type", "security_level", "format"])
    shortcuts = 0
    try:
        async with db.session() as session:
            for entry in data["queries"]:
                parsed = search.parse_query(entry["q"])
                for page in (1, 2, 3):
                    criteria = {**filters, "status": "published"}
                    quick = await search._name_matches_page(session, parsed, criteria, page, 3)
                    full = await search._match(session, True, parsed, criteria, page, 3, any_word=False)
                    if quick is not None:
                        shortcuts += 1
                        assert (quick.ids, quick.total) == (full.ids, full.total), (entry["q"], page)
    finally:
        await db.dispose()
    assert shortcuts > 20
