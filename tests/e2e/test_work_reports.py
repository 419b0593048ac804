"""第三十九条 end to end through the gateway: a department's system submits its annual work report on the year before
(text, then the attachment), the bureau sees it in the annual report, and another department can neither read nor
touch it. On time against late at the deadline itself is the integration tests' (an injected clock): here the
real clock decides, so the expected standing is computed from today."""

from __future__ import annotations

import hashlib
from datetime import datetime

from govdata_local.flows import Dept
from govdata_shared.workdays import SHANGHAI

REPORT = b"%PDF-1.4\n" + "% 伊川县民政局 年度政务数据管理情况\n".encode() + b"%%EOF\n"


def test_a_department_submits_its_work_report_and_the_bureau_sees_it(platform):
    mz, ga, bureau = (Dept(platform, c) for c in ("mz-system", "ga-system", "bureau"))
    now = datetime.now(SHANGHAI)
    year = now.year - 1
    expected = "on_time" if now < datetime(year + 1, 2, 1, tzinfo=SHANGHAI) else "late"

    created = mz.post("/api/audit/work-reports", {"year": year, "text": f"民政局 {year} 年度政务数据管理情况。"})
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    path = f"/api/audit/work-reports/{report_id}"
    attached = mz.http.put(f"{path}/attachment", files={"file": ("年度报告.pdf", REPORT, "application/pdf")})
    assert attached.status_code == 200, attached.text
    assert attached.json()["status"] == "submitted" and attached.json()["standing"] == expected

    # Another department: neither read nor write; and its own report on the year is missing.
    for refused in (
        ga.get(path),
        ga.http.put(f"{path}/attachment", files={"file": ("x.pdf", REPORT, "application/pdf")}),
    ):
        assert refused.status_code == 403 and refused.json()["code"] == "not_your_department", refused.text
    own = ga.get("/api/audit/reports/departments/YC-GA", year=year).json()["work_report"]
    assert (own["status"], own["article"]) == ("missing", "第三十九条")

    annual = bureau.get("/api/audit/reports/annual", year=year)
    assert annual.status_code == 200, annual.text
    line = next(d["work_report"] for d in annual.json()["departments"] if d["dept"] == "YC-MZ")
    assert (line["status"], line["id"]) == (expected, report_id)
    download = bureau.get(f"{path}/attachment")
    assert download.content == REPORT and download.headers["x-content-sha256"] == hashlib.sha256(REPORT).hexdigest()
    (entry,) = bureau.get("/api/audit/events", type="audit.work_report.submitted", dept="YC-MZ").json()["items"]
    assert entry["data"]["attachment_sha256"] == hashlib.sha256(REPORT).hexdigest()
