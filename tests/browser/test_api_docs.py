"""接口文档 as a departmental developer opens it from the portal: the gateway's vendored Swagger UI (no CDN) renders
the merged OpenAPI of the gateway and every service, with the token flows described in Chinese."""

from __future__ import annotations

from playwright.async_api import expect


async def test_the_api_documentation_shows_every_service_from_the_vendored_swagger_ui(platform, tab, checkpoint):
    page = tab.page
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(platform.gateway) else outside.append(r.url))
    response = await page.goto(f"{platform.gateway}/api/docs")
    assert response is not None and response.status == 200
    await expect(page.get_by_role("heading", name="伊川县政务大数据平台 接口文档")).to_be_visible()
    # The introduction names the token flows; each service's paths are there under the gateway's prefix.
    await expect(page.get_by_text("client_credentials").first).to_be_visible()
    tags = page.locator(".opblock-tag")
    await expect(tags.first).to_be_visible()
    for number in range(await tags.count()):  # the sections start folded: open each, as a reader would
        await tags.nth(number).click()
    for path in ("/api/catalog/resources", "/api/sharing/requests", "/api/verification/corrections", "/auth/token"):
        await expect(page.locator(f'.opblock-summary-path[data-path="{path}"]').first).to_be_visible()
    assert outside == [], f"the documentation fetched from elsewhere: {outside}"
    await checkpoint(tab, "api-docs")
