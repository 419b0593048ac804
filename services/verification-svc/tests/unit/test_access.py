"""Who may do what with a correction request (access.py), judged on a request in memory: the subject and the
provider see the identifier in full, the provider's head alone extends, the provider resolves, the applicant adds
evidence, any department looks up, a department reads its own quality figures."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from govdata_shared.errors import Problem
from govdata_shared.testing import OTHER_PERSON, PERSON
from govdata_shared.testing import caller_of as caller
from verification_svc import access
from verification_svc.domain import ApplicantKind
from verification_svc.models import CorrectionRequest


def request_filed_by_rs_about_the_citizen() -> CorrectionRequest:
    return CorrectionRequest(
        id="cor-1",
        resource_id="res-population",
        provider_dept="YC-GA",
        subject_type="person",
        subject_id=PERSON,
        items=["household_address"],
        claimed_values={},
        description="地址有误",
        applicant_kind="department",
        applicant_sub="rs-system",
        applicant_dept="YC-RS",
        status="open",
        received_on=date(2026, 11, 26),
        deadline=date(2026, 12, 10),
        original_deadline=date(2026, 12, 10),
    )


def refused(check, *args) -> Problem:
    with pytest.raises(Problem) as problem:
        check(*args)
    assert problem.value.status == 403
    return problem.value


def test_the_bureau_and_auditors_read_every_request_and_a_caller_with_no_scope_none():
    assert access.readable_correction(caller("bureau")) is sa.true()
    assert access.readable_correction(caller("auditor")) is sa.true()
    assert access.readable_correction(caller("city")) is sa.false()


def test_full_identifiers_only_for_the_subject_the_provider_and_the_applicant_department():
    request = request_filed_by_rs_about_the_citizen()
    for who in ("citizen", "ga", "ga-head", "rs", "rs-head"):
        assert access.sees_full_identifier(caller(who), request), who
    for who in ("bureau", "auditor", "mz", "other-citizen", "company"):
        assert not access.sees_full_identifier(caller(who), request), who


def test_department_staff_file_for_their_department_and_citizens_for_themselves():
    assert access.applicant_of(caller("rs-head")) == (ApplicantKind.DEPARTMENT, "YC-RS")
    assert access.applicant_of(caller("company")) == (ApplicantKind.CITIZEN, None)
    assert refused(access.applicant_of, caller("bureau")).code == "applicant_role_required"
    access.require_own_subject(caller("citizen"), PERSON)
    problem = refused(access.require_own_subject, caller("citizen"), OTHER_PERSON)
    assert (problem.code, problem.field, problem.rule) == ("not_own_subject", "subject_id", "own_subject_only")


def test_only_the_providers_head_extends_and_only_the_provider_resolves():
    request = request_filed_by_rs_about_the_citizen()
    access.require_provider_head(caller("ga-head"), request)
    for who in ("ga", "rs-head", "bureau"):
        assert refused(access.require_provider_head, caller(who), request).code == "provider_head_required"
    access.require_provider(caller("ga"), request)
    access.require_provider(caller("ga-head"), request)
    for who in ("rs", "bureau", "citizen"):
        problem = refused(access.require_provider, caller(who), request)
        assert problem.code == "not_provider" and problem.extra == {"provider_dept": "YC-GA"}


def test_evidence_comes_from_the_applicant_or_the_subject_and_goes_to_those_who_see_it_all():
    request = request_filed_by_rs_about_the_citizen()
    for who in ("rs", "rs-head", "citizen"):
        access.require_applicant(caller(who), request)
    for who in ("ga", "bureau", "other-citizen"):
        assert refused(access.require_applicant, caller(who), request).code == "not_applicant"
    access.require_evidence_access(caller("ga"), request)
    assert refused(access.require_evidence_access, caller("bureau"), request).code == "evidence_restricted"


def test_any_department_looks_up_anyone_a_citizen_only_itself():
    for who in ("rs", "mz-head", "bureau", "auditor"):
        access.require_lookup(caller(who), PERSON)
    access.require_lookup(caller("citizen"), PERSON)
    assert refused(access.require_lookup, caller("other-citizen"), PERSON).code == "lookup_not_allowed"


def test_a_department_reads_the_quality_of_its_own_data_the_bureau_of_any():
    assert access.quality_scope(caller("bureau"), None) is None
    assert access.quality_scope(caller("auditor"), "YC-MZ") == "YC-MZ"
    assert access.quality_scope(caller("ga"), None) == "YC-GA"
    assert access.quality_scope(caller("ga"), "YC-GA") == "YC-GA"
    assert refused(access.quality_scope, caller("ga"), "YC-MZ").code == "not_your_department"
    assert refused(access.quality_scope, caller("citizen"), None).code == "department_role_required"
