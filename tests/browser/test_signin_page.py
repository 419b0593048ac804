"""The gateway's login page as a person meets it when the portal sends them to sign in: labelled fields, an error
summary that leads to the field at fault, sign-in by keyboard alone, a phone's width — and no serious or critical
accessibility violation on any of it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.async_api import Page, expect


def authorize_url(platform, state: str) -> str:
    """The address the portal sends a person to: the portal client, its callback, PKCE S256."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": "portal",
        "redirect_uri": platform.callback,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    return f"{platform.gateway}/auth/authorize?{urlencode(query)}"


async def focused(page: Page) -> str:
    return await page.evaluate(
        "document.activeElement && (document.activeElement.id || document.activeElement.tagName)"
    )


async def test_login_page_has_a_labelled_username_and_password_and_a_sign_in_button(platform, tab, checkpoint):
    page = tab.page
    response = await page.goto(authorize_url(platform, "st-labels"))
    assert response is not None and response.status == 200
    await expect(page).to_have_title("登录 — 伊川县政务大数据平台")
    await expect(page.get_by_role("heading", name="登录", level=1)).to_be_visible()
    await expect(page.get_by_label("用户名")).to_be_visible()
    await expect(page.get_by_label("用户名")).to_have_attribute("autocomplete", "username")
    await expect(page.get_by_label("密码")).to_have_attribute("type", "password")
    await expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    await checkpoint(tab, "login")


async def test_a_wrong_password_shows_an_error_summary_that_leads_to_the_password_field(platform, tab, checkpoint):
    page = tab.page
    await page.goto(authorize_url(platform, "st-wrong"))
    await page.get_by_label("用户名").fill("zhaolei")
    await page.get_by_label("密码").fill("Not-the-password#1")
    await page.get_by_role("button", name="登录").click()

    summary = page.get_by_role("alert")
    await expect(summary.get_by_role("heading", name="出现问题")).to_be_visible()
    link = summary.get_by_role("link", name="密码：用户名或密码错误，请重新输入")
    await expect(link).to_have_attribute("href", "#password")
    # The message is repeated beside the field, which names it for screen readers and is marked invalid.
    await expect(page.locator("#password-error")).to_have_text("用户名或密码错误，请重新输入")
    await expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("密码")).to_have_attribute("aria-describedby", "password-error")
    await expect(page.get_by_label("用户名")).to_have_value("zhaolei")
    await checkpoint(tab, "error-summary")

    await link.click()
    assert await focused(page) == "password"


async def test_a_person_signs_in_with_the_keyboard_alone_and_returns_to_the_portal_with_a_code(
    platform, tab, checkpoint
):
    page = tab.page
    await page.goto(authorize_url(platform, "st-keyboard"))

    await page.keyboard.press("Tab")
    assert await focused(page) == "username"
    await page.keyboard.type("zhangmin")
    await page.keyboard.press("Tab")
    assert await focused(page) == "password"
    await page.keyboard.type(platform.passwords["zhangmin"])
    await checkpoint(tab, "filled")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="登录")).to_be_focused()
    # Whatever the portal then does with it, the gateway has sent the browser to the portal's callback.
    async with page.expect_request(lambda request: request.url.startswith(platform.callback)) as callback:
        await page.keyboard.press("Enter")

    query = parse_qs(urlsplit((await callback.value).url).query)
    assert query["state"] == ["st-keyboard"]
    assert len(query["code"][0]) >= 32
    assert "error" not in query


async def test_the_login_page_fits_a_phone_without_sideways_scrolling(platform, phone_tab, checkpoint):
    page = phone_tab.page
    await page.goto(authorize_url(platform, "st-phone"))
    await expect(page.get_by_label("用户名")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    field = await page.get_by_label("用户名").bounding_box()
    assert field is not None and field["x"] >= 0 and field["x"] + field["width"] <= 390
    await checkpoint(phone_tab, "login")
