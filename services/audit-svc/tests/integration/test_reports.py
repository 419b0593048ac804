"""Supervision figures (第三十七–四十一条) from a known set of events, checked against figures worked out by hand.

Two departments — 县公安局 YC-GA and 县民政局 YC-MZ — plus the bureau YC-ZSJ deciding platform stages, over 2025
and 2026 (Asia/Shanghai). Every event below is one line; the expected figures follow from them.

The figures run on both backends: the year's bounds in Shanghai are compared with stored timestamps (SQLite keeps
them as text); refused calls are counted from the access records.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")
GA, MZ, BUREAU = "YC-GA", "YC-MZ", "YC-ZSJ"


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


def catalog(kind, day, resource, provider, **data):
    if "reviewed_on_time" in data:
        data["reviewed_by_dept"] = BUREAU  # the bureau reviews every submission (第十四条)
    return (f"catalog.{kind}", resource, at(day), {"resource_id": resource, "provider_dept": provider, **data})


def share(kind, day, request, requester, provider, **data):
    body = {"request_id": request, "requester_dept": requester, "provider_dept": provider, "resource_id": "res-x"}
    return (f"sharing.request.{kind}", request, at(day), {**body, **data})


def grant(kind, day, grant_id, holder, status):
    body = {"grant_id": grant_id, "holder_dept": holder, "provider_dept": "YC-X", "status": status}
    return (f"sharing.grant.{kind}", grant_id, at(day), body)


def usage(day, grant_id, holder):
    return ("access.usage", grant_id, at(day), {"grant_id": grant_id, "holder_dept": holder, "calls": 7})


def denied(day, reason, holder, grant_id="g-x", moment=None):
    """A refused data call: one access record in a batch of its own."""
    moment = moment or at(day)
    record = {
        "id": f"call-{grant_id}-{moment.isoformat()}-{reason}",
        "time": moment.isoformat(),
        "grant_id": grant_id,
        "holder_dept": holder,
        "resource_id": "res-x",
        "method": "GET",
        "path": "/data/res-x/persons",
        "status": 403,
        "outcome": reason,
    }
    return ("access.records", "gw-1", moment, {"gateway": "gw-1", "records": [record]})


def correction(kind, day, request, provider, moment=None, **data):
    body = {"request_id": request, "resource_id": "res-x", "provider_dept": provider}
    return (f"verification.request.{kind}", request, moment or at(day), {**body, **data})


EVENTS = [
    # --- 2025: catalog (第十二、十四、十八条) ---
    catalog("resource.submitted", "2025-03-03", "res-ga-1", GA, revision=1),  # 1
    catalog("resource.published", "2025-03-05", "res-ga-1", GA, revision=1, reviewed_on_time=True),  # 2
    catalog("resource.submitted", "2025-04-01", "res-ga-2", GA, revision=1),  # 3
    catalog("resource.rejected", "2025-04-15", "res-ga-2", GA, revision=1, reviewed_on_time=False),  # 4
    catalog("resource.submitted", "2025-05-06", "res-ga-2", GA, revision=1),  # 5
    catalog("resource.published", "2025-05-08", "res-ga-2", GA, revision=1, reviewed_on_time=True),  # 6
    catalog("resource.submitted", "2025-06-02", "res-mz-1", MZ, revision=1),  # 7
    catalog("resource.published", "2025-06-20", "res-mz-1", MZ, revision=1, reviewed_on_time=False),  # 8
    catalog("resource.submitted", "2025-09-01", "res-ga-1", GA, revision=2),  # 9
    catalog("resource.published", "2025-09-03", "res-ga-1", GA, revision=2, reviewed_on_time=True),  # 10
    ("catalog.update.recorded", "trig-mz-1", at("2025-07-01"), {"trigger_id": "trig-mz-1", "dept": MZ}),  # 11
    ("catalog.update.overdue", "trig-mz-1", at("2025-07-16"), {"trigger_id": "trig-mz-1", "dept": MZ}),  # 12
    ("catalog.update.overdue", "trig-mz-1", at("2025-07-17"), {"trigger_id": "trig-mz-1", "dept": MZ}),  # 13 again
    catalog("resource.refreshed", "2025-10-01", "res-ga-1", GA, late=False),  # 14
    catalog("resource.refreshed", "2025-12-01", "res-ga-1", GA, late=True),  # 15
    ("catalog.demand.recorded", "dem-1", at("2025-03-01"), {"demand_id": "dem-1", "dept": MZ}),  # counts nowhere
    # --- 2025: sharing (第二十九条) ---
    share("submitted", "2025-03-10", "req-1", MZ, GA),  # 16
    share("approved", "2025-03-12", "req-1", MZ, GA, stage="provider_review", decided_by_dept=GA, on_time=True),
    share("approved", "2025-03-14", "req-1", MZ, GA, stage="delivery", decided_by_dept=BUREAU, on_time=True),
    share("submitted", "2025-04-07", "req-2", GA, MZ),  # 19
    share("overdue", "2025-04-15", "req-2", GA, MZ, stage="provider_review", responsible_dept=MZ),  # 20
    share("rejected", "2025-04-20", "req-2", GA, MZ, stage="provider_review", decided_by_dept=MZ, on_time=False),
    share("submitted", "2025-11-03", "req-3", MZ, GA),  # 22
    share("approved", "2025-11-10", "req-3", MZ, GA, stage="platform_review", decided_by_dept=BUREAU, on_time=False),
    # --- grants, held by the requester (第二十九条) ---
    grant("created", "2024-06-01", "g-0", GA, "active"),  # 24: in force when 2025 begins
    grant("expired", "2025-02-01", "g-0", GA, "expired"),  # 25
    grant("created", "2025-03-14", "g-1", MZ, "active"),  # 26
    grant("suspended", "2025-08-01", "g-1", MZ, "suspended"),  # 27: still suspended at the end of 2025
    grant("created", "2025-11-10", "g-2", MZ, "active"),  # 28
    grant("resumed", "2026-01-05", "g-1", MZ, "active"),  # 29
    grant("terminated", "2026-02-01", "g-2", MZ, "terminated"),  # 30
    usage("2025-05-01", "g-1", MZ),  # 31
    usage("2025-06-01", "g-1", MZ),  # 32: the same grant again
    ("sharing.grant.used", "g-2", at("2025-12-01"), {"grant_id": "g-2", "holder_dept": MZ, "status": "active"}),
    usage("2026-01-20", "g-1", MZ),  # 34
    # --- denied data calls (第二十九条; 第四十一条第四项 when outside a grant) ---
    denied("2025-05-02", "wrong_resource", MZ),  # 35: outside the grant
    denied("2025-08-05", "grant_not_active", MZ),  # 36: outside the grant (suspended)
    denied("2025-06-01", "rate_limited", MZ),  # 37
    denied("2025-06-02", "invalid_token", None),  # 38: no department to name
    denied("2025-03-01", "outside_window", GA),  # 39: outside the grant
    # --- corrections (第十九条) ---
    correction("submitted", "2025-04-01", "cr-1", GA),  # 40
    correction("resolved", "2025-04-08", "cr-1", GA, on_time=True),  # 41
    correction("submitted", "2025-05-05", "cr-2", GA),  # 42
    correction("extended", "2025-05-15", "cr-2", GA),  # 43
    correction("overdue", "2025-06-05", "cr-2", GA),  # 44
    correction("resolved", "2025-06-10", "cr-2", GA, on_time=False),  # 45: late, one violation with 44
    correction("submitted", "2025-12-31", "cr-3", MZ, moment=at("2025-12-31", 23, 30)),  # 46
    correction("resolved", "2026-01-01", "cr-3", MZ, moment=at("2026-01-01", 0, 30), on_time=True),  # 47: 2026
    # --- 2026 ---
    catalog("resource.submitted", "2026-01-12", "res-mz-2", MZ, revision=1),  # 48
    catalog("resource.published", "2026-01-14", "res-mz-2", MZ, revision=1, reviewed_on_time=True),  # 49
    ("catalog.update.overdue", "trig-ga-1", at("2026-02-10"), {"trigger_id": "trig-ga-1", "dept": GA}),  # 50
    share("submitted", "2026-02-02", "req-4", GA, MZ),  # 51
    share("approved", "2026-02-04", "req-4", GA, MZ, stage="provider_review", decided_by_dept=MZ, on_time=True),
    correction("overdue", "2026-02-20", "cr-4", MZ),  # 53
]

ZERO = {
    "catalog_submissions": 0,
    "resources_registered": 0,
    "resources_published": 0,
    "catalog_reviews_on_time": 0,
    "catalog_reviews_late": 0,
    "catalog_update_triggers": 0,
    "catalog_updates_late": 0,
    "responsibilities_assigned": 0,
    "responsibilities_withdrawn": 0,
    "responsibilities_in_force": 0,
    "responsibilities_met": 0,
    "data_refreshes": 0,
    "data_refreshes_on_time": 0,
    "data_refreshes_late": 0,
    "share_requests_made": 0,
    "share_requests_received": 0,
    "share_decisions_on_time": 0,
    "share_decisions_late": 0,
    "share_requests_overdue": 0,
    "share_deadlines_missed": 0,
    "corrections_received": 0,
    "corrections_on_time": 0,
    "corrections_late": 0,
    "corrections_overdue": 0,
    "corrections_extended": 0,
    "grants_held": 0,
    "grants_used": 0,
    "grants_suspended": 0,
    "data_calls_served": 0,
    "data_calls_failed": 0,
    "data_calls_denied": 0,
    "violations_late_catalog_updates": 0,
    "violations_late_corrections": 0,
    "violations_calls_outside_grant": 0,
}

EXPECTED_2025 = {
    GA: {
        **ZERO,
        "catalog_submissions": 4,  # 1, 3, 5, 9
        "resources_registered": 2,  # res-ga-1, res-ga-2 first published
        "resources_published": 3,  # 2, 6, 10
        "data_refreshes": 2,  # 14, 15
        "data_refreshes_on_time": 1,  # 14
        "data_refreshes_late": 1,  # 15
        "share_requests_made": 1,  # req-2
        "share_requests_received": 2,  # req-1, req-3
        "share_decisions_on_time": 1,  # req-1 provider review
        "corrections_received": 2,  # cr-1, cr-2
        "corrections_on_time": 1,  # cr-1
        "corrections_late": 1,  # cr-2
        "corrections_overdue": 1,  # cr-2
        "corrections_extended": 1,  # cr-2
        "grants_held": 1,  # g-0, until it expired in February
        "data_calls_denied": 1,  # 39
        "violations_late_corrections": 1,  # cr-2 (overdue and resolved late: one request)
        "violations_calls_outside_grant": 1,  # 39
    },
    MZ: {
        **ZERO,
        "catalog_submissions": 1,  # 7
        "resources_registered": 1,  # res-mz-1
        "resources_published": 1,  # 8
        "catalog_update_triggers": 1,  # trig-mz-1
        "catalog_updates_late": 1,  # trig-mz-1, notified twice
        "share_requests_made": 2,  # req-1, req-3
        "share_requests_received": 1,  # req-2
        "share_decisions_late": 1,  # req-2 rejected late
        "share_requests_overdue": 1,  # req-2
        "share_deadlines_missed": 1,  # req-2's provider review: overdue, then decided late — one deadline
        "corrections_received": 1,  # cr-3 (resolved in 2026 by Shanghai time)
        "grants_held": 2,  # g-1, g-2
        "grants_used": 2,  # g-1 (two usage reports), g-2 (grant.used)
        "grants_suspended": 1,  # g-1
        "data_calls_denied": 3,  # 35, 36, 37
        "violations_late_catalog_updates": 1,  # trig-mz-1
        "violations_calls_outside_grant": 2,  # 35, 36
    },
    # Its own reviews (2, 4, 6, 8, 10), however long the providers waited; req-1 delivery, req-3.
    BUREAU: {
        **ZERO,
        "catalog_reviews_on_time": 3,
        "catalog_reviews_late": 2,
        "share_decisions_on_time": 1,
        "share_decisions_late": 1,
        "share_deadlines_missed": 1,  # req-3's platform review
    },
}
TOTALS_2025 = {code: sum(d[code] for d in EXPECTED_2025.values()) for code in ZERO} | {"data_calls_denied": 5}

EXPECTED_2026 = {
    GA: {**ZERO, "catalog_updates_late": 1, "violations_late_catalog_updates": 1, "share_requests_made": 1},
    MZ: {
        **ZERO,
        "catalog_submissions": 1,
        "resources_registered": 1,
        "resources_published": 1,
        "share_requests_received": 1,
        "share_decisions_on_time": 1,
        "corrections_on_time": 1,  # cr-3, 00:30 on 1 January in Shanghai
        "corrections_overdue": 1,  # cr-4
        "violations_late_corrections": 1,  # cr-4
        "grants_held": 2,  # g-1 (suspended, resumed), g-2 (until terminated)
        "grants_used": 1,  # g-1
    },
    BUREAU: {**ZERO, "catalog_reviews_on_time": 1},  # res-mz-2
}


def values(figures: dict) -> dict[str, int]:
    return {code: figure["value"] for code, figure in figures.items()}


@pytest.fixture
async def known(audit):
    await audit.append([audit.event(kind, subject, data, time=moment) for kind, subject, moment, data in EVENTS])
    return audit


@pytest.mark.backends("postgres", "sqlite")
async def test_department_figures_match_the_hand_count(known):
    for dept, expected in EXPECTED_2025.items():
        report = (await known.get(f"/reports/departments/{dept}", year=2025)).json()
        assert (report["dept"], report["year"]) == (dept, 2025)
        assert values(report["figures"]) == expected, dept
    for dept, expected in EXPECTED_2026.items():
        report = (await known.get(f"/reports/departments/{dept}", year=2026)).json()
        assert values(report["figures"]) == expected, dept


async def test_each_figure_names_its_article(known):
    figures = (await known.get(f"/reports/departments/{GA}", year=2025)).json()["figures"]
    assert figures["violations_calls_outside_grant"]["article"] == "第四十一条第四项"
    assert figures["violations_late_corrections"]["article"] == "第四十一条第八项"
    assert figures["violations_late_catalog_updates"]["article"] == "第四十一条第八项"
    assert figures["corrections_late"]["article"].startswith("第十九条")
    assert figures["share_decisions_on_time"]["article"] == "第二十九条"
    assert all(f["article"].startswith("第") and f["label"] for f in figures.values())


@pytest.mark.backends("postgres", "sqlite")
async def test_the_annual_report_lists_every_department_and_totals(known):
    report = (await known.get("/reports/annual", year=2025)).json()
    assert (report["year"], report["article"], report["due_by"]) == (2025, "第三十九条", "2026-01-31")
    assert [d["dept"] for d in report["departments"]] == [GA, MZ, BUREAU]
    for entry in report["departments"]:
        assert values(entry["figures"]) == EXPECTED_2025[entry["dept"]]
    assert values(report["totals"]) == TOTALS_2025  # the denial no department can be named for is in the total


async def test_the_annual_report_defaults_to_the_previous_year(known):
    # The clock stands at 2 March 2026: the report due by the end of January is the one for 2025.
    assert (await known.get("/reports/annual")).json()["year"] == 2025


async def test_the_annual_report_as_csv_opens_in_excel(known):
    response = await known.get("/reports/annual", year=2025, format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="audit-annual-2025.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["年度", "部门"]
    assert "违规：超出授权范围获取数据（调用被拒绝）（第四十一条第四项）" in header
    assert [r[1] for r in body] == [GA, MZ, BUREAU, "合计"]
    by_dept = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    assert by_dept[GA]["校核超时完成（第十九条第二款）"] == "1"
    assert by_dept[MZ]["年末处于暂停状态的授权（第二十九条）"] == "1"
    assert by_dept["合计"]["被拒绝的数据调用（第二十九条）"] == "5"
    assert all(len(r) == len(header) for r in body)


async def test_a_department_sees_only_its_own_report(known):
    assert (await known.get(f"/reports/departments/{GA}", "ga", year=2025)).status_code == 200
    assert (await known.get(f"/reports/departments/{GA}", "ga-head", year=2025)).status_code == 200
    refused = await known.get(f"/reports/departments/{GA}", "mz", year=2025)
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_department"
    citizen = await known.get(f"/reports/departments/{GA}", "citizen", year=2025)
    assert citizen.status_code == 403 and citizen.json()["code"] == "not_your_department"
    assert citizen.json()["dept"] == GA
    assert (await known.get(f"/reports/departments/{GA}", "bureau", year=2025)).status_code == 200
    assert (await known.get("/reports/annual", "ga", year=2025)).status_code == 403
    assert (await known.get("/reports/annual", "citizen", year=2025)).status_code == 403


def department(kind: str, day: str, code: str, name: str, disabled: bool = False):
    data = {"code": code, "name": name, "disabled": disabled}
    return (f"identity.department.{kind}", f"department:{code}", at(day), data)


async def test_the_annual_report_lists_every_registered_department_with_zeros_where_nothing_was_recorded(known):
    """第三十九条: a department that did nothing in the year is in the report, with zeros; one disabled before the
    year began, or registered after it ended, is not."""
    registry = [
        department("created", "2024-01-02", GA, "伊川县公安局"),
        department("created", "2024-01-02", MZ, "伊川县民政局"),
        department("created", "2024-01-02", BUREAU, "伊川县政务服务和大数据管理局"),
        department("created", "2024-01-02", "YC-TJ", "伊川县统计局"),  # nothing recorded in 2025
        department("created", "2024-01-02", "YC-OLD", "已撤并的部门"),
        department("disabled", "2024-12-20", "YC-OLD", "已撤并的部门", disabled=True),
        department("created", "2025-03-01", "YC-LATE", "年中设立后停用的部门"),
        department("disabled", "2025-09-01", "YC-LATE", "年中设立后停用的部门", disabled=True),
        department("created", "2026-02-01", "YC-NEW", "次年设立的部门"),
    ]
    await known.append([known.event(kind, subject, data, time=moment) for kind, subject, moment, data in registry])
    report = (await known.get("/reports/annual", year=2025)).json()
    listed = {d["dept"]: d for d in report["departments"]}
    assert list(listed) == sorted([GA, MZ, BUREAU, "YC-TJ", "YC-LATE"])
    assert listed["YC-TJ"]["name"] == "伊川县统计局"
    assert {code: v["value"] for code, v in listed["YC-TJ"]["figures"].items()} == ZERO
    assert listed[GA]["figures"]["corrections_late"]["value"] == 1  # the recorded figures are unchanged
    rows = list(csv.reader(io.StringIO((await known.get("/reports/annual", year=2025, format="csv")).text)))
    assert "YC-TJ" in [r[1] for r in rows[1:]]


async def test_a_refusal_minutes_after_a_suspension_is_no_violation_and_one_later_is(known):
    """A grant token stays valid for five minutes: a system refused two minutes after its grant was suspended
    (g-1, 10:00 on 1 August 2025) could not know; refused half an hour later, it kept trying (第四十一条(四))."""
    calls = [
        denied("2025-08-01", "grant_not_active", MZ, grant_id="g-1", moment=at("2025-08-01", 10, 2)),
        denied("2025-08-01", "grant_not_active", MZ, grant_id="g-1", moment=at("2025-08-01", 10, 30)),
    ]
    await known.append([known.event(kind, subject, data, time=moment) for kind, subject, moment, data in calls])
    figures = values((await known.get(f"/reports/departments/{MZ}", "mz", year=2025)).json()["figures"])
    assert figures["data_calls_denied"] == EXPECTED_2025[MZ]["data_calls_denied"] + 2  # both refused
    assert figures["violations_calls_outside_grant"] == EXPECTED_2025[MZ]["violations_calls_outside_grant"] + 1


async def test_a_department_that_never_reports_refreshes_is_late_and_one_missed_due_counts_once(known):
    """第十三、十八条: the catalog announces each missed refresh due date; YC-TJ never reported one and is late twice,
    not clean; YC-GA's late refresh of a due date the catalog had announced is one lateness, not two."""
    due_1, due_2, due_ga = "2025-04-03T02:00:00Z", "2025-05-04T02:00:00Z", "2025-09-30T02:00:00Z"
    overdue = [
        catalog("refresh.overdue", "2025-04-04", "res-tj-1", "YC-TJ", due_by=due_1, update_cycle="monthly"),
        catalog("refresh.overdue", "2025-04-05", "res-tj-1", "YC-TJ", due_by=due_1, update_cycle="monthly"),  # again
        catalog("refresh.overdue", "2025-05-05", "res-tj-1", "YC-TJ", due_by=due_2, update_cycle="monthly"),
        catalog("refresh.overdue", "2025-10-01", "res-ga-1", GA, due_by=due_ga, update_cycle="daily"),
        catalog("resource.refreshed", "2025-10-02", "res-ga-1", GA, late=True, due_by=due_ga),
    ]
    await known.append([known.event(kind, subject, data, time=moment) for kind, subject, moment, data in overdue])
    tj = values((await known.get("/reports/departments/YC-TJ", "auditor", year=2025)).json()["figures"])
    assert tj["data_refreshes_late"] == 2 and tj["data_refreshes"] == 0
    ga = values((await known.get(f"/reports/departments/{GA}", "ga", year=2025)).json()["figures"])
    assert ga["data_refreshes_late"] == EXPECTED_2025[GA]["data_refreshes_late"] + 1
    assert ga["data_refreshes"] == EXPECTED_2025[GA]["data_refreshes"] + 1
