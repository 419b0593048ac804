"""A 身份证号 or 统一社会信用代码 in a data call's path or query never appears unmasked in the gateway's logs or its
metrics (issue 13), however the caller writes it: plainly, with a lower-case x, or percent-encoded.

Through a real gateway over real HTTP (conftest.py). The log records are captured as every handler would receive
them (caplog), not only as our own formatters print them; the metrics are read from the metrics listener.
"""

from __future__ import annotations

import logging

from govdata_gateway.health import start_metrics_listener
from govdata_shared.logs import JsonFormatter, PlainFormatter

PERSON = "110101199003074578"
PERSON_X = "11010519491231002X"
COMPANY = "91410329MA47XXXX1X"
MASKED_PERSON = "1101**********4578"


def encoded(value: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in value)


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write of a record: its message, its fields, and both our formats."""
    fields = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in ("msg", "args"))
    return "\n".join(
        (record.getMessage(), fields, JsonFormatter("gateway").format(record), PlainFormatter().format(record))
    )


def leaks(text: str) -> list[str]:
    found = []
    for value in (PERSON, PERSON_X, PERSON_X.lower(), COMPANY):
        if value in text or encoded(value) in text or encoded(value).lower() in text:
            found.append(value)
    return found


async def test_identifiers_in_data_call_paths_and_queries_stay_out_of_logs_and_metrics(platform, caplog) -> None:
    rid, gid, _ = await platform.setup()
    gw = await platform.start_gateway()
    token = await gw.grant_token(gid)
    caplog.set_level(logging.DEBUG)  # successful data calls are logged at DEBUG: capture those too
    calls = [
        # allowed and answered by the provider (its 404 for an unknown person, a 200 list)
        (f"/population/persons/{PERSON}?sfzh={PERSON}&xydm={COMPANY}", 404),
        (f"/population/persons?sfzh={PERSON_X.lower()}&q={encoded(PERSON)}", 200),
        (f"/population/persons/{encoded(PERSON)}", 404),
        # refused by the gateway: outside the interface, and without a token
        (f"/population/admin/{PERSON}?id={PERSON}", 403),
        (f"/elsewhere/{PERSON_X}", 403),
    ]
    for path, status in calls:
        assert await gw.status(token, rid, path) == status, path
    assert await gw.status(None, rid, f"/population/persons/{PERSON}") == 401
    # An API path too: the gateway's proxy logs it when the service cannot be reached.
    async with platform.http.get(f"{gw.url}/api/verification/corrections/{PERSON}?subject_id={PERSON}") as resp:
        assert resp.status in (502, 504)

    records = [r for r in caplog.records if r.name.startswith("govdata")]
    logged = [r for r in records if f"/data/{rid}/" in r.getMessage()]
    assert len(logged) >= len(calls) + 1, [r.getMessage() for r in records]
    for record in records:
        text = record_text(record)
        assert not leaks(text), text
    # The path is logged, masked; the query string not at all.
    paths = [r.__dict__.get("path") for r in logged]
    assert f"/data/{rid}/population/persons/{MASKED_PERSON}" in paths
    assert f"/data/{rid}/population/admin/{MASKED_PERSON}" in paths
    assert all("?" not in p for p in paths if p)
    assert any(f"/api/verification/corrections/{MASKED_PERSON}" in r.getMessage() for r in records)

    runner = await start_metrics_listener("127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        async with platform.http.get(f"http://{host}:{port}/metrics") as resp:
            metrics = await resp.text()
    finally:
        await runner.cleanup()
    assert 'govdata_gateway_requests_total{area="data",method="GET",status="404"}' in metrics
    assert not leaks(metrics)
    assert "1101*" not in metrics and rid not in metrics  # labels are areas and outcomes, never paths
