"""The gauges the deadline check refreshes for Prometheus (deploy/k8s/README.md "Alerts"): open steps past their
deadline per kind, `govdata_deadlines_overdue`, and when the check last completed. Read from the app's own
/metrics, on the movable clock of the reminder tests: a conditional request's provider decision is due Monday
2026-12-07 (第二十九条), a resource's catalog review Friday 2026-12-04 (第十四条)."""

from __future__ import annotations

import time
from datetime import date

import pytest
from govdata_shared.contracts.catalog import RESOURCE_SUBMITTED
from notify_svc.domain import StepKind
from prometheus_client.parser import text_string_to_metric_families

FRIDAY, SATURDAY = date(2026, 12, 4), date(2026, 12, 5)
DEADLINE, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)  # the provider's decision is due on the Monday


async def scraped(notify) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name → labels → value, as Prometheus scrapes the app."""
    response = await notify.client.get("/metrics")
    assert response.status_code == 200, response.text
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


async def overdue(notify) -> dict[str, float]:
    samples = (await scraped(notify))["govdata_deadlines_overdue"]
    return {dict(labels)["kind"]: value for labels, value in samples.items()}


def late(**counts: int) -> dict[str, float]:
    """Every step kind at 0 but those named."""
    return {kind.value: 0.0 for kind in StepKind} | {kind: float(n) for kind, n in counts.items()}


@pytest.mark.backends("postgres", "sqlite")
async def test_overdue_gauge_counts_open_steps_past_their_deadline_per_kind(notify):
    request = notify.conditional_request()
    review = notify.resource_event(
        event_type=RESOURCE_SUBMITTED, version=1, revision=1, review_deadline=FRIDAY, provider="YC-GA"
    )
    await notify.apply(review, notify.submitted(request))

    await notify.check()  # Monday 2026-11-30, the day both were filed
    assert await overdue(notify) == late()

    await notify.check(FRIDAY)  # the review is due today: not late yet
    assert await overdue(notify) == late()

    await notify.check(SATURDAY)  # a calendar day past its deadline, weekend or not
    assert await overdue(notify) == late(resource_review=1)

    await notify.check(DEADLINE)  # the provider's decision is due today
    assert await overdue(notify) == late(resource_review=1)

    await notify.check(TUESDAY)  # reported (逾期通报) and still late: both count until they are done
    assert await overdue(notify) == late(resource_review=1, provider_review=1)
    assert [m["kind"] for m in (await notify.messages("ga"))["items"]] == ["overdue", "reminder"]

    # The provider decides (late): its step closes, the platform's delivery (due 2026-12-11) is not late.
    await notify.apply(notify.provider_approved(request, notify.morning(TUESDAY)))
    await notify.check(TUESDAY)
    assert await overdue(notify) == late(resource_review=1)

    # The bureau reviews the resource: nothing is late any more.
    await notify.apply(notify.resource_event(version=2, revision=1, at=notify.morning(TUESDAY)))
    await notify.check(TUESDAY)
    assert await overdue(notify) == late()


async def test_each_completed_check_stamps_the_time_it_ran(notify):
    """A check that keeps failing leaves the stamp behind; the alert GovdataDeadlineCheckStale watches its age."""
    before = time.time()
    await notify.check()
    (stamp,) = (await scraped(notify))["govdata_deadlines_checked_timestamp_seconds"].values()
    assert before <= stamp <= time.time()
