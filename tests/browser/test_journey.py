"""The whole journey the regulation describes, each step taken by the person whose decision it is, in the portal
through the gateway (real Chromium, the platform as `make run` starts it):

公安局's operator registers a resource (a validation error fixed on the page) and submits it (第十二–十四条); the
bureau approves it; 民政局's operator searches 人口, finds it and applies with a 需求单 (第二十七–二十八条); the
provider approves fewer items; the bureau delivers (第二十九条); the grant is under 我的授权; a citizen files a
correction and the provider resolves it; the head of another provider extends one once (第十九条); the bureau
sees what is overdue and the supervision chart (第三十七–三十九条); the auditor verifies the audit chain; 退出
ends the session.

Every person has a browser context of their own, signed in once. Each role's 首页 and the resource form are
photographed (with axe and console checks) by `checkpoint`.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import date, timedelta

import httpx
import pyotp
from playwright.async_api import Locator, Page, expect

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
RESOURCE = "流动人口居住证申领信息"
CITIZEN_ID = "34052419800101001X"


async def signed_in(new_tab, platform, username: str):
    """A browser of its own for `username`, signed in through the gateway's login page; a bureau admin or an
    auditor enrols the second factor at this first sign-in (等保 2.0), from the secret the page shows."""
    tab = await new_tab()
    page = tab.page
    await page.goto(f"{platform.gateway}/")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(platform.passwords[username])
    await page.get_by_role("button", name="登录").click()
    home = page.get_by_role("heading", name="首页", level=1)
    enrol = page.get_by_role("heading", name="绑定双因素认证", level=1)
    await expect(home.or_(enrol)).to_be_visible()
    if await enrol.is_visible():
        secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
        await page.get_by_label("动态验证码").fill(pyotp.TOTP(secret).now())
        await page.get_by_role("button", name="完成绑定").click()
        await expect(home).to_be_visible()
    return tab


def nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True)


async def call_data_as_mz_system(gateway: str) -> None:
    """Two data calls through the gateway, as a departmental system makes them: one under mz-system's grant, one
    without a token."""
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as http:

        async def token(scope: str | None = None) -> str:
            form = {"grant_type": "client_credentials", "client_id": "mz-system", "client_secret": "demo-mz-system"}
            response = await http.post("/auth/token", data={**form, **({"scope": scope} if scope else {})})
            assert response.status_code == 200, response.text
            return response.json()["access_token"]

        api = {"Authorization": f"Bearer {await token()}"}
        grant = next(g for g in (await http.get("/api/sharing/grants", headers=api)).json() if g["status"] == "active")
        granted = {"Authorization": f"Bearer {await token('grant:' + grant['id'])}"}
        assert (await http.get(f"/data/{grant['resource_id']}/records", headers=granted)).status_code == 502
        assert (await http.get(f"/data/{grant['resource_id']}/records")).status_code == 401


async def go(page: Page, name: str) -> None:
    await nav(page, name).click()
    await expect(page.get_by_role("heading", level=1)).to_be_visible()


async def every_page(tab, role: str, checkpoint, contrast_checked: set[str]) -> None:
    """Each page of the person's navigation (the Swagger UI of 接口文档 has its own test), photographed and checked.
    Colour contrast, which comes from the one stylesheet, is checked on a page for the first person who opens it
    (three quarters of axe's time); every other rule on every visit."""
    page = tab.page
    links = page.get_by_role("navigation", name="主导航").get_by_role("link")
    names = [name for name in await links.all_inner_texts() if name not in ("首页", "接口文档")]
    for name in names:
        await go(page, name)
        contrast = name not in contrast_checked
        contrast_checked.add(name)
        await checkpoint(tab, f"{role}-{name.replace('/', '-')}", contrast=contrast)


def age_one_request(data_dir, days: int = 30) -> None:
    """The demo's request waiting for 民政局's decision, received a month ago: the platform runs on the real
    clock, so a deadline long past is arranged in sharing-svc's database (the only write a test makes there)."""
    with sqlite3.connect(data_dir / "sharing.db") as db:
        changed = db.execute(
            "UPDATE share_request SET stage_deadline = ? WHERE status = 'provider_review'",
            ((date.today() - timedelta(days=days)).isoformat(),),
        ).rowcount
    assert changed >= 1, "the demo has no request waiting for a provider"


async def test_journey(platform, new_tab, checkpoint):
    ga = await signed_in(new_tab, platform, "zhaolei")
    await expect(ga.page.get_by_role("heading", name="首页", level=1)).to_be_visible()
    await checkpoint(ga, "home-dept-operator")

    # ---- 公安局 registers a resource; the first code is malformed and the page says so beside the field.
    page = ga.page
    await go(page, "我的资源")
    await page.get_by_role("link", name="登记资源").click()
    await expect(page.get_by_role("heading", name="登记资源", level=1)).to_be_visible()
    await page.get_by_label("信息资源代码").fill("201003-000777")
    await page.get_by_label("资源名称").fill(RESOURCE)
    await page.get_by_label("摘要").fill("全县流动人口的居住登记信息，供各部门核验居住情况。")
    await page.get_by_label("资源分类").select_option("theme")
    await page.get_by_label("资源格式").select_option("api")
    await page.get_by_label("安全级别").select_option("3")
    await page.get_by_label("更新周期").select_option("daily")
    await page.get_by_label("共享类型", exact=True).select_option("conditional")
    await page.get_by_label("共享条件").fill("仅限社会救助和居住证办理业务核验")
    await page.get_by_label("法律依据").fill("《居住证暂行条例》第九条")
    await page.get_by_label("开放类型").select_option("closed")
    # Nothing listens there (the data call below is refused 502), not even a `make run` beside the tests.
    await page.get_by_label("接口地址").fill("http://127.0.0.1:9/ga/floating")
    await page.get_by_label("路径前缀").fill("/records")
    rows = (("id_number", "公民身份号码"), ("name", "姓名"), ("residence_address", "居住地址"))
    for number, (code, name) in enumerate(rows, start=1):
        row = page.get_by_role("group", name=f"信息项第 {number} 行")
        if not await row.count():
            await page.get_by_role("button", name="增加一行").click()
        await row.get_by_label("信息项代码").fill(code)
        await row.get_by_label("信息项名称").fill(name)
    await page.get_by_label("本资源不涉及国家秘密").check()
    await page.get_by_role("button", name="保存草稿", exact=True).last.click()

    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("信息资源代码")
    code = page.get_by_label("信息资源代码")
    await expect(code).to_have_attribute("aria-invalid", "true")
    await expect(code).to_have_value("201003-000777")  # what was typed is kept
    await expect(page.get_by_role("group", name="信息项第 3 行").get_by_label("信息项名称")).to_have_value("居住地址")
    await checkpoint(ga, "resource-form-error")
    await code.fill("201003/000777")
    await checkpoint(ga, "resource-form")
    await page.get_by_role("button", name="保存草稿", exact=True).last.click()
    await expect(page.get_by_role("status")).to_contain_text("草稿")
    await page.get_by_role("button", name="提交审核").click()
    await expect(page.get_by_role("status")).to_contain_text("已提交")
    await go(page, "我的资源")
    await expect(page.get_by_role("row", name=re.compile(RESOURCE))).to_contain_text("待审核")
    await checkpoint(ga, "my-resources")

    # ---- The bureau reviews it (第十四条).
    bureau = await signed_in(new_tab, platform, "lina")
    await checkpoint(bureau, "home-bureau-admin")
    page = bureau.page
    await go(page, "目录审核")
    await page.get_by_role("link", name=RESOURCE).first.click()
    await expect(page.get_by_role("cell", name="居住地址", exact=True)).to_be_visible()
    await checkpoint(bureau, "catalog-review")
    await page.get_by_role("button", name="通过").click()
    await expect(page.get_by_role("status")).to_contain_text("审核通过")

    # ---- 民政局 searches 人口, finds it and applies for it with a sealed 需求单.
    mz = await signed_in(new_tab, platform, "zhangmin")
    await checkpoint(mz, "home-dept-operator-mz")
    page = mz.page
    await go(page, "数据目录")
    await page.get_by_role("searchbox", name="关键词").fill("人口")
    await page.get_by_role("searchbox", name="关键词").press("Enter")
    # htmx swaps the results and pushes the address: wait for both before clicking, or the swap takes the click.
    await expect(page).to_have_url(re.compile(r"q=%E4%BA%BA%E5%8F%A3"))
    await page.get_by_role("region", name="检索结果").get_by_role("link", name=RESOURCE, exact=True).click()
    await page.get_by_role("link", name="申请使用").click()
    await expect(page.get_by_role("heading", name=f"申请使用：{RESOURCE}", level=1)).to_be_visible()
    wanted = page.get_by_role("group", name="申请信息项")
    for name in ("公民身份号码", "姓名", "居住地址"):
        await wanted.get_by_label(re.compile(f"^{name}")).check()
    await page.get_by_label("申请用途").fill("低保申请人居住情况核验")
    await page.get_by_label("履职依据").fill("《社会救助暂行办法》第十一条")
    await page.get_by_label("应用系统").select_option("mz-dbsp")
    today = date.today()
    await page.get_by_label("有效期开始").fill(today.isoformat())
    await page.get_by_label("有效期截止").fill((today + timedelta(days=180)).isoformat())
    await page.get_by_label("需求单").set_input_files(
        {"name": "需求单.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await checkpoint(mz, "apply")
    await page.get_by_role("button", name="提交申请").click()
    await expect(page.get_by_role("heading", name=f"共享申请：{RESOURCE}", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name=re.compile("^下载需求单"))).to_be_visible()
    await checkpoint(mz, "request")
    request_url = page.url

    # ---- 公安局 as provider approves two of the three items (第二十九条).
    page = ga.page
    await go(page, "待我审核")
    await page.get_by_role("link", name=re.compile(f"^审批.*{RESOURCE}")).click()
    approved = page.get_by_role("group", name="同意的信息项")
    await approved.get_by_label(re.compile("^居住地址")).uncheck()
    await page.get_by_label("不同意部分信息项的理由").fill("居住地址涉及个人隐私，低保资格审核不需要")
    await checkpoint(ga, "provider-review")
    await page.get_by_role("button", name="同意", exact=True).click()
    await expect(page.get_by_role("status")).to_be_visible()

    # ---- The bureau delivers.
    page = bureau.page
    await go(page, "平台审核/交付")
    await page.get_by_role("link", name=re.compile("^平台交付")).click()
    await page.get_by_role("link", name=re.compile(f"^办理.*{RESOURCE}")).click()
    await checkpoint(bureau, "delivery")
    await page.get_by_role("button", name="确认交付").click()
    await expect(page.get_by_role("status")).to_be_visible()

    # ---- The grant is 民政局's, with only the two items the provider approved.
    page = mz.page
    await go(page, "我的授权")
    grant = page.get_by_role("row", name=re.compile(RESOURCE))
    await expect(grant).to_contain_text("公民身份号码")
    await expect(grant).to_contain_text("姓名")
    await expect(grant).not_to_contain_text("居住地址")
    await checkpoint(mz, "grants")

    # ---- A citizen disputes his household address; 公安局 corrects it (第十九条).
    citizen = await signed_in(new_tab, platform, "wangjg")
    await checkpoint(citizen, "home-citizen")

    async def file_correction(resource: str, item: str, value: str) -> None:
        page = citizen.page
        await go(page, "数据校核")
        await page.get_by_role("link", name="提出校核").click()
        await page.get_by_label("查找数据资源").fill(resource)
        await page.get_by_role("button", name="查询").click()
        # htmx swaps the results and pushes the address: wait for it, or the swap takes the click (as on 数据目录)
        await expect(page).to_have_url(re.compile(r"[?&]q="))
        found = page.get_by_role("row", name=re.compile(resource))
        await found.get_by_role("link", name=re.compile("^选择")).click()
        await expect(page.get_by_label("证件号码")).to_have_value(CITIZEN_ID)
        await page.get_by_role("group", name="有疑义的信息项").get_by_label(item, exact=True).check()
        await page.get_by_label(f"{item}的正确值").fill(value)
        await page.get_by_label("情况说明").fill("登记信息与实际不符，附证明材料。")
        await page.get_by_label("证明材料").set_input_files(
            {"name": "证明.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        await page.get_by_role("button", name="提交校核申请").click()
        await expect(page.get_by_role("status")).to_be_visible()

    await file_correction("户籍人口基本信息", "户籍地址", "伊川县城关镇建设路 8 号")
    await checkpoint(citizen, "correction-filed")

    page = ga.page
    await go(page, "校核")
    await page.get_by_role("link", name="户籍人口基本信息").first.click()
    await page.get_by_label("已更正").check()
    await page.get_by_label("户籍地址更正后的值").fill("伊川县城关镇建设路 8 号")
    await page.get_by_label("处理说明").fill("经核对户籍档案，已更正。")
    await checkpoint(ga, "correction-resolve")
    await page.get_by_role("button", name="办结").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await expect(page.get_by_text("已办结").first).to_be_visible()

    # ---- Another, about 民政局's data: its head extends the deadline once, with a reason.
    await file_correction("最低生活保障对象信息", "救助类别", "城市低保")
    head = await signed_in(new_tab, platform, "liuqiang")
    await checkpoint(head, "home-dept-head")
    page = head.page
    await go(page, "校核")
    await page.get_by_role("link", name="最低生活保障对象信息").first.click()
    await page.get_by_label("延长天数（工作日）").fill("5")
    await page.get_by_label("延期理由").fill("需调取乡镇救助档案核实")
    await checkpoint(head, "correction-extend")
    await page.get_by_role("button", name="延长校核期限").click()
    await expect(page.get_by_text("已延期一次")).to_be_visible()
    await expect(page.get_by_role("button", name="延长校核期限")).to_have_count(0)

    # ---- The bureau sees what is overdue, by department, and the supervision chart.
    age_one_request(platform.data_dir)
    page = bureau.page
    await go(page, "逾期")
    await expect(page.get_by_role("heading", name="各部门逾期事项")).to_be_visible()
    await expect(page.get_by_role("row", name=re.compile("民政局|YC-MZ")).first).to_be_visible()
    await expect(page.get_by_text(re.compile("已逾期 \\d+ 个工作日")).first).to_be_visible()
    await checkpoint(bureau, "overdue")
    await go(page, "监督考核")
    await page.get_by_label("年度", exact=True).select_option(str(today.year))
    await page.get_by_role("button", name="查看").click()
    chart = page.get_by_role("img", name=re.compile("各部门"))
    await expect(chart).to_be_visible()
    assert await page.locator("svg rect.chart-bar").count() >= 2
    await checkpoint(bureau, "supervision")

    # ---- The auditor verifies the audit trail's hash chain.
    auditor = await signed_in(new_tab, platform, "chenjing")
    await checkpoint(auditor, "home-auditor")
    page = auditor.page
    await go(page, "审计日志")
    await page.get_by_role("button", name="校验哈希链").click()
    await expect(page.get_by_text(re.compile("校验通过"))).to_be_visible()
    await checkpoint(auditor, "audit-verified")

    # ---- 民政局's system calls data under its grant (the demo provider is not running: the call fails upstream),
    #      and a caller without a token is refused; the auditor finds both on 访问记录 (第三十二条).
    await call_data_as_mz_system(platform.gateway)
    await go(page, "访问记录")
    failed = page.get_by_role("cell", name=re.compile("失败：提供方系统无法连接"))
    for _ in range(40):  # the records reach audit-svc within a second or two (spool, broker, consumer)
        if await failed.count():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(failed.first).to_be_visible()
    await expect(page.get_by_role("cell", name=re.compile("拒绝：未携带令牌")).first).to_be_visible()
    await expect(page.get_by_text("mz-system").first).to_be_visible()
    await checkpoint(auditor, "access-records")

    # ---- Every other page each of them can open, checked the same way (axe, console, width); the five people
    #      browse at once, each in a browser of their own, as they would.
    people = ((ga, "operator"), (head, "head"), (bureau, "bureau"), (auditor, "auditor"), (citizen, "citizen"))
    contrast_checked: set[str] = set()
    await asyncio.gather(*(every_page(tab, role, checkpoint, contrast_checked) for tab, role in people))

    # ---- The same pages at a phone's width: nothing scrolls sideways but a wide table inside its panel.
    page = mz.page
    await page.set_viewport_size({"width": 390, "height": 844})
    await go(page, "我的授权")
    await checkpoint(mz, "grants-phone")
    await page.set_viewport_size({"width": 1366, "height": 768})

    # ---- 退出 ends the session: the back button fetches the page anew and shows nothing of it.
    await page.goto(request_url)
    await page.get_by_role("button", name="退出").click()
    await expect(page.get_by_role("heading", name="您已安全退出")).to_be_visible()
    await page.go_back()
    await expect(page.get_by_role("heading", name="登录", level=1)).to_be_visible()
    assert await page.get_by_text(RESOURCE).count() == 0
