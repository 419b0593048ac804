"""The portal as a departmental operator uses it, through the gateway that serves it: sent to sign in, 首页 with
her 待办, 数据目录 searched and a resource opened, 退出 — after which the back button shows nothing of what she saw.
Every page is checked with axe and for console errors (a CSP refusal would show there)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, expect


async def sign_in(page: Page, platform, username: str) -> None:
    """From the gateway's login page the portal sent the browser to, back to the portal signed in."""
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(platform.passwords[username])
    async with page.expect_navigation(url=lambda url: not urlsplit(url).path.startswith("/auth/")):
        await page.get_by_role("button", name="登录").click()


async def test_an_operator_signs_in_sees_her_todo_finds_a_resource_and_signs_out(platform, tab, checkpoint):
    page = tab.page

    # Not signed in: the portal sends her to the gateway's login page, for the portal client, PKCE S256.
    await page.goto(f"{platform.gateway}/")
    await expect(page.get_by_role("heading", name="登录", level=1)).to_be_visible()
    address = urlsplit(page.url)
    query = {key: values[0] for key, values in parse_qs(address.query).items()}
    assert address.path == "/auth/authorize"
    assert query["client_id"] == "portal"
    assert query["redirect_uri"] == platform.callback
    assert query["code_challenge_method"] == "S256"
    await checkpoint(tab, "1-signin")

    await sign_in(page, platform, "zhangmin")
    assert urlsplit(page.url).path == "/"
    await expect(page.get_by_role("heading", name="首页", level=1)).to_be_visible()
    await expect(page.get_by_role("banner")).to_contain_text("张敏")
    navigation = page.get_by_role("navigation", name="主导航")
    await expect(navigation.get_by_role("link")).to_have_text(
        [
            *("首页", "站内信", "数据目录"),
            *("我的资源", "需求清单", "责任清单", "目录更新"),
            *("共享申请", "待我审核", "我的授权", "共享异议", "访问记录", "订阅推送"),
            "校核",
            *("考核评价", "年度工作报告"),
            "接口文档",
        ]
    )
    # the pages under the work they belong to, each list named by its heading
    await expect(navigation.get_by_role("heading")).to_have_text(["目录", "共享", "校核", "监督", "系统"])
    await expect(navigation.get_by_role("list", name="共享").get_by_role("link")).to_have_count(6)
    await expect(navigation.get_by_role("link", name="首页")).to_have_attribute("aria-current", "page")
    # 待办: 公安局's request for 民政局's 最低生活保障对象信息 waits for her department's decision (第二十九条).
    todo = page.get_by_role("region", name=re.compile("^待办"))
    await expect(todo.get_by_role("row", name=re.compile("^提供方审批 最低生活保障对象信息"))).to_be_visible()
    await expect(todo.get_by_role("row", name=re.compile("^提供方审批 最低生活保障对象信息"))).to_contain_text("截止")
    await checkpoint(tab, "2-home")

    await navigation.get_by_role("link", name="数据目录").click()
    await expect(page.get_by_role("heading", name="数据目录", level=1)).to_be_visible()
    search = page.get_by_role("searchbox", name="关键词")
    await expect(search).to_have_attribute("type", "search")
    await search.fill("人口")
    await search.press("Enter")
    results = page.get_by_role("region", name="检索结果")
    found = results.get_by_role("link", name="户籍人口基本信息", exact=True)
    await expect(found).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/catalog\?(.*&)?q=%E4%BA%BA%E5%8F%A3"))
    await checkpoint(tab, "3-catalog-search")

    async with page.expect_navigation() as opened:
        await found.click()
    response = await opened.value
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    await expect(page.get_by_role("heading", name=re.compile("^户籍人口基本信息"), level=1)).to_be_visible()
    items = page.get_by_role("region", name=re.compile("^信息项"))
    for name in ("公民身份号码", "姓名", "户籍地址", "数据更新时间"):
        await expect(items.get_by_role("cell", name=name, exact=True)).to_be_visible()
    await expect(items.get_by_role("row")).to_have_count(1 + 16)
    resource_url = page.url
    await checkpoint(tab, "4-resource")

    await page.get_by_role("button", name="退出").click()
    await expect(page.get_by_role("heading", name="您已安全退出")).to_be_visible()
    await expect(page.get_by_text("本次登录已在平台结束")).to_be_visible()
    assert not [c for c in await page.context.cookies() if c["name"] == "govdata_portal"]
    await checkpoint(tab, "5-signed-out")

    # Back: the page is fetched again (no-store), and without a session the portal shows nothing of it.
    await page.go_back()
    await expect(page.get_by_role("heading", name="登录", level=1)).to_be_visible()
    assert page.url != resource_url
    assert await page.get_by_text("公民身份号码").count() == 0
    await checkpoint(tab, "6-back-after-signout")


async def test_the_catalog_is_searched_without_javascript_at_a_phones_width(platform, scriptless_phone_tab, checkpoint):
    page = scriptless_phone_tab.page
    await page.goto(f"{platform.gateway}/catalog?q=%E6%88%B7%E7%B1%8D")
    await sign_in(page, platform, "zhaolei")
    # Back where he asked to go, his query kept.
    await expect(page.get_by_role("heading", name="数据目录", level=1)).to_be_visible()
    await expect(page.get_by_role("searchbox", name="关键词")).to_have_value("户籍")
    await page.get_by_role("searchbox", name="关键词").fill("人口")
    await page.get_by_role("button", name="查询").click()
    await expect(page.get_by_role("link", name="户籍人口基本信息", exact=True)).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await checkpoint(scriptless_phone_tab, "catalog")
