"""第三十八条 考核评价 of 2025 over the year of events whose supervision figures test_reports.py counted by hand
(`known`, EXPECTED_2025), plus the responsibility list (第十三条) and the calls the providers served — scored with the
default configuration and checked against a table worked out by hand below; its versions, the bureau's 改进意见, the
publication (第三十七条) and who may read what.

Figures of 2025 the table uses (EXPECTED_2025 and the events below):

    YC-GA  submissions 4, published 3; refreshes on time 1, late 1; responsibilities in force 2, met 1;
           share decisions on time 1, missed 0; calls served 8, failed 2; grants held 1, used 0, suspended 0;
           corrections on time 1, late (violations) 1, received 2; calls outside a grant 1; no update triggers
    YC-MZ  submissions 1, published 1; triggers 1, late 1; responsibilities in force 1 (rsp-mz-2 withdrawn), met 0
           (res-mz-0 retired); decisions on time 0, missed 1; calls served 4, failed 0; grants held 2, used 2,
           suspended 1; corrections received 1, none resolved; calls outside a grant 2; late catalog updates 1
    YC-ZSJ share decisions on time 1, missed 1 (the platform stages it decides); nothing else

Default weights: 汇聚 35 (responsibility 40, approval 20, update 20, refresh 20), 共享 30 (decisions 60, calls 40),
应用 20 (grant use 50, corrections 50), 安全 15 (outside grant 40 at 10 points, late updates 20 at 20 points, late
corrections 20 at 20 points, grants not suspended 20). Not applicable: weight shared out within the dimension.

    YC-GA  汇聚 (40×50 + 20×75 + 20×50) / 80 = 56.25      共享 (60×100 + 40×80) / 100 = 92
           应用 (50×0 + 50×50) / 100 = 25                  安全 (40×90 + 20×80 + 20×100) / 80 = 90
           total (35×56.25 + 30×92 + 20×25 + 15×90) / 100 = 65.7875 → 65.79
    YC-MZ  汇聚 (40×0 + 20×100 + 20×0) / 80 = 25           共享 (60×0 + 40×100) / 100 = 40
           应用 (50×100) / 50 = 100                        安全 (40×80 + 20×80 + 20×100 + 20×50) / 100 = 78
           total (35×25 + 30×40 + 20×100 + 15×78) / 100 = 52.45
    YC-ZSJ 共享 (60×50) / 60 = 50, nothing else applicable → total 50
"""

from __future__ import annotations

import copy
import csv
import importlib
import io

import pytest
from audit_svc.scoring import DEFAULT_CONFIG
from govdata_shared.testing import Gate, check_authorization_first

# The known year of test_reports.py (its fixture `known` and its helpers), scored here.
reports = importlib.import_module("services.audit-svc.tests.integration.test_reports")
known = reports.known
GA, MZ, BUREAU, at = reports.GA, reports.MZ, reports.BUREAU, reports.at


def published(resource: str, dept: str, code: str, day: str):
    data = {"resource_id": resource, "provider_dept": dept, "code": code, "revision": 1, "status": "published"}
    return ("catalog.resource.published", resource, at(day), data)


def responsibility(kind: str, day: str, entry: str, dept: str, code: str):
    data = {"entry_id": entry, "dept": dept, "resource_code": code, "title": code, "update_cycle": "monthly"}
    return (f"catalog.responsibility.{kind}", entry, at(day), data)


def calls(provider: str, holder: str, outcomes: dict[str, int], day: str = "2025-07-01"):
    """Data calls by `holder` to `provider`'s interface, one access record each."""
    records = [
        {
            "id": f"call-{provider}-{outcome}-{n}",
            "time": at(day).isoformat(),
            "grant_id": "g-y",
            "holder_dept": holder,
            "provider_dept": provider,
            "resource_id": "res-y",
            "method": "GET",
            "path": "/data/res-y/records",
            "status": 200 if outcome == "ok" else 502,
            "outcome": outcome,
        }
        for outcome, count in outcomes.items()
        for n in range(count)
    ]
    return ("access.records", "gw-1", at(day), {"gateway": "gw-1", "records": records})


EXTRA = [
    published("res-ga-0", GA, "101001/000001", "2024-05-06"),
    published("res-mz-0", MZ, "301001/000001", "2024-05-06"),
    responsibility("assigned", "2024-06-03", "rsp-ga-1", GA, "101001/000001"),  # met: res-ga-0
    responsibility("assigned", "2025-02-10", "rsp-ga-2", GA, "101001/000002"),  # nothing of that code
    responsibility("assigned", "2024-06-03", "rsp-mz-1", MZ, "301001/000001"),  # res-mz-0, retired in October
    responsibility("assigned", "2025-03-03", "rsp-mz-2", MZ, "301001/000002"),
    responsibility("withdrawn", "2025-06-02", "rsp-mz-2", MZ, "301001/000002"),  # not in force at year end
    (
        "catalog.resource.retired",
        "res-mz-0",
        at("2025-10-09"),
        {**published("res-mz-0", MZ, "301001/000001", "2025-10-09")[3], "status": "retired"},
    ),
    calls(GA, MZ, {"ok": 8, "upstream_error": 2}),
    calls(MZ, GA, {"ok": 4, "rate_limited": 1}),  # a refusal is not the provider's failure
]

NA = None
EXPECTED = {
    GA: {
        "rank": 1,
        "total": 65.79,
        "dimensions": {"aggregation": 56.25, "sharing": 92.0, "application": 25.0, "security": 90.0},
        "indicators": {
            "responsibility_fulfilment": 50.0,
            "catalog_approval": 75.0,
            "catalog_update_timeliness": NA,
            "data_refresh_timeliness": 50.0,
            "share_decision_timeliness": 100.0,
            "data_call_service": 80.0,
            "grant_use": 0.0,
            "correction_timeliness": 50.0,
            "calls_outside_grant": 90.0,
            "late_catalog_updates": NA,
            "late_corrections": 80.0,
            "grants_not_suspended": 100.0,
        },
    },
    MZ: {
        "rank": 2,
        "total": 52.45,
        "dimensions": {"aggregation": 25.0, "sharing": 40.0, "application": 100.0, "security": 78.0},
        "indicators": {
            "responsibility_fulfilment": 0.0,
            "catalog_approval": 100.0,
            "catalog_update_timeliness": 0.0,
            "data_refresh_timeliness": NA,
            "share_decision_timeliness": 0.0,
            "data_call_service": 100.0,
            "grant_use": 100.0,
            "correction_timeliness": NA,
            "calls_outside_grant": 80.0,
            "late_catalog_updates": 80.0,
            "late_corrections": 100.0,
            "grants_not_suspended": 50.0,
        },
    },
    BUREAU: {
        "rank": 3,
        "total": 50.0,
        "dimensions": {"aggregation": NA, "sharing": 50.0, "application": NA, "security": NA},
        "indicators": {
            "responsibility_fulfilment": NA,
            "catalog_approval": NA,
            "catalog_update_timeliness": NA,
            "data_refresh_timeliness": NA,
            "share_decision_timeliness": 50.0,
            "data_call_service": NA,
            "grant_use": NA,
            "correction_timeliness": NA,
            "calls_outside_grant": NA,
            "late_catalog_updates": NA,
            "late_corrections": NA,
            "grants_not_suspended": NA,
        },
    },
}


def table(evaluation: dict) -> dict:
    """The evaluation as the hand-computed table: rank, total, dimension and indicator scores per department."""
    return {
        row["dept"]: {
            "rank": row["rank"],
            "total": row["total"],
            "dimensions": {code: d["score"] for code, d in row["dimensions"].items()},
            "indicators": {
                key: indicator["score"]
                for d in row["dimensions"].values()
                for key, indicator in d["indicators"].items()
            },
        }
        for row in evaluation["departments"]
    }


@pytest.fixture
async def year(known):
    await known.append([known.event(kind, subject, data, time=moment) for kind, subject, moment, data in EXTRA])
    return known


async def append(audit, events) -> None:
    await audit.append([audit.event(kind, subject, data, time=moment) for kind, subject, moment, data in events])


async def put(audit, path: str, who: str, json) -> object:
    return await audit.client.put(audit.url(path), json=json, headers=audit.as_(who))


def default_config() -> dict:
    """The defaults as a body for PUT, a copy to change."""
    return {"note": "测试", **copy.deepcopy(DEFAULT_CONFIG)}


@pytest.mark.backends("postgres", "sqlite")
async def test_the_evaluation_of_the_seeded_year_reproduces_the_hand_computed_table(year):
    evaluation = (await year.get("/evaluation", "bureau", year=2025)).json()
    assert (evaluation["year"], evaluation["article"], evaluation["status"]) == (2025, "第三十八条", "draft")
    assert evaluation["config"]["version"] == 1
    assert [row["dept"] for row in evaluation["departments"]] == [GA, MZ, BUREAU]  # by rank
    assert table(evaluation) == EXPECTED

    ga = evaluation["departments"][0]["dimensions"]["aggregation"]
    fulfilment = ga["indicators"]["responsibility_fulfilment"]
    assert (fulfilment["value"], fulfilment["basis"], fulfilment["weight"]) == (0.5, "1 / 2", 40)
    assert fulfilment["effective_weight"] == 50.0  # 40 of the 80 applicable
    assert {(f["code"], f["value"], f["article"]) for f in fulfilment["figures"]} == {
        ("responsibilities_met", 1, "第十三条"),
        ("responsibilities_in_force", 2, "第十三条"),
    }
    no_trigger = ga["indicators"]["catalog_update_timeliness"]  # no trigger in the year: its 20 went to the others
    assert (no_trigger["applicable"], no_trigger["effective_weight"], no_trigger["value"]) == (False, 0.0, None)
    outside = evaluation["departments"][0]["dimensions"]["security"]["indicators"]["calls_outside_grant"]
    assert (outside["value"], outside["article"], outside["rule"]) == (1, "第四十一条第四项", "deduction")
    assert evaluation["method"]["aggregation"]["weight"] == 35
    # The new figures feed the supervision report as well.
    figures = (await year.get(f"/reports/departments/{GA}", "bureau", year=2025)).json()["figures"]
    assert figures["responsibilities_met"]["value"] == 1 and figures["data_calls_failed"]["value"] == 2


async def test_the_bureau_changes_the_weights_in_a_new_version_and_the_old_one_still_applies(year):
    config = (await year.get("/evaluation/config", "auditor")).json()
    assert config["version"] == 1 and config["in_force"] and config["created_by"] == "system"
    assert config["config"]["dimensions"]["aggregation"]["weight"] == 35
    assert any(f["code"] == "responsibilities_met" for f in config["figures"])

    changed = default_config()
    weights = {"aggregation": 25, "sharing": 40, "application": 20, "security": 15}
    for code, weight in weights.items():
        changed["dimensions"][code]["weight"] = weight
    answer = await put(year, "/evaluation/config", "bureau", changed)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["version"], answer.json()["created_by"], answer.json()["note"]) == (2, "bureau", "测试")

    # GA (25×56.25 + 40×92 + 20×25 + 15×90) / 100 = 69.3625; MZ (25×25 + 40×40 + 20×100 + 15×78) / 100 = 53.95
    now = (await year.get("/evaluation", "auditor", year=2025)).json()
    assert now["config"]["version"] == 2
    assert [(r["dept"], r["total"], r["rank"]) for r in now["departments"]] == [
        (GA, 69.36, 1),
        (MZ, 53.95, 2),
        (BUREAU, 50.0, 3),
    ]
    before = (await year.get("/evaluation", "auditor", year=2025, config_version=1)).json()
    assert (before["config"]["version"], before["departments"][0]["total"]) == (1, 65.79)
    unknown = await year.get("/evaluation", "auditor", year=2025, config_version=9)
    assert unknown.status_code == 422 and (unknown.json()["field"], unknown.json()["rule"]) == (
        "config_version",
        "unknown_version",
    )
    versions = (await year.get("/evaluation/config", "bureau")).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    trail = (await year.get("/events", "auditor", type="audit.evaluation.config_changed")).json()["items"]
    assert [(e["data"]["version"], e["actor"]) for e in trail] == [(2, "bureau")]
    assert trail[0]["data"]["config"]["dimensions"]["sharing"]["weight"] == 40


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (lambda c: c["dimensions"]["sharing"].update(weight=-30), "dimensions.sharing.weight", "non_negative"),
        (lambda c: c["dimensions"]["sharing"].update(weight=31), "dimensions", "weights_sum_100"),
        (
            lambda c: c["dimensions"]["application"]["indicators"]["grant_use"].update(weight=49.5),
            "dimensions.application.indicators",
            "weights_sum_100",
        ),
        (
            lambda c: c["dimensions"]["security"]["indicators"]["grants_not_suspended"].update(weight=-20),
            "dimensions.security.indicators.grants_not_suspended.weight",
            "non_negative",
        ),
        (lambda c: c["dimensions"].pop("security"), "dimensions", "four_dimensions"),
        (
            lambda c: c["dimensions"]["sharing"]["indicators"]["data_call_service"].update(numerator=["calls_made"]),
            "dimensions.sharing.indicators.data_call_service.numerator",
            "unknown_figure",
        ),
        (
            lambda c: c["dimensions"]["security"]["indicators"]["calls_outside_grant"].update(points=0),
            "dimensions.security.indicators.calls_outside_grant.points",
            "positive",
        ),
    ],
)
async def test_a_configuration_that_does_not_add_up_is_refused_naming_the_field_and_rule(audit, change, field, rule):
    config = default_config()
    change(config)
    refused = await put(audit, "/evaluation/config", "bureau", config)
    assert refused.status_code == 422, refused.text
    assert (field, rule) in {(e["field"], e["rule"]) for e in refused.json()["errors"]}
    assert (await audit.get("/evaluation/config", "bureau")).json()["version"] == 1  # nothing stored


async def test_equal_totals_share_a_rank_and_a_department_with_nothing_to_evaluate_has_none(year):
    """YC-RS and YC-TJ each decided one request on time and nothing else applies to them: 100 both, first both; GA
    is third. YC-KONG, registered, has nothing to evaluate: listed last, without total or rank."""
    decided = [
        reports.share(
            "approved", "2025-05-06", f"req-{d}", MZ, d, stage="provider_review", decided_by_dept=d, on_time=True
        )
        for d in ("YC-RS", "YC-TJ")
    ]
    await append(year, [*decided, reports.department("created", "2024-01-02", "YC-KONG", "伊川县某局")])
    rows = (await year.get("/evaluation", "bureau", year=2025)).json()["departments"]
    assert [(r["dept"], r["total"], r["rank"]) for r in rows] == [
        ("YC-RS", 100.0, 1),
        ("YC-TJ", 100.0, 1),
        (GA, 65.79, 3),
        (MZ, 52.45, 4),
        (BUREAU, 50.0, 5),
        ("YC-KONG", None, None),
    ]
    assert rows[-1]["name"] == "伊川县某局" and not any(d["applicable"] for d in rows[-1]["dimensions"].values())


async def test_the_evaluation_as_csv_for_excel_and_as_a_printable_report(year):
    response = await year.get("/evaluation", "bureau", year=2025, format="csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="evaluation-2025.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    assert header[:9] == [
        "年度",
        "排名",
        "部门代码",
        "部门名称",
        "总分",
        "汇聚（权重 35）",
        "共享（权重 30）",
        "应用（权重 20）",
        "安全（权重 15）",
    ]
    assert "汇聚·责任清单落实率（第十三条，权重 40）" in header
    by_dept = {r[2]: dict(zip(header, r, strict=True)) for r in rows}
    assert [r[2] for r in rows] == [GA, MZ, BUREAU]
    assert (by_dept[GA]["排名"], by_dept[GA]["总分"], by_dept[GA]["汇聚（权重 35）"]) == ("1", "65.79", "56.25")
    assert by_dept[BUREAU]["安全（权重 15）"] == "不适用" and by_dept[GA]["评价配置版本"] == "1"

    page = await year.get("/evaluation", "bureau", year=2025, format="html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "style-src 'sha256-" in page.headers["content-security-policy"]
    html = page.text
    assert html.startswith("<!doctype html>") and '<html lang="zh-CN">' in html and "@media print" in html
    assert "伊川县2025年度政务数据管理工作情况评价" in html and '<table class="summary">' in html
    assert '<td class="num">65.79</td>' in html and "责任清单落实率" in html
    assert not any(marker in html for marker in ("<script", "<link", "src=", "http://", "https://", "@import"))


async def test_opinions_then_publication_freeze_the_year_and_the_public_reads_it_without_a_token(year):
    path = f"/evaluation/2025/departments/{MZ}/opinion"
    opinion = "共享审批逾期，请于下一年度建立审批提醒机制；联系人证件号 410329199001011234 不应出现在公开意见中。"
    assert (await put(year, path, "mz", {"text": opinion})).status_code == 403
    assert (await put(year, path, "bureau", {"text": "  "})).status_code == 422
    saved = await put(year, path, "bureau", {"text": opinion})
    assert saved.status_code == 200 and saved.json()["dept"] == MZ and saved.json()["updated_by"] == "bureau"
    rows = {r["dept"]: r for r in (await year.get("/evaluation", "auditor", year=2025)).json()["departments"]}
    assert rows[MZ]["opinion"]["text"] == opinion and rows[GA]["opinion"] is None

    not_over = await year.post("/evaluation/2026/publish", "bureau")
    assert not_over.status_code == 422 and not_over.json()["rule"] == "year_not_over"
    assert (await year.post("/evaluation/2025/publish", "auditor")).status_code == 403
    done = await year.post("/evaluation/2025/publish", "bureau")
    assert done.status_code == 201, done.text
    assert (done.json()["status"], done.json()["published_by"]) == ("published", "bureau")
    again = await year.post("/evaluation/2025/publish", "bureau")
    assert again.status_code == 409 and again.json()["code"] == "evaluation_published"
    late = await put(year, path, "bureau", {"text": "改了"})
    assert late.status_code == 409 and late.json()["code"] == "evaluation_published"

    # Frozen: a record arriving later changes the supervision figures, not the published results.
    await append(year, [reports.correction("overdue", "2025-12-20", "cr-9", GA)])
    frozen = (await year.get("/evaluation", "bureau", year=2025)).json()
    assert frozen["status"] == "published" and table(frozen) == EXPECTED
    assert (await year.get("/evaluation", "bureau", year=2025, config_version=1)).json()["status"] == "published"

    public = await year.client.get(year.url("/public/evaluation"))  # no Authorization header
    assert public.status_code == 200, public.text
    body = public.json()
    assert (body["year"], body["published_years"], body["config_version"]) == (2025, [2025], 1)
    assert [(d["dept"], d["rank"], d["total"]) for d in body["departments"]] == [
        (GA, 1, 65.79),
        (MZ, 2, 52.45),
        (BUREAU, 3, 50.0),
    ]
    assert body["departments"][1]["dimensions"] == {
        "aggregation": 25.0,
        "sharing": 40.0,
        "application": 100.0,
        "security": 78.0,
    }
    shown = body["departments"][1]["opinion"]
    assert shown.startswith("共享审批逾期") and "410329199001011234" not in shown  # identifiers masked
    assert "bureau" not in public.text and "updated_by" not in public.text and "published_by" not in public.text
    page = await year.client.get(year.url("/public/evaluation"), params={"year": 2025, "format": "html"})
    assert page.status_code == 200 and "评价结果公告" in page.text and "<table" in page.text
    missing = await year.client.get(year.url("/public/evaluation"), params={"year": 2024})
    assert missing.status_code == 404 and missing.json()["code"] == "evaluation_not_published"
    trail = (await year.get("/events", "auditor", type="audit.evaluation.published")).json()["items"]
    assert [(e["data"]["year"], e["data"]["config_version"]) for e in trail] == [(2025, 1)]


async def test_a_department_sees_only_its_own_row_and_a_citizen_nothing(year):
    own = (await year.get("/evaluation", "mz-head", year=2025)).json()
    assert [(r["dept"], r["rank"], r["total"]) for r in own["departments"]] == [(MZ, 2, 52.45)]
    rows = list(csv.reader(io.StringIO((await year.get("/evaluation", "ga", year=2025, format="csv")).text)))
    assert [r[2] for r in rows[1:]] == [GA]
    refused = await year.get("/evaluation", "citizen", year=2025)
    assert refused.status_code == 403 and refused.json()["code"] == "evaluation_forbidden"
    assert (await year.get("/evaluation/config", "ga")).status_code == 403
    assert (await year.client.get(year.url("/evaluation"), params={"year": 2025})).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "gate"),
    [
        (
            "PUT",
            "/api/audit/evaluation/config",
            Gate("auditor", "bureau", "bureau_role_required", {"dimensions": 1}, "dimensions"),
        ),
        (
            "PUT",
            "/api/audit/evaluation/{year}/departments/{dept}/opinion",
            Gate("ga", "bureau", "bureau_role_required", {"text": 5}, "text"),
        ),
        ("POST", "/api/audit/evaluation/{year}/publish", Gate("auditor", "bureau", "bureau_role_required")),
    ],
)
async def test_the_role_is_checked_before_the_body(audit, method, path, gate) -> None:
    await check_authorization_first(audit.client, audit.tokens, method, path, gate)
