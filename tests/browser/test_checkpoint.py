"""The check every browser test relies on fails where it should: axe's serious violations and console errors stop
the test, with a report a person can act on. No platform needed: the pages are set in place."""

from __future__ import annotations

import pytest

PAGE = '<!DOCTYPE html><html lang="zh-CN"><head><title>检查</title></head><body><main>{}</main></body></html>'


async def test_an_unlabelled_field_fails_the_checkpoint_naming_the_rule_and_the_element(tab, checkpoint):
    await tab.page.set_content(PAGE.format('<h1>检查</h1><input type="text" id="nameless">'))
    with pytest.raises(pytest.fail.Exception) as failed:
        await checkpoint(tab, "unlabelled")
    report = str(failed.value)
    assert "[critical] label:" in report
    assert "#nameless" in report


async def test_a_labelled_page_passes_and_is_photographed(tab, checkpoint):
    await tab.page.set_content(PAGE.format('<h1>检查</h1><label for="q">关键词</label><input type="search" id="q">'))
    path = await checkpoint(tab, "labelled")
    assert path.read_bytes().startswith(b"\x89PNG")


async def test_a_script_error_fails_the_checkpoint(tab, checkpoint):
    await tab.page.set_content(PAGE.format("<h1>检查</h1><script>undefinedFunction()</script>"))
    with pytest.raises(pytest.fail.Exception, match=r"script error: .*undefinedFunction"):
        await checkpoint(tab, "script-error")
