"""Supervision figures of 第六章 (第三十七–四十一条), computed from audit records as plain functions.

Per department and calendar year (Asia/Shanghai, by event time). Each figure counts what the events show and
names the article it serves. Which department a figure belongs to comes from the event's data, not its
envelope: catalog figures go to the provider department, share decisions to the deciding department
(`decided_by_dept`), overdue share requests to the department that had to act (`responsible_dept`),
corrections to the provider of the data, grants and data calls to the holder department. Catalog reviews, on
time or late, are counted for the reviewing department (the bureau, `reviewed_by_dept`), not for the provider
whose submission waited.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from govdata_shared.contracts.access import ACCESS_USAGE, OUTSIDE_GRANT_REASONS
from govdata_shared.contracts.catalog import (
    REFRESH_OVERDUE,
    RESOURCE_PUBLISHED,
    RESOURCE_REFRESHED,
    RESOURCE_REJECTED,
    RESOURCE_RETIRED,
    RESOURCE_SUBMITTED,
    RESPONSIBILITY_ASSIGNED,
    RESPONSIBILITY_WITHDRAWN,
    UPDATE_OVERDUE,
    UPDATE_TRIGGER_RECORDED,
)
from govdata_shared.contracts.sharing import (
    GRANT_EVENTS,
    GRANT_USED,
    REQUEST_APPROVED,
    REQUEST_OVERDUE,
    REQUEST_REJECTED,
    REQUEST_SUBMITTED,
)
from govdata_shared.contracts.verification import REQUEST_EXTENDED as CORRECTION_EXTENDED
from govdata_shared.contracts.verification import REQUEST_OVERDUE as CORRECTION_OVERDUE
from govdata_shared.contracts.verification import REQUEST_RESOLVED as CORRECTION_RESOLVED
from govdata_shared.contracts.verification import REQUEST_SUBMITTED as CORRECTION_SUBMITTED
from govdata_shared.workdays import today_in_shanghai

SHANGHAI = ZoneInfo("Asia/Shanghai")

GRANT_STATE_EVENTS = tuple(t for t in GRANT_EVENTS if t != GRANT_USED)
USAGE_EVENTS = (ACCESS_USAGE, GRANT_USED)
IN_FORCE = frozenset({"active", "suspended"})
# 第十三条: the 责任清单 entries and the catalog's state (published or retired resources), read up to the year's end.
RESPONSIBILITY_STATE_EVENTS = (RESPONSIBILITY_ASSIGNED, RESPONSIBILITY_WITHDRAWN, RESOURCE_PUBLISHED, RESOURCE_RETIRED)
# What became of a call that reached the provider's system and failed there: the provider's service, not the holder's
# conduct nor the gateway's (access contract CALL_OUTCOMES).
SERVED = "ok"
PROVIDER_FAILURES = ("upstream_error", "upstream_unavailable", "upstream_timeout", "unfilterable_response")


@dataclass(frozen=True)
class Figure:
    code: str
    label: str  # Chinese, for the report and the CSV header
    article: str


FIGURES: tuple[Figure, ...] = (
    Figure("catalog_submissions", "提交审核的目录（次）", "第十二条"),
    Figure("resources_registered", "新登记发布的目录资源", "第十二条"),
    Figure("resources_published", "审核通过发布的目录（含修订）", "第十四条"),
    Figure("catalog_reviews_on_time", "目录审核按时（5个工作日内）", "第十四条第二款"),
    Figure("catalog_reviews_late", "目录审核超时", "第十四条第二款"),
    Figure("catalog_update_triggers", "需更新目录的事由（法规修改或职能变更）", "第十四条第一款"),
    Figure("catalog_updates_late", "目录更新申请逾期（超过10个工作日）", "第十四条第一款"),
    Figure("responsibilities_assigned", "年内下达的责任清单条目", "第十三条"),
    Figure("responsibilities_withdrawn", "年内撤销的责任清单条目", "第十三条"),
    Figure("responsibilities_in_force", "年末在册的责任清单条目", "第十三条"),
    Figure("responsibilities_met", "年末已落实的责任清单条目（本部门有该代码的已发布目录）", "第十三条"),
    Figure("data_refreshes", "数据更新报告", "第十八条"),
    Figure("data_refreshes_on_time", "数据按时更新", "第十八条"),
    Figure("data_refreshes_late", "数据更新晚于更新周期", "第十八条"),
    Figure("share_requests_made", "提出的共享申请", "第二十九条"),
    Figure("share_requests_received", "收到的共享申请（作为提供方）", "第二十九条"),
    Figure("share_decisions_on_time", "共享审批按时", "第二十九条"),
    Figure("share_decisions_late", "共享审批超时", "第二十九条"),
    Figure("share_requests_overdue", "共享审批逾期未办", "第二十九条"),
    Figure("share_deadlines_missed", "共享审批超期的环节（逾期未办或超时审批，各计一次）", "第二十九条"),
    Figure("corrections_received", "收到的数据校核申请", "第十九条"),
    Figure("corrections_on_time", "校核按时完成", "第十九条第二款"),
    Figure("corrections_late", "校核超时完成", "第十九条第二款"),
    Figure("corrections_overdue", "校核逾期未办", "第十九条第二款"),
    Figure("corrections_extended", "经主要负责人同意延长校核期限", "第十九条第二款"),
    Figure("grants_held", "持有的数据接口授权", "第二十九条"),
    Figure("grants_used", "年内使用过的授权", "第二十九条"),
    Figure("grants_suspended", "年末处于暂停状态的授权", "第二十九条"),
    Figure("data_calls_served", "作为提供方成功响应的数据调用", "第二十九条"),
    Figure("data_calls_failed", "因提供方系统原因失败的数据调用", "第二十九条"),
    Figure("data_calls_denied", "被拒绝的数据调用", "第二十九条"),
    Figure("violations_late_catalog_updates", "违规：超过规定时间申请更新目录", "第四十一条第八项"),
    Figure("violations_late_corrections", "违规：超过规定时间校核数据", "第四十一条第八项"),
    Figure("violations_calls_outside_grant", "违规：超出授权范围获取数据（调用被拒绝）", "第四十一条第四项"),
)
FIGURE_CODES = tuple(f.code for f in FIGURES)

# Event types read record by record (low volume); usage and denials are aggregated by the database.
RECORD_EVENTS = (
    RESOURCE_SUBMITTED,
    RESOURCE_PUBLISHED,
    RESOURCE_REJECTED,
    UPDATE_TRIGGER_RECORDED,
    UPDATE_OVERDUE,
    RESOURCE_REFRESHED,
    REFRESH_OVERDUE,
    REQUEST_SUBMITTED,
    REQUEST_APPROVED,
    REQUEST_REJECTED,
    REQUEST_OVERDUE,
    CORRECTION_SUBMITTED,
    CORRECTION_EXTENDED,
    CORRECTION_RESOLVED,
    CORRECTION_OVERDUE,
)


def report_year(year: int | None, now: datetime) -> int:
    """The year a report covers: the one asked for, else the previous year in Shanghai — the report 第三十九条
    wants by the end of January."""
    return year if year is not None else today_in_shanghai(now).year - 1


def report_period(year: int) -> dict[str, str]:
    return {"from": f"{year}-01-01", "to": f"{year}-12-31", "timezone": "Asia/Shanghai"}


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The calendar year in Asia/Shanghai as a UTC half-open interval [start, end)."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    return start, end


Contribution = tuple[str | None, str, Any]  # (department, figure code, what is counted once)


def contributions(record: Mapping[str, Any]) -> Iterator[Contribution]:
    """What one record adds to which department's figures. The third element identifies the thing counted
    (a request, a trigger …) so repeated notices about it count once; plain events count themselves."""
    kind = record["type"]
    data = record.get("data") or {}
    once = ("seq", record["seq"])
    if kind == RESOURCE_SUBMITTED:
        yield data.get("provider_dept"), "catalog_submissions", once
    elif kind in (RESOURCE_PUBLISHED, RESOURCE_REJECTED):
        provider = data.get("provider_dept")
        if kind == RESOURCE_PUBLISHED:
            yield provider, "resources_published", once
            if data.get("revision") == 1:
                yield provider, "resources_registered", data.get("resource_id")
        on_time = data.get("reviewed_on_time")
        if on_time is not None:
            # 第十四条's five working days are the reviewer's to keep: counted for the bureau, never the provider.
            reviewer = data.get("reviewed_by_dept")
            yield reviewer, "catalog_reviews_on_time" if on_time else "catalog_reviews_late", once
    elif kind == UPDATE_TRIGGER_RECORDED:
        yield data.get("dept"), "catalog_update_triggers", data.get("trigger_id")
    elif kind == UPDATE_OVERDUE:
        # 第四十一条(八): applying to update the catalog after the 10 working days of 第十四条.
        yield data.get("dept"), "catalog_updates_late", data.get("trigger_id")
        yield data.get("dept"), "violations_late_catalog_updates", data.get("trigger_id")
    elif kind == RESOURCE_REFRESHED:
        yield data.get("provider_dept"), "data_refreshes", once
        if data.get("late") is False:
            yield data.get("provider_dept"), "data_refreshes_on_time", once
        if data.get("late"):
            # One missed due date is one lateness, whether the catalog announced it, the refresh came late, or both.
            missed = (data.get("resource_id"), data["due_by"]) if data.get("due_by") else once
            yield data.get("provider_dept"), "data_refreshes_late", missed
    elif kind == REFRESH_OVERDUE:
        # The catalog's own state (第十三、十八条): a department that never reports a refresh is late, not clean.
        yield data.get("provider_dept"), "data_refreshes_late", (data.get("resource_id"), data.get("due_by"))
    elif kind == REQUEST_SUBMITTED:
        yield data.get("requester_dept"), "share_requests_made", data.get("request_id")
        yield data.get("provider_dept"), "share_requests_received", data.get("request_id")
    elif kind in (REQUEST_APPROVED, REQUEST_REJECTED):
        on_time = data.get("on_time")
        if on_time is not None:
            code = "share_decisions_on_time" if on_time else "share_decisions_late"
            yield data.get("decided_by_dept"), code, (data.get("request_id"), data.get("stage"))
        if on_time is False:
            # A stage overdue and then decided late missed one deadline: counted once with its overdue notice.
            stage = (data.get("request_id"), data.get("stage"))
            yield data.get("decided_by_dept"), "share_deadlines_missed", stage
    elif kind == REQUEST_OVERDUE:
        stage = (data.get("request_id"), data.get("stage"))
        yield data.get("responsible_dept"), "share_requests_overdue", stage
        yield data.get("responsible_dept"), "share_deadlines_missed", stage
    elif kind == CORRECTION_SUBMITTED:
        yield data.get("provider_dept"), "corrections_received", data.get("request_id")
    elif kind == CORRECTION_EXTENDED:
        yield data.get("provider_dept"), "corrections_extended", data.get("request_id")
    elif kind == CORRECTION_RESOLVED:
        on_time = data.get("on_time")
        if on_time is not None:
            yield data.get("provider_dept"), "corrections_on_time" if on_time else "corrections_late", once
        if on_time is False:
            yield data.get("provider_dept"), "violations_late_corrections", data.get("request_id")
    elif kind == CORRECTION_OVERDUE:
        # 第四十一条(八): correcting data after the 10 (+10 extended) working days of 第十九条.
        yield data.get("provider_dept"), "corrections_overdue", data.get("request_id")
        yield data.get("provider_dept"), "violations_late_corrections", data.get("request_id")


Tally = dict[str | None, dict[str, int]]


def tally_records(records: Iterable[Mapping[str, Any]]) -> Tally:
    counted: dict[str | None, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for record in records:
        for dept, code, key in contributions(record):
            counted[dept][code].add(key)
    return {dept: {code: len(keys) for code, keys in codes.items()} for dept, codes in counted.items()}


def tally_grants(grant_records: Iterable[Mapping[str, Any]], year_start: str, used_grant_ids: set[str]) -> Tally:
    """Grants from the grant.* records up to the end of the year, in log order (latest state wins).

    held: in force (active or suspended) at some time in the year; suspended: suspended at the end of the year;
    used: held and called (access.usage or sharing.grant.used) in the year.
    """
    holder: dict[str, str | None] = {}
    at_start: dict[str, str] = {}
    latest: dict[str, str] = {}
    in_force_in_year: set[str] = set()
    for record in grant_records:
        data = record.get("data") or {}
        grant_id = data.get("grant_id")
        if grant_id is None:
            continue
        holder[grant_id] = data.get("holder_dept")
        status = data.get("status")
        latest[grant_id] = status
        if record["time"] < year_start:
            at_start[grant_id] = status
        elif status in IN_FORCE:
            in_force_in_year.add(grant_id)
    held = {g for g in latest if at_start.get(g) in IN_FORCE or g in in_force_in_year}
    out: Tally = defaultdict(lambda: defaultdict(int))
    for grant_id in held:
        figures = out[holder[grant_id]]
        figures["grants_held"] += 1
        if grant_id in used_grant_ids:
            figures["grants_used"] += 1
        if latest[grant_id] == "suspended":
            figures["grants_suspended"] += 1
    return {dept: dict(codes) for dept, codes in out.items()}


def tally_responsibilities(records: Iterable[Mapping[str, Any]], year_start: str) -> Tally:
    """第十三条 责任清单 from the entries' and the catalog's records up to the end of the year, in log order.

    assigned / withdrawn: entries assigned or withdrawn in the year; in_force: entries assigned and not withdrawn
    when the year ends; met: of those, the ones whose department has a resource of the entry's catalog code that is
    published (not retired) when the year ends — the catalog's word, never the department's. Whether its data is
    refreshed on time is `data_refreshes_late`'s to say.
    """
    entries: dict[str, tuple[str | None, str | None, bool]] = {}  # entry id → (dept, code, withdrawn)
    resources: dict[str, tuple[str | None, str | None, bool]] = {}  # resource id → (dept, code, published)
    out: Tally = defaultdict(lambda: defaultdict(int))
    for record in records:
        kind = record["type"]
        data = record.get("data") or {}
        in_year = record["time"] >= year_start
        if kind in (RESPONSIBILITY_ASSIGNED, RESPONSIBILITY_WITHDRAWN):
            entry_id, dept = data.get("entry_id"), data.get("dept")
            if entry_id is None:
                continue
            withdrawn = kind == RESPONSIBILITY_WITHDRAWN
            entries[entry_id] = (dept, data.get("resource_code"), withdrawn)
            if in_year:
                out[dept]["responsibilities_withdrawn" if withdrawn else "responsibilities_assigned"] += 1
        elif data.get("resource_id") is not None:
            published = kind == RESOURCE_PUBLISHED
            resources[data["resource_id"]] = (data.get("provider_dept"), data.get("code"), published)
    catalogued = {(dept, code) for dept, code, published in resources.values() if published and code}
    for dept, code, withdrawn in entries.values():
        if withdrawn:
            continue
        out[dept]["responsibilities_in_force"] += 1
        if (dept, code) in catalogued:
            out[dept]["responsibilities_met"] += 1
    return {dept: dict(codes) for dept, codes in out.items()}


def tally_service(rows: Iterable[tuple[str | None, str | None, int]]) -> Tally:
    """Data calls by provider department and outcome: served (`ok`), or failed in the provider's own system."""
    out: Tally = defaultdict(lambda: defaultdict(int))
    for provider_dept, outcome, count in rows:
        if outcome == SERVED:
            out[provider_dept]["data_calls_served"] += count
        elif outcome in PROVIDER_FAILURES:
            out[provider_dept]["data_calls_failed"] += count
    return {dept: dict(codes) for dept, codes in out.items()}


# A grant token stays valid for up to GOVDATA_GRANT_TOKEN_TTL_SECONDS (300) after it was issued, so a system calls
# with it for a few minutes after its grant is suspended or ended before it can know: a refusal then is the rule
# working, not an attempt to get data outside the grant.
CHANGE_GRACE = timedelta(minutes=5)


def excused_refusals(
    refusals: Iterable[tuple[str | None, str | None, datetime]], changes: Mapping[str, Sequence[datetime]]
) -> dict[str | None, int]:
    """Per holder department, the `grant_not_active` refusals `(grant_id, holder_dept, time)` that came within
    CHANGE_GRACE of their grant's latest status change before them (`changes`: grant id → change times)."""
    out: dict[str | None, int] = defaultdict(int)
    for grant_id, holder_dept, moment in refusals:
        before = [t for t in changes.get(grant_id or "", ()) if t <= moment]
        if before and moment - max(before) <= CHANGE_GRACE:
            out[holder_dept] += 1
    return dict(out)


def tally_denials(
    rows: Iterable[tuple[str | None, str | None, int]], excused: Mapping[str | None, int] | None = None
) -> Tally:
    """Denied data calls by holder department and reason; those of OUTSIDE_GRANT_REASONS are 第四十一条(四)
    attempts: a valid grant token used for another resource, path, period, or a grant no longer active — less the
    `excused` ones, made with a token issued before the grant changed (`excused_refusals`)."""
    out: Tally = defaultdict(lambda: defaultdict(int))
    for holder_dept, reason, count in rows:
        out[holder_dept]["data_calls_denied"] += count
        if reason in OUTSIDE_GRANT_REASONS:
            out[holder_dept]["violations_calls_outside_grant"] += count
    for holder_dept, count in (excused or {}).items():
        figures = out[holder_dept]
        figures["violations_calls_outside_grant"] = max(0, figures["violations_calls_outside_grant"] - count)
    return {dept: dict(codes) for dept, codes in out.items()}


def merge(*tallies: Tally) -> Tally:
    merged: Tally = defaultdict(lambda: dict.fromkeys(FIGURE_CODES, 0))
    for tally in tallies:
        for dept, codes in tally.items():
            for code, value in codes.items():
                merged[dept][code] += value
    return dict(merged)


def zero_figures() -> dict[str, int]:
    return dict.fromkeys(FIGURE_CODES, 0)


def figures_view(values: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Each figure with its label and article, in the order of FIGURES."""
    return {f.code: {"value": values.get(f.code, 0), "label": f.label, "article": f.article} for f in FIGURES}


def totals(tally: Tally) -> dict[str, int]:
    summed = zero_figures()
    for codes in tally.values():
        for code, value in codes.items():
            summed[code] += value
    return summed


WORK_REPORT_WORDS = {"on_time": "按时", "late": "逾期", "missing": "未提交"}


def annual_csv(
    year: int, rows: Iterable[tuple[str, Mapping[str, int]]], *, work_reports: Mapping[str, str] | None = None
) -> bytes:
    """第三十九条 annual report as CSV: a header row, one row per department, UTF-8 with a BOM for Excel; with
    `work_reports` (department → on_time / late / missing) a last column says whether its work report came in time,
    and the totals row how many did."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["年度", "部门", *(f"{f.label}（{f.article}）" for f in FIGURES)]
    if work_reports is not None:
        header.append("年度工作报告（第三十九条）")
    writer.writerow(header)
    for dept, values in rows:
        row = [year, dept, *(values.get(code, 0) for code in FIGURE_CODES)]
        if work_reports is not None:
            if dept in work_reports:
                row.append(WORK_REPORT_WORDS.get(work_reports[dept], work_reports[dept]))
            else:
                counts = Counter(work_reports.values())
                row.append("，".join(f"{word} {counts[status]}" for status, word in WORK_REPORT_WORDS.items()))
        writer.writerow(row)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
