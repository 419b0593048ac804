"""A demo departmental data provider: a real HTTP service that answers for every resource of the demo catalog
with realistic, deterministic records — full records, with every item, so the gateway's filtering shows.

    python deploy/demo/provider.py [--port 8900]

Each resource's interface in deploy/demo/catalog.json points here (`http://127.0.0.1:8900/<dept>/<n>`):
    GET <base>/records?page=1&size=20   → {"items": [...], "total": N, "page": 1, "size": 20}
    GET <base>/records/<record_no>      → one record
    GET <base>/query?<item>=<value>     → a list of matching records
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from datetime import date, timedelta
from pathlib import Path

from aiohttp import web

CATALOG_FILE = Path(__file__).resolve().parent / "catalog.json"
RECORDS_PER_RESOURCE = 60

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建国",
    "建华",
    "志强",
    "海燕",
    "红梅",
    "国庆",
    "晓东",
]
TOWNS = [
    "城关街道",
    "河滨街道",
    "水寨镇",
    "鸦岭镇",
    "彭婆镇",
    "白沙镇",
    "江左镇",
    "高山镇",
    "吕店镇",
    "半坡镇",
    "鸣皋镇",
    "白元镇",
    "葛寨镇",
    "平等乡",
]
COMPANIES = [
    "伊川县伊源建材有限公司",
    "洛阳伊滨农业科技有限公司",
    "伊川县鑫达运输有限公司",
    "伊川县豫丰食品有限公司",
    "伊川县宏远电力设备有限公司",
    "伊川县绿源生态农业专业合作社",
    "伊川县杜康酒业有限公司",
]
CHECK = "10X98765432"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def resident_id(rng: random.Random) -> str:
    """A well-formed 身份证号 of 伊川县 (410329) with a correct check digit (GB 11643-1999)."""
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    body = f"410329{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + CHECK[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def credit_code(rng: random.Random) -> str:
    """A well-formed 统一社会信用代码 of 伊川县 with a correct check character (GB 32100-2015)."""
    body = "91410329" + "".join(rng.choice(CREDIT_CHARS) for _ in range(9))
    total = sum(CREDIT_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return body + CREDIT_CHARS[(31 - total % 31) % 31]


def value_for(item: dict, rng: random.Random, n: int):
    code, kind = item["code"], item["type"]
    if code == "id_number":
        return resident_id(rng)
    if code == "credit_code":
        return credit_code(rng)
    if code in ("name", "applicant_name", "holder_name", "contact_name", "legal_representative"):
        return rng.choice(SURNAMES) + rng.choice(GIVEN)
    if code in ("org_name", "company_name", "enterprise_name", "unit_name"):
        return rng.choice(COMPANIES)
    if code == "nation":
        return rng.choice(["汉族"] * 9 + ["回族"])
    if code == "gender":
        return rng.choice(["男", "女"])
    if code in ("town",):
        return rng.choice(TOWNS)
    if "address" in code:
        return f"河南省洛阳市伊川县{rng.choice(TOWNS)}{rng.randrange(1, 40)}号"
    if "phone" in code:
        return f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}"
    if kind == "D":
        return (date(2000, 1, 1) + timedelta(days=rng.randrange(0, 9400))).isoformat()
    if kind == "T":
        return f"{date(2026, 1, 1) + timedelta(days=rng.randrange(0, 320))}T{rng.randrange(8, 18):02d}:00:00+08:00"
    if kind in ("N", "I"):
        return rng.randrange(0, 5000)
    if kind in ("Y", "B", "F"):
        return round(rng.uniform(10, 100000), 2)
    if kind == "L":
        return rng.random() < 0.8
    return f"{item['name']}{n:04d}"


class Provider:
    def __init__(self, catalog_file: Path = CATALOG_FILE) -> None:
        catalog = json.loads(catalog_file.read_text(encoding="utf-8"))
        self.resources: dict[str, dict] = {}
        for resource in catalog["resources"]:
            base = resource["interface"]["base_url"].split("127.0.0.1:8900", 1)[-1]
            self.resources[base.strip("/")] = resource
        self._records: dict[str, list[dict]] = {}

    def records(self, key: str) -> list[dict]:
        if key not in self._records:
            resource = self.resources[key]
            rng = random.Random(hashlib.sha256(resource["code"].encode()).digest())
            self._records[key] = [
                {"record_no": f"{n:06d}", **{i["code"]: value_for(i, rng, n) for i in resource["items"]}}
                for n in range(1, RECORDS_PER_RESOURCE + 1)
            ]
        return self._records[key]

    async def handle(self, request: web.Request) -> web.Response:
        dept, number, rest = request.match_info["dept"], request.match_info["n"], request.match_info["rest"]
        key = f"{dept}/{number}"
        if key not in self.resources:
            return web.json_response({"error": "no such resource"}, status=404)
        records = self.records(key)
        parts = [p for p in rest.split("/") if p]
        if parts[:1] == ["records"] and len(parts) == 1:
            page = max(1, int(request.query.get("page", "1")))
            size = min(100, max(1, int(request.query.get("size", "20"))))
            return web.json_response(
                {"items": records[(page - 1) * size : page * size], "total": len(records), "page": page, "size": size},
                dumps=_dumps,
            )
        if parts[:1] == ["records"] and len(parts) == 2:
            found = next((r for r in records if r["record_no"] == parts[1]), None)
            if found is None:
                return web.json_response({"error": "no such record"}, status=404)
            return web.json_response(found, dumps=_dumps)
        if parts[:1] == ["query"]:
            matches = [r for r in records if all(str(r.get(k)) == v for k, v in request.query.items())]
            return web.json_response(matches, dumps=_dumps)
        return web.json_response({"error": "unknown path"}, status=404)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def create_app(catalog_file: Path = CATALOG_FILE) -> web.Application:
    provider = Provider(catalog_file)
    app = web.Application()
    app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
    app.router.add_get("/{dept}/{n}/{rest:.*}", provider.handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Demo departmental data provider")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
