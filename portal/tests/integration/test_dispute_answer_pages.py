"""共享异议 of the departments (第二十七条) against the real catalog-svc and sharing-svc: the provider department
answers a dispute about its resource from its own list, the requesting department follows it with the provider's
answer and then the bureau's decision; a department that is neither party does not see it. The services and the
portal are test_sharing_pages' (its `platform` fixture)."""

from __future__ import annotations

from portal.tests.integration.test_catalog_pages import rows
from portal.tests.integration.test_sharing_pages import MARRIAGE, platform, summary

__all__ = ["platform"]  # the fixture, shared with test_sharing_pages


async def test_the_provider_answers_and_the_requester_reads_the_answer_and_the_decision(platform) -> None:
    services, portal = platform
    resource = await services.publish("mz", {**MARRIAGE, "sharing_type": "none"})
    dispute = await services.call(
        "sharing", "POST", "/disputes", "rs", {"resource_id": resource["id"], "reason": "低保核验确需婚姻状况"}
    )
    page_of = f"/disputes/{dispute['id']}"

    # 民政 (provider): the dispute is on its list, with the bureau's deadline, waiting for its answer.
    provider = services.session("mz", "张敏")
    portal.hold(provider)
    listed = (await portal.browser.get("/my/disputes")).text
    assert 'aria-current="page" class="active">共享异议' in listed
    (row,) = rows(listed)
    assert "婚姻登记信息" in row and "YC-RS" in row and "低保核验确需婚姻状况" in row and "尚未答复" in row
    # Opened Thursday 2026-11-26: ten working days → Thursday 2026-12-10.
    assert "截止 2026-12-10（还剩 10 个工作日）" in row and f'href="{page_of}">答复' in row
    page = (await portal.browser.get(page_of)).text
    assert "<h1>答复共享异议：婚姻登记信息" in page and '<label for="answer">答复意见</label>' in page
    assert ">提交答复</button>" in page and "/resolve" not in page  # the decision is the bureau's
    empty = await portal.browser.post(f"{page_of}/answer", data={"csrf": provider.csrf, "answer": " "})
    assert empty.status_code == 422 and '<a href="#answer">答复意见：' in summary(empty.text)
    answered = await portal.browser.post(
        f"{page_of}/answer", data={"csrf": provider.csrf, "answer": "可按有条件共享提供婚姻状况，须附需求单"}
    )
    assert answered.status_code == 303 and answered.headers["location"] == "/my/disputes?notice=answered"
    (stored,) = await services.sharing("mz", "/disputes")
    assert stored["provider_answer"] == "可按有条件共享提供婚姻状况，须附需求单" and stored["status"] == "open"
    (row,) = rows((await portal.browser.get(answered.headers["location"])).text)
    assert "可按有条件共享提供婚姻状况" in row and "修改答复" in row

    # 人社 (requester): not on its provided side; on its raised side with the answer, and no answer form.
    requester = services.session("rs", "刘洋")
    portal.hold(requester)
    assert rows((await portal.browser.get("/my/disputes")).text) == []
    (row,) = rows((await portal.browser.get("/my/disputes", params={"side": "raised"})).text)
    assert "YC-MZ" in row and "可按有条件共享提供婚姻状况" in row and "待县大数据局处理" in row
    page = (await portal.browser.get(page_of)).text
    assert "可按有条件共享提供婚姻状况" in page and 'action="/disputes' not in page and "正会同提供部门协调处理" in page
    not_theirs = await portal.browser.post(f"{page_of}/answer", data={"csrf": requester.csrf, "answer": "自己答复"})
    assert not_theirs.status_code == 403 and "只有资源的提供部门可以答复该异议" in not_theirs.text

    await services.call(
        "sharing",
        "POST",
        f"/disputes/{dispute['id']}/resolve",
        "bureau",
        {
            "resolution": "会同民政局协调：改为有条件共享",
            "outcome": "sharing_change_ordered",
            "ordered_sharing_type": "conditional",
        },
    )
    (row,) = rows((await portal.browser.get("/my/disputes", params={"side": "raised"})).text)
    assert "调整共享类型：会同民政局协调：改为有条件共享" in row and "已处理" in row
    page = (await portal.browser.get(page_of)).text
    assert "（应改为有条件共享）" in page and "办结时间" in page

    portal.hold(provider)  # the provider reads the decision too, and may no longer answer
    page = (await portal.browser.get(page_of)).text
    assert "调整共享类型：会同民政局协调" in page and ">提交答复</button>" not in page

    portal.hold(services.session("ga"))  # neither party
    assert (await portal.browser.get(page_of)).status_code == 404
    assert rows((await portal.browser.get("/my/disputes", params={"side": "raised"})).text) == []
    portal.hold(services.session("citizen"))
    assert (await portal.browser.get("/my/disputes")).status_code == 403
