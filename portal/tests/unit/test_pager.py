"""The pager below the catalog's results: every link keeps the filters, pages around the current one are shown
with the first and last."""

from __future__ import annotations

from govdata_portal.pages import pager

FILTERS = {"q": "人口", "provider_dept": "", "category": "base", "sharing_type": ""}


def test_links_keep_the_filters_and_leave_out_empty_ones() -> None:
    p = pager("/catalog", FILTERS, total=21, page=1, size=20)
    assert (p.pages, p.previous) == (2, None)
    assert p.next == "/catalog?q=%E4%BA%BA%E5%8F%A3&category=base&page=2"
    assert [(link.number, link.current) for link in p.links] == [(1, True), (2, False)]
    assert p.links[0].url == "/catalog?q=%E4%BA%BA%E5%8F%A3&category=base"  # page 1 needs no number


def test_pages_around_the_current_one_with_the_first_and_the_last() -> None:
    p = pager("/catalog", {}, total=400, page=10, size=20)
    assert [link.number for link in p.links] == [1, 8, 9, 10, 11, 12, 20]
    assert p.previous == "/catalog?page=9" and p.next == "/catalog?page=11"


def test_an_empty_result_has_one_page() -> None:
    p = pager("/catalog", {}, total=0, page=1, size=20)
    assert (p.pages, p.previous, p.next) == (1, None, None)
