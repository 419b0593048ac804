"""Who may see and change what in the catalog (access.py), judged on resources in memory: the provider department,
the bureau and auditors see unpublished work; only the provider's staff change a resource; lists of unpublished
resources stay within the caller's department."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from catalog_svc import access
from catalog_svc.models import Resource
from govdata_shared.errors import Problem
from govdata_shared.testing import caller_of as caller

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def draft_of_ga() -> Resource:
    return Resource(
        id="res-1",
        code="101001/000001",
        provider_dept="YC-GA",
        status="draft",
        created_by="ga-system",
        created_at=NOW,
        updated_at=NOW,
    )


def refusal(check, *args) -> tuple[int, str]:
    with pytest.raises(Problem) as refused:
        check(*args)
    return refused.value.status, refused.value.code


@pytest.mark.parametrize(
    ("who", "sees"),
    [("ga", True), ("ga-head", True), ("bureau", True), ("auditor", True), ("mz", False), ("citizen", False)],
)
def test_unpublished_work_is_seen_by_the_provider_department_and_the_overseers(who, sees):
    assert access.sees_unpublished(caller(who), draft_of_ga()) is sees


@pytest.mark.parametrize("who", ["ga", "ga-head"])
def test_the_provider_departments_staff_change_its_resource(who):
    access.require_provider(caller(who), draft_of_ga())
    access.require_retirer(caller(who), draft_of_ga())


def test_another_department_is_refused_naming_the_provider():
    with pytest.raises(Problem) as refused:
        access.require_provider(caller("mz"), draft_of_ga())
    assert refused.value.status == 403 and refused.value.code == "not_provider"
    assert refused.value.extra == {"provider_dept": "YC-GA"}


@pytest.mark.parametrize("who", ["bureau", "auditor", "citizen", "city", "gateway"])
def test_callers_who_do_not_act_for_a_department_change_nothing(who):
    assert refusal(access.require_provider, caller(who), draft_of_ga()) == (403, "department_role_required")


def test_the_bureau_may_retire_any_resource_but_not_edit_it():
    access.require_retirer(caller("bureau"), draft_of_ga())
    assert refusal(access.require_retirer, caller("auditor"), draft_of_ga()) == (403, "department_role_required")
    assert refusal(access.require_retirer, caller("mz"), draft_of_ga()) == (403, "not_provider")


@pytest.mark.parametrize("status", ["published", "retired"])
@pytest.mark.parametrize("who", ["mz", "citizen", "city"])
def test_everyone_lists_published_and_retired_resources_of_any_department(status, who):
    assert access.listing_dept(caller(who), status, None) is None
    assert access.listing_dept(caller(who), status, "YC-GA") == "YC-GA"


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected"])
def test_unpublished_resources_are_listed_only_within_the_callers_department(status):
    assert access.listing_dept(caller("mz"), status, None) == "YC-MZ"
    assert access.listing_dept(caller("mz"), status, "YC-MZ") == "YC-MZ"
    assert refusal(access.listing_dept, caller("mz"), status, "YC-GA") == (403, "not_your_department")
    assert refusal(access.listing_dept, caller("citizen"), status, None) == (403, "department_role_required")


@pytest.mark.parametrize("who", ["bureau", "auditor"])
def test_the_overseers_list_unpublished_resources_of_every_department(who):
    assert access.listing_dept(caller(who), "draft", None) is None
    assert access.listing_dept(caller(who), "draft", "YC-GA") == "YC-GA"


def test_department_lists_show_all_to_the_overseers_and_its_own_to_a_department():
    assert access.department_scope(caller("bureau")) is None
    assert access.department_scope(caller("auditor")) is None
    assert access.department_scope(caller("ga-head")) == "YC-GA"
    assert refusal(access.department_scope, caller("city")) == (403, "department_role_required")


def test_a_responsibility_list_is_read_by_its_department_and_the_overseers():
    for who in ("ga", "bureau", "auditor"):
        access.require_department_reader(caller(who), "YC-GA")
    assert refusal(access.require_department_reader, caller("mz"), "YC-GA") == (403, "not_your_department")
