"""Chinese keyword search over the catalog (目录检索): name, summary and data-item names, on Postgres and SQLite.

Technique — character bigrams, chosen by measurement (`bench/catalog_search.py --compare`, 100,000 resources,
the 49 fixture queries of deploy/demo/catalog.json, each alternative ranked the same way):

    technique                                   recall@10 fixture / at 100k   keyword query p50 / p95
    (a) CJK unigrams+bigrams, GIN / FTS5 (this)        0.996 / 0.784             16 /  50 ms
    (b) jieba cut_for_search into a tsvector           0.996 / 0.774             23 /  87 ms
    (c) pg_trgm LIKE '%word%'                            –   / 0.784             518 / 765 ms

(One --compare run, all three loaded at once. (a) alone on a quiet machine, 2026-11-26: all queries p50 10.9 /
p95 26.1 ms, keyword queries 13.6 / 34.3 ms.)

jieba finds the same resources here but is slower (field weights need a positional tsvector read row by row),
is a dependency with a dictionary to maintain, and SQLite would need the same Python-side tokenizing anyway;
pg_trgm cannot index two-character words (trigrams) and scans. With bigrams a query word means "this exact
substring": 人口 finds 流动人口, 车辆 finds 机动车辆, whatever a dictionary would have cut.

- Index: each CJK run gives its bigrams and unigrams, each ASCII word itself (`search_tokens`); the row keeps
  the facets and the normalised fields (`_norm_field`) used for ranking.
- Postgres: GIN on `catalog_search_tsvector(<fields>)` (migration 0003): the tokens live in the index only,
  so the table stays narrow. A word of three or more characters is looked up as the AND of its bigrams and
  confirmed as a substring with `strpos`. SQLite: FTS5 (unicode61 over the space-separated tokens); a long
  word is the phrase of its bigrams, which is exactly a substring.
- Ranking, the same SQL on both: per query word the best field it is in — name 8, an item name 4, summary 2,
  a code 1 — summed over the words; then the shorter name (the more specific resource), newest, id. A query
  equal to a resource code puts that resource first. Within the first GROUP_WINDOW results, a resource's town or
  year copies and the registers kept of it (same name stem, `name_stem`) follow the distinct resources.
- A reading session's search keeps each query's ranked window (`RankedWindows`) until the catalog's data version
  moves: ranking and counting tens of thousands of matches is the slow part at 100,000 resources (p95 26.6 ms for
  the engine alone, 15.6 ms as requests run the same mix, bench/catalog_search.py, 2026-12-03).
- Query words are space-separated and all must match; when no resource has all, any may (ranked by how many
  matched, `SearchPage.any_word`). Government abbreviations widen through `SYNONYMS` (社保 → 社会保险 …).
- User input never reaches tsquery/FTS5 syntax: only CJK and [0-9a-z] runs survive normalisation, every
  token is quoted, and filter values are bound parameters.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from govdata_shared.db import DATABASE, Database
from govdata_shared.pages import data_version
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

MAX_QUERY_LENGTH = 100
MAX_QUERY_WORDS = 8
MAX_PAGE_SIZE = 1000

# 常用简称 → full terms used in catalog names. Applied to the query only: a query word (or a part of it, 社保缴费)
# also matches what the expansion matches.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "社保": ("社会保险",),
    "社会保险": ("社保",),
    "医保": ("医疗保险", "医疗保障"),
    "医疗保险": ("医保",),
    "低保": ("最低生活保障",),
    "最低生活保障": ("低保",),
    "户口": ("户籍",),
    "户籍": ("户口",),
    "身份证": ("居民身份证", "公民身份号码", "身份号码"),
    "身份证号": ("公民身份号码", "身份号码"),
    "营业执照": ("企业登记", "市场主体登记"),
    "公积金": ("住房公积金",),
    "驾照": ("驾驶证", "机动车驾驶人"),
    "房产": ("不动产", "房屋"),
    "房产证": ("不动产权证", "房屋所有权"),
    "结婚": ("婚姻登记", "结婚登记"),
    "离婚": ("婚姻登记", "离婚登记"),
    "养老金": ("养老保险",),
    "失业金": ("失业保险",),
    "出生证": ("出生医学证明",),
    "残疾证": ("残疾人证",),
    "车牌": ("号牌",),
    "车辆": ("机动车",),
    "个税": ("个人所得税",),
}

# Variants of one resource — a town's or a year's copy (城关镇户籍人口基本信息, 2019年…), a register kept of it
# (…统计台账, …变更记录) — share its name stem. Among the first GROUP_WINDOW results, the first of each stem keeps
# its place and the other variants follow the distinct resources, so a common word's first page shows different
# resources instead of one resource's copies. bench/catalog_search.py at 100,000, whose synthetic catalog grows
# by exactly such variants: recall@10 0.78 → 0.93 (a window of 100: 0.82); the 328 real resources: 0.996, as before.
GROUP_WINDOW = 200
# 伊川县's towns, townships and subdistricts (乡镇街道), as a town's copy of a resource puts them before its name.
COUNTY_TOWNS = (
    "城关街道", "河滨街道", "城关镇", "鸣皋镇", "白沙镇", "彭婆镇", "江左镇", "高山镇", "吕店镇",
    "半坡镇", "葛寨镇", "水寨镇", "白元镇", "鸦岭镇", "平等乡", "酒后乡",
)  # fmt: skip
# Words that say what kind of record a name is, not what it is about; stripped from the end, repeatedly.
RECORD_KIND_WORDS = (
    "信息", "数据", "台账", "报表", "名册", "明细", "目录", "记录", "清单", "统计", "汇总", "年度", "月度",
    "变更", "核查", "备案", "归档",
)  # fmt: skip
_QUALIFIER = re.compile("^(?:" + "|".join(COUNTY_TOWNS) + r"|\d{4}年度?)+")
_RECORD_KIND = re.compile("(?:" + "|".join(RECORD_KIND_WORDS) + ")+$")

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(f"[{_CJK}]+|[0-9a-z]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CODE_LIKE = re.compile(r"[0-9A-Za-z][0-9A-Za-z/._-]{0,63}")

# The expression of Postgres's GIN index (migration 0003): queries must spell it exactly so.
PG_TOKENS = "catalog_search_tsvector(s.name_norm || s.items_norm || s.summary_norm || s.codes_norm)"
PG_NAME_TOKENS = "catalog_search_tsvector(s.name_norm)"

_FIELDS = ("name_norm", "items_norm", "summary_norm", "codes_norm")
# Weight of a query word found in each field: name > item names > summary > codes.
_FIELD_WEIGHTS = (8, 4, 2, 1)


def _search_table(*extra: sa.Column) -> sa.Table:
    """Facet and ranking columns, the same on both backends, plus the backend's own (created by 0003)."""
    return sa.Table(
        "resource_search",
        sa.MetaData(),
        sa.Column("resource_id", sa.String(40), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name_len", sa.Integer, nullable=False),
        sa.Column("name_norm", sa.Text, nullable=False),
        sa.Column("items_norm", sa.Text, nullable=False),
        sa.Column("summary_norm", sa.Text, nullable=False),
        sa.Column("codes_norm", sa.Text, nullable=False),
        sa.Column("provider_dept", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("sharing_type", sa.String(16), nullable=False),
        sa.Column("security_level", sa.String(1), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *extra,
    )


# Postgres computes the tokens in its GIN index expression (migration 0003: TOKENS_EXPRESSION); SQLite keys
# the row by `rid`, the rowid of its FTS5 row.
pg_search_table = _search_table()
sqlite_search_table = _search_table(sa.Column("rid", sa.Integer))


@dataclass(frozen=True)
class SearchDocument:
    """What the index knows of one resource: its visible revision's text and facets."""

    resource_id: str
    code: str
    name: str
    summary: str
    item_names: list[str]
    item_codes: list[str]
    provider_dept: str
    category: str
    sharing_type: str
    security_level: str
    format: str
    status: str
    updated_at: datetime


@dataclass(frozen=True)
class SearchPage:
    ids: list[str]  # best first
    total: int
    any_word: bool = False  # True when no resource had every word and the page holds partial matches
    names: list[str] = field(default_factory=list)  # the ids' normalised names, where the query read them


@dataclass(frozen=True)
class QueryWord:
    """One word of the query with its synonym expansions; a resource matches if it contains any of them."""

    alternatives: tuple[str, ...]


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[QueryWord, ...] = field(default_factory=tuple)
    exact_code: str | None = None


def is_postgres(session: AsyncSession) -> bool:
    """Which of the two implementations the session's database takes."""
    return session.get_bind().dialect.name == "postgresql"


# --- text → tokens ---------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """NFKC (full-width → half-width) and lower case, so 'ＧＩＳ' and 'gis' are one token."""
    return unicodedata.normalize("NFKC", text or "").lower()


def text_runs(text: str) -> list[str]:
    """Maximal runs of CJK characters or of ASCII letters/digits; everything else separates."""
    return _RUN.findall(normalize(text))


def _is_cjk(run: str) -> bool:
    return bool(_CJK_CHAR.match(run))


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def search_tokens(text: str) -> list[str]:
    """Index tokens of `text`: per CJK run its bigrams then its unigrams; ASCII runs whole.

    Bigrams of one run are consecutive, and its unigrams always follow them, so in FTS5 a phrase of bigrams
    never spans two runs: a phrase match is exactly a substring match.
    """
    tokens: list[str] = []
    for run in text_runs(text):
        if _is_cjk(run):
            tokens.extend(_bigrams(run))
            tokens.extend(run)
        else:
            tokens.append(run)
    return tokens


def _norm_field(*texts: str) -> str:
    """A field as its runs between spaces, padded: CJK words are found with strpos(word), ASCII with ' word '."""
    runs = [run for text in texts for run in text_runs(text)]
    return " " + " ".join(runs) + " " if runs else " "


def name_stem(name: str) -> str:
    """What a resource is about: its name without a leading town or year and trailing record-kind words."""
    compact = "".join(name.split())
    return _RECORD_KIND.sub("", _QUALIFIER.sub("", compact)) or compact


def group_variants(ids: Sequence[str], names: Sequence[str]) -> list[str]:
    """`ids` in their order, except that a resource whose name stem an earlier one had follows the others."""
    firsts: list[str] = []
    variants: list[str] = []
    seen: set[str] = set()
    for resource_id, name in zip(ids, names, strict=True):
        stem = name_stem(name)
        (variants if stem in seen else firsts).append(resource_id)
        seen.add(stem)
    return firsts + variants


# --- query parsing ---------------------------------------------------------------------------------------


def _expand(word: str) -> tuple[str, ...]:
    alternatives = [word]
    for short, expansions in SYNONYMS.items():
        if short in word:
            for expansion in expansions:
                alternatives.append(word.replace(short, expansion))
    # A longer alternative containing a shorter one adds nothing: the shorter one already matches it.
    unique = list(dict.fromkeys(alternatives))
    return tuple(a for a in unique if not any(b != a and b in a and _is_cjk(a) and _is_cjk(b) for b in unique))


def parse_query(q: str | None) -> ParsedQuery:
    """Words of a query (every run of CJK or ASCII letters/digits), each widened by `SYNONYMS`.

    Raises ValueError for a query over MAX_QUERY_LENGTH characters. Punctuation and operators are dropped,
    so an empty, punctuation-only or operator-only query has no words.
    """
    if q is None:
        return ParsedQuery()
    q = q.strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise ValueError(f"query longer than {MAX_QUERY_LENGTH} characters")
    runs = list(dict.fromkeys(text_runs(q)))[:MAX_QUERY_WORDS]
    words = tuple(QueryWord(_expand(run)) for run in runs)
    return ParsedQuery(words=words, exact_code=q if _CODE_LIKE.fullmatch(q) else None)


def _tsquery_alternative(alt: str) -> str:
    if _is_cjk(alt) and len(alt) > 2:
        # Every bigram: the junctions (企业登记's 业登) are the selective ones, and each false candidate costs a
        # row visit. Past five characters, bigrams that tile the word (统一 社会 信用 代码) keep the number of
        # posting lists to intersect down; strpos confirms the exact substring either way.
        starts = range(len(alt) - 1) if len(alt) <= 5 else sorted({*range(0, len(alt) - 1, 2), len(alt) - 2})
        return "(" + " & ".join(_quote_lexeme(b) for b in dict.fromkeys(alt[i : i + 2] for i in starts)) + ")"
    return _quote_lexeme(alt)


def _quote_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def pg_tsquery(words: Sequence[QueryWord], *, any_word: bool = False) -> str:
    """tsquery text for the words: each word the OR of its alternatives; words ANDed (or ORed)."""
    parts = ["(" + " | ".join(_tsquery_alternative(a) for a in w.alternatives) + ")" for w in words]
    return (" | " if any_word else " & ").join(parts)


def fts5_query(words: Sequence[QueryWord], *, any_word: bool = False) -> str:
    """FTS5 MATCH text: a long word is the phrase of its bigrams; every token double-quoted."""

    def phrase(alt: str) -> str:
        tokens = _bigrams(alt) if _is_cjk(alt) and len(alt) > 2 else [alt]
        return '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'

    parts = ["(" + " OR ".join(phrase(a) for a in w.alternatives) + ")" for w in words]
    return (" OR " if any_word else " AND ").join(parts)


# --- writing the index -----------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def index_row(doc: SearchDocument) -> dict[str, Any]:
    """The facet/ranking row of a document (the bench bulk-loads these)."""
    return {
        "resource_id": doc.resource_id,
        "code": doc.code,
        "name_len": len(doc.name),
        "name_norm": _norm_field(doc.name),
        "items_norm": _norm_field(*doc.item_names),
        "summary_norm": _norm_field(doc.summary),
        "codes_norm": _norm_field(doc.code, *doc.item_codes),
        "provider_dept": doc.provider_dept,
        "category": doc.category,
        "sharing_type": doc.sharing_type,
        "security_level": str(doc.security_level),
        "format": doc.format,
        "status": doc.status,
        "updated_at": _utc(doc.updated_at),
    }


def document_tokens(doc: SearchDocument) -> list[str]:
    return search_tokens(" ".join([doc.name, *doc.item_names, doc.summary, doc.code, *doc.item_codes]))


async def index_resource(session: AsyncSession, is_postgres: bool, doc: SearchDocument) -> None:
    """Insert or replace the index entry of one resource."""
    row = index_row(doc)
    if is_postgres:
        stmt = pg_insert(pg_search_table).values(**row)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["resource_id"], set_={k: stmt.excluded[k] for k in row if k != "resource_id"}
            )
        )
        return
    stmt = sqlite_insert(sqlite_search_table).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["resource_id"], set_={k: stmt.excluded[k] for k in row if k != "resource_id"}
    ).returning(sqlite_search_table.c.rid)
    rid = (await session.execute(stmt)).scalar_one()
    await session.execute(sa.text("DELETE FROM resource_search_fts WHERE rowid = :rid"), {"rid": rid})
    await session.execute(
        sa.text("INSERT INTO resource_search_fts (rowid, tokens) VALUES (:rid, :tokens)"),
        {"rid": rid, "tokens": " ".join(document_tokens(doc))},
    )


async def remove_resource(session: AsyncSession, is_postgres: bool, resource_id: str) -> None:
    """Drop a resource from the index (no-op if it is not there)."""
    if not is_postgres:
        await session.execute(
            sa.text(
                "DELETE FROM resource_search_fts WHERE rowid IN "
                "(SELECT rid FROM resource_search WHERE resource_id = :id)"
            ),
            {"id": resource_id},
        )
    table = pg_search_table if is_postgres else sqlite_search_table
    await session.execute(sa.delete(table).where(table.c.resource_id == resource_id))


# --- querying --------------------------------------------------------------------------------------------


def _needle(alternative: str) -> str:
    """What a normalised field contains when it contains the word: CJK as a substring, ASCII as a whole run."""
    return alternative if _is_cjk(alternative) else f" {alternative} "


class _Sql:
    """Bound parameters and SQL fragments for one search statement."""

    def __init__(self, is_postgres: bool) -> None:
        self.is_postgres = is_postgres
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return ":" + name

    def contains(self, column: str, alternative: str) -> str:
        fn = "strpos" if self.is_postgres else "instr"
        return f"{fn}({column}, {self.bind(_needle(alternative))}) > 0"

    def word_weight(self, word: QueryWord) -> str:
        """Weight of the best field containing any alternative of the word, 0 when none does."""
        branches = [
            "WHEN " + " OR ".join(self.contains(column, a) for a in word.alternatives) + f" THEN {weight}"
            for column, weight in zip(_FIELDS, _FIELD_WEIGHTS, strict=True)
        ]
        return "CASE " + " ".join(branches) + " ELSE 0 END"

    def filters(self, values: dict[str, str | None], *, words: bool = False) -> list[str]:
        """Equality on each given facet. With words, status is compared as an expression the facet indexes cannot
        serve: most of the catalog is published, and ANDing a bitmap of it with the words' costs more than
        checking the status of the few candidates the words find."""
        # `s.status || ''` is the status, but no index expression: the planner filters the candidates with it.
        columns = {name: f"s.{name} || ''" if words and name == "status" else f"s.{name}" for name in values}
        return [f"{columns[name]} = {self.bind(str(value))}" for name, value in values.items() if value is not None]


async def search(
    session: AsyncSession,
    is_postgres: bool,
    *,
    q: str | None,
    provider_dept: str | None = None,
    category: str | None = None,
    sharing_type: str | None = None,
    security_level: str | None = None,
    format: str | None = None,
    status: str | None = "published",
    page: int = 1,
    size: int = 20,
) -> SearchPage:
    """One page of resource ids, best first, with the total number of matches.

    Without words: newest first. With words: resources containing every word, ranked name > item names >
    summary; if none contains every word, those containing any, ranked by how many they contain.
    """
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError("page must be >= 1 and size between 1 and 1000")
    parsed = parse_query(q)
    filters = {
        "provider_dept": provider_dept,
        "category": category,
        "sharing_type": sharing_type,
        "security_level": security_level,
        "format": format,
        "status": status,
    }
    # Pages within GROUP_WINDOW are cut from the window's results with variants grouped; later ones as ranked.
    grouped = bool(parsed.words) and page * size <= GROUP_WINDOW
    fetch_page, fetch_size = (1, GROUP_WINDOW) if grouped else (page, size)
    key = (parsed, tuple(filters.items()), fetch_page, fetch_size)
    kept = await WINDOWS.store(session)
    found = kept.get(key) if kept is not None else None
    if found is None:
        found = await _ranked(session, is_postgres, parsed, filters, fetch_page, fetch_size)
        if grouped:
            found = SearchPage(group_variants(found.ids, found.names), found.total, found.any_word)
        if kept is not None and len(found.ids) <= GROUP_WINDOW:  # a page of up to 1000 past the window is not kept
            kept.keep(key, found)
    if grouped:
        return SearchPage(ids=found.ids[(page - 1) * size : page * size], total=found.total, any_word=found.any_word)
    return found


async def _ranked(
    session: AsyncSession,
    is_postgres: bool,
    parsed: ParsedQuery,
    filters: dict[str, str | None],
    page: int,
    size: int,
) -> SearchPage:
    """The page as the database ranks it (variants not yet grouped)."""
    if not parsed.words:
        return await _browse(session, is_postgres, filters, page, size)
    found = None
    if is_postgres and not parsed.exact_code:
        found = await _name_matches_page(session, parsed, filters, page, size)
    if found is None:
        found = await _match(session, is_postgres, parsed, filters, page, size, any_word=False)
    if found.total == 0 and len(parsed.words) > 1:
        found = await _match(session, is_postgres, parsed, filters, page, size, any_word=True)
    return found


class _Windows:
    """The ranked windows of one database's search under one data version, the least recently used dropped."""

    def __init__(self, version: Any, max_entries: int) -> None:
        self.version = version
        self.max_entries = max_entries
        self.entries: OrderedDict[Hashable, SearchPage] = OrderedDict()

    def get(self, key: Hashable) -> SearchPage | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def keep(self, key: Hashable, found: SearchPage) -> None:
        self.entries[key] = found
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


class RankedWindows:
    """Search results kept while the catalog is unchanged, as Solr's queryResultCache keeps a query's first
    results: a common word over a large catalog costs its whole ranking and count (about 100 ms for 40,000
    matches at 100,000 resources), and the first GROUP_WINDOW results serve the first pages of every caller and
    every page size. Kept per data version (govdata_shared.pages: any writer's change is seen at the next
    search), for reading sessions only (Database.reading), the version read before the search's own queries."""

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries  # a window is at most GROUP_WINDOW ids: about 16 KB
        self._by_db: weakref.WeakKeyDictionary[Database, _Windows] = weakref.WeakKeyDictionary()

    async def store(self, session: AsyncSession) -> _Windows | None:
        db = session.info.get(DATABASE)
        if db is None:
            return None
        version = await data_version(session)
        windows = self._by_db.get(db)
        if windows is None or windows.version != version:
            windows = self._by_db[db] = _Windows(version, self.max_entries)
        return windows

    def clear(self) -> None:
        self._by_db.clear()


WINDOWS = RankedWindows()


async def _browse(
    session: AsyncSession, is_postgres: bool, filters: dict[str, str | None], page: int, size: int
) -> SearchPage:
    sql = _Sql(is_postgres)
    where = " AND ".join(sql.filters(filters)) or "1 = 1"
    rows = (
        await session.execute(
            sa.text(
                f"SELECT s.resource_id FROM resource_search s WHERE {where} "
                f"ORDER BY s.updated_at DESC, s.resource_id LIMIT {int(size)} OFFSET {int((page - 1) * size)}"
            ),
            sql.params,
        )
    ).all()
    total = (
        await session.execute(sa.text(f"SELECT count(*) FROM resource_search s WHERE {where}"), sql.params)
    ).scalar_one()
    return SearchPage(ids=[r[0] for r in rows], total=int(total))


async def _name_matches_page(
    session: AsyncSession, parsed: ParsedQuery, filters: dict[str, str | None], page: int, size: int
) -> SearchPage | None:
    """The page when it lies wholly among resources with every word in their name, else None (Postgres).

    Those resources have the top score, so `_match` would order them first by (name length, newest, id): the
    small name index finds them, and the total is a plain count — no per-match weighing and sorting, which is
    most of the time of a common word over a large catalog. Same results as `_match`.
    """
    sql = _Sql(True)
    tsquery = sql.bind(pg_tsquery(parsed.words))
    where = sql.filters(filters, words=True)
    in_name = ["(" + " OR ".join(sql.contains("s.name_norm", a) for a in w.alternatives) + ")" for w in parsed.words]
    wanted = page * size
    rows = (
        await session.execute(
            sa.text(
                f"SELECT s.resource_id, s.name_norm FROM resource_search s "
                f"WHERE {' AND '.join([f'{PG_NAME_TOKENS} @@ CAST({tsquery} AS tsquery)', *where, *in_name])} "
                f"ORDER BY s.name_len, s.updated_at DESC, s.resource_id LIMIT {int(wanted)}"
            ),
            sql.params,
        )
    ).all()
    if len(rows) < wanted:
        return None
    # Only words longer than a bigram need confirming as substrings; shorter ones the index matched exactly.
    confirm = [
        "(" + " OR ".join(sql.contains(f"s.{column}", a) for a in w.alternatives for column in _FIELDS) + ")"
        for w in parsed.words
        if any(_is_cjk(a) and len(a) > 2 for a in w.alternatives)
    ]
    total = (
        await session.execute(
            sa.text(
                f"SELECT count(*) FROM resource_search s "
                f"WHERE {' AND '.join([f'{PG_TOKENS} @@ CAST({tsquery} AS tsquery)', *where, *confirm])}"
            ),
            sql.params,
        )
    ).scalar_one()
    page_rows = rows[(page - 1) * size :]
    return SearchPage(ids=[r[0] for r in page_rows], total=int(total), names=[r[1] for r in page_rows])


async def _match(
    session: AsyncSession,
    is_postgres: bool,
    parsed: ParsedQuery,
    filters: dict[str, str | None],
    page: int,
    size: int,
    *,
    any_word: bool,
) -> SearchPage:
    sql = _Sql(is_postgres)
    if is_postgres:
        candidates = f"{PG_TOKENS} @@ CAST({sql.bind(pg_tsquery(parsed.words, any_word=any_word))} AS tsquery)"
    else:
        candidates = (
            "s.rid IN (SELECT rowid FROM resource_search_fts WHERE resource_search_fts MATCH "
            f"{sql.bind(fts5_query(parsed.words, any_word=any_word))})"
        )
    weights = [sql.word_weight(w) for w in parsed.words]
    columns = ", ".join(f"{w} AS w{i}" for i, w in enumerate(weights))
    where = " AND ".join([candidates, *sql.filters(filters, words=True)])
    names = [f"w{i}" for i in range(len(weights))]
    # `keep` also confirms substrings: Postgres candidates of long words only "have the tiling bigrams".
    if any_word:
        keep = " OR ".join(f"{n} > 0" for n in names)
        score = " + ".join(f"(CASE WHEN {n} > 0 THEN 100 ELSE 0 END) + {n}" for n in names)
    else:
        keep = " AND ".join(f"{n} > 0" for n in names)
        score = " + ".join(names)
    order = f"{score} DESC, name_len, updated_at DESC, resource_id"
    if parsed.exact_code:
        order = f"CASE WHEN code = {sql.bind(parsed.exact_code)} THEN 0 ELSE 1 END, " + order
    # MATERIALIZED: weigh each candidate once, and count and sort narrow rows (not the wide indexed ones).
    statement = (
        f"WITH m AS MATERIALIZED (SELECT s.resource_id, s.code, s.name_norm, s.name_len, s.updated_at, {columns} "
        f"FROM resource_search s WHERE {where}) "
        f"SELECT resource_id, (SELECT count(*) FROM m WHERE {keep}) AS total, name_norm FROM m WHERE {keep} "
        f"ORDER BY {order} LIMIT {int(size)} OFFSET {int((page - 1) * size)}"
    )
    rows = (await session.execute(sa.text(statement), sql.params)).all()
    if rows:
        return SearchPage([r[0] for r in rows], int(rows[0][1]), any_word, names=[r[2] for r in rows])
    if page == 1:
        return SearchPage(ids=[], total=0, any_word=any_word)
    # Past the last page: no row to read the total from.
    count = f"SELECT count(*) FROM (SELECT {columns} FROM resource_search s WHERE {where}) m WHERE {keep}"
    total = (await session.execute(sa.text(count), sql.params)).scalar_one()
    return SearchPage(ids=[], total=int(total), any_word=any_word)
