"""Identifiers in request paths never reach a service's log records unmasked (issue 13): the access log of
govdata_shared.http masks the path in the record itself, so any handler — not only our formatters — sees
`4103**********1234`; query strings are not logged at all."""

from __future__ import annotations

import logging


async def test_identifiers_in_paths_and_queries_stay_out_of_the_services_logs(verification, caplog) -> None:
    caplog.set_level(logging.INFO)
    person, company = verification.PERSON, verification.COMPANY
    encoded = "".join(f"%{ord(c):02X}" for c in person)
    looked_up = await verification.get("/active", "ga", subject_id=person, resource_id=verification.POPULATION)
    assert looked_up.status_code == 200
    for path in (f"/corrections/{person}", f"/corrections/{company.lower()}", f"/corrections/{encoded}"):
        assert (await verification.get(path, "ga")).status_code == 404

    logged = [r for r in caplog.records if r.name == "govdata.http"]
    assert len(logged) >= 4
    for record in logged:
        text = f"{record.getMessage()} {vars(record)}"
        for raw in (person, company, company.lower(), encoded):
            assert raw not in text, text
    paths = [record.__dict__["path"] for record in logged]
    assert "/api/verification/corrections/" + person[:4] + "*" * 10 + person[-4:] in paths
    assert "/api/verification/active" in paths  # the query string, holding the 身份证号, is not logged
