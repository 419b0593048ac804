"""第三十八条 考核评价: every department's yearly scores over 汇聚、共享、应用、安全, from the supervision figures of
the log (`reports.year_tally`) and a versioned configuration of indicators and weights (`scoring`); the bureau's
改进意见 per department; and the publication of a year's results (第三十七条: 评估结果和改进意见向社会公布).

- The configuration in force is the latest version; the bureau changes it by writing a new one (never by editing a
  stored one), so an evaluation names the version it used and can be computed again with it.
- An evaluation is computed from the log when asked, until the bureau publishes the year: then the results as
  published are stored and answer every later request (unless another configuration version is asked for), and the
  year's 改进意见 can no longer change.
- Every configuration change, 改进意见 and publication is a record of the hash chain (`audit.evaluation.*`).
- The public view (no sign-in) holds only department names, scores, ranks, dimension scores and the 改进意见 —
  published by 第三十七条 together with the results, identifiers masked — never who wrote or published anything.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from govdata_shared.auth import Caller
from govdata_shared.errors import Problem, validation_problem
from govdata_shared.events import Event
from govdata_shared.identifiers import mask_identifiers_in_text
from govdata_shared.workdays import today_in_shanghai
from sqlalchemy.ext.asyncio import AsyncSession

from audit_svc import access, reports, scoring, supervision, work_reports
from audit_svc.chain import append_events
from audit_svc.models import evaluation_config, evaluation_opinion, evaluation_publication

ARTICLE = scoring.ARTICLE
PUBLICATION_ARTICLE = "第三十七条"
CONFIG_CHANGED = "audit.evaluation.config_changed"
OPINION_SET = "audit.evaluation.opinion_set"
PUBLISHED = "audit.evaluation.published"
SOURCE = "/govdata/audit-svc"


def _utc(moment: datetime | None) -> datetime | None:
    """Stored times come back in UTC; a row just written holds the clock's own zone: answer in UTC either way."""
    return moment.astimezone(UTC) if moment is not None else None


def _trail(kind: str, subject: str, data: dict[str, Any], caller: Caller, now: datetime, dept: str | None) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        source=SOURCE,
        type=kind,
        subject=subject,
        time=now,
        data=data,
        actor=caller.sub,
        dept=dept,
        version=1,
    )


def _sha256(content: bytes | str) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


# ---------------------------------------------------------------------------------------------- configuration


def config_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "version": row["version"],
        "note": row["note"],
        "created_by": row["created_by"],
        "created_at": _utc(row["created_at"]),
        "config": orjson.loads(row["config"]),
    }


async def config_row(session: AsyncSession, version: int | None = None, *, field: str = "version") -> dict[str, Any]:
    """The configuration of `version`, or the one in force (the latest) when None."""
    query = sa.select(evaluation_config)
    if version is None:
        query = query.order_by(evaluation_config.c.version.desc()).limit(1)
    else:
        query = query.where(evaluation_config.c.version == version)
    row = (await session.execute(query)).mappings().first()
    if row is None:
        raise Problem(
            422,
            "unknown_config_version",
            f"没有第 {version} 版评价配置",
            field=field,
            rule="unknown_version",
        )
    return dict(row)


async def config(session: AsyncSession, version: int | None) -> dict[str, Any]:
    """A configuration version (default: the one in force) with the list of every version, newest first, and the
    supervision figures an indicator may read."""
    row = await config_row(session, version)
    versions = (
        await session.execute(
            sa.select(
                evaluation_config.c.version,
                evaluation_config.c.note,
                evaluation_config.c.created_by,
                evaluation_config.c.created_at,
            ).order_by(evaluation_config.c.version.desc())
        )
    ).mappings()
    listed = [{**dict(v), "created_at": _utc(v["created_at"])} for v in versions]
    return {
        **config_view(row),
        "in_force": row["version"] == listed[0]["version"],
        "method": scoring.method(orjson.loads(row["config"])),
        "versions": listed,
        "figures": [{"code": f.code, "label": f.label, "article": f.article} for f in supervision.FIGURES],
    }


async def change_config(
    session: AsyncSession, caller: Caller, *, body: Mapping[str, Any], note: str | None, now: datetime
) -> dict[str, Any]:
    """A new version of the configuration (the bureau's): checked (422 naming the field and rule), stored as the
    next version, and recorded in the chain with its content."""
    errors = scoring.validate(body)
    if errors:
        raise validation_problem(errors)
    content = scoring.normalised(body)
    latest = await config_row(session)
    row = {
        "version": latest["version"] + 1,
        "config": orjson.dumps(content).decode(),
        "note": note,
        "created_by": caller.sub,
        "created_at": now,
    }
    await session.execute(evaluation_config.insert().values(**row))
    data = {
        "version": row["version"],
        "previous_version": latest["version"],
        "article": ARTICLE,
        "note": note,
        "config": content,
        "config_sha256": _sha256(row["config"]),
    }
    await append_events(
        session, [_trail(CONFIG_CHANGED, f"evaluation-config:{row['version']}", data, caller, now, None)], now
    )
    return config_view(row)


# ---------------------------------------------------------------------------------------------- 改进意见


def opinion_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"text": row["text"], "updated_by": row["updated_by"], "updated_at": _utc(row["updated_at"])}


async def _opinions(session: AsyncSession, year: int) -> dict[str, dict[str, Any]]:
    rows = (await session.execute(sa.select(evaluation_opinion).where(evaluation_opinion.c.year == year))).mappings()
    return {row["dept"]: opinion_view(row) for row in rows}


async def _publication(session: AsyncSession, year: int) -> dict[str, Any] | None:
    row = (
        (await session.execute(sa.select(evaluation_publication).where(evaluation_publication.c.year == year)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _already_published(year: int) -> Problem:
    return Problem(
        409,
        "evaluation_published",
        f"{year} 年度评价结果已向社会公布，结果和改进意见不能再更改（{PUBLICATION_ARTICLE}）",
        field="year",
        rule="not_published",
    )


async def set_opinion(
    session: AsyncSession, caller: Caller, *, year: int, dept: str, text: str, now: datetime
) -> dict[str, Any]:
    """The bureau's 改进意见 to `dept` on `year`, new or replacing the earlier one, until the year is published."""
    if await _publication(session, year) is not None:
        raise _already_published(year)
    found = (
        (
            await session.execute(
                sa.select(evaluation_opinion)
                .where(evaluation_opinion.c.year == year, evaluation_opinion.c.dept == dept)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    row = {"year": year, "dept": dept, "text": text, "updated_by": caller.sub, "updated_at": now}
    if found is None:
        row["version"] = 1
        await session.execute(evaluation_opinion.insert().values(**row))
    else:
        row["version"] = found["version"] + 1
        await session.execute(
            evaluation_opinion.update()
            .where(evaluation_opinion.c.year == year, evaluation_opinion.c.dept == dept)
            .values(**row)
        )
    data = {
        "year": year,
        "dept": dept,
        "article": PUBLICATION_ARTICLE,
        "version": row["version"],
        "text_sha256": _sha256(text),
    }
    await append_events(session, [_trail(OPINION_SET, f"evaluation:{year}:{dept}", data, caller, now, dept)], now)
    return {"year": year, "dept": dept, **opinion_view(row)}


# ---------------------------------------------------------------------------------------------- the evaluation


async def compute(session: AsyncSession, *, year: int, config: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Every department of the year (the annual report's: the registry's and any a record names), scored with
    `config` (a stored version), ranked, each with its 改进意见."""
    content = orjson.loads(config["config"])
    tally = await reports.year_tally(session, year)
    departments, registry = await reports.year_departments(
        session, year, tally, await work_reports.standings(session, year)
    )
    opinions = await _opinions(session, year)
    zero = supervision.zero_figures()
    rows = [
        {
            "dept": dept,
            "name": registry.get(dept),
            **scoring.evaluate(content, tally.get(dept, zero)),
            "opinion": opinions.get(dept),
        }
        for dept in departments
    ]
    return {
        "year": year,
        "article": ARTICLE,
        "period": supervision.report_period(year),
        "generated_at": now,
        "status": "draft",
        "published_at": None,
        "published_by": None,
        "config": {k: v for k, v in config_view(config).items() if k != "config"},
        "method": scoring.method(content),
        "departments": scoring.rank(rows),
    }


def _for(caller: Caller, evaluation: dict[str, Any]) -> dict[str, Any]:
    """The evaluation as `caller` may read it: whole for the overseers, a department's own row for its staff (its
    rank among all stays as it is)."""
    own = access.evaluation_scope(caller)
    if own is None:
        return evaluation
    return {**evaluation, "departments": [row for row in evaluation["departments"] if row["dept"] == own]}


async def evaluation(
    session: AsyncSession, caller: Caller, *, year: int | None, config_version: int | None, now: datetime
) -> dict[str, Any]:
    """The evaluation of `year` (default: the previous year): as published when it is, else computed now with the
    configuration in force or the version asked for."""
    year = supervision.report_year(year, now)
    published = await _publication(session, year)
    if published is not None and config_version in (None, published["config_version"]):
        return _for(caller, orjson.loads(published["snapshot"]))
    config = await config_row(session, config_version, field="config_version")
    return _for(caller, await compute(session, year=year, config=config, now=now))


async def publish(session: AsyncSession, caller: Caller, *, year: int, now: datetime) -> dict[str, Any]:
    """第三十七条: the year's results and 改进意见, computed now with the configuration in force, stored as published
    and readable by anyone from then on; once per year (409 after), only for a year that is over (422)."""
    if year >= today_in_shanghai(now).year:
        raise Problem(
            422,
            "year_not_over",
            f"{year} 年度尚未结束，评价结果只能在年度结束后公布",
            field="year",
            rule="year_not_over",
        )
    if await _publication(session, year) is not None:
        raise _already_published(year)
    config = await config_row(session)
    results = await compute(session, year=year, config=config, now=now)
    results.update(status="published", published_at=now, published_by=caller.sub)
    snapshot = orjson.dumps(results)
    digest = _sha256(snapshot)
    await session.execute(
        evaluation_publication.insert().values(
            year=year,
            config_version=config["version"],
            snapshot=snapshot.decode(),
            snapshot_sha256=digest,
            published_by=caller.sub,
            published_at=now,
        )
    )
    data = {
        "year": year,
        "article": PUBLICATION_ARTICLE,
        "config_version": config["version"],
        "departments": len(results["departments"]),
        "snapshot_sha256": digest,
    }
    await append_events(session, [_trail(PUBLISHED, f"evaluation:{year}", data, caller, now, None)], now)
    return orjson.loads(snapshot)


# ---------------------------------------------------------------------------------------------- the public view


def public_view(published: Mapping[str, Any], years: list[int]) -> dict[str, Any]:
    """What anyone may read of a published year: names, totals, ranks, dimension scores, the method and the 改进意见
    (identifiers masked) — no person: neither who published nor who wrote an opinion."""
    return {
        "year": published["year"],
        "article": ARTICLE,
        "publication_article": PUBLICATION_ARTICLE,
        "period": published["period"],
        "published_at": published["published_at"],
        "config_version": published["config"]["version"],
        "method": published["method"],
        "departments": [
            {
                "rank": row["rank"],
                "dept": row["dept"],
                "name": row["name"],
                "total": row["total"],
                "dimensions": {code: d["score"] for code, d in row["dimensions"].items()},
                "opinion": mask_identifiers_in_text(row["opinion"]["text"]) if row.get("opinion") else None,
            }
            for row in published["departments"]
        ],
        "published_years": years,
    }


async def public_evaluation(session: AsyncSession, *, year: int | None) -> dict[str, Any]:
    """The published results of `year` (default: the latest published year); 404 when it is not published."""
    years = list(
        (
            await session.execute(
                sa.select(evaluation_publication.c.year).order_by(evaluation_publication.c.year.desc())
            )
        ).scalars()
    )
    chosen = year if year is not None else (years[0] if years else None)
    published = await _publication(session, chosen) if chosen is not None else None
    if published is None:
        shown = f"{chosen} 年度" if chosen is not None else "任何年度"
        raise Problem(404, "evaluation_not_published", f"{shown}的评价结果尚未公布")
    return public_view(orjson.loads(published["snapshot"]), years)
