"""Contract of the event envelope every service publishes and consumes (DESIGN.md §5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from govdata_shared.contracts import EVENT_CONTRACTS, EventData, event_contract, validated_data
from govdata_shared.events import ALL_TOPICS, Event, new_event, topic_for
from pydantic import ValidationError

CLOUDEVENTS_REQUIRED = {"specversion", "id", "source", "type"}
# CloudEvents 1.0: extension attribute names are lower-case a-z/0-9, at most 20 characters.
CE_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,20}$")


def _event() -> Event:
    return new_event(
        "sharing.grant.suspended",
        "grant-1",
        {"reason": "风险"},
        version=3,
        actor="ga-head",
        dept="YC-GA",
        source="sharing-svc",
        time=datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
    )


def test_envelope_is_cloudevents_json_with_platform_extensions():
    payload = _event().model_dump(mode="json")
    assert payload.keys() >= CLOUDEVENTS_REQUIRED
    assert payload["specversion"] == "1.0"
    assert payload["source"] == "/govdata/sharing-svc"
    assert payload["time"] == "2026-11-26T08:00:00Z"
    assert payload["datacontenttype"] == "application/json"
    for extension in ("actor", "dept", "version", "traceid"):
        assert extension in payload
    assert all(CE_ATTRIBUTE_NAME.match(name) for name in payload)


def test_envelope_round_trips_through_json():
    event = _event()
    assert Event.from_json(event.to_json()) == event


@pytest.mark.parametrize("missing", ["id", "source", "type", "subject", "time", "version"])
def test_envelope_without_a_required_attribute_is_rejected(missing):
    payload = _event().model_dump(mode="json")
    del payload[missing]
    with pytest.raises(ValidationError):
        Event.model_validate(payload)


def test_negative_aggregate_version_is_rejected():
    payload = _event().model_dump(mode="json") | {"version": -1}
    with pytest.raises(ValidationError):
        Event.model_validate(payload)


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        ("catalog.resource.published", "govdata.catalog.v1"),
        ("sharing.grant.suspended", "govdata.sharing.v1"),
        ("verification.request.overdue", "govdata.verification.v1"),
        ("access.denied", "govdata.access.v1"),
        ("notify.overdue.notified", "govdata.notify.v1"),
    ],
)
def test_event_types_map_to_the_platforms_topics(event_type, topic):
    assert topic_for(event_type) == topic
    assert topic in ALL_TOPICS


def test_every_registered_contract_names_a_known_topic():
    for event_type in EVENT_CONTRACTS:
        assert topic_for(event_type) in ALL_TOPICS


def test_contract_validates_payload_on_the_producer_side():
    @event_contract("access.contract_test")
    class Sample(EventData):
        grant_id: str
        calls: int

    try:
        assert validated_data("access.contract_test", {"grant_id": "g", "calls": 2}) == {"grant_id": "g", "calls": 2}
        with pytest.raises(ValidationError):
            validated_data("access.contract_test", {"grant_id": "g"})
        with pytest.raises(KeyError):
            validated_data("access.unregistered", {})
    finally:
        EVENT_CONTRACTS.pop("access.contract_test")
