"""第十九条第三款: while a subject's data is under verification, any department can learn so (with the request
number and deadline) and must not refuse the subject's business for it."""

from __future__ import annotations

from govdata_shared.testing import OTHER_PERSON, PERSON

POPULATION, MARRIAGE = "res-population", "res-marriage"


async def test_any_department_learns_that_the_data_is_under_verification(verification):
    created = await verification.file("citizen")
    for who in ("rs", "mz", "ga-head", "bureau"):
        response = await verification.get("/active", who, subject_id=PERSON, resource_id=POPULATION)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "under_verification": True,
            "subject_id": "3405**********001X",
            "resource_id": POPULATION,
            "requests": [
                {
                    "id": created["id"],
                    "deadline": "2026-12-10",
                    "deadline_estimated": False,
                    "items": ["household_address"],
                }
            ],
        }


async def test_other_subjects_and_other_resources_are_not_under_verification(verification):
    await verification.file("citizen")
    for subject_id, resource_id in ((OTHER_PERSON, POPULATION), (PERSON, MARRIAGE), (PERSON, "res-nowhere")):
        answer = (await verification.get("/active", "rs", subject_id=subject_id, resource_id=resource_id)).json()
        assert answer["under_verification"] is False and answer["requests"] == []


async def test_the_lookup_ends_when_the_request_is_resolved(verification):
    created = await verification.file("citizen")
    await verification.post(f"/corrections/{created['id']}/extend", "ga-head", {"days": 3, "reason": "调档"})
    answer = (await verification.get("/active", "rs", subject_id=PERSON, resource_id=POPULATION)).json()
    assert answer["under_verification"] is True and answer["requests"][0]["deadline"] == "2026-12-15"
    await verification.post(f"/corrections/{created['id']}/resolve", "ga", {"outcome": "no_error", "note": "无误"})
    answer = (await verification.get("/active", "rs", subject_id=PERSON, resource_id=POPULATION)).json()
    assert answer["under_verification"] is False


async def test_the_identifier_is_matched_normalised(verification):
    await verification.file("citizen")
    answer = (await verification.get("/active", "rs", subject_id="34052419800101001x", resource_id=POPULATION)).json()
    assert answer["under_verification"] is True


async def test_invalid_identifier_is_422_naming_the_rule(verification):
    refused = await verification.get("/active", "rs", subject_id="340524198001010010", resource_id=POPULATION)
    assert refused.status_code == 422
    assert refused.json()["field"] == "subject_id" and refused.json()["rule"] == "check_digit"
    refused = await verification.get(
        "/active", "rs", subject_id="91350100M0001TGQX", resource_id=POPULATION, subject_type="org"
    )
    assert refused.status_code == 422 and refused.json()["rule"] == "length"


async def test_citizens_may_ask_only_about_themselves(verification):
    await verification.file("citizen")
    own = await verification.get("/active", "citizen", subject_id=PERSON, resource_id=POPULATION)
    assert own.status_code == 200 and own.json()["under_verification"] is True
    other = await verification.get("/active", "other-citizen", subject_id=PERSON, resource_id=POPULATION)
    assert other.status_code == 403
