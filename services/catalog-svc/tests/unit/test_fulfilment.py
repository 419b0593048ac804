"""How a 责任清单 entry stands (第十三条), on given dates: catalogued or not, refreshed within the entry's cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from catalog_svc.domain import Fulfilment, UpdateCycle, fulfilment

LAST = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_an_entry_without_a_published_resource_is_missing_whatever_the_time() -> None:
    assert fulfilment(UpdateCycle.DAILY, False, None, LAST) == Fulfilment.MISSING


def test_a_published_resource_fulfils_the_entry_until_its_cycle_runs_out() -> None:
    assert fulfilment(UpdateCycle.WEEKLY, True, LAST, LAST + timedelta(days=8)) == Fulfilment.FULFILLED
    assert fulfilment(UpdateCycle.WEEKLY, True, LAST, LAST + timedelta(days=8, seconds=1)) == Fulfilment.LATE


def test_an_entry_without_a_fixed_cycle_is_never_late() -> None:
    assert fulfilment(UpdateCycle.OTHER, True, LAST, LAST + timedelta(days=3650)) == Fulfilment.FULFILLED
