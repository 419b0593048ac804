"""第三十九条 annual work reports: a department submits its 上一年度政务数据管理情况 (text and attachment) by the end of
January, Asia/Shanghai; the annual report shows who did so on time, late, or not at all. The clock is the app's
injected one, set to moments in Yichuan's time."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from govdata_shared.testing import Gate, check_authorization_first

SHANGHAI = ZoneInfo("Asia/Shanghai")
MZ, GA, RS = "YC-MZ", "YC-GA", "YC-RS"
TEXT = "2025 年度本局共编制政务数据资源目录 12 项，按期更新数据 48 次，办理共享申请 9 件。"
PDF = b"%PDF-1.7\n" + "% 伊川县民政局 2025 年度政务数据管理情况\n".encode() + b"%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


def shanghai(day: str, hour: int, minute: int) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


async def file(audit, who: str, year: int = 2025, text: str = TEXT):
    return await audit.post("/work-reports", who, {"year": year, "text": text})


async def attach(audit, who: str, report_id: str, content: bytes = PDF, name: str = "2025年度工作报告.pdf"):
    return await audit.client.put(
        audit.url(f"/work-reports/{report_id}/attachment"),
        files={"file": (name, content, "application/pdf")},
        headers=audit.as_(who),
    )


async def submit(audit, who: str, when: datetime, content: bytes = PDF) -> dict:
    audit.clock.set(when)
    created = await file(audit, who)
    assert created.status_code == 201, created.text
    attached = await attach(audit, who, created.json()["id"], content)
    assert attached.status_code == 200, attached.text
    return attached.json()


async def trail(audit, kind: str) -> list[dict]:
    return (await audit.get("/events", type=f"audit.work_report.{kind}")).json()["items"]


async def test_a_department_submits_text_then_attachment_and_the_trail_keeps_their_digests(audit):
    created = await file(audit, "mz")
    assert created.status_code == 201, created.text
    draft = created.json()
    assert (draft["dept"], draft["year"], draft["status"], draft["text"]) == (MZ, 2025, "draft", TEXT)
    assert draft["submitted_at"] is None and draft["standing"] == "missing" and draft["attachment"] is None
    assert (draft["due_by"], draft["article"]) == ("2026-01-31", "第三十九条")
    assert await trail(audit, "submitted") == []  # a draft is not a submission

    # The department's head adds the attachment: now it is submitted.
    attached = await attach(audit, "mz-head", draft["id"])
    assert attached.status_code == 200, attached.text
    report = attached.json()
    assert report["status"] == "submitted" and report["submitted_by"] == "mz-head"
    assert report["attachment"] == {
        "name": "2025年度工作报告.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
    }
    assert report["standing"] == "late" and report["on_time"] is False  # the clock stands at 2 March 2026

    download = await audit.get(f"/work-reports/{draft['id']}/attachment", "mz")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-sha256"] == hashlib.sha256(PDF).hexdigest()

    (entry,) = await trail(audit, "submitted")
    assert (entry["dept"], entry["actor"], entry["subject"]) == (MZ, "mz-head", draft["id"])
    data = entry["data"]
    assert (data["dept"], data["year"], data["on_time"], data["article"]) == (MZ, 2025, False, "第三十九条")
    assert data["attachment_sha256"] == hashlib.sha256(PDF).hexdigest()
    assert data["text_sha256"] == hashlib.sha256(TEXT.encode()).hexdigest()
    assert "本局共编制" not in orjson.dumps(entry).decode()  # the text stays out of the chain
    assert (await audit.get("/verify")).json()["ok"] is True


@pytest.mark.backends("postgres", "sqlite")
async def test_on_time_is_the_first_complete_submission_before_february_in_shanghai(audit):
    """31 January 23:59 in Yichuan is on time (15:59 UTC); 1 February 00:01 is late though it is still 31 January
    in UTC. Replacing a report after the deadline keeps its first submission time."""
    on_time = await submit(audit, "mz", shanghai("2026-01-31", 23, 59))
    late = await submit(audit, "ga", shanghai("2026-02-01", 0, 1))
    assert (on_time["on_time"], on_time["standing"]) == (True, "on_time")
    assert (late["on_time"], late["standing"]) == (False, "late")
    audit.clock.set(shanghai("2026-01-20", 9, 0))
    draft = (await file(audit, "scj")).json()  # text only: not submitted

    audit.clock.set(shanghai("2026-03-02", 10, 0))
    replaced = await file(audit, "mz", text=TEXT + "另补充：数据安全自查 1 次。")
    assert replaced.status_code == 200 and replaced.json()["id"] == on_time["id"]
    reattached = (await attach(audit, "mz", on_time["id"], PNG, "补充.png")).json()
    assert reattached["attachment"]["content_type"] == "image/png" and reattached["text"].endswith("自查 1 次。")
    assert reattached["submitted_at"] == on_time["submitted_at"] and reattached["standing"] == "on_time"
    assert len(await trail(audit, "revised")) == 2 and len(await trail(audit, "submitted")) == 2

    # RS is in the registry and sent nothing: missing, as is SCJ's draft.
    registered = {"code": RS, "name": "伊川县人力资源和社会保障局"}
    when = shanghai("2025-01-02", 9, 0)
    await audit.append([audit.event("identity.department.created", f"department:{RS}", registered, time=when)])
    report = (await audit.get("/reports/annual", "bureau", year=2025)).json()
    lines = {d["dept"]: d["work_report"] for d in report["departments"]}
    assert {dept: line["status"] for dept, line in lines.items()} == {
        GA: "late",
        MZ: "on_time",
        RS: "missing",
        "YC-SCJ": "missing",
    }
    assert lines[MZ]["id"] == on_time["id"] and lines[MZ]["article"] == "第三十九条"
    assert datetime.fromisoformat(lines[MZ]["submitted_at"]) == shanghai("2026-01-31", 23, 59)
    assert (lines[RS]["id"], lines[RS]["submitted_at"]) == (None, None) and lines["YC-SCJ"]["id"] == draft["id"]

    mine = (await audit.get(f"/reports/departments/{GA}", "ga", year=2025)).json()["work_report"]
    assert (mine["status"], mine["id"], mine["due_by"]) == ("late", late["id"], "2026-01-31")
    table = list(csv.reader(io.StringIO((await audit.get("/reports/annual", year=2025, format="csv")).text)))
    column = table[0].index("年度工作报告（第三十九条）")
    assert {row[1]: row[column] for row in table[1:]} == {
        GA: "逾期",
        MZ: "按时",
        RS: "未提交",
        "YC-SCJ": "未提交",
        "合计": "按时 1，逾期 1，未提交 2",
    }


async def test_another_department_can_neither_read_nor_write_a_report(audit):
    report = await submit(audit, "mz", shanghai("2026-01-10", 10, 0))
    path = f"/work-reports/{report['id']}"
    for response in (
        await audit.get(path, "ga"),
        await audit.get(f"{path}/attachment", "ga"),
        await audit.get("/work-reports", "ga", dept=MZ),
        await attach(audit, "ga", report["id"]),
    ):
        assert response.status_code == 403, response.text
        assert (response.json()["code"], response.json()["dept"]) == ("not_your_department", MZ)
    assert (await audit.get("/work-reports", "ga")).json() == {"items": [], "total": 0}
    assert [r["id"] for r in (await audit.get("/work-reports", "mz")).json()["items"]] == [report["id"]]
    assert (await audit.get("/work-reports", "citizen")).status_code == 403
    for overseer in ("bureau", "auditor"):
        listed = (await audit.get("/work-reports", overseer, year=2025)).json()
        assert [r["dept"] for r in listed["items"]] == [MZ]
        assert (await audit.get(f"{path}/attachment", overseer)).content == PDF
    assert (await audit.get("/work-reports", "bureau", year=2024)).json()["total"] == 0
    refused = await audit.post("/work-reports", "bureau", {"year": 2025, "text": TEXT})
    assert refused.status_code == 403 and refused.json()["code"] == "department_role_required"


async def test_the_year_must_be_over_and_the_attachment_a_pdf_jpeg_or_png(audit):
    audit.clock.set(shanghai("2025-12-31", 23, 59))
    early = await file(audit, "mz")
    assert early.status_code == 422
    problem = early.json()
    assert (problem["code"], problem["field"], problem["rule"]) == ("year_not_over", "year", "year_not_over")
    audit.clock.set(shanghai("2026-01-01", 0, 0))  # 2025 is over in Yichuan (still 2025 in UTC)
    created = await file(audit, "mz")
    assert created.status_code == 201, created.text
    assert (await file(audit, "mz", year=2026)).json()["rule"] == "year_not_over"
    blank = await audit.post("/work-reports", "mz", {"year": 2025, "text": "   "})
    assert blank.status_code == 422 and blank.json()["field"] == "text"

    report_id = created.json()["id"]
    not_a_pdf = await attach(audit, "mz", report_id, b"just text, named .pdf", "报告.pdf")
    assert not_a_pdf.status_code == 415
    assert (not_a_pdf.json()["field"], not_a_pdf.json()["rule"]) == ("file", "pdf_jpeg_png")
    too_large = await attach(audit, "mz", report_id, b"%PDF" + bytes(10 * 1024 * 1024))
    assert too_large.status_code == 413  # over 10 MiB: refused by the size check or the service's body limit
    unchanged = (await audit.get(f"/work-reports/{report_id}", "mz")).json()
    assert (unchanged["status"], unchanged["attachment"]) == ("draft", None)
    missing = await audit.get(f"/work-reports/{report_id}/attachment", "mz")
    assert missing.status_code == 404 and missing.json()["code"] == "attachment_not_found"


@pytest.mark.parametrize(
    ("method", "path", "gate"),
    [
        ("POST", "/api/audit/work-reports", Gate("bureau", "mz", "department_role_required", {"year": "x"}, "year")),
        (
            "PUT",
            "/api/audit/work-reports/{report_id}/attachment",
            Gate("auditor", "mz", "department_role_required", field="file", multipart=True),
        ),
    ],
)
async def test_the_role_is_checked_before_the_body(audit, method, path, gate) -> None:
    await check_authorization_first(audit.client, audit.tokens, method, path, gate)
