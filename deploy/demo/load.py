"""Loads the demo catalog through the gateway, the way departments and the bureau would: each department's
system registers and submits its resources, the bureau approves them. Safe to run again (existing codes are
skipped).

    python deploy/demo/load.py [--gateway http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import httpx
import yaml

DEMO = Path(__file__).resolve().parent
CATALOG_FILE = DEMO / "catalog.json"
CLIENTS_FILE = DEMO / "clients.yaml"


def sealed_form_pdf(title: str, lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF standing for a sealed 伊川县政务数据共享需求单 (第二十九条(二)): `lines` (ASCII) in
    Helvetica on an A4 page, the Chinese `title` in the document information; the cross-reference table holds the
    exact byte offset of each object."""

    def literal(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "\n".join(["BT", "/F1 12 Tf", "16 TL", "72 780 Td", *(f"({literal(line)}) '" for line in lines), "ET"])
    stream = content.encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >>"
        b" /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title <FEFF%s> /Producer (govdata demo loader) >>" % title.encode("utf-16-be").hex().upper().encode(),
    ]
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


class DemoLoader:
    def __init__(self, gateway: str, clients_file: Path = CLIENTS_FILE) -> None:
        self.http = httpx.Client(base_url=gateway, timeout=30)
        clients = yaml.safe_load(clients_file.read_text(encoding="utf-8"))["clients"]
        self.operators = {c["dept"]: c for c in clients if "dept_operator" in c.get("roles", [])}
        self.bureau = next(c for c in clients if "bureau_admin" in c.get("roles", []))
        self._tokens: dict[str, str] = {}

    def headers(self, client: dict) -> dict[str, str]:
        if client["client_id"] not in self._tokens:
            response = self.http.post(
                "/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client["client_id"],
                    "client_secret": client["client_secret"],
                },
            )
            response.raise_for_status()
            self._tokens[client["client_id"]] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[client['client_id']]}"}

    def publish(self, resource: dict) -> str:
        """Register, submit and approve one resource; returns 'published', 'existing' or a problem."""
        body = {k: v for k, v in resource.items() if k != "provider_dept"}
        body["no_state_secrets"] = True  # 第二条: the demo provider declares it holds no state secret
        operator = self.operators.get(resource["provider_dept"])
        if operator is None:
            return f"no demo client for {resource['provider_dept']}"
        created = self.http.post("/api/catalog/resources", json=body, headers=self.headers(operator))
        if created.status_code == 409 and created.json().get("code") == "code_taken":
            return "existing"
        if created.status_code != 201:
            return f"{resource['code']}: {created.status_code} {created.json().get('detail')}"
        rid = created.json()["id"]
        submitted = self.http.post(f"/api/catalog/resources/{rid}/submit", headers=self.headers(operator))
        if submitted.status_code != 200:
            return f"{resource['code']}: submit {submitted.status_code} {submitted.json().get('detail')}"
        approved = self.http.post(
            f"/api/catalog/resources/{rid}/review", json={"decision": "approve"}, headers=self.headers(self.bureau)
        )
        if approved.status_code != 200:
            return f"{resource['code']}: review {approved.status_code} {approved.json().get('detail')}"
        return "published"

    def load_catalog(self, catalog_file: Path = CATALOG_FILE) -> dict[str, int]:
        resources = json.loads(catalog_file.read_text(encoding="utf-8"))["resources"]
        # Authority claims must be published before others reference the same items, so keep file order
        # per department but run departments side by side.
        by_dept: dict[str, list[dict]] = {}
        for resource in resources:
            by_dept.setdefault(resource["provider_dept"], []).append(resource)
        for client in [*self.operators.values(), self.bureau]:
            self.headers(client)
        counts: dict[str, int] = {}
        failures: list[str] = []
        with ThreadPoolExecutor(max_workers=4) as pool:
            for outcomes in pool.map(lambda rs: [self.publish(r) for r in rs], by_dept.values()):
                for outcome in outcomes:
                    key = outcome if outcome in ("published", "existing") else "failed"
                    counts[key] = counts.get(key, 0) + 1
                    if key == "failed":
                        failures.append(outcome)
        for failure in failures[:10]:
            print(f"  demo resource not loaded: {failure}", file=sys.stderr)
        return counts

    # The demo's share requests: two granted, one (conditional, with its sealed 需求单) waiting for its provider.
    # Each names the requester's 应用系统 of clients.yaml (the grant is that system's; its operator client is bound
    # to it).
    DEMO_REQUESTS = (
        (
            "YC-MZ",
            "101001/000001",
            ["id_number", "name", "gender", "household_address"],
            "低保申请人户籍核验",
            "《社会救助暂行办法》第十一条",
            "mz-dbsp",  # 民政低保审批系统
            True,
        ),
        (
            "YC-RS",
            "104001/000069",
            ["credit_code", "org_name", "legal_representative", "reg_status"],
            "社保参保单位登记信息核验",
            "《社会保险法》第五十七条",
            "rs-sbjb",  # 社会保险经办管理系统
            True,
        ),
        (
            "YC-GA",
            "202004/000028",
            ["id_number", "name", "assistance_type"],
            "特殊群体走访核查",
            "《人民警察法》第二十一条",
            "ga-sqjw",  # 公安社区警务综合平台
            False,
        ),
    )

    def resource_id_of(self, code: str, headers: dict) -> str | None:
        found = self.http.get("/api/catalog/resources", params={"q": code}, headers=headers).json()
        return next((r["id"] for r in found.get("items", []) if r["code"] == code), None)

    def load_requests(self, wait_seconds: float = 30.0) -> list[str]:
        """File the demo requests and approve them through every stage; returns what happened, one line each."""
        today = date.today()
        lines = []
        bureau = self.headers(self.bureau)
        for dept, code, items, purpose, basis, system, approve in self.DEMO_REQUESTS:
            requester = self.headers(self.operators[dept])
            existing = self.http.get("/api/sharing/requests", params={"role": "requester"}, headers=requester).json()
            resource_id = self.resource_id_of(code, requester)
            if resource_id is None or any(r["resource_id"] == resource_id for r in existing):
                continue
            body = {
                "resource_id": resource_id,
                "items": items,
                "purpose": purpose,
                "duty_basis": basis,
                "system": system,
                "valid_from": today.isoformat(),
                "valid_to": (today + timedelta(days=364)).isoformat(),
            }
            deadline = time.monotonic() + wait_seconds
            while True:  # sharing-svc learns of the resource and the system from the catalog's and identity events
                created = self.http.post("/api/sharing/requests", json=body, headers=requester)
                not_yet = created.status_code == 404 or created.json().get("code") == "unknown_system"
                if not not_yet or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            if created.status_code != 201:
                lines.append(f"demo request {dept} → {code} not filed: {created.json().get('detail')}")
                continue
            request = created.json()
            if request["path"] == "conditional":
                # 第二十九条(二): the sealed 需求单 goes with a conditional request; its provider approves on it.
                form = sealed_form_pdf(
                    "伊川县政务数据共享需求单",
                    [
                        "Yichuan County Government Data Sharing Request Form (demo)",
                        f"Request: {request['id']}",
                        f"Requester: {dept} / system {system}",
                        f"Resource: {code}",
                        f"Items: {', '.join(items)}",
                        f"Sealed by {dept} on {today.isoformat()}",
                    ],
                )
                attached = self.http.put(
                    f"/api/sharing/requests/{request['id']}/attachment",
                    files={"file": ("需求单.pdf", form, "application/pdf")},
                    headers=requester,
                )
                if attached.status_code != 200:
                    lines.append(f"demo request {dept} → {code}: 需求单 not attached: {attached.json().get('detail')}")
                    continue
            while approve and request["status"] not in ("granted", "rejected"):
                decider = (
                    bureau
                    if request["status"] in ("platform_review", "delivery")
                    else self.headers(self.operators[request["provider_dept"]])
                )
                answer = self.http.post(f"/api/sharing/requests/{request['id']}/approve", headers=decider)
                if answer.status_code != 200:
                    request = {**request, "status": f"not approved ({answer.json().get('detail')})"}
                    break
                request = answer.json()
            state = f"grant {request['grant_id']}" if request.get("grant_id") else request["status"]
            lines.append(f"demo request {dept} → {request.get('resource_name') or code}: {state}")
        return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    loader = DemoLoader(args.gateway)
    counts = loader.load_catalog()
    print(json.dumps(counts, ensure_ascii=False))
    for line in loader.load_requests():
        print(line)
    return 0 if not counts.get("failed") else 1


if __name__ == "__main__":
    sys.exit(main())
