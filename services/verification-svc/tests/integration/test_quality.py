"""第二十条: data-quality figures per resource and per provider from the corrections received."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

POPULATION, MARRIAGE = "res-population", "res-marriage"
FIXED = {"outcome": "corrected", "corrected_values": {"household_address": "新地址"}}


def shanghai_morning(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


async def known_set(verification) -> None:
    """Four requests on YC-GA's population data filed Monday 2026-11-02 (deadline 11/16): corrected after 3
    working days, no error after 5, corrected late after 12, one still open; one on YC-MZ's marriage data
    filed 11/18 and open."""
    verification.clock.set(shanghai_morning(11, 2))
    quick, checked, late, _open = [await verification.file("citizen") for _ in range(4)]
    verification.clock.set(shanghai_morning(11, 5))
    await verification.post(f"/corrections/{quick['id']}/resolve", "ga", FIXED)
    verification.clock.set(shanghai_morning(11, 9))
    await verification.post(f"/corrections/{checked['id']}/resolve", "ga", {"outcome": "no_error", "note": "无误"})
    verification.clock.set(shanghai_morning(11, 18))
    await verification.post(f"/corrections/{late['id']}/resolve", "ga", FIXED)
    await verification.file("citizen", resource_id=MARRIAGE, items=["marriage_status"], claimed_values={})


async def test_quality_figures_per_resource_and_provider(verification):
    await known_set(verification)
    response = await verification.get("/quality", "bureau")
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["as_of"] == "2026-11-18"
    population = {
        "received": 4,
        "corrected": 2,
        "no_error": 1,
        "open": 1,
        "overdue": 2,  # the open one past 11/16 and the one resolved on 11/18
        "median_working_days": 5.0,  # of 3, 5 and 12
    }
    marriage = {"received": 1, "corrected": 0, "no_error": 0, "open": 1, "overdue": 0, "median_working_days": None}
    assert figures["resources"] == [
        {"resource_id": MARRIAGE, "resource_name": "婚姻登记信息", "provider_dept": "YC-MZ", **marriage},
        {"resource_id": POPULATION, "resource_name": "户籍人口基本信息", "provider_dept": "YC-GA", **population},
    ]
    assert figures["providers"] == [{"provider_dept": "YC-GA", **population}, {"provider_dept": "YC-MZ", **marriage}]


@pytest.mark.backends("postgres", "sqlite")  # the year filter compares dates in SQL
async def test_quality_filters_and_department_scope(verification):
    await known_set(verification)
    by_resource = (await verification.get("/quality", "auditor", resource_id=MARRIAGE)).json()
    assert [r["resource_id"] for r in by_resource["resources"]] == [MARRIAGE]
    own = (await verification.get("/quality", "ga")).json()
    assert [p["provider_dept"] for p in own["providers"]] == ["YC-GA"]
    assert (await verification.get("/quality", "ga", provider_dept="YC-MZ")).status_code == 403
    assert (await verification.get("/quality", "citizen")).status_code == 403
    next_year = (await verification.get("/quality", "bureau", year=2027)).json()
    assert next_year["resources"] == [] and next_year["providers"] == []
